"""Pilot usage figures of a subtree (api.md `GET /api/v1/audit/usage`): read-only, for whoever may read
the subtree's audit figures (auditors, approvers, the unit's leaders); a plain member gets 403, a caller
who cannot see the organisation 404. Bad query values are 422 in the caller's language, nothing read."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from meetings.decision import Text
from meetings.policy import Action
from server.api import responses
from server.api.context import MAX_ID, actor, database, json_response, lang, now
from server.api.registry import Query, route
from server.auth.authz import authorize
from server.errors import ApiError
from server.services.orgs import get_org
from server.services.usage import UsageQueryError, parse_adoption_days, parse_period, usage_figures

# The query of the usage figures and of the review report's download (same query).
USAGE_QUERY = (
    Query("org", "integer", required=True, minimum=1, description="the subtree's root organisation"),
    Query("from", format="date", description="YYYY-MM-DD; default: 1 January of this year"),
    Query("to", format="date", description="YYYY-MM-DD; default: today in the organisation's zone"),
    Query("adoption_days", "integer", minimum=1),
    Query("lang", enum=("vi", "en"), description="the language of the figures' texts"),
)


def _bad_query(error: UsageQueryError) -> ApiError:
    return ApiError(
        422, "validation_error", error.message, details={"fields": {error.field: error.message.en}}
    )


def _org_id(raw: str | None) -> int:
    if raw is not None and raw.isascii() and raw.isdigit() and len(raw) <= 10 and 0 < int(raw) <= MAX_ID:
        return int(raw)
    raise ApiError(
        422,
        "validation_error",
        Text("'org' phải là mã số của một tổ chức đảng.", "'org' must be the id of an organisation."),
        details={"fields": {"org": "an organisation id is required"}},
    )


async def read_usage(request: web.Request) -> dict[str, Any]:
    """The figures the query asks for, after the caller's right to read them was checked (also used by
    the review report's download, which takes the same query)."""
    caller, language, at = actor(request), lang(request), now(request)
    org_id = _org_id(request.query.get("org"))
    try:
        adoption_days = parse_adoption_days(request.query.get("adoption_days"), language)
    except UsageQueryError as error:
        raise _bad_query(error) from None
    async with database(request).read() as session:
        await authorize(session, caller, Action.AUDIT_READ, org_id)
        org = await get_org(session, org_id)
        # Without `to` the period runs to today in the organisation's own time zone.
        today = at.astimezone(ZoneInfo(org.timezone)).date()
        try:
            start, end = parse_period(request.query.get("from"), request.query.get("to"), today, language)
        except UsageQueryError as error:
            raise _bad_query(error) from None
        return await usage_figures(
            session, org_id, start, end, at=at, language=language, adoption_days=adoption_days
        )


@route(
    "GET",
    "/api/v1/audit/usage",
    summary="Pilot usage figures and flags of a subtree for a period (?org=&from=&to=&adoption_days=)",
    tag="audit",
    query=USAGE_QUERY,
    response=responses.USAGE,
)
async def get_usage(request: web.Request) -> web.StreamResponse:
    return json_response(await read_usage(request))
