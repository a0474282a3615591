"""The pre-join device and network check (issue 3, point 4): a real aiortc peer in the test talks to the
server's echo peer over loopback only, on both databases. What a member would notice: their microphone
and camera come back, probe messages come back unchanged, nobody else's check can be touched, a busy
server says so with Retry-After, a check ends by itself, and no public STUN server is ever asked."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aioice.ice
import av
import pytest
from aiortc import (
    AudioStreamTrack,
    MediaStreamTrack,
    RTCConfiguration,
    RTCDataChannel,
    RTCPeerConnection,
    RTCSessionDescription,
    VideoStreamTrack,
)

from server.media.echo import ECHO, EchoSession, rtc_configuration
from tests.integration.harness import ApiClient, FakeClock, RunningServer
from tests.integration.harness import test_settings as settings_for
from tests.integration.world import World

ECHO_PATH = "/api/v1/media/echo"
LOOPBACK = "127.0.0.1"
TIMEOUT = 10.0


@pytest.fixture
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> Callable[[bool, bool], list[str]]:
    """The test's own peer offers 127.0.0.1 only (aioice skips it by default). Set up before the server,
    whose own replacement (media_host_addresses) is installed over this one and undone first."""

    def loopback(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return [LOOPBACK]

    monkeypatch.setattr(aioice.ice, "get_host_addresses", loopback)
    return loopback


@pytest.fixture
async def start_world(
    database_url: str, tmp_path: Path, loopback_only: Callable[[bool, bool], list[str]]
) -> AsyncIterator[Callable[..., Awaitable[World]]]:
    """Start a server with settings overrides; a World holding only the two users these tests need."""
    servers: list[RunningServer] = []
    clients: list[ApiClient] = []

    async def start(**overrides: Any) -> World:
        settings = settings_for(tmp_path, database_url, media_host_addresses=(LOOPBACK,), **overrides)
        running = await RunningServer.start(settings, FakeClock())
        servers.append(running)

        def make(lang: str = "vi") -> ApiClient:
            client = ApiClient(running.url, lang=lang)
            clients.append(client)
            return client

        world = World(running, make)
        for username in ("member_a", "sec_a"):
            await world.add_user(username)
        return world

    yield start
    for client in clients:
        await client.close()
    for running in servers:
        still_open = [s.pc for s in running.app[ECHO].sessions.values()]
        await running.stop()
        # shutdown closes every echo peer and gives aioice its host address discovery back
        assert all(pc.connectionState == "closed" for pc in still_open)
    assert aioice.ice.get_host_addresses is loopback_only


@pytest.fixture
async def peers() -> AsyncIterator[list[RTCPeerConnection]]:
    """Every browser-side peer a test opens, closed at the end whatever happened."""
    opened: list[RTCPeerConnection] = []
    yield opened
    for pc in opened:
        await pc.close()


class Browser:
    """The browser's side of the check: tracks and a "probe" channel offered, echoes collected."""

    def __init__(self, peers: list[RTCPeerConnection], *, video: bool = False) -> None:
        self.pc = RTCPeerConnection(configuration=RTCConfiguration(iceServers=[]))
        peers.append(self.pc)
        self.pc.addTrack(AudioStreamTrack())
        if video:
            self.pc.addTrack(VideoStreamTrack())
        self.channel: RTCDataChannel = self.pc.createDataChannel("probe")
        self.echoed: dict[str, MediaStreamTrack] = {}
        self.messages: asyncio.Queue[str | bytes] = asyncio.Queue()
        self.pc.on("track", lambda track: self.echoed.__setitem__(track.kind, track))
        self.channel.on("message", self.messages.put_nowait)

    async def offer(self) -> dict[str, str]:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        assert self.pc.localDescription is not None
        return {"type": "offer", "sdp": self.pc.localDescription.sdp}

    async def check(self, client: ApiClient) -> dict[str, Any]:
        """POST the offer and apply the answer; returns the 201 body."""
        reply = await client.post(ECHO_PATH, await self.offer())
        assert reply.status == 201, reply.body
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=reply.body["sdp"], type="answer"))
        answer: dict[str, Any] = reply.body
        return answer


async def until(condition: Callable[[], bool], timeout: float = TIMEOUT) -> float:
    """Wait for a condition, polling; returns the seconds it took."""
    started = time.monotonic()

    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), timeout)
    return time.monotonic() - started


def server_session(world: World, session_id: str) -> EchoSession:
    return world.server.app[ECHO].sessions[session_id]


async def test_a_member_hears_and_sees_themselves_and_probes_come_back(
    start_world: Callable[..., Awaitable[World]], peers: list[RTCPeerConnection]
) -> None:
    world = await start_world()
    member = await world.as_user("member_a")
    browser = Browser(peers, video=True)
    started = time.monotonic()
    body = await browser.check(member)
    assert body["type"] == "answer"
    assert body["session_id"]
    assert body["expires_at"] == "2026-11-23T08:01:00Z"  # the server clock + echo_session_seconds (60)

    connect_seconds = await until(lambda: browser.pc.connectionState == "connected")
    total = time.monotonic() - started
    print(f"connected {connect_seconds * 1000:.0f} ms after the answer, {total:.2f} s from the offer")

    # microphone and camera come back: the echoed tracks deliver frames
    await until(lambda: set(browser.echoed) == {"audio", "video"})
    for _ in range(5):
        audio = await asyncio.wait_for(browser.echoed["audio"].recv(), TIMEOUT)
        assert isinstance(audio, av.AudioFrame) and audio.samples > 0
    video = await asyncio.wait_for(browser.echoed["video"].recv(), TIMEOUT)
    assert isinstance(video, av.VideoFrame) and (video.width, video.height) == (640, 480)

    # a probe comes back byte for byte, text and binary alike
    await until(lambda: browser.channel.readyState == "open")
    probe = '{"seq": 1, "t": 1234.5, "note": "thử"}'
    browser.channel.send(probe)
    assert await asyncio.wait_for(browser.messages.get(), TIMEOUT) == probe
    browser.channel.send(b"\x00\x01\xff")
    assert await asyncio.wait_for(browser.messages.get(), TIMEOUT) == b"\x00\x01\xff"

    # ending the check early frees it on the server
    ended = await member.request("DELETE", f"{ECHO_PATH}/{body['session_id']}")
    assert ended.status == 204
    assert world.server.app[ECHO].sessions == {}
    again = await member.request("DELETE", f"{ECHO_PATH}/{body['session_id']}")
    assert again.status == 404


def test_no_public_stun_server_is_ever_configured(tmp_path: Path) -> None:
    default = settings_for(tmp_path, "sqlite+aiosqlite://")
    assert rtc_configuration(default).iceServers == []
    configured = settings_for(
        tmp_path,
        "sqlite+aiosqlite://",
        ice_servers=[
            {"urls": ["stun:stun.example.vn:3478", "stun:stun2.example.vn"]},
            {"urls": "turn:turn.example.vn:3478?transport=udp"},
            {"urls": ["turns:turn.example.vn:5349?transport=tcp"]},
        ],
    )
    servers = rtc_configuration(configured).iceServers
    assert servers is not None
    urls = [
        url for server in servers for url in ([server.urls] if isinstance(server.urls, str) else server.urls)
    ]
    assert urls == ["stun:stun.example.vn:3478", "stun:stun2.example.vn"]
    assert all(server.username is None and server.credential is None for server in servers)


async def test_the_echo_peer_offers_only_loopback_host_candidates(
    start_world: Callable[..., Awaitable[World]], peers: list[RTCPeerConnection]
) -> None:
    world = await start_world()
    member = await world.as_user("member_a")
    browser = Browser(peers)
    body = await browser.check(member)
    await until(lambda: browser.pc.connectionState == "connected")

    pc = server_session(world, body["session_id"]).pc
    assert pc.sctp is not None
    transports = {pc.sctp.transport.transport} | {
        t.receiver.transport.transport for t in pc.getTransceivers()
    }
    candidates = [c for ice in transports for c in ice.iceGatherer._connection.local_candidates]
    assert candidates
    assert {(c.type, c.host) for c in candidates} == {("host", LOOPBACK)}
    # what the browser was told matches: one loopback host candidate line per transport, nothing else
    lines = [line for line in body["sdp"].splitlines() if line.startswith("a=candidate:")]
    assert lines and all(f" {LOOPBACK} " in line and line.endswith("typ host") for line in lines)


async def test_one_check_per_user_a_bounded_number_per_server_and_nobody_elses(
    start_world: Callable[..., Awaitable[World]], peers: list[RTCPeerConnection]
) -> None:
    world = await start_world(echo_max_sessions=1)
    member = await world.as_user("member_a")
    other = await world.as_user("sec_a")
    registry = world.server.app[ECHO]

    first = await Browser(peers).check(member)
    first_pc = server_session(world, first["session_id"]).pc

    # another user while the only slot is taken: told to come back later, in their language
    busy = await other.post(ECHO_PATH, await Browser(peers).offer())
    assert (busy.status, busy.error_code) == (503, "echo_busy")
    assert 1 <= int(busy.headers["Retry-After"]) <= 60
    assert "thử lại" in busy.body["error"]["message"]
    busy_en = await (await world.as_user("sec_a", "en")).post(ECHO_PATH, await Browser(peers).offer())
    assert "try again" in busy_en.body["error"]["message"]

    # nobody can end someone else's check: it is "not found", and the check keeps running
    foreign = await other.request("DELETE", f"{ECHO_PATH}/{first['session_id']}")
    assert (foreign.status, foreign.error_code) == (404, "not_found")
    assert first["session_id"] in registry.sessions

    # the same user starting again replaces their first check, which is closed
    second = await Browser(peers).check(member)
    assert second["session_id"] != first["session_id"]
    assert list(registry.sessions) == [second["session_id"]]
    assert first_pc.connectionState == "closed"
    gone = await member.request("DELETE", f"{ECHO_PATH}/{first['session_id']}")
    assert gone.status == 404

    # not logged in, an oversized or a malformed offer
    anonymous = await world.make_client().post(ECHO_PATH, {"type": "offer", "sdp": "v=0"})
    assert (anonymous.status, anonymous.error_code) == (401, "unauthenticated")
    huge = await member.post(ECHO_PATH, {"type": "offer", "sdp": "a" * (64 * 1024 + 1)})
    assert (huge.status, huge.error_code) == (422, "validation_error")
    assert "sdp" in huge.body["error"]["details"]["fields"]
    answer = await member.post(ECHO_PATH, {"type": "answer", "sdp": "v=0"})
    assert (answer.status, answer.error_code) == (422, "validation_error")
    garbage = await member.post(ECHO_PATH, {"type": "offer", "sdp": "không phải SDP"})
    assert (garbage.status, garbage.error_code) == (422, "validation_error")
    # a refused offer holds no slot
    assert registry.sessions == {}
    assert (await other.post(ECHO_PATH, await Browser(peers).offer())).status == 201


async def test_a_check_ends_by_itself_after_its_time(
    start_world: Callable[..., Awaitable[World]], peers: list[RTCPeerConnection]
) -> None:
    world = await start_world(echo_session_seconds=1)
    member = await world.as_user("member_a")
    browser = Browser(peers)
    body = await browser.check(member)
    # Taken at once: on a busy machine the 1 s may run out before the connection is even up.
    server_pc = server_session(world, body["session_id"]).pc

    await until(lambda: body["session_id"] not in world.server.app[ECHO].sessions, 8.0)
    # the registry lets go first, then the peer finishes closing
    await until(lambda: server_pc.connectionState == "closed", 5.0)
    # the browser notices: its connection closes, and the check can no longer be ended
    await until(lambda: browser.pc.connectionState in ("closed", "failed"), 5.0)
    gone = await member.request("DELETE", f"{ECHO_PATH}/{body['session_id']}")
    assert gone.status == 404
