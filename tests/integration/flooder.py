"""An attacker of `/room` speaking raw engine.io/socket.io frames over an aiohttp WebSocket.

It floods one kind of frame as fast as asked, and whenever it is cut (its namespace disconnected or
its WebSocket closed) it connects again at once, as the attacks of issue 17 did. Run in its own
process (`python -m tests.integration.flooder ...`, JSON on stdout) so that its own work does not
share the server's event loop, or in-process through `flood()`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import asdict, dataclass, field
from typing import Any

import aiohttp

NAMESPACE = "/room"


@dataclass
class FloodReport:
    sent: int = 0
    accepted: int = 0  # acks with ok: true of the flooded event (a hand, or a join)
    refused: dict[str, int] = field(default_factory=dict)  # error code -> acks
    connects: int = 0  # namespace connections accepted
    connect_refusals: dict[str, int] = field(default_factory=dict)
    websockets: int = 0  # WebSockets opened
    websocket_refusals: int = 0  # upgrades answered with an HTTP error
    closed_by_server: int = 0  # WebSockets the server closed

    def refuse(self, table: dict[str, int], code: str) -> None:
        table[code] = table.get(code, 0) + 1


def deep_hand_frame(ack_id: int, depth: int = 20_000) -> str:
    return f'42{NAMESPACE},{ack_id}["hand",' + "[" * depth + "]" * depth + "]"


def event_frame(ack_id: int, event: str, data: Any) -> str:
    return f"42{NAMESPACE},{ack_id}" + json.dumps([event, data], separators=(",", ":"))


async def flood(
    url: str,
    *,
    cookie: str,
    meeting_id: int,
    mode: str,
    seconds: float,
    rate: float,
    origin: str | None = None,
) -> FloodReport:
    """`mode`: "hand" (join once per connection, then flood hands), "join" (flood joins) or "deep"
    (flood hands nested 20,000 deep). `rate`: frames a second."""
    report = FloodReport()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    headers = {"Cookie": cookie, "Origin": origin or url.rstrip("/")}
    ws_url = url.rstrip("/").replace("http", "ws", 1) + "/socket.io/?EIO=4&transport=websocket"
    async with aiohttp.ClientSession() as http:
        while loop.time() < deadline:
            try:
                ws = await http.ws_connect(ws_url, headers=headers, max_msg_size=0, autoping=False)
            except aiohttp.WSServerHandshakeError:
                report.websocket_refusals += 1
                await asyncio.sleep(1.0 / rate)
                continue
            report.websockets += 1
            async with ws:
                await _one_websocket(ws, report, meeting_id, mode, rate, deadline)
                if ws.closed:
                    report.closed_by_server += 1
    return report


async def _one_websocket(
    ws: aiohttp.ClientWebSocketResponse,
    report: FloodReport,
    meeting_id: int,
    mode: str,
    rate: float,
    deadline: float,
) -> None:
    loop = asyncio.get_running_loop()
    ack_id = 0
    state = {"connected": False, "joined": False}
    pending: dict[int, str] = {}  # ack id -> event
    flooded = "join" if mode == "join" else "hand"

    async def read() -> None:
        async for message in ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                break
            text: str = message.data
            if text == "2":
                await ws.send_str("3")  # engine.io ping -> pong
            elif text.startswith(f"40{NAMESPACE},"):
                state["connected"] = True
                report.connects += 1
            elif text.startswith(f"44{NAMESPACE},"):
                body = json.loads(text[len(f"44{NAMESPACE},") :])
                report.refuse(report.connect_refusals, str((body.get("data") or {}).get("code", body)))
                state["connected"] = False
            elif text.startswith(f"41{NAMESPACE}"):
                state["connected"] = state["joined"] = False
            elif text.startswith(f"43{NAMESPACE},"):
                rest = text[len(f"43{NAMESPACE},") :]
                digits = len(rest) - len(rest.lstrip("0123456789"))
                (answer,) = json.loads(rest[digits:])
                event = pending.pop(int(rest[:digits]), "?")
                if not answer.get("ok"):
                    report.refuse(report.refused, answer["error"]["code"])
                elif event == flooded:
                    report.accepted += 1
                if event == "join" and answer.get("ok"):
                    state["joined"] = True

    reader = loop.create_task(read())
    try:
        # The engine.io open packet, then a namespace connect; again whenever the namespace is cut.
        while loop.time() < deadline and not ws.closed and not reader.done():
            if not state["connected"]:
                await ws.send_str(f"40{NAMESPACE},")
                state["connected"] = None  # type: ignore[assignment]  # asked, not answered yet
            ack_id += 1
            if mode == "deep":
                pending[ack_id], frame = "hand", deep_hand_frame(ack_id)
            elif mode == "join" or not state["joined"]:
                pending[ack_id] = "join"
                frame = event_frame(ack_id, "join", {"meeting_id": meeting_id})
            else:
                pending[ack_id] = "hand"
                frame = event_frame(ack_id, "hand", {"raised": ack_id % 2 == 0})
            await ws.send_str(frame)
            report.sent += 1
            await asyncio.sleep(1.0 / rate)
    except (ConnectionResetError, aiohttp.ClientError):
        pass
    finally:
        await asyncio.sleep(0.05)  # the last answers
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--cookie", required=True)
    parser.add_argument("--meeting", type=int, required=True)
    parser.add_argument("--mode", choices=["hand", "join", "deep"], required=True)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rate", type=float, default=400.0)
    args = parser.parse_args(argv)
    print("flooding", flush=True)  # imports done: the caller measures from here
    report = asyncio.run(
        flood(
            args.url,
            cookie=args.cookie,
            meeting_id=args.meeting,
            mode=args.mode,
            seconds=args.seconds,
            rate=args.rate,
        )
    )
    json.dump(asdict(report), sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1:])
