"""Logging an auditor's reads around every request, so that no handler has to remember it.

While a GET runs, the authorisation decision point (server.auth.authz.access_on) notes each unit the
caller reaches through an auditor grant only. When the handler has decided a successful answer (2xx),
one `access.read` row per noted unit is appended (server.services.access_log) BEFORE the answer leaves:
if the rows cannot be written, the caller gets the 500 of the error middleware instead of the data.

Only reads are logged: an auditor's write is refused by the same decision point (403/404), and a
refused read showed nothing. The socket.io upgrade (a connection, not a read; joining a room refuses
an auditor) and static files are left alone.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler

from server.appkeys import CLOCK, DATABASE
from server.auth.authz import noting_auditor_reads
from server.auth.identity import Actor
from server.services.access_log import record_reads

READ_METHODS = frozenset({"GET", "HEAD"})
UNLOGGED_PREFIXES = ("/static/", "/socket.io/")


async def with_access_log(request: web.Request, handler: Handler, caller: Actor) -> web.StreamResponse:
    if request.method not in READ_METHODS or request.path.startswith(UNLOGGED_PREFIXES):
        return await handler(request)
    with noting_auditor_reads() as units:
        response = await handler(request)
    # The answer is decided but not sent (a handler that streamed its own answer would have sent it;
    # none does): write the rows first, so a failure to log replaces the data with the error.
    if units and 200 <= response.status < 300:
        await record_reads(
            request.app[DATABASE],
            actor_user_id=caller.user_id,
            org_ids=units,
            method=request.method,
            path=request.path,
            path_qs=request.path_qs,
            at=request.app[CLOCK](),
        )
    return response
