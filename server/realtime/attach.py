"""Mounting `/room` on the aiohttp application: the socket.io server, its limits, and the restart sweep."""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiohttp import web

from meetings.attendance import EventKind
from meetings.decision import Text
from server.appkeys import CLOCK, DATABASE, HUB, REFUSALS, SETTINGS
from server.auth.client_address import client_address
from server.auth.identity import session_cookie_name
from server.auth.tokens import token_id
from server.errors import ApiError
from server.i18n import request_language
from server.media.sfu_lifecycle import sfu_of
from server.realtime.guard import RoomGuard, RoomLimits
from server.realtime.guarded_server import GuardedServer
from server.realtime.hub import Hub
from server.realtime.namespace import RoomNamespace
from server.realtime.room_manager import RoomManager
from server.services.presence import online_leave, online_members
from server.settings import Settings

log = logging.getLogger("cellmeet.realtime")
SOCKET_PATH = "/socket.io/"
# This layer's own view of its state: the hub with its realtime methods (appkeys.HUB is the same hub
# through the port the rest of the server uses) and the room's budgets.
LIVE_HUB = web.AppKey("live_hub", Hub)
ROOM_GUARD = web.AppKey("room_guard", RoomGuard)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# Without a configured wait, a member gone since a crash is let go after the default grace (R-ATT-2).
DEFAULT_SWEEP_SECONDS = 120.0


def _same_origin(settings: Settings) -> Any:
    """Refuse cross-site WebSocket connections: a browser always sends Origin, scripts send none."""

    def allowed(origin: str | None, environ: dict[str, Any]) -> bool:
        request: web.Request = environ["aiohttp.request"]
        own = {f"{request.scheme}://{request.host}"}
        if settings.public_url:
            own.add(settings.public_url.rstrip("/"))
        return origin is None or origin in own

    return allowed


def attach_realtime(app: web.Application, settings: Settings) -> GuardedServer:
    sio = GuardedServer(
        unjoined_seconds=settings.room_unjoined_seconds,
        async_mode="aiohttp",
        transports=["websocket"],
        max_http_buffer_size=settings.room_max_message_bytes,
        ping_interval=settings.ping_interval_seconds,
        ping_timeout=settings.ping_timeout_seconds,
        cors_allowed_origins=_same_origin(settings),
        client_manager=RoomManager(),
        logger=False,
        engineio_logger=False,
    )
    sio.attach(app, socketio_path="socket.io")
    guard = app[ROOM_GUARD] = RoomGuard(RoomLimits.of(settings))

    async def realtime_ctx(app: web.Application) -> AsyncIterator[None]:
        hub = Hub(sio, app[DATABASE], app[CLOCK])
        namespace = RoomNamespace(hub, settings, guard, app[REFUSALS], sfu=lambda: sfu_of(app))
        sio.register_namespace(namespace)
        sio.on_malformed = namespace.on_malformed_frame
        hub.recheck_access = namespace.recheck
        app[HUB] = app[LIVE_HUB] = hub
        hub.spawn(_sweep_after_restart(hub, settings))
        yield
        hub.closing = True
        for sid in list(hub.peers):
            await sio.disconnect(sid, namespace="/room")
        await hub.close()

    app.cleanup_ctx.append(realtime_ctx)
    return sio


@web.middleware
async def room_gate_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """New connections to `/room` spend the client address's budget of attempts before anything
    else (the session lookup included) is done for them. A refusal also closes the TCP connection:
    kept alive, refused upgrades would pile up as idle connections."""
    guard = request.app.get(ROOM_GUARD)
    if guard is not None and request.path.startswith(SOCKET_PATH):
        address = client_address(request, request.app[SETTINGS])
        cookie = request.cookies.get(session_cookie_name(request.app[SETTINGS]))
        cooling = guard.session_cooling(token_id(cookie)) if cookie else 0.0
        if cooling:
            return _refusal(request, _too_many_events(math.ceil(cooling)))
        if not guard.admit_address(address):
            retry_after = guard.address_retry_after(address)
            too_many = ApiError(
                429,
                "rate_limited",
                Text(
                    f"Quá nhiều kết nối tới phòng họp từ địa chỉ này; thử lại sau {retry_after} giây.",
                    "Too many connections to the meeting room from this address; "
                    f"try again in {retry_after} s.",
                ),
                details={"retry_after": retry_after},
                headers={"Retry-After": str(retry_after)},
            )
            return _refusal(request, too_many)
    return await handler(request)


def _refusal(request: web.Request, error: ApiError) -> web.StreamResponse:
    body = error.body(request_language(request, request.app[SETTINGS].lang))
    response = web.json_response(body, status=error.status, headers=error.headers)
    response.force_close()
    return response


# Changes that may take someone's seat in a live meeting away: a member's standing or link, a
# group's membership, grants, users, a unit's approval (pilot decisions and revocations).
RECHECK_PREFIXES = (
    "/api/v1/members/",
    "/api/v1/orgs/",
    "/api/v1/groups/",
    "/api/v1/pilot-applications/",
    "/api/v1/users",
)
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@web.middleware
async def room_recheck_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """After a committed change of who may sit in a meeting, the live rooms check their
    connections again at once, instead of at the next join."""
    response = await handler(request)
    if request.method in UNSAFE and response.status < 300 and request.path.startswith(RECHECK_PREFIXES):
        hub = request.app.get(LIVE_HUB)
        if hub is not None:
            hub.request_recheck()
    return response


def _too_many_events(retry_after: int) -> ApiError:
    return ApiError(
        429,
        "rate_limited",
        Text(
            f"Gửi quá nhiều sự kiện; thử lại sau {retry_after} giây.",
            f"Too many events; try again in {retry_after} s.",
        ),
        details={"retry_after": retry_after},
        headers={"Retry-After": str(retry_after)},
    )


async def _sweep_after_restart(hub: Hub, settings: Settings) -> None:
    """Members the database still shows online from before this process started, and who have not
    come back within the wait, get a leave at the restart instant (the instant of the drop is lost)."""
    restarted_at = hub.clock()
    wait = settings.presence_confirm_seconds
    await asyncio.sleep(DEFAULT_SWEEP_SECONDS if wait is None else wait)
    async with hub.database.read() as session:
        stale = await online_members(session)
    for meeting_id, member_id in stale:
        room = hub.room(meeting_id)
        async with room.lock:
            if room.sids_of(member_id) or member_id in room.pending_leaves:
                continue
            async with hub.database.write() as session:
                written = await online_leave(
                    session, meeting_id, member_id, user_id=None, at=restarted_at, why="restart"
                )
            if written:
                room.record(member_id, EventKind.LEAVE, restarted_at)  # the room's view shows it at once
        hub.request_push(meeting_id)
    if stale:
        log.info("after the restart, %d stale online presences were examined", len(stale))
