"""The caller's notices about meetings (issue 18): invitations, cancellations, new times.

They are the caller's own messages (written to their account when the change happened), so the list
needs a login and nothing more; see server.services.notices.
"""

from __future__ import annotations

from aiohttp import web

from server.api import responses
from server.api.context import actor, database, json_response
from server.api.registry import route
from server.services.notices import notices_of


@route(
    "GET",
    "/api/v1/notices",
    summary="The caller's notices about meetings (invitation, cancelled, rescheduled), newest first",
    tag="meetings",
    response=responses.NOTICES,
)
async def get_notices(request: web.Request) -> web.StreamResponse:
    caller = actor(request)
    async with database(request).read() as session:
        notices = await notices_of(session, caller.user_id)
    return json_response({"notices": notices})
