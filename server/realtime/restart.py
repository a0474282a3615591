"""A graceful stop (SIGTERM: systemd's restart, an upgrade) as members live it (issue 28, quality.md R2).

aiohttp stops listening, then calls `on_shutdown`, then waits up to `shutdown_timeout` for open
requests, then runs the cleanups. A room's WebSocket is an open request that never ends by itself:
left to that wait, every stop took the whole timeout and then cut members off with no word. Here, at
`on_shutdown`, each joined connection is told `server_restarting` in its member's language, and every
connection is closed at once, so the stop takes as long as the REST requests in flight and the pages
reconnect to the next process as soon as it listens.

The departures that follow write nothing (`hub.closing`): a restart is not a member leaving. The
members' reconnects within the rule set's grace keep one attendance interval, as after a crash.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from meetings.decision import Text
from server.realtime.guarded_server import FLUSH_SECONDS, GuardedServer
from server.realtime.hub import Hub
from server.realtime.live_room import Peer

log = logging.getLogger("cellmeet.realtime")

NAMESPACE = "/room"
RESTARTING = Text(
    "Máy chủ đang khởi động lại; phòng họp sẽ tự kết nối lại sau vài giây. Bạn không cần làm gì.",
    "The server is restarting; the room reconnects by itself in a few seconds. Nothing to do.",
)


def restarting(peer: Peer) -> dict[str, object]:
    return {"message": RESTARTING.in_language(peer.lang)}


async def announce_and_close(sio: GuardedServer, hub: Hub) -> None:
    """Tell every joined connection, then hang up every connection of this process."""
    hub.closing = True  # from here, departures write no leave: the members come back
    peers = list(hub.peers.items())
    for sid, peer in peers:
        try:
            await sio.emit("server_restarting", restarting(peer), to=sid, namespace=NAMESPACE)
        except Exception:  # a connection closing meanwhile: the others are still told
            log.debug("server_restarting not sent to %s", sid, exc_info=True)
    # engine.io's writer tasks put the word on the wire; then the TCP streams close after it, with no
    # closing packet: a socket.io client told "disconnect" by the server would not come back.
    await asyncio.sleep(FLUSH_SECONDS)
    closed = sio.hang_up_all()
    log.info("stopping: %d members told, %d room connections closed", len(peers), closed)


def on_shutdown(
    sio: GuardedServer, hub_of: Callable[[web.Application], Hub | None]
) -> Callable[[web.Application], Awaitable[None]]:
    """The app's `on_shutdown` handler (the hub exists only once the app has started)."""

    async def handler(app: web.Application) -> None:
        hub = hub_of(app)
        if hub is not None:
            await announce_and_close(sio, hub)

    return handler
