"""What a client needs before the live room: a join ticket and ICE servers (docs/api.md "The live room")."""

from __future__ import annotations

import secrets
from datetime import timedelta

from aiohttp import web

from meetings.decision import Text
from server.api import responses
from server.api.context import actor, database, json_response, now, path_id
from server.api.registry import route
from server.appkeys import SETTINGS
from server.auth.tickets import Ticket, issue, session_ref
from server.errors import ApiError
from server.media.turn import member_ice_servers
from server.services.presence import admit


@route(
    "POST",
    "/api/v1/meetings/{id}/join-ticket",
    summary="A signed single-use ticket (60 s) to connect to /room as the caller's member record",
    tag="room",
    status=201,
    response=responses.JOIN_TICKET,
)
async def post_join_ticket(request: web.Request) -> web.StreamResponse:
    caller = actor(request)
    if caller.session is None:
        # A script token is for reading and writing records, never for a seat in a live meeting.
        raise ApiError(
            403,
            "token_cannot_join",
            Text(
                "Mã truy cập cho tập lệnh không dùng để vào phòng họp; hãy đăng nhập.",
                "A script token cannot enter a meeting room; log in.",
            ),
        )
    settings = request.app[SETTINGS]
    at = now(request)
    async with database(request).read() as session:
        attendee = await admit(session, caller.user, path_id(request), at)
    expires_at = at + timedelta(seconds=settings.join_ticket_seconds)
    ticket = Ticket(
        caller.user_id,
        attendee.member_id,
        path_id(request),
        int(expires_at.timestamp()),
        secrets.token_urlsafe(12),
        session_ref(caller.session.id),
    )
    body = {
        "token": issue(settings.secret_key.value, ticket),
        "expires_at": expires_at,
        "member_id": attendee.member_id,
        "meeting_id": ticket.meeting_id,
    }
    return json_response(body, status=201)


@route(
    "GET",
    "/api/v1/meetings/{id}/ice-servers",
    summary="The operator's ICE servers; TURN entries carry a credential for the caller and meeting (10 min)",
    tag="room",
    response=responses.ICE_SERVERS,
)
async def get_ice_servers(request: web.Request) -> web.StreamResponse:
    caller = actor(request)
    settings = request.app[SETTINGS]
    at = now(request)
    async with database(request).read() as session:
        attendee = await admit(session, caller.user, path_id(request), at)
    servers, expires_at = member_ice_servers(
        settings.ice_servers,
        settings.turn_secret.value if settings.turn_secret else None,
        member_id=attendee.member_id,
        meeting_id=path_id(request),
        now=at,
        ttl_seconds=settings.turn_ttl_seconds,
    )
    # ttl_seconds: the credential's lifetime, so a page can ask again before half of it has passed
    # without comparing its own clock with expires_at (null: no TURN credential, nothing expires).
    ttl_seconds = settings.turn_ttl_seconds if expires_at else None
    body = {"ice_servers": servers, "expires_at": expires_at, "ttl_seconds": ttl_seconds}
    return json_response(body)
