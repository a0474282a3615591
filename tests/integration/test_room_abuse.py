"""Attacks on `/room` by a logged-in user (issue 17): the event budget is the user's, across
reconnects; a non-member's join flood costs the room nothing; frames nested too deep are refused
cleanly. The flooder runs in its own process (tests/integration/flooder.py), as an attacker would."""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import statistics
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.integration.flooder import flood
from tests.integration.room_client import RoomClient, joined, link_members, online_meeting
from tests.integration.world import World

ROOT = Path(__file__).resolve().parents[2]
FLOOD_SECONDS = 5.0
# docs/security.md "The live room": 20 events a second, 100 at once, per user.
RATE, BURST = 20.0, 100
HAND_COST = 5
# Members whose acks are timed: enough samples (about 330 in 5 s) for a steady 99th percentile.
MEASURED = 4


@pytest.fixture(autouse=True)
def frozen_heap() -> Any:
    """As `cellmeet serve` does after start-up: the test process's large heap (pytest, aiortc...)
    otherwise makes a full garbage collection pause the loop for up to 100 ms, flood or not."""
    gc.collect()
    gc.freeze()
    yield
    gc.unfreeze()


async def cookie_of(world: World, username: str) -> str:
    session = await world.as_user(username)
    cookies = session.http.cookie_jar.filter_cookies(world.server.url)
    return "; ".join(f"{k}={v.value}" for k, v in cookies.items())


async def start_flooder(
    world: World, cookie: str, meeting_id: int, mode: str, seconds: float
) -> asyncio.subprocess.Process:
    """The flooder in its own process, started and past its imports when this returns."""
    command = [sys.executable, "-m", "tests.integration.flooder", "--url", str(world.server.url)]
    command += ["--cookie", cookie, "--meeting", str(meeting_id), "--mode", mode]
    command += ["--seconds", str(seconds), "--rate", "250"]
    process = await asyncio.create_subprocess_exec(
        *command, cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    assert process.stdout is not None
    assert await asyncio.wait_for(process.stdout.readline(), 20) == b"flooding\n"
    return process


async def flood_report(process: asyncio.subprocess.Process, seconds: float) -> dict[str, Any]:
    out, err = await asyncio.wait_for(process.communicate(), seconds + 20)
    assert process.returncode == 0, err.decode()
    return dict(json.loads(out))


async def signal_latencies(members: list[RoomClient], peer_ids: list[str], seconds: float) -> list[float]:
    """Each member sends an ICE candidate to the next every 60 ms (well inside its budget) for
    `seconds`: the time from each emit to its ack, in seconds."""
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    candidate = {"candidate": "candidate:1 1 udp 2122260223 127.0.0.1 9 typ host", "sdpMLineIndex": 0}

    async def one(member: RoomClient, to: str) -> None:
        end = loop.time() + seconds
        while loop.time() < end:
            started = loop.time()
            ack = await member.call("signal", {"to": to, "candidate": candidate}, timeout=10)
            latencies.append(loop.time() - started)
            assert ack["ok"] is True, ack
            await asyncio.sleep(max(0.0, 0.06 - (loop.time() - started)))

    await asyncio.gather(*(one(m, peer_ids[(i + 1) % len(members)]) for i, m in enumerate(members)))
    return latencies


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98]


async def members_in_room(
    world: World, rooms: list[RoomClient]
) -> tuple[int, list[tuple[str, int]], list[str]]:
    """Four members in an online meeting's room, and a fifth member of the cell who is not."""
    people = await link_members(world, "A", MEASURED + 1)
    mid = await online_meeting(world)
    peer_ids = []
    for username, _ in people[:MEASURED]:
        client, ack = await joined(world, username, mid)
        rooms.append(client)
        peer_ids.append(ack["self"]["peer_id"])
    return mid, people, peer_ids


async def reconnect_flood(
    world: World, rooms: list[RoomClient], seconds: float, slower: float, floor: float = 0.0
) -> None:
    """A member floods hands for `seconds`, reconnecting whenever cut, while the others signal."""
    mid, people, peer_ids = await members_in_room(world, rooms)
    baseline = await signal_latencies(rooms, peer_ids, seconds)

    flooder = await start_flooder(world, await cookie_of(world, people[MEASURED][0]), mid, "hand", seconds)
    during = await signal_latencies(rooms, peer_ids, seconds)
    report = await flood_report(flooder, seconds)

    # Hundreds of tries a second: frames while connected, new WebSockets whenever cut.
    assert report["sent"] + report["websocket_refusals"] > 100 * seconds, report
    # A hand is told to the whole room, so it costs five events of the budget.
    hands_allowed = (BURST + RATE * seconds) / HAND_COST
    assert 0 < report["accepted"] <= hands_allowed, report
    assert 0 < len(rooms[0].received("hands")) <= hands_allowed  # what the others saw of it
    assert report["refused"].get("rate_limited", 0) > 0, report
    assert report["closed_by_server"] >= 1, report  # the transport closed, not only the namespace
    assert report["websocket_refusals"] > 100, report  # and reconnects refused for the cool-down
    assert p99(during) < max(slower * p99(baseline), floor), (p99(baseline), p99(during))


async def join_flood(
    world: World, rooms: list[RoomClient], seconds: float, slower: float, floor: float = 0.0
) -> None:
    """An auditor, who may read the cell but is not summoned, floods joins for `seconds`."""
    mid, _, peer_ids = await members_in_room(world, rooms)
    baseline = await signal_latencies(rooms, peer_ids, seconds)

    flooder = await start_flooder(world, await cookie_of(world, "auditor_p"), mid, "join", seconds)
    during = await signal_latencies(rooms, peer_ids, seconds)
    report = await flood_report(flooder, seconds)

    assert report["sent"] + report["websocket_refusals"] > 100 * seconds, report
    assert report["accepted"] == 0, report
    # Each refused join costs ten events: the budget runs out after about ten of them.
    assert 0 < report["refused"].get("not_a_member", 0) <= (BURST + RATE * seconds) / 10, report
    assert report["closed_by_server"] >= 1 and report["websocket_refusals"] > 100, report
    assert p99(during) < max(slower * p99(baseline), floor), (p99(baseline), p99(during))


# The fast tier runs beside another test worker on two cores, whose load comes and goes between the
# two measurements (a browser test's, say): it allows the others' p99 four times its baseline or
# 0.5 s (before the fix: p50 0.6 s, p99 over 5 s, acks lost). The slow tier, run alone, holds the
# issue's bar: twice the baseline.


async def test_a_members_reconnect_flood_gets_at_most_its_budget(
    world: World, rooms: list[RoomClient]
) -> None:
    await reconnect_flood(world, rooms, FLOOD_SECONDS, slower=4.0, floor=0.5)


async def test_a_non_members_join_flood_costs_the_room_nothing(world: World, rooms: list[RoomClient]) -> None:
    await join_flood(world, rooms, FLOOD_SECONDS, slower=4.0, floor=0.5)


@pytest.mark.slow
async def test_reconnect_flood_leaves_the_others_p99_under_twice_its_baseline(
    world: World, rooms: list[RoomClient]
) -> None:
    await reconnect_flood(world, rooms, 2 * FLOOD_SECONDS, slower=2.0)


@pytest.mark.slow
async def test_join_flood_leaves_the_others_p99_under_twice_its_baseline(
    world: World, rooms: list[RoomClient]
) -> None:
    await join_flood(world, rooms, 2 * FLOOD_SECONDS, slower=2.0)


async def test_frames_nested_too_deep_are_refused_without_tracebacks(
    world: World, rooms: list[RoomClient], caplog: pytest.LogCaptureFixture
) -> None:
    mid, people, peer_ids = await members_in_room(world, rooms)
    caplog.set_level(logging.INFO)
    report = await flood(
        str(world.server.url),
        cookie=await cookie_of(world, people[MEASURED][0]),
        meeting_id=mid,
        mode="deep",
        seconds=2.0,
        rate=400,
    )
    # The flood happened: frames while connected, new WebSockets (refused) whenever cut.
    assert report.sent + report.websocket_refusals > 50, report
    assert report.refused.get("malformed_frame", 0) >= 1  # a clear error, not silence
    assert report.accepted == 0
    assert report.closed_by_server >= 1  # repeated ones drop the connection
    tracebacks = [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]
    assert tracebacks == []
    noisy = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(noisy) <= 3 * report.websockets + 5, [r.getMessage() for r in noisy]
    assert len(noisy) <= 30
    # the others are unaffected
    assert (await rooms[0].call("hand", {"raised": True}))["ok"] is True


async def test_a_refused_join_is_logged_with_the_user_once_a_minute(
    world: World, rooms: list[RoomClient], caplog: pytest.LogCaptureFixture
) -> None:
    mid, _, _ = await members_in_room(world, rooms)
    caplog.set_level(logging.WARNING, logger="cellmeet.realtime")
    auditor = await cookie_of(world, "auditor_p")
    prober = RoomClient(
        str(world.server.url), headers={"Cookie": auditor, "Origin": str(world.server.url).rstrip("/")}
    )
    await prober.connect()
    rooms.append(prober)
    for _ in range(3):
        assert (await prober.join(mid))["error"]["code"] == "not_a_member"
    lines = [r.getMessage() for r in caplog.records if "room join refused" in r.getMessage()]
    assert len(lines) == 1
    assert f"user {world.users['auditor_p']} (auditor_p), meeting {mid}: not_a_member" in lines[0]
