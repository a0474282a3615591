"""One aiortc audio peer for quality.md R4 (tests/integration/test_lossy_media.py): used in the test
process as the clean member, and run as `python -m tests.integration.lossy_peer ADDRESS` inside the
test's network namespace as the lossy one, driven over its stdin and stdout (one JSON object a line),
so its socket.io signalling can stay in the test process on loopback while its media crosses the veth.

Commands (stdin) and their one reply line each (stdout, `{"reply": ...}`):
  {"do": "offer"}               -> {"reply": "offer", "sdp": ...}
  {"do": "answer", "sdp": ...}  -> {"reply": "answer", "sdp": ...}
  {"do": "accept", "sdp": ...}  -> {"reply": "accept"}
  {"do": "count"}               -> {"reply": "count"}     (frames counted from now, per second)
  {"do": "pause"}               -> {"reply": "pause"}     (no more RTP: the last RTCP reports are final)
  {"do": "stats"}               -> {"reply": "stats", "stats": {...}}   (see `AudioPeer.stats`)
  {"do": "close"}               -> {"reply": "close"}, then the process ends
  (stats carry `impaired`: the datagrams dropped and passed each way, when the peer impairs its own)
and, whenever the connection's state changes, `{"event": "state", "state": ...}`.

`python -m tests.integration.lossy_peer ADDRESS LOSS_PERCENT DELAY_MS JITTER_MS`: this kernel has no
sch_netem (CONFIG_NET_SCH_NETEM is not set), so the peer does netem's work itself on every datagram
its ICE sockets send and receive (`Impairment`); the test says which of the two a run used.
`Impairment.attach` does the same to one connection of a process whose other peers stay clean.

Loopback and the test's 198.18.0.0/15 only: no ICE servers (never aiortc's public STUN default) and
aioice's host addresses replaced by the one address given.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import sys
import time
from collections.abc import Callable
from typing import Any

import aioice.ice
from aiortc import (
    AudioStreamTrack,
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError


class PausableTone(AudioStreamTrack):
    """aiortc's 20 ms silence frames (50 a second), until `pause()`: then nothing more is sent, so the
    receiver's last RTCP receiver reports count every packet the sender sent."""

    def __init__(self) -> None:
        super().__init__()
        self.running = asyncio.Event()
        self.running.set()

    async def recv(self) -> Any:
        await self.running.wait()
        return await super().recv()


class AudioPeer:
    def __init__(
        self,
        on_state: Callable[[str], None] | None = None,
        configuration: RTCConfiguration | None = None,
    ) -> None:
        # No ICE servers unless told (never aiortc's public STUN default); the TURN run of R4 gives
        # coturn and the relay-only policy (tests/integration/test_lossy_media_turn.py).
        self.pc = RTCPeerConnection(configuration or RTCConfiguration(iceServers=[]))
        self.tone = PausableTone()
        self.pc.addTrack(self.tone)
        self.states: list[tuple[float, str]] = []  # (time.time(), connectionState)
        self.count_from: float | None = None
        self.count_until: float | None = None
        self.frames: dict[int, int] = {}  # second of the call -> audio frames received in it
        self.readers: list[asyncio.Task[None]] = []
        self.on_state = on_state

        @self.pc.on("connectionstatechange")
        def changed() -> None:
            self.states.append((time.time(), self.pc.connectionState))
            if self.on_state is not None:
                self.on_state(self.pc.connectionState)

        @self.pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            self.readers.append(asyncio.get_running_loop().create_task(self._read(track)))

    async def _read(self, track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError, asyncio.CancelledError):
            while True:
                await track.recv()
                if self.count_from is not None and self.count_until is None:
                    second = int(time.monotonic() - self.count_from)
                    self.frames[second] = self.frames.get(second, 0) + 1

    async def offer(self) -> str:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return self.pc.localDescription.sdp

    async def answer(self, sdp: str) -> str:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp, "offer"))
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        return self.pc.localDescription.sdp

    async def accept(self, sdp: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp, "answer"))

    def count(self) -> None:
        self.count_from = time.monotonic()

    def pause(self) -> None:
        """Stop sending, and counting: the call is over."""
        self.tone.running.clear()
        self.count_until = time.monotonic()

    async def stats(self) -> dict[str, Any]:
        """What this peer received (inbound-rtp, counted here), what the other side's RTCP receiver
        reports say it received of ours (remote-inbound-rtp), what we sent, and the frames per second."""
        report = await self.pc.getStats()
        found: dict[str, Any] = {"states": self.states}
        for stat in report.values():
            if stat.type == "inbound-rtp":
                found["inbound"] = {"lost": stat.packetsLost, "received": stat.packetsReceived}
            elif stat.type == "remote-inbound-rtp":
                found["remote_inbound"] = {
                    "lost": stat.packetsLost,
                    "received": stat.packetsReceived,
                    "rtt": stat.roundTripTime,
                }
            elif stat.type == "outbound-rtp":
                found["sent"] = stat.packetsSent
        if self.count_from is not None:
            whole = int((self.count_until or time.monotonic()) - self.count_from)
            found["frames_per_second"] = [self.frames.get(second, 0) for second in range(whole)]
        return found

    async def close(self) -> None:
        for reader in self.readers:
            reader.cancel()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.pc.close(), 5.0)


class _Impaired:
    """A datagram transport whose sends are dropped or delayed as netem would on the interface."""

    def __init__(self, transport: asyncio.DatagramTransport, impairment: Impairment) -> None:
        self._transport = transport
        self._impairment = impairment

    def sendto(self, data: bytes, addr: Any = None) -> None:
        self._impairment.later(self._transport.sendto, data, addr)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class Impairment:
    """netem's `loss L% delay D J` done to every datagram aioice sends and receives, for a kernel built
    without sch_netem: each packet, either way, is dropped with probability L, else handed on after a
    delay drawn uniformly from D ± J (independently, so packets reorder as under netem's jitter)."""

    def __init__(self, loss_percent: float, delay_ms: float, jitter_ms: float) -> None:
        self.loss = loss_percent / 100.0
        self.delay_ms = delay_ms
        self.jitter_ms = jitter_ms
        self.random = random.Random()
        self.dropped = {"out": 0, "in": 0}
        self.passed = {"out": 0, "in": 0}

    def later(self, deliver: Callable[..., None], *args: Any, way: str = "out") -> None:
        if self.random.random() < self.loss:
            self.dropped[way] += 1
            return
        self.passed[way] += 1
        delay = (self.delay_ms + self.random.uniform(-self.jitter_ms, self.jitter_ms)) / 1000.0
        asyncio.get_running_loop().call_later(max(delay, 0.0), deliver, *args)

    def attach(self, pc: RTCPeerConnection) -> None:
        """The same, done to one connection's sockets only, so an impaired peer can share a process (and
        its loopback) with clean ones (tests/e2e/test_room_lossy_mark.py). Call it between `AudioPeer.offer`
        and `accept`: the connection has gathered its candidates and sent nothing yet."""
        impairment = self
        for transceiver in pc.getTransceivers():
            connection = transceiver.sender.transport.transport.iceGatherer._connection
            for protocol in connection._protocols:
                if isinstance(protocol.transport, _Impaired):
                    continue  # bundled: one ICE transport under every transceiver
                protocol.transport = _Impaired(protocol.transport, impairment)  # type: ignore[assignment]
                received = protocol.datagram_received

                def datagram_received(data: bytes, addr: Any, received: Any = received) -> None:
                    impairment.later(received, data, addr, way="in")

                protocol.datagram_received = datagram_received  # type: ignore[method-assign,assignment]

    def install(self) -> None:
        """Every aioice socket of the process (the subprocess peer's own)."""
        impairment = self
        made = aioice.ice.StunProtocol.connection_made
        received = aioice.ice.StunProtocol.datagram_received

        def connection_made(protocol: Any, transport: asyncio.BaseTransport) -> None:
            made(protocol, transport)
            protocol.transport = _Impaired(protocol.transport, impairment)

        def datagram_received(protocol: Any, data: bytes, addr: Any) -> None:
            impairment.later(received, protocol, data, addr, way="in")

        aioice.ice.StunProtocol.connection_made = connection_made  # type: ignore[method-assign]
        aioice.ice.StunProtocol.datagram_received = datagram_received  # type: ignore[method-assign]


def only_address(address: str) -> None:
    """aioice gathers this one host candidate and nothing else."""
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: [address]  # type: ignore[assignment]


def _say(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


async def serve(address: str, impairment: Impairment | None) -> None:
    only_address(address)
    if impairment is not None:
        impairment.install()
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    peer = AudioPeer(on_state=lambda state: _say({"event": "state", "state": state}))
    _say({"reply": "ready"})
    try:
        while line := await reader.readline():
            command = json.loads(line)
            what = command["do"]
            if what == "offer":
                _say({"reply": what, "sdp": await peer.offer()})
            elif what == "answer":
                _say({"reply": what, "sdp": await peer.answer(command["sdp"])})
            elif what == "accept":
                await peer.accept(command["sdp"])
                _say({"reply": what})
            elif what == "count":
                peer.count()
                _say({"reply": what})
            elif what == "pause":
                peer.pause()
                _say({"reply": what})
            elif what == "stats":
                stats = await peer.stats()
                if impairment is not None:
                    stats["impaired"] = {"dropped": impairment.dropped, "passed": impairment.passed}
                _say({"reply": what, "stats": stats})
            elif what == "close":
                break
    finally:
        await peer.close()
        _say({"reply": "close"})


if __name__ == "__main__":
    # ADDRESS [LOSS_PERCENT DELAY_MS JITTER_MS]: the last three when the kernel has no netem
    numbers = [float(value) for value in sys.argv[2:5]]
    asyncio.run(serve(sys.argv[1], Impairment(*numbers) if numbers else None))
