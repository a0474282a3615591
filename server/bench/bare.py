"""The baseline: a bare python-socketio server with the same `/room` events and no logic of ours.

`python -m server.bench.bare --port P`: aiohttp + `socketio.AsyncServer(async_mode="aiohttp",
transports=["websocket"])`; `join {meeting_id}` enters one room per meeting, tells the others
`peer-joined` and acks `{ok, peers}`; `hand {raised}` sends `hands` to the meeting and acks. No
database, no checks, no presence: what the library costs by itself, for the ratio in docs/performance.md.
With `--redis-url`, several of it share their rooms through python-socketio's Redis manager (the
topology of `cellmeet bench --processes K`; each process keeps its own peer lists).
"""

from __future__ import annotations

import argparse
import secrets
from typing import Any

import socketio
from aiohttp import web

NAMESPACE = "/room"


def create_app(redis_url: str | None = None, channel: str = "socketio") -> web.Application:
    # With a Redis URL: python-socketio's own Redis manager, the library's way to run several processes.
    manager = socketio.AsyncRedisManager(redis_url, channel=channel) if redis_url else None
    sio = socketio.AsyncServer(
        async_mode="aiohttp",
        transports=["websocket"],
        logger=False,
        engineio_logger=False,
        client_manager=manager,
    )
    app = web.Application()
    sio.attach(app, socketio_path="socket.io")
    peers: dict[str, tuple[int, dict[str, Any]]] = {}  # sid -> (meeting, peer json)
    rooms: dict[int, dict[str, dict[str, Any]]] = {}  # meeting -> sid -> peer json
    hands: dict[int, list[str]] = {}  # meeting -> peer ids with a raised hand, in order

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app.router.add_get("/healthz", healthz)

    async def join(sid: str, data: Any) -> dict[str, Any]:
        meeting_id = int(data["meeting_id"])
        room = rooms.setdefault(meeting_id, {})
        me = {"peer_id": secrets.token_urlsafe(9)}
        others = list(room.values())
        room[sid] = me
        peers[sid] = (meeting_id, me)
        await sio.enter_room(sid, f"meeting:{meeting_id}", namespace=NAMESPACE)
        await sio.emit("peer-joined", me, to=f"meeting:{meeting_id}", skip_sid=sid, namespace=NAMESPACE)
        return {"ok": True, "peers": others}

    async def hand(sid: str, data: Any) -> dict[str, Any]:
        meeting_id, me = peers[sid]
        raised = hands.setdefault(meeting_id, [])
        if data.get("raised") and me["peer_id"] not in raised:
            raised.append(me["peer_id"])
        elif not data.get("raised") and me["peer_id"] in raised:
            raised.remove(me["peer_id"])
        payload = {"hands": [{"peer_id": p} for p in raised]}
        await sio.emit("hands", payload, to=f"meeting:{meeting_id}", namespace=NAMESPACE)
        return {"ok": True, **payload}

    async def disconnect(sid: str, reason: Any = None) -> None:
        found = peers.pop(sid, None)
        if found is not None:
            meeting_id, me = found
            rooms.get(meeting_id, {}).pop(sid, None)
            await sio.emit("peer-left", me, to=f"meeting:{meeting_id}", namespace=NAMESPACE)

    sio.on("join", join, namespace=NAMESPACE)
    sio.on("hand", hand, namespace=NAMESPACE)
    sio.on("disconnect", disconnect, namespace=NAMESPACE)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m server.bench.bare")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument(
        "--redis-url", default=None, help="several processes: python-socketio's Redis manager"
    )
    parser.add_argument("--channel", default="socketio", help="the Redis manager's channel")
    args = parser.parse_args()
    app = create_app(args.redis_url, args.channel)
    web.run_app(app, host=args.host, port=args.port, print=None, shutdown_timeout=2)


if __name__ == "__main__":
    main()
