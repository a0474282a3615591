"""A few aiortc peers in one meeting of our server, negotiating through the relayed `signal` events
(the newcomer offers to every peer already there, docs/api.md) and sending each other audio.

Loopback only: no ICE servers at all (`iceServers=[]`, never aiortc's public STUN default) and
aioice's host addresses replaced by 127.0.0.1 for the duration. The server carries no media."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import aioice.ice
import socketio
from aiortc import (
    AudioStreamTrack,
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError

from server.bench.driver import CALL_TIMEOUT, CONNECT_TIMEOUT, NAMESPACE

LOOPBACK = "127.0.0.1"


@contextlib.contextmanager
def loopback_only() -> Iterator[None]:
    original = aioice.ice.get_host_addresses

    def loopback(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return [LOOPBACK]

    aioice.ice.get_host_addresses = loopback
    try:
        yield
    finally:
        aioice.ice.get_host_addresses = original


@dataclass
class Leg:
    """One peer connection of one peer, towards `remote`."""

    pc: RTCPeerConnection
    remote: str
    connected_at: float | None = None
    frames: int = 0
    readers: list[asyncio.Task[None]] = field(default_factory=list)


class RtcPeer:
    def __init__(self, url: str, token: str, meeting_id: int) -> None:
        self.url = url
        self.token = token
        self.meeting_id = meeting_id
        self.sio = socketio.AsyncClient(reconnection=False)
        self.sio.on("signal", self._on_signal, namespace=NAMESPACE)
        self.peer_id = ""
        self.legs: dict[str, Leg] = {}
        self.tasks: set[asyncio.Task[Any]] = set()
        self.errors: list[str] = []
        self.counting = False

    def _leg(self, remote: str) -> Leg:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        leg = self.legs[remote] = Leg(pc, remote)
        pc.addTrack(AudioStreamTrack())

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if pc.connectionState == "connected" and leg.connected_at is None:
                leg.connected_at = time.perf_counter()

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            leg.readers.append(asyncio.get_running_loop().create_task(self._read(leg, track)))

        return leg

    async def _read(self, leg: Leg, track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError, asyncio.CancelledError):
            while True:
                await track.recv()
                if self.counting:
                    leg.frames += 1

    async def _on_signal(self, data: Any = None) -> None:
        task = asyncio.get_running_loop().create_task(self._answer(data))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _answer(self, data: Any) -> None:
        try:
            remote, description = data["from"], data.get("description")
            if not description:
                return
            if description["type"] == "offer":
                leg = self._leg(remote)
                await leg.pc.setRemoteDescription(RTCSessionDescription(description["sdp"], "offer"))
                await leg.pc.setLocalDescription(await leg.pc.createAnswer())
                await self._send(remote, leg.pc)
            elif description["type"] == "answer" and remote in self.legs:
                await self.legs[remote].pc.setRemoteDescription(
                    RTCSessionDescription(description["sdp"], "answer")
                )
        except Exception as exc:
            self.errors.append(f"{type(exc).__name__}: {exc}"[:200])

    async def _send(self, remote: str, pc: RTCPeerConnection) -> None:
        local = pc.localDescription
        ack = await self.sio.call(
            "signal",
            {"to": remote, "description": {"type": local.type, "sdp": local.sdp}},
            namespace=NAMESPACE,
            timeout=CALL_TIMEOUT,
        )
        if not (isinstance(ack, dict) and ack.get("ok")):
            self.errors.append(f"signal refused: {str(ack)[:200]}")

    async def join(self) -> list[str]:
        await self.sio.connect(
            self.url,
            namespaces=[NAMESPACE],
            transports=["websocket"],
            socketio_path="socket.io",
            auth={"token": self.token},
            wait_timeout=CONNECT_TIMEOUT,
        )
        ack = await self.sio.call(
            "join", {"meeting_id": self.meeting_id}, namespace=NAMESPACE, timeout=CALL_TIMEOUT
        )
        if not (isinstance(ack, dict) and ack.get("ok")):
            raise RuntimeError(f"aiortc peer could not join: {str(ack)[:200]}")
        self.peer_id = ack["self"]["peer_id"]
        return [p["peer_id"] for p in ack["peers"]]

    async def offer(self, remote: str) -> None:
        leg = self._leg(remote)
        await leg.pc.setLocalDescription(await leg.pc.createOffer())
        await self._send(remote, leg.pc)

    async def close(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        for leg in self.legs.values():
            for reader in leg.readers:
                reader.cancel()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(leg.pc.close(), 5.0)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.sio.disconnect(), 5.0)


async def run_peers(
    url: str, tokens: list[str], meeting_id: int, listen_seconds: float = 2.0
) -> dict[str, Any]:
    """Peers join one after another; each newcomer offers to the peers already there. Reports, per pair,
    the time from the offer's start to `connected` on both sides, and the audio frames each leg
    received during `listen_seconds` once everything is connected (20 ms frames: 50 a second)."""
    peers = [RtcPeer(url, token, meeting_id) for token in tokens]
    pairs: list[tuple[RtcPeer, RtcPeer, float]] = []  # (offerer, answerer, offer start)
    try:
        with loopback_only():
            for newcomer in peers:
                existing = await newcomer.join()
                for remote in existing:
                    answerer = next(p for p in peers if p.peer_id == remote)
                    pairs.append((newcomer, answerer, time.perf_counter()))
                    await newcomer.offer(remote)
            deadline = time.perf_counter() + 15.0

            def all_connected() -> bool:
                return all(
                    (leg := a.legs.get(b.peer_id)) is not None
                    and leg.connected_at is not None
                    and (back := b.legs.get(a.peer_id)) is not None
                    and back.connected_at is not None
                    for a, b, _ in pairs
                )

            while not all_connected() and time.perf_counter() < deadline:
                await asyncio.sleep(0.01)
            for peer in peers:
                peer.counting = True
            await asyncio.sleep(listen_seconds)
            for peer in peers:
                peer.counting = False
            connect_ms: list[float | None] = []
            for a, b, started in pairs:
                ends = [leg.connected_at for leg in (a.legs.get(b.peer_id), b.legs.get(a.peer_id)) if leg]
                done = len(ends) == 2 and all(end is not None for end in ends)
                connect_ms.append(round((max(ends) - started) * 1000.0, 1) if done else None)  # type: ignore[type-var,operator]
            frames = [leg.frames for peer in peers for leg in peer.legs.values()]
            return {
                "peers": len(peers),
                "pairs": len(pairs),
                "connected_pairs": sum(1 for ms in connect_ms if ms is not None),
                "connect_ms": connect_ms,
                "listen_s": listen_seconds,
                "audio_frames_per_leg": frames,
                "audio_frames_expected_per_leg": int(listen_seconds / 0.02),
                "errors": [e for peer in peers for e in peer.errors][:5],
            }
    finally:
        await asyncio.gather(*(peer.close() for peer in peers), return_exceptions=True)
