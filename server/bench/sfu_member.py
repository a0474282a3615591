"""The members of `cellmeet bench --sfu` (server.bench.sfu): aiortc audio members on the SFU, run in
worker processes (spawned, each with its own event loop) so that decoding 50 members' audio does not
saturate one Python process.

A member joins `/room` with a signed ticket, publishes its microphone once (`sfu-publish`) and hears
everyone on one subscriber connection (`sfu-subscribe`, `sfu-answer`, re-subscribing on each
`sfu-feeds`, answering each `sfu-offer`), as docs/api.md "The SFU" says. Its microphone sends a
speech-like signal (noise under a syllable envelope: digital silence would encode to a few bytes) for
one second after publishing (Janus lists a feed once it receives media), then only while it is the
room's speaker: member 0 of each room until the steady window, then each member in turn. A silent
microphone sends nothing, like a muted browser.

aiortc's Opus encoder runs at a fixed 96 kbit/s (aiortc/codecs/opus.py, `OpusEncoder.__init__` sets
`codec.bit_rate = 96000` on the libopus context before it is opened): in the workers it is wrapped to
set the plan's bitrate instead (server.bench.sfu.BENCH_OPUS_BITRATE), what a browser sends for
speech. Each subscriber stream counts its RTP payload bytes (aiortc's inbound-rtp stats have
packetsReceived and packetsLost but no bytesReceived): `RTCRtpReceiver._handle_rtp_packet` is wrapped."""

from __future__ import annotations

import array
import asyncio
import contextlib
import fractions
import math
import os
import queue
import random
import time
from dataclasses import dataclass, field
from typing import Any

import aioice.ice
import socketio
from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpReceiver, RTCSessionDescription
from aiortc.codecs import opus
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av import AudioFrame

from server.bench.driver import CALL_TIMEOUT, CONNECT_TIMEOUT, NAMESPACE

WARM_SECONDS = 1.0  # a new member's microphone sends this long so that Janus lists its feed
RATE = 48000
SAMPLES = 960  # 20 ms
TIME_BASE = fractions.Fraction(1, RATE)


def _speech_frames(count: int = 50) -> list[bytes]:
    """One second of noise under a 4 Hz syllable envelope, 20 ms mono s16 frames (no numpy here)."""
    rng = random.Random(27)
    frames = []
    for n in range(count):
        samples = array.array("h")
        for k in range(SAMPLES):
            t = (n * SAMPLES + k) / RATE
            envelope = 0.15 + 0.85 * abs(math.sin(math.pi * 4 * t))
            samples.append(int(max(-32767, min(32767, rng.gauss(0, 4000) * envelope))))
        frames.append(samples.tobytes())
    return frames


@dataclass
class Schedule:
    """Who speaks when, in every room: member 0 until the steady window, then each in turn."""

    turn_s: float
    steady_at: float = math.inf
    ends_at: float = math.inf

    def speaker(self, now: float, room_size: int) -> int | None:
        if now < self.steady_at:
            return 0
        if now >= self.ends_at:
            return None
        return int((now - self.steady_at) // self.turn_s) % room_size

    def next_change(self, now: float) -> float:
        if now < self.steady_at:
            return self.steady_at
        if now >= self.ends_at:
            return math.inf
        turns = (now - self.steady_at) // self.turn_s + 1
        return min(self.ends_at, self.steady_at + turns * self.turn_s)


class Microphone(MediaStreamTrack):
    kind = "audio"

    def __init__(self, frames: list[bytes], speaks: Any) -> None:
        super().__init__()
        self.frames = frames
        self.speaks = speaks  # () -> (speaking now, time.time() of the next possible change)
        self.warm_until = math.inf  # set when the member publishes
        self.origin = time.time()
        self.next_at: float | None = None
        self.sent = 0

    async def recv(self) -> AudioFrame:
        while True:
            if self.readyState != "live":
                raise MediaStreamError
            now = time.time()
            on, change = self.speaks()
            if on or now < self.warm_until:
                break
            self.next_at = None  # paced afresh when it speaks again
            wake = change if now >= self.warm_until else min(change, self.warm_until)
            await asyncio.sleep(min(1.0, max(0.005, wake - now)))
        if self.next_at is None:
            self.next_at = time.time()
        else:
            self.next_at += SAMPLES / RATE
            await asyncio.sleep(max(0.0, self.next_at - time.time()))
        frame = AudioFrame(format="s16", layout="mono", samples=SAMPLES)
        frame.planes[0].update(self.frames[self.sent % len(self.frames)])
        frame.sample_rate = RATE
        frame.time_base = TIME_BASE
        frame.pts = int((self.next_at - self.origin) * RATE) // SAMPLES * SAMPLES
        self.sent += 1
        return frame


@dataclass
class Seat:
    token: str
    meeting_id: int
    room: int
    index: int  # join order in its room (0: the first speaker)
    room_size: int
    join_at: float  # time.time()


@dataclass
class Member:
    seat: Seat
    url: str
    schedule: Schedule
    frames: list[bytes]
    sio: Any = None
    peer_id: str = ""
    joined_at: float | None = None
    first_audio_at: float | None = None
    publisher: RTCPeerConnection | None = None
    subscriber: RTCPeerConnection | None = None
    microphone: Microphone | None = None
    whose_mid: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    on_sfu: asyncio.Event = field(default_factory=asyncio.Event)
    feeds_changed: bool = False

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def _speaks(self) -> tuple[bool, float]:
        now = time.time()
        return self.schedule.speaker(now, self.seat.room_size) == self.seat.index, self.schedule.next_change(
            now
        )

    async def run(self) -> None:
        try:
            await asyncio.sleep(max(0.0, self.seat.join_at - time.time()))
            self.sio = socketio.AsyncClient(reconnection=False)
            self.sio.on("media", self._media, namespace=NAMESPACE)
            self.sio.on("sfu-feeds", self._feeds, namespace=NAMESPACE)
            self.sio.on("sfu-offer", self._offer, namespace=NAMESPACE)
            self.joined_at = time.time()  # join emitted: the connection and the join event
            await self.sio.connect(
                self.url,
                namespaces=[NAMESPACE],
                transports=["websocket"],
                socketio_path="socket.io",
                auth={"token": self.seat.token},
                wait_timeout=CONNECT_TIMEOUT,
            )
            ack = await self._call("join", {"meeting_id": self.seat.meeting_id})
            if not (isinstance(ack, dict) and ack.get("ok")):
                raise RuntimeError(f"join refused: {str(ack)[:200]}")
            self.peer_id = ack["self"]["peer_id"]
            if ack["media"]["mode"] == "sfu":
                self.on_sfu.set()
            await asyncio.wait_for(self.on_sfu.wait(), 60)
            await self._publish()
            await self._subscribe()
        except Exception as exc:
            self.errors.append(f"{type(exc).__name__}: {exc}"[:300])

    async def _call(self, event: str, data: Any) -> Any:
        return await self.sio.call(event, data, namespace=NAMESPACE, timeout=CALL_TIMEOUT)

    async def _media(self, data: Any = None) -> None:
        if isinstance(data, dict) and data.get("mode") == "sfu":
            self.on_sfu.set()

    async def _publish(self) -> None:
        self.microphone = Microphone(self.frames, self._speaks)
        self.publisher = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.publisher.addTrack(self.microphone)
        await self.publisher.setLocalDescription(await self.publisher.createOffer())
        offer = self.publisher.localDescription
        ack = await self._call("sfu-publish", {"description": {"type": offer.type, "sdp": offer.sdp}})
        if not (isinstance(ack, dict) and ack.get("ok")):
            raise RuntimeError(f"sfu-publish refused: {str(ack)[:200]}")
        self.microphone.warm_until = time.time() + WARM_SECONDS
        await self.publisher.setRemoteDescription(RTCSessionDescription(**ack["description"]))
        await self._call("sfu-candidate", {"target": "publisher", "candidate": None})

    async def _subscribe(self) -> None:
        async with self.lock:
            self.feeds_changed = False
            ack = await self._call("sfu-subscribe", {})
            if not (isinstance(ack, dict) and ack.get("ok")):
                raise RuntimeError(f"sfu-subscribe refused: {str(ack)[:200]}")
            if ack["description"] is not None:
                await self._answer(ack["description"], ack["streams"])
        if self.feeds_changed:
            await self._subscribe()

    async def _feeds(self, data: Any = None) -> None:
        if self.subscriber is None and self.publisher is None:
            return  # not on the SFU yet: its first subscribe comes after its publish
        if self.lock.locked():
            self.feeds_changed = True
            return
        self._spawn(self._guarded(self._subscribe()))

    async def _offer(self, data: Any = None) -> None:
        async def answer() -> None:
            async with self.lock:
                await self._answer(data["description"], data["streams"])

        self._spawn(self._guarded(answer()))

    async def _guarded(self, coroutine: Any) -> None:
        try:
            await coroutine
        except Exception as exc:
            self.errors.append(f"{type(exc).__name__}: {exc}"[:300])

    async def _answer(self, offer: dict[str, Any], streams: list[dict[str, Any]]) -> None:
        if self.subscriber is None:
            self.subscriber = RTCPeerConnection(RTCConfiguration(iceServers=[]))
            self.subscriber.on("track", self._track)
        for stream in streams:
            self.whose_mid[str(stream["mid"])] = stream["peer_id"]
        await self.subscriber.setRemoteDescription(RTCSessionDescription(**offer))
        await self.subscriber.setLocalDescription(await self.subscriber.createAnswer())
        answer = self.subscriber.localDescription
        ack = await self._call("sfu-answer", {"description": {"type": answer.type, "sdp": answer.sdp}})
        if ack != {"ok": True}:
            raise RuntimeError(f"sfu-answer refused: {str(ack)[:200]}")
        await self._call("sfu-candidate", {"target": "subscriber", "candidate": None})

    def _track(self, track: MediaStreamTrack) -> None:
        self._spawn(self._listen(track))

    async def _listen(self, track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError, asyncio.CancelledError):
            while True:
                await track.recv()
                if self.first_audio_at is None:
                    self.first_audio_at = time.time()

    def subscribed(self) -> int:
        """Other members of its room this member hears on a connected subscriber."""
        if self.subscriber is None or self.subscriber.connectionState != "connected":
            return 0
        return len({p for p in self.whose_mid.values() if p != self.peer_id})

    def tracks(self) -> dict[str, dict[str, int]]:
        """Per publisher peer id: packets received and lost, RTP payload bytes (so far)."""
        found: dict[str, dict[str, int]] = {}
        if self.subscriber is None:
            return found
        for transceiver in self.subscriber.getTransceivers():
            whose = self.whose_mid.get(str(transceiver.mid))
            receiver = transceiver.receiver
            if whose is None:
                continue
            streams = getattr(receiver, "_RTCRtpReceiver__remote_streams", {})
            received = sum(s.packets_received for s in streams.values())
            lost = sum(s.packets_lost for s in streams.values())
            found[whose] = {
                "packets": received,
                "lost": lost,
                "bytes": int(getattr(receiver, "bench_payload_bytes", 0)),
            }
        return found

    async def close(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        for pc in (self.publisher, self.subscriber):
            if pc is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(pc.close(), 5.0)
        if self.sio is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.sio.disconnect(), 5.0)


def _patch_aiortc(host_address: str, bitrate: int) -> None:
    """In this worker process only: ICE on the veth's address, Opus at `bitrate`, payload bytes counted."""
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: [host_address]
    encoder_init = opus.OpusEncoder.__init__

    def init(self: opus.OpusEncoder) -> None:
        encoder_init(self)
        self.codec.bit_rate = bitrate  # the context opens on the first encode: this rate is used

    opus.OpusEncoder.__init__ = init  # type: ignore[method-assign]
    handle = RTCRtpReceiver._handle_rtp_packet

    async def counted(self: RTCRtpReceiver, packet: Any, arrival_time_ms: int) -> None:
        self.bench_payload_bytes = getattr(self, "bench_payload_bytes", 0) + len(packet.payload)  # type: ignore[attr-defined]
        await handle(self, packet, arrival_time_ms)

    RTCRtpReceiver._handle_rtp_packet = counted  # type: ignore[method-assign]


async def _work(plan: dict[str, Any], commands: Any, results: Any) -> dict[str, Any]:
    _patch_aiortc(plan["host_address"], plan["bitrate"])
    schedule = Schedule(plan["turn_s"])
    frames = _speech_frames()
    members = [Member(Seat(**seat), plan["url"], schedule, frames) for seat in plan["seats"]]
    loop = asyncio.get_running_loop()
    try:
        for member in members:
            member._spawn(member.run())
        deadline = time.time() + plan["ready_timeout_s"]
        while time.time() < deadline and not all(
            m.subscribed() >= m.seat.room_size - 1 and m.publisher is not None for m in members
        ):
            await asyncio.sleep(0.1)
        results.put(("ready", os.getpid()))
        steady_at, ends_at = await loop.run_in_executor(None, commands.get)
        schedule.steady_at, schedule.ends_at = steady_at, ends_at
        await asyncio.sleep(max(0.0, steady_at - time.time()))
        cpu_before, before = sum(os.times()[:2]), [m.tracks() for m in members]
        await asyncio.sleep(max(0.0, ends_at - time.time()))
        cpu, after = sum(os.times()[:2]) - cpu_before, [m.tracks() for m in members]
        return {
            "pid": os.getpid(),
            "cpu_pct_of_core": round(100.0 * cpu / max(1e-6, ends_at - steady_at), 1),
            "members": [
                {
                    "room": m.seat.room,
                    "index": m.seat.index,
                    "peer_id": m.peer_id,
                    "join_to_first_audio_s": (
                        None
                        if m.first_audio_at is None or m.joined_at is None
                        else round(m.first_audio_at - m.joined_at, 3)
                    ),
                    "subscribed": m.subscribed(),
                    "tracks_before": b,
                    "tracks_after": a,
                    "errors": m.errors[:3],
                }
                for m, b, a in zip(members, before, after, strict=True)
            ],
        }
    finally:
        await asyncio.gather(*(m.close() for m in members), return_exceptions=True)


def worker(plan: dict[str, Any], commands: Any, results: Any) -> None:
    """A spawned process's entry: runs its members, puts ("done", figures) or ("error", text)."""
    try:
        figures = asyncio.run(_work(plan, commands, results))
        results.put(("done", figures))
    except BaseException as exc:  # the orchestrator must hear of it rather than wait
        with contextlib.suppress(queue.Full):
            results.put(("error", f"{type(exc).__name__}: {exc}"[:500]))
