"""Mounting `/room` on the aiohttp application: the socket.io server, its limits, and the restart sweep."""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
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
from server.media.sfu_lifecycle import sfu_listeners, sfu_of
from server.metrics import forget_sfu_rooms
from server.realtime import restart
from server.realtime.cluster import Cluster, Message
from server.realtime.cluster_rooms import ClusterRooms
from server.realtime.forwarding import Forwarding
from server.realtime.guard import RoomGuard, RoomLimits
from server.realtime.guarded_server import GuardedServer
from server.realtime.hub import Hub
from server.realtime.namespace import RoomNamespace
from server.realtime.room_manager import RoomManager, RoomRedisManager
from server.realtime.sfu_recovery import SfuRecovery
from server.realtime.shared_guard import SharedRoomGuard
from server.services.presence import online_leave, online_members
from server.settings import Settings

log = logging.getLogger("cellmeet.realtime")
SOCKET_PATH = "/socket.io/"
# This layer's own view of its state: the hub with its realtime methods (appkeys.HUB is the same hub
# through the port the rest of the server uses) and the room's budgets.
LIVE_HUB = web.AppKey("live_hub", Hub)
# Every live connection checked again (in every process, when there are several).
RECHECK = web.AppKey[Callable[[], None]]("room_recheck")
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


def _manager(settings: Settings) -> RoomManager:
    """One process: its own rooms. Several: python-socketio's Redis manager carries every emit to
    the connections of every process (delivered in each by RoomManager's emit)."""
    if settings.redis_url is None:
        return RoomManager()
    return RoomRedisManager(settings.redis_url.value, channel=f"{settings.redis_prefix}:socketio")


def _notes(rooms: ClusterRooms, guard: RoomGuard) -> Callable[[Message], Awaitable[None]]:
    """What other processes tell every process: the room budgets they counted, or the rooms' notes."""

    async def apply(note: Message) -> None:
        if note.get("op") == "guard":
            if isinstance(guard, SharedRoomGuard):
                await guard.apply(note)
        else:
            await rooms.apply(note)

    return apply


def _occupied(hub: Hub, meeting_id: int) -> bool:
    room = hub.rooms.get(meeting_id)
    return room is not None and bool(room.peers or room.pending_leaves)


def attach_realtime(app: web.Application, settings: Settings) -> GuardedServer:
    sio = GuardedServer(
        unjoined_seconds=settings.room_unjoined_seconds,
        async_mode="aiohttp",
        transports=["websocket"],
        max_http_buffer_size=settings.room_max_message_bytes,
        ping_interval=settings.ping_interval_seconds,
        ping_timeout=settings.ping_timeout_seconds,
        cors_allowed_origins=_same_origin(settings),
        client_manager=_manager(settings),
        logger=False,
        engineio_logger=False,
    )
    sio.attach(app, socketio_path="socket.io")
    # Several processes: each one's budgets charged with the others' spending (shared_guard).
    guard = app[ROOM_GUARD] = (SharedRoomGuard if settings.redis_url else RoomGuard)(RoomLimits.of(settings))

    async def realtime_ctx(app: web.Application) -> AsyncIterator[None]:
        hub = Hub(sio, app[DATABASE], app[CLOCK])
        namespace = RoomNamespace(hub, settings, guard, app[REFUSALS], sfu=lambda: sfu_of(app))
        sio.register_namespace(namespace)
        recovery = SfuRecovery(namespace.sfu, hub)
        sfu_listeners(app).append(recovery)
        sio.on_malformed = namespace.on_malformed_frame
        hub.recheck_access = namespace.entry.recheck
        app[LIVE_HUB] = hub
        cluster = Cluster(settings.redis_url.value, settings.redis_prefix) if settings.redis_url else None
        if cluster is None:
            app[HUB] = hub
            app[RECHECK] = hub.request_recheck
            hub.spawn(_sweep_after_restart(hub, settings))
        else:
            rooms = ClusterRooms(hub, cluster)
            app[HUB] = rooms
            app[RECHECK] = rooms.request_recheck
            namespace.forwarding = Forwarding(namespace, cluster, _notes(rooms, guard))
            await cluster.start(keep=lambda meeting_id: _occupied(hub, meeting_id))
            namespace.forwarding.start()
            if isinstance(guard, SharedRoomGuard):

                async def cut_off(user_id: int) -> None:
                    await namespace.flooded(user_id, settings.lang)

                guard.start(cluster.instance, cluster.tell_everyone, cut_off)
            hub.spawn(_sweep_orphans(hub, settings, cluster))
        yield
        hub.closing = True
        sfu_listeners(app).remove(recovery)
        forget_sfu_rooms(namespace.sfu)
        if cluster is not None and namespace.forwarding is not None:
            await namespace.forwarding.stop()
            if isinstance(guard, SharedRoomGuard):
                await guard.stop()
        for sid in list(hub.peers):
            await sio.disconnect(sid, namespace="/room")
        await hub.close()
        if cluster is not None:
            await cluster.stop()

    app.cleanup_ctx.append(realtime_ctx)
    # SIGTERM: members told and connections closed before aiohttp waits for open requests.
    app.on_shutdown.append(restart.on_shutdown(sio, lambda app: app.get(LIVE_HUB)))
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
        recheck = request.app.get(RECHECK)
        if recheck is not None:
            recheck()
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
        await _let_go(hub, meeting_id, member_id, restarted_at)
    if stale:
        log.info("after the restart, %d stale online presences were examined", len(stale))


async def _let_go(hub: Hub, meeting_id: int, member_id: int, at: datetime) -> None:
    """A leave at `at` for a member online in the database but in no connection of the room."""
    room = hub.room(meeting_id)
    async with room.lock:
        if room.sids_of(member_id) or member_id in room.pending_leaves:
            return
        async with hub.database.write() as session:
            written = await online_leave(session, meeting_id, member_id, user_id=None, at=at, why="restart")
        if written:
            room.record(member_id, EventKind.LEAVE, at)  # the room's view shows it at once
    hub.request_push(meeting_id)


async def _sweep_orphans(hub: Hub, settings: Settings, cluster: Cluster) -> None:
    """Several processes: a meeting whose owner died and that no member has joined again has no
    process to let its members go. Every wait, each process takes such meetings (the lease decides
    which one) and gives a leave, dated when they were first found orphaned, to those still not back."""
    wait = settings.presence_confirm_seconds
    wait = DEFAULT_SWEEP_SECONDS if wait is None else wait
    found: dict[tuple[int, int], datetime] = {}
    while True:
        await asyncio.sleep(max(wait, 1.0))
        try:
            async with hub.database.read() as session:
                stale = await online_members(session)
            seen = set()
            for meeting_id, member_id in stale:
                if meeting_id not in cluster.owned:
                    holder = await cluster.holder(meeting_id)
                    if holder is not None and await cluster.alive(holder):
                        continue
                    if await cluster.owner(meeting_id) != cluster.instance:
                        continue
                room = hub.room(meeting_id)
                if room.sids_of(member_id) or member_id in room.pending_leaves:
                    continue
                key = (meeting_id, member_id)
                seen.add(key)
                if key not in found:
                    found[key] = hub.clock()  # let go at the next round if still away
                    continue
                await _let_go(hub, meeting_id, member_id, found[key])
            for key in [k for k in found if k not in seen]:
                del found[key]
        except Exception:
            log.exception("sweep of orphaned meetings failed")
