"""quality.md R5, soak and leaks (issue 28): `cellmeet serve` as a process under churn — members joining
and leaving a live room over socket.io, pre-join echo checks connecting real aiortc media and going,
votes opened, balloted and closed — and afterwards the process holds what it held after the warm-up:
its RSS within 10 %, its open file descriptors within 5, its event loop's tasks, no echo peer
connection and no live room.

The process is watched from outside: RSS and descriptors from /proc/<pid>, the loop's tasks and the
echo peers from its /metrics gauges (`cellmeet_asyncio_tasks`, `cellmeet_echo_peers`, read at scrape
time inside the process). The fast tier is a reduced churn; the full one (200 / 50 / 20) is `-m slow`.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import aioice.ice
import pytest
from aiortc import AudioStreamTrack, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from yarl import URL

from server.appkeys import SETTINGS
from server.auth.tickets import Ticket, issue
from server.settings import Settings
from tests.integration.harness import ApiClient, free_port
from tests.integration.room_client import RoomClient
from tests.integration.serve_process import ServeProcess, online_meeting_now, serve_env, world
from tests.integration.world import PASSWORD, World
from tests.reliability import node_id, record

RELIABILITY_ROW = "R5"  # its line in docs/reliability.md, even when it fails before measuring

__all__ = ["world"]  # the fixture (a world on the real clock)

# The file descriptors may wander by a few (a pooled database connection opened or closed).
FDS_SLACK = 5
RSS_GROWTH = 0.10
PING_INTERVAL_SECONDS = Settings.ping_interval_seconds
LOOPBACK = "127.0.0.1"
AGENDA = {"items": [{"title": "Thông qua nghị quyết", "item_type": "ordinary", "notes": ""}]}

pytestmark = [
    pytest.mark.reliability,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]


@dataclass(frozen=True)
class Churn:
    joins: int  # join/leave cycles of one member each
    echoes: int  # echo checks connected (media flowing) and ended
    votes: int  # votes opened, balloted by every member present, closed


FAST = Churn(joins=20, echoes=3, votes=2)
SLOW = Churn(joins=200, echoes=50, votes=20)


@dataclass(frozen=True)
class Gauges:
    rss_kib: int
    fds: int
    tasks: int
    echo_peers: int
    rooms_open: int
    members_connected: int


@pytest.fixture
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test's own aiortc peers offer 127.0.0.1 only (aioice skips loopback by default)."""
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: [LOOPBACK])


@pytest.fixture
async def served(
    world: World, database_url: str, tmp_path: Path
) -> AsyncIterator[Callable[[], Awaitable[ServeProcess]]]:
    """When the test asks (its meeting scheduled): the world's in-process server stopped, and
    `cellmeet serve` on its database in a process of its own."""
    started: list[ServeProcess] = []

    async def start() -> ServeProcess:
        secret = world.server.app[SETTINGS].secret_key.value
        await world.server.stop()
        data_dir = tmp_path / "served"
        data_dir.mkdir()
        env = serve_env(
            data_dir, database_url, secret, many_connects=True, CELLMEET_MEDIA_HOST_ADDRESSES=LOOPBACK
        )
        process = ServeProcess(env, free_port(), data_dir / "serve.log")
        started.append(process)
        await process.start()
        return process

    yield start
    for process in started:
        process.kill()


async def soak(
    world: World,
    serve: Callable[[], Awaitable[ServeProcess]],
    request: pytest.FixtureRequest,
    churn: Churn,
) -> None:
    secret = world.server.app[SETTINGS].secret_key.value
    mid, people = await online_meeting_now(world, 4)
    served = await serve()
    assert served.process is not None
    pid = served.process.pid
    base = f"http://127.0.0.1:{served.port}"
    expires = int((datetime.now(UTC) + timedelta(minutes=60)).timestamp())
    secretary = ApiClient(URL(base), keep_alive=False)
    member = ApiClient(URL(base), keep_alive=False)
    counts = {"joins": 0, "echoes": 0, "votes": 0, "ballots": 0}

    async def connect(index: int) -> RoomClient:
        username, member_id = people[index % len(people)]
        ticket = Ticket(world.users[username], member_id, mid, expires, nonce=secrets.token_hex(8))
        client = RoomClient(base, auth={"token": issue(secret, ticket)})
        await client.connect()
        ack = await client.join(mid)
        assert ack["ok"] is True, ack
        return client

    async def join_cycles(how_many: int) -> None:
        for index in range(how_many):
            client = await connect(index)
            await client.close()
            counts["joins"] += 1

    async def echo_cycles(how_many: int) -> None:
        for _ in range(how_many):
            await echo_check(member, base, pid)
            counts["echoes"] += 1

    async def vote_cycles(how_many: int) -> None:
        present = [await connect(index) for index in range(len(people))]
        try:
            for number in range(how_many):
                vote = await secretary.post(
                    f"/api/v1/meetings/{mid}/votes", {"question": f"Thông qua {number}", "kind": "ordinary"}
                )
                assert vote.status == 201, vote.body
                for client in present:
                    await client.wait_for("vote-opened", lambda v, i=vote.body["id"]: v["id"] == i)
                    ballot = await client.call("ballot", {"vote_id": vote.body["id"], "choice": "for"})
                    assert ballot["ok"] is True, ballot
                    counts["ballots"] += 1
                closed = await secretary.post(f"/api/v1/votes/{vote.body['id']}/close", {})
                assert closed.status == 200, closed.body
                counts["votes"] += 1
        finally:
            for client in present:
                await client.close()

    try:
        assert (await secretary.login("sec_a", PASSWORD)).status == 200
        assert (await member.login(people[0][0], PASSWORD)).status == 200
        assert (await secretary.request("PUT", f"/api/v1/meetings/{mid}/agenda", AGENDA)).status == 200
        # Warm-up: every path once, so first-use allocations (imports, caches, pools) are behind us.
        await join_cycles(len(people))
        await echo_cycles(1)
        opening = [await connect(index) for index in range(3)]  # a quorum, to open the meeting
        opened = await secretary.post(f"/api/v1/meetings/{mid}/open", {})
        assert opened.status == 200, opened.body
        for client in opening:
            await client.close()
        await vote_cycles(1)
        baseline = await settled(base, pid)
        warm_ballots = counts["ballots"]

        # The churn, interleaved: a round of joins, an echo check, a vote, until each is done.
        rounds = max(churn.joins // 10, churn.echoes, churn.votes)
        for number in range(rounds):
            if counts["joins"] - len(people) < churn.joins:
                await join_cycles(min(10, churn.joins - (counts["joins"] - len(people))))
            if counts["echoes"] - 1 < churn.echoes:
                await echo_cycles(1)
            if counts["votes"] - 1 < churn.votes:
                await vote_cycles(1)
            if number % 10 == 9:
                await asyncio.sleep(0.2)
        after = await settled(base, pid)
    finally:
        await secretary.close()
        await member.close()

    failures = [
        *(
            [f"RSS grew {growth(baseline.rss_kib, after.rss_kib):.1%}"]
            if after.rss_kib > baseline.rss_kib * (1 + RSS_GROWTH)
            else []
        ),
        *([f"fds {baseline.fds} -> {after.fds}"] if abs(after.fds - baseline.fds) > FDS_SLACK else []),
        *([f"tasks {baseline.tasks} -> {after.tasks}"] if after.tasks > baseline.tasks else []),
        *([f"{after.echo_peers} echo peers alive"] if after.echo_peers else []),
        *([f"{after.rooms_open} rooms open"] if after.rooms_open > baseline.rooms_open else []),
        *(
            [f"{after.members_connected} members connected"]
            if after.members_connected > baseline.members_connected
            else []
        ),
    ]
    churned = counts["joins"] + counts["echoes"] + counts["votes"] - len(people) - 2
    tier = "slow" if churn == SLOW else "fast"
    record(
        "R5",
        node_id(request),
        attacked=(
            f"`cellmeet serve` process churned: {churn.joins} room join/leave cycles, {churn.echoes} "
            f"echo checks with aiortc media, {churn.votes} votes ({counts['ballots'] - warm_ballots} ballots)"
        ),
        attempts=churned,
        failures=len(failures),
        figure=(
            f"RSS {baseline.rss_kib // 1024} → {after.rss_kib // 1024} MiB "
            f"({growth(baseline.rss_kib, after.rss_kib):+.1%}); fds {baseline.fds} → {after.fds}; "
            f"loop tasks {baseline.tasks} → {after.tasks}; echo peers {after.echo_peers}; "
            f"rooms open {after.rooms_open}, members connected {after.members_connected}"
            + (f"; broken: {', '.join(failures)}" if failures else "")
        ),
        tier=tier,
    )
    print(baseline, after, counts)
    assert not failures, (failures, baseline, after, served.log.read_text()[-3000:])


def growth(before: int, after: int) -> float:
    return (after - before) / before


async def settled(base: str, pid: int) -> Gauges:
    """The process's gauges once the churn has drained, each measure stopped moving. Engine.IO starts a
    ping task with every connection that sleeps `ping_interval_seconds` (10) before it looks whether
    the connection is still there: a connection closed leaves its task for up to 10 s, so the count is
    read past that. (A member's departure is confirmed after the room's grace, 120 s: one pending
    confirmation per member who left, the same number after the warm-up and after the churn.)"""
    await asyncio.sleep(PING_INTERVAL_SECONDS + 1)
    previous: Gauges | None = None
    for _ in range(40):
        current = await gauges(base, pid)
        if current == previous and current.echo_peers == 0 and current.members_connected == 0:
            return current
        previous = current
        await asyncio.sleep(0.5)
    assert previous is not None
    return previous


async def gauges(base: str, pid: int) -> Gauges:
    async with aiohttp.ClientSession() as http, http.get(f"{base}/metrics") as reply:
        assert reply.status == 200
        text = await reply.text()
    values = {
        line.split()[0]: float(line.split()[-1])
        for line in text.splitlines()
        if line and not line.startswith("#") and "{" not in line
    }
    status = Path(f"/proc/{pid}/status").read_text()
    rss = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")))
    return Gauges(
        rss_kib=rss,
        fds=len(os.listdir(f"/proc/{pid}/fd")),
        tasks=int(values["cellmeet_asyncio_tasks"]),
        echo_peers=int(values["cellmeet_echo_peers"]),
        rooms_open=int(values["cellmeet_rooms_open"]),
        members_connected=int(values["cellmeet_room_members_connected"]),
    )


async def echo_check(member: ApiClient, base: str, pid: int) -> None:
    """A browser's pre-join check: audio and a probe offered, connected, one probe echoed, ended. While
    it runs, the gauge counts its server-side peer (a gauge that always said 0 would prove nothing)."""
    pc = RTCPeerConnection(configuration=RTCConfiguration(iceServers=[]))
    try:
        pc.addTrack(AudioStreamTrack())
        channel = pc.createDataChannel("probe")
        echoed: asyncio.Queue[str | bytes] = asyncio.Queue()
        channel.on("message", echoed.put_nowait)
        await pc.setLocalDescription(await pc.createOffer())
        assert pc.localDescription is not None
        reply = await member.post("/api/v1/media/echo", {"type": "offer", "sdp": pc.localDescription.sdp})
        assert reply.status == 201, reply.body
        await pc.setRemoteDescription(RTCSessionDescription(sdp=reply.body["sdp"], type="answer"))
        await until(lambda: channel.readyState == "open")
        channel.send("thử")
        assert await asyncio.wait_for(echoed.get(), 10) == "thử"
        assert (await gauges(base, pid)).echo_peers == 1
        ended = await member.request("DELETE", f"/api/v1/media/echo/{reply.body['session_id']}")
        assert ended.status == 204, ended.body
    finally:
        await pc.close()


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), timeout)


@pytest.mark.timeout(120)
async def test_soak_fast_churn_leaves_the_process_as_it_was(
    world: World,
    served: Callable[[], Awaitable[ServeProcess]],
    loopback_only: None,
    request: pytest.FixtureRequest,
) -> None:
    await soak(world, served, request, FAST)


@pytest.mark.slow
@pytest.mark.timeout(1200)
async def test_soak_full_churn_leaves_the_process_as_it_was(
    world: World,
    served: Callable[[], Awaitable[ServeProcess]],
    loopback_only: None,
    request: pytest.FixtureRequest,
) -> None:
    await soak(world, served, request, SLOW)
