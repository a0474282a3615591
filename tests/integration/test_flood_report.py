"""quality.md R8, flood and backpressure: one authenticated member floods `/room` as fast as its
client can (aiming at 10,000 events a second) while the others emit an acknowledged event every
100 ms. Measured: the time from the flood's start to the flooder's first refusal and to its first
disconnection, the others' ack p99 before and during the flood, the server's RSS growth and its live
asyncio tasks. The flooder runs in its own process (`python -m tests.integration.test_flood_report`),
so that its work does not share the server's event loop; the server runs in this process.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.integration.flooder import NAMESPACE, event_frame, flood
from tests.integration.room_client import RoomClient, joined, link_members, online_meeting
from tests.integration.world import World
from tests.reliability import node_id, record

RELIABILITY_ROW = "R8"  # its line in docs/reliability.md, even when it fails before measuring

ROOT = Path(__file__).resolve().parents[2]
AIM = 10_000.0  # events a second the flooder aims at
CUT_OFF = 2.0  # seconds: refused, then disconnected, within this
SLOWER = 2.0  # the others' p99 during the flood, against their baseline
FLOOR = 0.005  # a baseline under 5 ms counts as 5 ms: a ratio to a sub-millisecond p99 means nothing
# The fast tier runs beside another test worker on two cores, so the flooder's process, the server and
# that worker share them: a 20 ms baseline becomes 70 ms under the flood there without any fault of the
# server's (seen on CI). Its floor is 100 ms, so the check still catches a server that stalls the others
# (an ack slower than 200 ms); the slow tier, run alone, keeps the 5 ms floor.
FAST_FLOOR = 0.1
RSS_GROWTH = 50 * 1024 * 1024
TASK_CAP = 1_000
WINDOW = 1.0  # seconds per measured window; the p99 compared is the median of the windows'


@pytest.fixture(autouse=True)
def frozen_heap() -> Iterator[None]:
    """As `cellmeet serve` does after start-up (a full collection of pytest's heap pauses the loop)."""
    gc.collect()
    gc.freeze()
    yield
    gc.unfreeze()


# --- the flooder, in its own process ------------------------------------------------------------


async def flood_until_cut(url: str, cookie: str, meeting_id: int, seconds: float) -> dict[str, Any]:
    """Join, then send hands back to back on one WebSocket until the server cuts it; then keep on
    flooding (reconnecting whenever cut, tests/integration/flooder.py) for the rest of `seconds`.
    Times are seconds from the first flooded frame."""
    loop = asyncio.get_running_loop()
    headers = {"Cookie": cookie, "Origin": url.rstrip("/")}
    ws_url = url.rstrip("/").replace("http", "ws", 1) + "/socket.io/?EIO=4&transport=websocket"
    out: dict[str, Any] = {"sent": 0, "accepted": 0, "refused": {}, "first_refusal": None, "cut": None}
    started = loop.time()
    async with aiohttp.ClientSession() as http:
        ws = await http.ws_connect(ws_url, headers=headers, max_msg_size=0, autoping=False)
        joined_event = asyncio.Event()

        async def read() -> None:
            async for message in ws:
                if message.type != aiohttp.WSMsgType.TEXT:
                    break
                text: str = message.data
                if text == "2":
                    await ws.send_str("3")
                elif text.startswith(f"40{NAMESPACE},"):
                    await ws.send_str(event_frame(1, "join", {"meeting_id": meeting_id}))
                elif text.startswith(f"43{NAMESPACE},1["):
                    joined_event.set()
                elif text.startswith(f"43{NAMESPACE},"):
                    rest = text[len(f"43{NAMESPACE},") :]
                    digits = len(rest) - len(rest.lstrip("0123456789"))
                    (answer,) = json.loads(rest[digits:])
                    if answer.get("ok"):
                        out["accepted"] += 1
                    else:
                        code = answer["error"]["code"]
                        out["refused"][code] = out["refused"].get(code, 0) + 1
                        if out["first_refusal"] is None:
                            out["first_refusal"] = loop.time() - started
                elif text.startswith(f"41{NAMESPACE}"):
                    break  # the namespace cut
            if out["cut"] is None:
                out["cut"] = loop.time() - started

        reader = loop.create_task(read())
        await ws.send_str(f"40{NAMESPACE},")
        await asyncio.wait_for(joined_event.wait(), 10)
        started = loop.time()
        ack = 1
        deadline = started + seconds
        try:
            while not reader.done() and not ws.closed and loop.time() < deadline:
                ack += 1
                await ws.send_str(event_frame(ack, "hand", {"raised": ack % 2 == 0}))
                out["sent"] += 1
                if ack % 10 == 0:
                    await asyncio.sleep(10 / AIM)  # ten frames per tick: as near 10,000/s as it gets
        except (ConnectionResetError, aiohttp.ClientError):
            pass
        await asyncio.wait_for(asyncio.gather(reader, return_exceptions=True), 5)
        await ws.close()
    if out["cut"] is None:
        out["cut"] = loop.time() - started
    out["until_cut_rate"] = out["sent"] / max(out["cut"], 1e-9)
    rest = seconds - (loop.time() - started)
    if rest > 0:  # and on: reconnecting whenever cut, as an attacker would
        again = await flood(url, cookie=cookie, meeting_id=meeting_id, mode="hand", seconds=rest, rate=AIM)
        out["after_cut"] = {"sent": again.sent, "accepted": again.accepted, "refused": again.refused}
        out["after_cut"]["websocket_refusals"] = again.websocket_refusals
    return out


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--cookie", required=True)
    parser.add_argument("--meeting", type=int, required=True)
    parser.add_argument("--seconds", type=float, required=True)
    args = parser.parse_args(argv)
    print("flooding", flush=True)
    json.dump(asyncio.run(flood_until_cut(args.url, args.cookie, args.meeting, args.seconds)), sys.stdout)


# --- the measure --------------------------------------------------------------------------------


def rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98] if len(values) >= 2 else values[0]


async def ack_windows(members: list[RoomClient], peers: list[str], windows: int) -> list[float]:
    """Each member signals the next every 100 ms: each window's p99 ack latency, in seconds."""
    loop = asyncio.get_running_loop()
    candidate = {"candidate": "candidate:1 1 udp 2122260223 127.0.0.1 9 typ host", "sdpMLineIndex": 0}
    result: list[float] = []
    for _ in range(windows):
        latencies: list[float] = []
        end = loop.time() + WINDOW

        async def one(member: RoomClient, to: str, end: float = end, into: list[float] = latencies) -> None:
            while loop.time() < end:
                started = loop.time()
                ack = await member.call("signal", {"to": to, "candidate": candidate}, timeout=10)
                into.append(loop.time() - started)
                assert ack["ok"] is True, ack
                await asyncio.sleep(max(0.0, 0.1 - (loop.time() - started)))

        await asyncio.gather(*(one(m, peers[(i + 1) % len(members)]) for i, m in enumerate(members)))
        result.append(p99(latencies))
    return result


async def cookie_of(world: World, username: str) -> str:
    session = await world.as_user(username)
    cookies = session.http.cookie_jar.filter_cookies(world.server.url)
    return "; ".join(f"{k}={v.value}" for k, v in cookies.items())


async def flood_report(
    world: World,
    rooms: list[RoomClient],
    request: pytest.FixtureRequest,
    *,
    others: int,
    seconds: float,
    tier: str,
    floor: float = FLOOR,
) -> None:
    # One user each: the event budget is the user's across connections (docs/security.md), so another
    # session of the flooder's user, or four sessions of one user signalling every 100 ms, would be
    # refused by design. Cell A has six members: five others and the flooder.
    assert others + 1 <= len(world.members["A"]), "one user per client"
    people = await link_members(world, "A", others + 1)
    mid = await online_meeting(world)
    peers: list[str] = []
    for username, _ in people[:others]:
        client, ack = await joined(world, username, mid)
        rooms.append(client)
        peers.append(ack["self"]["peer_id"])
    flooder_name = people[-1][0]
    windows = max(3, int(seconds / WINDOW))
    baseline = await ack_windows(rooms, peers, windows)

    loop = asyncio.get_running_loop()
    rss_before = rss()
    command = [sys.executable, "-m", "tests.integration.test_flood_report", "--url", str(world.server.url)]
    command += ["--cookie", await cookie_of(world, flooder_name), "--meeting", str(mid)]
    command += ["--seconds", str(seconds)]
    process = await asyncio.create_subprocess_exec(
        *command, cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    assert process.stdout is not None
    assert await asyncio.wait_for(process.stdout.readline(), 20) == b"flooding\n"
    tasks = [len(asyncio.all_tasks())]
    rss_peak = [rss_before]

    async def sample() -> None:
        while True:
            tasks.append(len(asyncio.all_tasks()))
            rss_peak.append(rss())
            await asyncio.sleep(0.05)

    sampler = loop.create_task(sample())
    try:
        during = await ack_windows(rooms, peers, windows)
        out, err = await asyncio.wait_for(process.communicate(), seconds + 30)
    finally:
        sampler.cancel()
        await asyncio.gather(sampler, return_exceptions=True)
    assert process.returncode == 0, err.decode()
    report = json.loads(out)
    growth = max(rss_peak) - rss_before
    base_p99 = statistics.median(baseline)
    flood_p99 = statistics.median(during)
    allowed = SLOWER * max(base_p99, floor)
    refused_at, cut_at = report["first_refusal"], report["cut"]
    checks = {
        "refused within 2 s": refused_at is not None and refused_at <= CUT_OFF,
        "cut within 2 s": cut_at is not None and cut_at <= CUT_OFF and report["refused"],
        "p99 under 2x baseline": flood_p99 < allowed,
        "RSS growth under 50 MB": growth < RSS_GROWTH,
        "tasks under 1,000": max(tasks) < TASK_CAP,
    }
    failed = [name for name, held in checks.items() if not held]
    sent = report["sent"] + report.get("after_cut", {}).get("sent", 0)
    record(
        "R8",
        node_id(request),
        attacked=(
            f"one member flooded hands for {seconds:.0f} s aiming at {AIM:,.0f}/s "
            f"({report['until_cut_rate']:,.0f}/s reached until cut, {sent:,} frames, reconnecting when cut) "
            f"while {others} others signalled every 100 ms"
        ),
        attempts=len(checks),
        failures=len(failed),
        figure=(
            f"refused after {refused_at if refused_at is None else round(refused_at * 1000)} ms, "
            f"disconnected after {round(cut_at * 1000)} ms; others' ack p99 (median of {windows} "
            f"{WINDOW:.0f}-s windows) {base_p99 * 1000:.1f} ms before, {flood_p99 * 1000:.1f} ms during "
            f"(limit 2x max(baseline, {floor * 1000:.0f} ms floor) = {allowed * 1000:.1f} ms); "
            f"RSS +{growth / 2**20:.1f} MB; at most {max(tasks)} asyncio tasks"
            + (f"; FAILED: {', '.join(failed)}" if failed else "")
        ),
        tier=tier,
    )
    assert not failed, (failed, report, baseline, during, growth, max(tasks))


@pytest.mark.reliability
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_flood_is_cut_off_and_the_others_keep_their_pace(
    world: World, rooms: list[RoomClient], request: pytest.FixtureRequest
) -> None:
    await flood_report(world, rooms, request, others=5, seconds=3.0, tier="fast", floor=FAST_FLOOR)


@pytest.mark.slow
@pytest.mark.reliability
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_thirty_second_flood_beside_five_members(
    world: World, rooms: list[RoomClient], request: pytest.FixtureRequest
) -> None:
    await flood_report(world, rooms, request, others=5, seconds=30.0, tier="slow")


if __name__ == "__main__":
    main(sys.argv[1:])
