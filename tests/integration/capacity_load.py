"""The load of quality.md R7 (tests/integration/test_capacity.py): members who each raise or lower their
hand once a second and time the ack, aiortc audio members meeting in a mesh through the server's
`signal` relay, the cores the server and the load are pinned to, and the CPU both spend.

A non-test module: the capacity tests import it, never one another.

Hand clients speak socket.io over a WebSocket each (`HandClient`), one member each: the event budget
is the user's (server/realtime/guard.py, 20 a second, burst 100), so one hand a second is never
refused. The load is open-loop: each client emits on its own 1-second beat (the beats of the clients
spread over the second), whether or not the previous ack has come, so a slow server shows as late acks
instead of fewer emits.

Audio: each audio member holds one aiortc peer connection to each other audio member (a full mesh, as
the room page makes without an SFU), offers to those after it and answers those before it, through
`signal`. Each sends a steady 400 Hz tone (not aiortc's silence, which Opus squeezes to about 1 kbit/s)
in aiortc's fixed 20 ms packets, encoded once beforehand by aiortc's Opus encoder (`Tone`). A track's
nominal bitrate is 50 packets a second times its sender's mean payload over the window (outbound-rtp
bytesSent / packetsSent); its bitrate is the payload bytes its receiver took in over the window, and
its loss the receiver's inbound-rtp packetsLost over the packets expected in the window. Loopback
only: no ICE servers, and aioice's host addresses replaced by 127.0.0.1 while the mesh lives.
"""

from __future__ import annotations

import array
import asyncio
import contextlib
import fractions
import json
import math
import os
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import aioice.ice
import socketio
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.codecs.opus import OpusEncoder
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame, Packet

NAMESPACE = "/room"
OPUS_TIME_BASE = fractions.Fraction(1, 48000)
ACK_TIMEOUT = 10.0  # seconds: an ack later than this is an error, not a latency
PACKETS_PER_SECOND = 50  # aiortc's 20 ms audio frames
TICKS = os.sysconf("SC_CLK_TCK")

# --- cores and CPU ------------------------------------------------------------------------------


def threads(pid: int) -> list[int]:
    return [int(tid) for tid in os.listdir(f"/proc/{pid}/task")]


def pin(pid: int, cores: set[int]) -> dict[int, set[int]]:
    """Every thread of `pid` onto `cores` (threads it starts later inherit it); the old affinities."""
    old: dict[int, set[int]] = {}
    for tid in threads(pid):
        with contextlib.suppress(ProcessLookupError):
            old[tid] = os.sched_getaffinity(tid)
            os.sched_setaffinity(tid, cores)
    return old


def unpin(pid: int, old: dict[int, set[int]], default: set[int]) -> None:
    for tid in threads(pid):
        with contextlib.suppress(ProcessLookupError):
            os.sched_setaffinity(tid, old.get(tid, default))


def cpu_seconds(pid: int) -> float:
    """utime + stime of the whole process (all its threads), from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # fields 14 and 15 of proc(5)


def percentile(values: list[float], pct: int) -> float:
    if not values:
        return math.nan
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1]


# --- hand clients -------------------------------------------------------------------------------


@dataclass
class Emit:
    at: float  # loop time of the emit
    latency: float | None = None  # seconds to the ack; None: no ack (yet)


class HandClient:
    """One member on one WebSocket, speaking engine.io 4 / socket.io 5 frames itself (as
    tests/integration/flooder.py does): the room's `hands` broadcasts, 60 a second to each of 60
    clients at full size, are counted by their prefix and never decoded, so the load's core goes to
    the acks. python-socketio's client decodes every broadcast: with it (and the audio mesh beside
    it) core 1 was full at 40 clients, and the acks measured the load's queue, not the server."""

    def __init__(self, load: HandLoad, index: int, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.load, self.index, self.ws = load, index, ws
        self.acks: dict[int, asyncio.Future[Any]] = {}
        self.next_id = 0
        self.connected = asyncio.get_running_loop().create_future()
        self.reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        connected, refused = f"40{NAMESPACE},", f"44{NAMESPACE},"
        acked, cut, hands = f"43{NAMESPACE},", f"41{NAMESPACE}", f'42{NAMESPACE},["hands"'
        try:
            async for message in self.ws:
                if message.type != aiohttp.WSMsgType.TEXT:
                    break
                text: str = message.data
                if text.startswith(hands):
                    self.load.hands_received += 1
                elif text.startswith(acked):
                    rest = text[len(acked) :]
                    digits = len(rest) - len(rest.lstrip("0123456789"))
                    waiting = self.acks.pop(int(rest[:digits]), None)
                    if waiting is not None and not waiting.done():
                        waiting.set_result(json.loads(rest[digits:])[0])
                elif text == "2":
                    await self.ws.send_str("3")  # engine.io ping -> pong
                elif text.startswith(connected) and not self.connected.done():
                    self.connected.set_result(True)
                elif text.startswith(refused) and not self.connected.done():
                    self.connected.set_exception(AssertionError(f"refused: {text[:300]}"))
                elif text.startswith(cut):
                    break
        finally:
            if not self.load.stopping:
                self.load.errors.append(f"client {self.index} disconnected")
            for waiting in self.acks.values():
                if not waiting.done():
                    waiting.set_exception(ConnectionError("disconnected"))
            if not self.connected.done():
                self.connected.set_exception(ConnectionError("closed before the namespace connected"))

    async def call(self, event: str, data: Any, timeout: float = ACK_TIMEOUT) -> Any:
        self.next_id += 1
        ack_id = self.next_id
        waiting = self.acks[ack_id] = asyncio.get_running_loop().create_future()
        frame = f"42{NAMESPACE},{ack_id}" + json.dumps([event, data], separators=(",", ":"))
        try:
            await self.ws.send_str(frame)
            return await asyncio.wait_for(waiting, timeout)
        finally:
            self.acks.pop(ack_id, None)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.ws.close(), 5)
        self.reader.cancel()
        await asyncio.gather(self.reader, return_exceptions=True)


@dataclass
class HandLoad:
    """The hand clients, their emits and their errors."""

    url: str
    emits: list[Emit] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    clients: list[HandClient] = field(default_factory=list)
    hands_received: int = 0
    stopping: bool = False
    _http: aiohttp.ClientSession | None = None
    _beats: list[asyncio.Task[None]] = field(default_factory=list)
    _pending: set[asyncio.Task[None]] = field(default_factory=set)

    async def add(self, token: str, meeting_id: int, phase: float) -> None:
        """Connect and join one member, then start its beat `phase` seconds into each second."""
        if self._http is None:
            self._http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        ws_url = self.url.replace("http", "ws", 1) + "/socket.io/?EIO=4&transport=websocket"
        connecting = self._http.ws_connect(
            ws_url, headers={"Origin": self.url}, max_msg_size=0, autoping=False
        )
        ws = await asyncio.wait_for(connecting, 10)
        client = HandClient(self, len(self.clients), ws)
        self.clients.append(client)
        await ws.send_str(f"40{NAMESPACE}," + json.dumps({"token": token}))
        await asyncio.wait_for(client.connected, 10)
        ack = await client.call("join", {"meeting_id": meeting_id})
        assert ack.get("ok") is True, ack
        self._beats.append(asyncio.get_running_loop().create_task(self._beat(client, phase)))

    async def _beat(self, client: HandClient, phase: float) -> None:
        loop = asyncio.get_running_loop()
        at = math.floor(loop.time()) + 1 + phase
        raised = True
        while not self.stopping:
            await asyncio.sleep(max(0.0, at - loop.time()))
            task = loop.create_task(self._emit(client, raised))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)
            raised = not raised
            at += 1.0

    async def _emit(self, client: HandClient, raised: bool) -> None:
        loop = asyncio.get_running_loop()
        emit = Emit(loop.time())
        self.emits.append(emit)
        try:
            ack = await client.call("hand", {"raised": raised})
        except Exception as exc:  # a timeout, or the connection gone
            self.errors.append(f"client {client.index}: {type(exc).__name__} {exc}")
            return
        emit.latency = loop.time() - emit.at
        if not (isinstance(ack, dict) and ack.get("ok") is True):
            self.errors.append(f"client {client.index}: {str(ack)[:200]}")

    def window(self, start: float, end: float) -> list[Emit]:
        return [emit for emit in self.emits if start <= emit.at < end]

    async def stop(self) -> None:
        """Stop the beats, wait for the acks still due, then disconnect."""
        for beat in self._beats:
            beat.cancel()
        await asyncio.gather(*self._beats, return_exceptions=True)
        if self._pending:
            await asyncio.wait(list(self._pending), timeout=ACK_TIMEOUT + 1)
        await self.close()

    async def close(self) -> None:
        self.stopping = True
        for beat in self._beats:
            beat.cancel()
        await asyncio.gather(*(client.close() for client in self.clients))
        if self._http is not None:
            await self._http.close()


async def connect(sio: socketio.AsyncClient, url: str, token: str) -> None:
    await sio.connect(
        url,
        namespaces=[NAMESPACE],
        transports=["websocket"],
        socketio_path="socket.io",
        auth={"token": token},
        wait_timeout=10,
    )


async def close_all(clients: list[socketio.AsyncClient]) -> None:
    async def close(sio: socketio.AsyncClient) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(sio.disconnect(), 5)
        http = getattr(sio.eio, "http", None)
        if http is not None and not http.closed:
            await http.close()

    await asyncio.gather(*(close(sio) for sio in clients))


# --- audio members ------------------------------------------------------------------------------

# 400 Hz at 8 kHz: exactly 8 periods in each 20 ms frame, so every frame is the same 160 samples.
TONE = array.array("h", (int(8000 * math.sin(2 * math.pi * 400 * i / 8000)) for i in range(160))).tobytes()
_encoded: list[bytes] = []


def encoded_tone() -> list[bytes]:
    """One second of the tone through aiortc's own Opus encoder (its 96 kbit/s VBR), made once."""
    if not _encoded:
        encoder = OpusEncoder()
        for index in range(PACKETS_PER_SECOND * 2):
            frame = AudioFrame(format="s16", layout="mono", samples=160)
            frame.planes[0].update(TONE)
            frame.pts, frame.sample_rate, frame.time_base = index * 160, 8000, fractions.Fraction(1, 8000)
            payloads, _ = encoder.encode(frame)
            _encoded.extend(payloads)
        del _encoded[:PACKETS_PER_SECOND]  # the encoder's first second, while it settles
    return _encoded


class Tone(MediaStreamTrack):
    """A 400 Hz tone, paced as aiortc paces its audio (a 20 ms packet every 20 ms), handed to the
    sender already encoded: thirty Opus encoders on the load's core would leave it none for the rest."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self.packets = encoded_tone()
        self.sent = 0
        self.start = 0.0

    async def recv(self) -> Packet:
        if self.readyState != "live":
            raise MediaStreamError
        if self.sent == 0:
            self.start = time.time()
        else:
            await asyncio.sleep(self.start + self.sent * 0.02 - time.time())
        packet = Packet(self.packets[self.sent % len(self.packets)])
        packet.pts, packet.time_base = self.sent * 960, OPUS_TIME_BASE
        self.sent += 1
        return packet


@dataclass
class Link:
    """One peer connection of an audio member, to another, and the payload bytes it received."""

    pc: RTCPeerConnection
    received_bytes: int = 0
    readers: list[asyncio.Task[None]] = field(default_factory=list)

    def count_received(self) -> None:
        for receiver in self.pc.getReceivers():
            if getattr(receiver, "_capacity_counted", False):
                continue
            handle = receiver._handle_rtp_packet

            async def counted(packet: Any, arrival_time_ms: int, handle: Any = handle) -> None:
                self.received_bytes += len(packet.payload)
                await handle(packet, arrival_time_ms=arrival_time_ms)

            receiver._handle_rtp_packet = counted  # type: ignore[method-assign]
            receiver._capacity_counted = True  # type: ignore[attr-defined]

    async def stats(self) -> dict[str, float]:
        found = {"received_bytes": float(self.received_bytes)}
        for stat in (await self.pc.getStats()).values():
            if stat.type == "inbound-rtp":
                found["received"], found["lost"] = stat.packetsReceived, stat.packetsLost
            elif stat.type == "outbound-rtp":
                found["sent"], found["sent_bytes"] = stat.packetsSent, stat.bytesSent
        return found


@dataclass
class AudioMember:
    sio: socketio.AsyncClient
    peer_id: str = ""
    links: dict[str, Link] = field(default_factory=dict)  # by the other member's peer id
    errors: list[str] = field(default_factory=list)

    def link(self, other: str) -> Link:
        if other not in self.links:
            pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
            pc.addTrack(Tone())
            link = self.links[other] = Link(pc)

            @pc.on("track")
            def on_track(track: MediaStreamTrack) -> None:
                link.readers.append(asyncio.get_running_loop().create_task(drain(track)))

        return self.links[other]

    async def signal(self, to: str, description: RTCSessionDescription) -> None:
        data = {"to": to, "description": {"type": description.type, "sdp": description.sdp}}
        ack = await self.sio.call("signal", data, namespace=NAMESPACE, timeout=ACK_TIMEOUT)
        if not ack.get("ok"):
            self.errors.append(f"signal refused: {ack}")

    async def offer(self, to: str) -> None:
        link = self.link(to)
        await link.pc.setLocalDescription(await link.pc.createOffer())
        link.count_received()
        await self.signal(to, link.pc.localDescription)

    async def on_signal(self, data: dict[str, Any]) -> None:
        try:
            link = self.link(data["from"])
            description = RTCSessionDescription(data["description"]["sdp"], data["description"]["type"])
            await link.pc.setRemoteDescription(description)
            if description.type == "offer":
                await link.pc.setLocalDescription(await link.pc.createAnswer())
                await self.signal(data["from"], link.pc.localDescription)
            link.count_received()
        except Exception as exc:
            self.errors.append(f"signal handling: {type(exc).__name__} {exc}")

    async def close(self) -> None:
        for link in self.links.values():
            for reader in link.readers:
                reader.cancel()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(link.pc.close(), 5)


async def drain(track: MediaStreamTrack) -> None:
    with contextlib.suppress(MediaStreamError, asyncio.CancelledError):
        while True:
            await track.recv()


@contextlib.contextmanager
def loopback_only() -> Iterator[None]:
    """aioice gathers 127.0.0.1 and nothing else, for as long as the block lasts."""
    original = aioice.ice.get_host_addresses
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]  # type: ignore[assignment]
    try:
        yield
    finally:
        aioice.ice.get_host_addresses = original  # type: ignore[assignment]


async def audio_mesh(
    url: str, tokens: list[str], meeting_id: int, connected_within: float
) -> list[AudioMember]:
    """The audio members joined and meshed, every link `connected` (else AssertionError)."""
    members: list[AudioMember] = []
    for token in tokens:
        member = AudioMember(socketio.AsyncClient(reconnection=False))
        members.append(member)
        handling: set[asyncio.Task[None]] = set()

        def on_signal(data: dict[str, Any], member: AudioMember = member, handling: Any = handling) -> None:
            if "description" in data:  # aiortc's descriptions carry their candidates
                task = asyncio.get_running_loop().create_task(member.on_signal(data))
                handling.add(task)
                task.add_done_callback(handling.discard)

        member.sio.on("signal", on_signal, namespace=NAMESPACE)
        await connect(member.sio, url, token)
        ack = await member.sio.call("join", {"meeting_id": meeting_id}, namespace=NAMESPACE, timeout=10)
        assert ack.get("ok") is True, ack
        member.peer_id = ack["self"]["peer_id"]
    await asyncio.gather(
        *(a.offer(b.peer_id) for i, a in enumerate(members) for b in members[i + 1 :]),
    )
    wanted = len(members) - 1

    def all_connected() -> bool:
        return all(
            len(m.links) == wanted
            and all(link.pc.connectionState == "connected" for link in m.links.values())
            for m in members
        )

    await until(all_connected, connected_within, lambda: [m.errors for m in members])
    return members


async def until(condition: Callable[[], bool], seconds: float, why: Callable[[], Any] = lambda: "") -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not condition():
        assert loop.time() < deadline, f"not within {seconds} s: {why()}"
        await asyncio.sleep(0.05)


async def link_stats(members: list[AudioMember]) -> dict[tuple[str, str], dict[str, float]]:
    """(member, other) -> that link's stats."""
    out: dict[tuple[str, str], dict[str, float]] = {}

    async def one(member: AudioMember, other: str, link: Link) -> None:
        out[(member.peer_id, other)] = await link.stats()

    await asyncio.gather(*(one(m, o, link) for m in members for o, link in m.links.items()))
    return out


@dataclass
class Track:
    """One direction of one link over a window."""

    bitrate: float  # bits a second received
    nominal: float  # bits a second: 50 packets a second of the sender's mean payload
    loss: float  # fraction of the packets expected in the window that were lost


def tracks(
    before: dict[tuple[str, str], dict[str, float]],
    after: dict[tuple[str, str], dict[str, float]],
    seconds: float,
) -> list[Track]:
    found: list[Track] = []
    for (sender, receiver), sent_after in after.items():
        got_after, got_before = after[(receiver, sender)], before[(receiver, sender)]
        sent_before = before[(sender, receiver)]
        packets = sent_after["sent"] - sent_before["sent"]
        mean_payload = (sent_after["sent_bytes"] - sent_before["sent_bytes"]) / max(packets, 1)
        received = got_after["received"] - got_before["received"]
        lost = max(0.0, got_after["lost"] - got_before["lost"])
        found.append(
            Track(
                bitrate=8 * (got_after["received_bytes"] - got_before["received_bytes"]) / seconds,
                nominal=8 * PACKETS_PER_SECOND * mean_payload,
                loss=lost / max(received + lost, 1),
            )
        )
    return found
