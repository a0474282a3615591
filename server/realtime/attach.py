"""Mounting `/room` on the aiohttp application: the socket.io server, its limits, and the restart sweep."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import socketio
from aiohttp import web

from server.appkeys import CLOCK, DATABASE, HUB
from server.realtime.hub import Hub
from server.realtime.namespace import RoomNamespace
from server.services.presence import online_leave, online_members
from server.settings import Settings

log = logging.getLogger("cellmeet.realtime")
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


def attach_realtime(app: web.Application, settings: Settings) -> socketio.AsyncServer:
    sio = socketio.AsyncServer(
        async_mode="aiohttp",
        transports=["websocket"],
        max_http_buffer_size=settings.room_max_message_bytes,
        ping_interval=settings.ping_interval_seconds,
        ping_timeout=settings.ping_timeout_seconds,
        cors_allowed_origins=_same_origin(settings),
        logger=False,
        engineio_logger=False,
    )
    sio.attach(app, socketio_path="socket.io")

    async def realtime_ctx(app: web.Application) -> AsyncIterator[None]:
        hub = Hub(sio, app[DATABASE], app[CLOCK])
        sio.register_namespace(RoomNamespace(hub, settings))
        app[HUB] = hub
        hub.spawn(_sweep_after_restart(hub, settings))
        yield
        hub.closing = True
        for sid in list(hub.peers):
            await sio.disconnect(sid, namespace="/room")
        await hub.close()

    app.cleanup_ctx.append(realtime_ctx)
    return sio


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
                await online_leave(
                    session, meeting_id, member_id, user_id=None, at=restarted_at, why="restart"
                )
        hub.request_push(meeting_id)
    if stale:
        log.info("after the restart, %d stale online presences were examined", len(stale))
