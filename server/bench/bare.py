"""The baseline: a bare python-socketio server with the same `/room` events and no logic of ours.

`python -m server.bench.bare --port P`: aiohttp + `socketio.AsyncServer(async_mode="aiohttp",
transports=["websocket"])`; `join {meeting_id}` enters one room per meeting, tells the others
`peer-joined` and acks `{ok, peers}`; `hand {raised}` sends `hands` to the meeting and acks. No
database, no checks, no presence: what the library costs by itself, for the ratio in docs/performance.md.
"""

from __future__ import annotations

import argparse
import secrets
from typing import Any

import socketio
from aiohttp import web

NAMESPACE = "/room"


def create_app() -> web.Application:
    sio = socketio.AsyncServer(
        async_mode="aiohttp", transports=["websocket"], logger=False, engineio_logger=False
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
    args = parser.parse_args()
    web.run_app(create_app(), host=args.host, port=args.port, print=None, shutdown_timeout=2)


if __name__ == "__main__":
    main()
