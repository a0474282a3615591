"""A unit's access log: the reads of its records by auditors (docs/api.md "Auditor access log").

Read with audit.read on the unit: its secretary and deputy, the officers above it (leaders, approvers,
auditors), never a plain member (403) nor another unit (404). Reading the log is not itself logged.
"""

from __future__ import annotations

from aiohttp import web

from meetings.decision import Text
from meetings.policy import Action
from server.api import responses
from server.api.context import MAX_ID, actor, database, json_response, lang, path_id
from server.api.registry import Query, route
from server.auth.authz import authorize, not_an_access_read
from server.errors import invalid
from server.services.access_log import access_entries


def _seq(request: web.Request, name: str) -> int | None:
    raw = request.query.get(name)
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 10 or int(raw) > MAX_ID:
        raise invalid(
            name,
            Text(
                f"'{name}' phải là một số thứ tự trong nhật ký (số nguyên không âm).",
                f"'{name}' must be a sequence number of the log (a whole number, 0 or more).",
            ),
        )
    return int(raw)


@route(
    "GET",
    "/api/v1/orgs/{id}/access-log",
    summary="Reads of the unit's records by auditors, newest first (?after=, ?before= sequence numbers)",
    tag="audit",
    query=(Query("after", "integer", minimum=0), Query("before", "integer", minimum=0)),
    response=responses.ACCESS_LOG,
)
async def get_access_log(request: web.Request) -> web.StreamResponse:
    caller, org_id = actor(request), path_id(request)
    after, before = _seq(request, "after"), _seq(request, "before")
    async with database(request).read() as session:
        await authorize(session, caller, Action.AUDIT_READ, org_id)
        # Logging this read would add a row to the very log being read, at every look (docs/decisions.md).
        not_an_access_read(org_id)
        entries = await access_entries(
            session, org_id, after=after or 0, before=before, language=lang(request)
        )
    return json_response({"org_id": org_id, "entries": entries})
