"""quality.md S11's tools (tests/integration/test_wire_encryption_row.py): a packet capture with Debian's
tcpdump and a reader of what it wrote, the aiortc call whose bytes are looked for on the wire (PCMU with
a known sample pattern, a marker over a data channel), and a sealed network namespace where every
attempt to leave is seen.

A non-test module: the test imports it. Run inside the sealed namespace as
`python -m tests.integration.wire_capture MODE ...` (see `main`).

The capture fails (never skips) when tcpdump is missing: CI installs it (.ci/run's apt-get line).
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import itertools
import json
import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCDataChannel,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
)
from av import AudioFrame

TCPDUMP_HINT = "tcpdump is missing: apt-get install -y tcpdump (it is in .ci/run's apt-get install line)"
START_SECONDS = 10.0  # tcpdump says it listens
STOP_SECONDS = 5.0  # tcpdump gone after SIGINT (it flushes), else killed
STEP_SECONDS = 10.0
BUFFER_KIB = 65536  # the kernel's capture buffer (tcpdump -B)

# 16 µ-law codes (none of the zero codes 0x7F/0xFF, nor 0x00/0x80), repeated through every 20 ms frame:
# the encoder's PCMU payloads carry them as they are, so 16 bytes in this order are on the wire in
# clear if SRTP is not applied. A random 16-byte string turns up by chance once in 2^128.
PCMU_PATTERN = bytes.fromhex("1337 5ac3 2e91 4be6 19a8 64d2 3f85 72bd".replace(" ", ""))
SAMPLES_PER_FRAME = 160  # 20 ms at 8 kHz: PCMU's own rate, so aiortc's resampler passes it through


def tcpdump_binary() -> str:
    found = shutil.which("tcpdump") or next(
        (p for p in ("/usr/bin/tcpdump", "/usr/sbin/tcpdump") if os.access(p, os.X_OK)), None
    )
    if found is None:
        pytest.fail(TCPDUMP_HINT)
    return found


def marker(label: str, length: int = 64) -> bytes:
    """`length` ASCII bytes, new each run: `S11-<label>-` then random hex."""
    head = f"S11-{label}-".encode()
    return head + os.urandom(length).hex().encode()[: length - len(head)]


# --- capture ---------------------------------------------------------------------------------------


class Capture:
    """tcpdump writing every packet of `interface` matching `bpf` to `path` (in `netns` when given), from
    `start` (it listens) to `stop` (it flushed and exited)."""

    def __init__(self, path: Path, interface: str, bpf: str, netns: str | None = None) -> None:
        self.path, self.interface, self.bpf, self.netns = path, interface, bpf, netns
        self.log = path.with_suffix(".log")
        self.process: subprocess.Popen[bytes] | None = None
        self.summary = ""

    async def start(self) -> None:
        inside = ["ip", "netns", "exec", self.netns] if self.netns else []
        command = [*inside, tcpdump_binary(), "-i", self.interface, "-n", "-U", "--immediate-mode", "-s", "0"]
        command += ["-B", str(BUFFER_KIB)]  # a burst of packets on a loaded machine is never dropped
        command += ["-w", str(self.path)]
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [*command, *([self.bpf] if self.bpf else [])],
                stdout=subprocess.DEVNULL,
                stderr=log,
                start_new_session=True,
            )
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if "listening on" in self.log.read_text(errors="replace"):
                return
            if self.process.poll() is not None:
                break
            await asyncio.sleep(0.05)
        self.kill()
        raise AssertionError(f"tcpdump did not start on {self.interface}: {self.log.read_text()[-2000:]}")

    async def stop(self) -> None:
        """SIGINT: tcpdump writes what it holds and prints its counts."""
        if self.process is None or self.process.poll() is not None:
            return
        await asyncio.sleep(0.3)  # the last packets through the kernel's buffer
        self.process.send_signal(signal.SIGINT)
        deadline = time.monotonic() + STOP_SECONDS
        while self.process.poll() is None and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        self.kill()
        self.summary = " ".join(
            line.strip() for line in self.log.read_text(errors="replace").splitlines() if "packets" in line
        )

    def dropped(self) -> int:
        found = re.search(r"(\d+) packets? dropped by kernel", self.summary)
        return int(found.group(1)) if found else 0

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)


@dataclass
class Packet:
    frame: bytes  # every captured byte, link header included
    proto: str  # "udp", "tcp" or "other"
    src: str = ""
    dst: str = ""
    sport: int = 0
    dport: int = 0
    seq: int = 0
    payload: bytes = b""


def read_pcap(path: Path) -> list[Packet]:
    """The packets of a classic pcap file (Ethernet, Linux cooked v1/v2 or raw IP links)."""
    data = path.read_bytes() if path.exists() else b""
    if len(data) < 24:
        return []
    magic = data[:4]
    endian = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    link = struct.unpack(endian + "I", data[20:24])[0]
    packets: list[Packet] = []
    offset = 24
    while offset + 16 <= len(data):
        _, _, captured, _ = struct.unpack(endian + "IIII", data[offset : offset + 16])
        frame = data[offset + 16 : offset + 16 + captured]
        offset += 16 + captured
        packets.append(_parse(frame, link))
    return packets


def _parse(frame: bytes, link: int) -> Packet:
    if link == 1:  # Ethernet (lo, dummy)
        ethertype, ip = struct.unpack("!H", frame[12:14])[0], frame[14:]
    elif link == 113:  # Linux cooked v1
        ethertype, ip = struct.unpack("!H", frame[14:16])[0], frame[16:]
    elif link == 276:  # Linux cooked v2
        ethertype, ip = struct.unpack("!H", frame[0:2])[0], frame[20:]
    else:  # raw IP
        ethertype, ip = (0x86DD if frame[:1] and frame[0] >> 4 == 6 else 0x0800), frame
    packet = Packet(frame, "other")
    if ethertype == 0x0800 and len(ip) >= 20:
        header = (ip[0] & 0x0F) * 4
        number, body = ip[9], ip[header:]
        packet.src, packet.dst = (
            socket.inet_ntop(socket.AF_INET, ip[12:16]),
            socket.inet_ntop(socket.AF_INET, ip[16:20]),
        )
    elif ethertype == 0x86DD and len(ip) >= 40:
        number, body = ip[6], ip[40:]
        while number in (0, 43, 60) and len(body) >= 8:  # hop-by-hop, routing, destination options
            number, body = body[0], body[(body[1] + 1) * 8 :]
        packet.src = socket.inet_ntop(socket.AF_INET6, ip[8:24])
        packet.dst = socket.inet_ntop(socket.AF_INET6, ip[24:40])
    else:
        return packet
    if number == 17 and len(body) >= 8:
        packet.proto = "udp"
        packet.sport, packet.dport = struct.unpack("!HH", body[:4])
        packet.payload = body[8:]
    elif number in (1, 58):
        packet.proto = "icmp" if number == 1 else "icmp6"
    elif number == 6 and len(body) >= 20:
        packet.proto = "tcp"
        packet.sport, packet.dport, packet.seq = struct.unpack("!HHI", body[:8])
        packet.payload = body[(body[12] >> 4) * 4 :]
    return packet


def tcp_streams(packets: list[Packet]) -> dict[tuple[str, int, str, int], bytes]:
    """Each TCP direction's payload in sequence order (each segment once): a marker split across two
    segments is found too."""
    segments: dict[tuple[str, int, str, int], dict[int, bytes]] = {}
    for packet in packets:
        if packet.proto == "tcp" and packet.payload:
            key = (packet.src, packet.sport, packet.dst, packet.dport)
            segments.setdefault(key, {}).setdefault(packet.seq, packet.payload)
    return {key: b"".join(parts[seq] for seq in sorted(parts)) for key, parts in segments.items()}


def occurrences(needle: bytes, packets: list[Packet]) -> int:
    """How often `needle` is in any captured byte: each packet whole, and each TCP stream reassembled."""
    count = sum(packet.frame.count(needle) for packet in packets)
    count += sum(
        max(0, stream.count(needle) - sum(p.payload.count(needle) for p in packets if _in(p, key)))
        for key, stream in tcp_streams(packets).items()
    )  # only the occurrences across segment borders: those within one were counted above
    return count


def _in(packet: Packet, key: tuple[str, int, str, int]) -> bool:
    return packet.proto == "tcp" and (packet.src, packet.sport, packet.dst, packet.dport) == key


def dtls_records(packets: list[Packet]) -> dict[int, int]:
    """DTLS 1.0/1.2 records that open UDP payloads, by content type (22 handshake, 23 application data)."""
    found: dict[int, int] = {}
    for packet in packets:
        body = packet.payload
        if (
            packet.proto == "udp"
            and len(body) >= 13
            and 20 <= body[0] <= 25
            and body[1:3] in (b"\xfe\xfd", b"\xfe\xff")
        ):
            found[body[0]] = found.get(body[0], 0) + 1
    return found


def srtp_packets(packets: list[Packet]) -> int:
    """UDP payloads that look like RTP/RTCP (version 2, RFC 7983's 128-191 first byte)."""
    return sum(1 for p in packets if p.proto == "udp" and len(p.payload) >= 12 and 128 <= p.payload[0] <= 191)


# --- the call ---------------------------------------------------------------------------------------


def pattern_samples() -> bytes:
    """One 20 ms frame of 16-bit samples whose µ-law codes are PCMU_PATTERN repeated (G.711 decoding:
    encoding a decoded value gives its code back)."""

    def decode(code: int) -> int:
        code = ~code & 0xFF
        magnitude = ((((code & 0x0F) << 3) + 0x84) << ((code >> 4) & 0x07)) - 0x84
        return -magnitude if code & 0x80 else magnitude

    codes = (PCMU_PATTERN * (SAMPLES_PER_FRAME // len(PCMU_PATTERN) + 1))[:SAMPLES_PER_FRAME]
    return b"".join(struct.pack("<h", decode(code)) for code in codes)


class PatternTone(MediaStreamTrack):
    """50 frames a second of the pattern, at PCMU's own 8 kHz."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self.samples = pattern_samples()
        self.started: float | None = None
        self.pts = 0

    async def recv(self) -> AudioFrame:
        if self.started is None:
            self.started = time.monotonic()
        else:
            self.pts += SAMPLES_PER_FRAME
            wait = self.started + self.pts / 8000 - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        frame = AudioFrame(format="s16", layout="mono", samples=SAMPLES_PER_FRAME)
        frame.planes[0].update(self.samples)
        frame.pts, frame.sample_rate, frame.time_base = self.pts, 8000, fractions.Fraction(1, 8000)
        return frame


def pcmu_only(pc: RTCPeerConnection) -> None:
    codecs = [c for c in RTCRtpSender.getCapabilities("audio").codecs if c.mimeType == "audio/PCMU"]
    for transceiver in pc.getTransceivers():
        if transceiver.kind == "audio":
            transceiver.setCodecPreferences(codecs)


@dataclass
class WirePeer:
    """One member's aiortc: the pattern tone (PCMU only) and, on the offerer, the data channel."""

    pc: RTCPeerConnection
    states: list[tuple[float, str]] = field(default_factory=list)
    messages: list[bytes] = field(default_factory=list)
    channel: RTCDataChannel | None = None
    opened: asyncio.Event = field(default_factory=asyncio.Event)
    received: asyncio.Event = field(default_factory=asyncio.Event)
    frames_in: int = 0
    readers: list[asyncio.Task[None]] = field(default_factory=list)

    @classmethod
    def make(cls, configuration: RTCConfiguration | None = None, *, tone: bool = True) -> WirePeer:
        peer = cls(RTCPeerConnection(configuration or RTCConfiguration(iceServers=[])))
        pc = peer.pc

        @pc.on("connectionstatechange")
        def changed() -> None:
            peer.states.append((time.monotonic(), pc.connectionState))

        @pc.on("datachannel")
        def on_channel(channel: RTCDataChannel) -> None:
            peer._listen(channel)

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            peer.readers.append(asyncio.get_running_loop().create_task(peer._read(track)))

        if tone:
            pc.addTransceiver(PatternTone(), direction="sendrecv")
            pcmu_only(pc)
        return peer

    def _listen(self, channel: RTCDataChannel) -> None:
        self.channel = channel

        @channel.on("message")
        def on_message(message: bytes | str) -> None:
            self.messages.append(message if isinstance(message, bytes) else message.encode())
            self.received.set()

        if channel.readyState == "open":
            self.opened.set()
        channel.on("open", self.opened.set)

    async def _read(self, track: MediaStreamTrack) -> None:
        with contextlib.suppress(Exception, asyncio.CancelledError):
            while True:
                await track.recv()
                self.frames_in += 1

    async def offer(self) -> str:
        self._listen(self.pc.createDataChannel("s11"))
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return str(self.pc.localDescription.sdp)

    async def answer(self, sdp: str) -> str:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp, "offer"))
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        return str(self.pc.localDescription.sdp)

    async def accept(self, sdp: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp, "answer"))

    def reached(self, state: str) -> float | None:
        return next((at for at, seen in self.states if seen == state), None)

    async def close(self) -> None:
        for reader in self.readers:
            reader.cancel()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.pc.close(), 5.0)


def fingerprints(sdp: str) -> list[str]:
    """The `a=fingerprint` lines, byte for byte (line ends stripped)."""
    return [line for line in sdp.split("\r\n") if line.startswith("a=fingerprint:")]


def wrong_fingerprint(sdp: str) -> str:
    """The description with the last byte of each fingerprint changed (still well-formed)."""

    def change(found: re.Match[str]) -> str:
        last = found.group(2)
        return found.group(1) + ("00" if last != "00" else "01")

    changed = re.sub(
        r"^(a=fingerprint:\S+ (?:[0-9A-F]{2}:)+)([0-9A-F]{2})(?=\r?$)", change, sdp, flags=re.M | re.I
    )
    assert changed != sdp, "no fingerprint to change"
    return changed


def audio_payload_types(sdp: str) -> list[str]:
    found = re.search(r"^m=audio \d+ \S+ ([\d ]+)\r?$", sdp, flags=re.M)
    return found.group(1).split() if found else []


# --- the sealed namespace ----------------------------------------------------------------------------

_serial = itertools.count(1)
# An address nothing answers: a datagram to it shows the counter sees an attempt to leave.
PROBE_ADDRESS = "203.0.113.7"


@dataclass(frozen=True)
class Sealed:
    netns: str
    void: str  # the namespace at the far end of `outside`: no address, nothing answers
    outside: str  # every packet on this interface is an attempt to leave the namespace
    address: str  # the interface's own address (local: traffic to it stays on lo)

    def inside(self) -> list[str]:
        return ["ip", "netns", "exec", self.netns]


def _run(*args: str) -> None:
    subprocess.run(list(args), check=True, capture_output=True, timeout=10)


@contextlib.contextmanager
def sealed_namespace() -> Iterator[Sealed]:
    """A network namespace with lo and no default route, where 0.0.0.0/1, 128.0.0.0/1, ::/1 and 8000::/1
    lead to one interface, so a send to any outside address leaves through it (and nothing answers)
    instead of failing before any interface. This kernel has no dummy interfaces: the interface is a
    veth (ARP and neighbour discovery off, so each attempt is sent at once) whose other end is in a second,
    empty namespace. Both removed at the end."""
    assert os.geteuid() == 0, "making a network namespace needs root"
    suffix = f"{os.getpid() % 100000}{next(_serial)}"
    third = random.randrange(1, 255)
    sealed = Sealed(f"cms11{suffix}", f"cms11v{suffix}", "cmout0", f"198.18.{third}.1")
    far = f"cmv{suffix}"
    inside = sealed.inside()
    try:
        _run("ip", "netns", "add", sealed.netns)
        _run("ip", "netns", "add", sealed.void)
        _run(*inside, "ip", "link", "set", "lo", "up")
        _run(*inside, "ip", "link", "add", sealed.outside, "type", "veth", "peer", "name", far)
        _run(*inside, "ip", "link", "set", far, "netns", sealed.void)
        _run(*inside, "ip", "addr", "add", f"{sealed.address}/32", "dev", sealed.outside)
        _run(*inside, "ip", "-6", "addr", "add", f"fd53:11:{third:x}::1/128", "dev", sealed.outside, "nodad")
        _run(*inside, "ip", "link", "set", sealed.outside, "arp", "off", "up")
        _run("ip", "netns", "exec", sealed.void, "ip", "link", "set", far, "up")
        for prefix in ("0.0.0.0/1", "128.0.0.0/1"):
            _run(*inside, "ip", "route", "add", prefix, "dev", sealed.outside)
        for prefix in ("::/1", "8000::/1"):
            _run(*inside, "ip", "-6", "route", "add", prefix, "dev", sealed.outside)
        routes = subprocess.run(
            [*inside, "ip", "route", "show", "default"], capture_output=True, text=True, timeout=10
        )
        assert routes.stdout.strip() == "", f"the namespace has a default route: {routes.stdout}"
        yield sealed
    finally:
        subprocess.run(["ip", "netns", "del", sealed.netns], capture_output=True, timeout=10)
        subprocess.run(["ip", "netns", "del", sealed.void], capture_output=True, timeout=10)


def housekeeping(packet: Packet) -> bool:
    """What the kernel itself sends on any IPv6 link (router solicitation, multicast listener reports,
    duplicate address detection): ICMPv6 to a link-local multicast group, never leaving the link."""
    return packet.proto == "icmp6" and packet.dst.startswith("ff02:")


def left(packets: list[Packet], allowed: tuple[str, ...] = ()) -> list[Packet]:
    """The packets to an address outside the allow-list (the namespace's own addresses never reach the
    interface; `allowed` names a control's own probe address), the kernel's link housekeeping apart."""
    return [
        p
        for p in packets
        if not housekeeping(p) and p.dst not in allowed and not p.dst.startswith("127.") and p.dst != "::1"
    ]


def dns_name(packet: Packet) -> str | None:
    """The name a DNS query (UDP to port 53) asks for."""
    if packet.proto != "udp" or packet.dport != 53 or len(packet.payload) < 13:
        return None
    labels, at, question = [], 12, packet.payload
    while at < len(question) and question[at]:
        labels.append(question[at + 1 : at + 1 + question[at]].decode(errors="replace"))
        at += 1 + question[at]
    return ".".join(labels)


def describe(packets: list[Packet], most: int = 8) -> list[str]:
    shown = []
    for p in packets[:most]:
        name = dns_name(p)
        shown.append(f"{p.proto} {p.src}:{p.sport} -> {p.dst}:{p.dport}" + (f" (DNS {name})" if name else ""))
    return shown


# --- run inside the namespace ------------------------------------------------------------------------


async def _members(ice_servers: list[dict[str, Any]], seconds: float) -> dict[str, Any]:
    """Two aiortc members with the server's ICE configuration (as their join acks gave it), aioice left
    as in production (its host addresses unpatched), a call of `seconds` with audio and a data channel."""
    servers = [
        RTCIceServer(urls=e["urls"], username=e.get("username"), credential=e.get("credential"))
        for e in ice_servers
    ]
    offerer = WirePeer.make(RTCConfiguration(iceServers=servers))
    answerer = WirePeer.make(RTCConfiguration(iceServers=servers))
    try:
        await offerer.accept(await answerer.answer(await offerer.offer()))
        await asyncio.wait_for(offerer.opened.wait(), STEP_SECONDS)
        assert offerer.channel is not None
        offerer.channel.send(b"hello from inside")
        await asyncio.wait_for(answerer.received.wait(), STEP_SECONDS)
        await asyncio.sleep(seconds)
        return {
            "connected": [p.reached("connected") is not None for p in (offerer, answerer)],
            "frames": [offerer.frames_in, answerer.frames_in],
            "messages": len(answerer.messages),
            "candidates": re.findall(
                r"a=candidate:\S+ \d \S+ \d+ (\S+) \d+ typ (\w+)", offerer.pc.localDescription.sdp
            ),
        }
    finally:
        await offerer.close()
        await answerer.close()


async def _default_configuration(seconds: float) -> dict[str, Any]:
    """The control: aiortc with no configuration at all (its Google STUN default) gathers for `seconds`."""
    pc = RTCPeerConnection()
    pc.addTransceiver("audio")
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(pc.setLocalDescription(await pc.createOffer()), seconds)
    with contextlib.suppress(Exception):
        await asyncio.wait_for(pc.close(), 2.0)
    return {"done": True}


def main(argv: list[str]) -> None:
    mode = argv[0]
    if mode == "members":  # ICE_SERVERS_JSON SECONDS
        result = asyncio.run(_members(json.loads(argv[1]), float(argv[2])))
    elif mode == "default":  # SECONDS
        result = asyncio.run(_default_configuration(float(argv[1])))
    elif mode == "probe":  # ADDRESS: one datagram out, to show the counter counts
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.sendto(b"S11 probe", (argv[1], 9))
        result = {"sent": True}
    else:
        raise SystemExit(f"unknown mode {mode}")
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
