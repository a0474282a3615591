"""quality.md R7, capacity on 2 cores: `cellmeet serve` in its own process pinned to core 0, the load (this
process: hand clients and aiortc audio members, tests/integration/capacity_load.py) pinned to core 1, in
one online meeting of cell A. Each hand client emits one acknowledged `hand` a second (raised, lowered:
every one is broadcast to the whole room as `hands`); the audio members meet in a mesh through `signal`.

The curve: the clients come in steps (20, 40, 60 in the slow tier, each measured over its own window
after a short warm-up), and each step is one line of the figure: emit-to-ack p50/p95/p99, the server's
and the load's CPU (utime + stime from /proc/PID/stat over the window's wall time, as a share of one
core), and the audio tracks' bitrate against nominal and their loss.

Pass, at every step (quality.md R7): ack p95 < 150 ms and p99 < 500 ms; 0 errors (every ack ok and in
time, no disconnection, every audio link still `connected`, no ERROR or traceback in the server's log);
server CPU < 90 % of its core; every audio track within ±10 % of its nominal bitrate with loss < 1 %.
The fast tier is the same with 20 clients and 2 audio members for 8 s. Loopback only, no ICE servers.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from server.appkeys import SETTINGS
from server.auth.tickets import Ticket, issue
from tests.integration.capacity_load import (
    AudioMember,
    HandLoad,
    audio_mesh,
    close_all,
    cpu_seconds,
    link_stats,
    loopback_only,
    percentile,
    pin,
    tracks,
    unpin,
)
from tests.integration.harness import free_port
from tests.integration.room_client import cell_of
from tests.integration.serve_process import ServeProcess, online_meeting_now, serve_env, world
from tests.integration.world import World
from tests.reliability import node_id, record

RELIABILITY_ROW = "R7"  # its line in docs/reliability.md, even when it fails before measuring

__all__ = ["world"]

SERVER_CORE, LOAD_CORE = 0, 1
P95_MS, P99_MS = 150.0, 500.0
SERVER_CPU_PERCENT = 90.0
BITRATE_TOLERANCE = 0.10
LOSS_LIMIT = 0.01
GOLDEN = 0.6180339887498949  # beats at i * GOLDEN mod 1: any first n clients spread over the second


@dataclass
class Step:
    clients: int
    seconds: float


@dataclass
class StepResult:
    clients: int
    audio: int
    emits: int
    p50: float
    p95: float
    p99: float
    server_cpu: float  # percent of one core
    load_cpu: float
    bitrate_kbps: tuple[float, float]  # lowest and highest track
    ratio: tuple[float, float]  # lowest and highest bitrate / nominal
    loss: float  # the worst track's
    tracks: int
    start: float  # the window, in loop time
    end: float
    failed: list[str] = field(default_factory=list)

    def line(self) -> str:
        audio = (
            f"audio {self.tracks} tracks {self.bitrate_kbps[0]:.1f}-{self.bitrate_kbps[1]:.1f} kbit/s"
            f" ({self.ratio[0]:.3f}-{self.ratio[1]:.3f} of nominal), loss max {100 * self.loss:.2f} %"
        )
        return (
            f"{self.clients} clients + {self.audio} audio: ack p50/p95/p99 {self.p50:.1f}/{self.p95:.1f}/"
            f"{self.p99:.1f} ms ({self.emits} emits), server CPU {self.server_cpu:.0f} % of core"
            f" {SERVER_CORE}, load CPU {self.load_cpu:.0f} % of core {LOAD_CORE}; {audio}"
            + (f" FAILED: {', '.join(self.failed)}" if self.failed else "")
        )


@dataclass
class Outcome:
    steps: list[StepResult]
    emits: int
    errors: list[str]


def judge(result: StepResult) -> None:
    if not result.p95 < P95_MS:
        result.failed.append(f"p95 {result.p95:.0f} ms >= {P95_MS:.0f}")
    if not result.p99 < P99_MS:
        result.failed.append(f"p99 {result.p99:.0f} ms >= {P99_MS:.0f}")
    if not result.server_cpu < SERVER_CPU_PERCENT:
        result.failed.append(f"server CPU {result.server_cpu:.0f} % >= {SERVER_CPU_PERCENT:.0f}")
    low, high = result.ratio
    if result.tracks and not (1 - BITRATE_TOLERANCE <= low and high <= 1 + BITRATE_TOLERANCE):
        result.failed.append("audio bitrate off nominal by more than 10 %")
    if result.tracks and not result.loss < LOSS_LIMIT:
        result.failed.append(f"audio loss {100 * result.loss:.2f} % >= 1 %")


def log_errors(log: Path) -> list[str]:
    lines = log.read_text(errors="replace").splitlines()
    return [
        f"server log: {line[:200]}" for line in lines if " ERROR " in line or line.startswith("Traceback")
    ]


async def capacity(
    world: World, tmp_path: Path, database_url: str, steps: list[Step], audio: int, warmup: float
) -> Outcome:
    most = max(step.clients for step in steps)
    await cell_of(world, most + audio)
    mid, people = await online_meeting_now(world, most + audio)
    secret = world.server.app[SETTINGS].secret_key.value
    await world.server.stop()
    expires = int((datetime.now(UTC) + timedelta(hours=1)).timestamp())

    def token(index: int) -> str:
        username, member_id = people[index]
        return issue(secret, Ticket(world.users[username], member_id, mid, expires))

    log = tmp_path / "serve.log"
    served = ServeProcess(serve_env(tmp_path, database_url, secret, many_connects=True), free_port(), log)
    me = os.getpid()
    every_core = os.sched_getaffinity(0)
    assert {SERVER_CORE, LOAD_CORE} <= every_core, f"needs cores {SERVER_CORE} and {LOAD_CORE}: {every_core}"
    mine = pin(me, {SERVER_CORE})  # the server's process, and every thread it starts, inherits core 0
    base = f"http://127.0.0.1:{served.port}"
    load = HandLoad(base)
    members: list[AudioMember] = []
    results: list[StepResult] = []
    loop = asyncio.get_running_loop()
    try:
        await served.start()
        assert served.process is not None
        server = served.process.pid
        pin(server, {SERVER_CORE})
        pin(me, {LOAD_CORE})
        with loopback_only():
            members = await audio_mesh(base, [token(most + i) for i in range(audio)], mid, 15.0)
        for step in steps:
            have = len(load.clients)
            await asyncio.wait_for(
                asyncio.gather(
                    *(load.add(token(i), mid, (i * GOLDEN) % 1) for i in range(have, step.clients))
                ),
                30,
            )
            await asyncio.sleep(warmup)
            before = await link_stats(members)
            server_cpu, load_cpu, start = cpu_seconds(server), cpu_seconds(me), loop.time()
            await asyncio.sleep(step.seconds)
            server_cpu, load_cpu = cpu_seconds(server) - server_cpu, cpu_seconds(me) - load_cpu
            end = loop.time()
            after = await link_stats(members)
            made = tracks(before, after, end - start)
            rates = [track.bitrate for track in made]
            ratios = [track.bitrate / track.nominal for track in made if track.nominal > 0]
            results.append(
                StepResult(
                    clients=step.clients,
                    audio=audio,
                    emits=0,
                    p50=0.0,
                    p95=0.0,
                    p99=0.0,
                    server_cpu=100 * server_cpu / (end - start),
                    load_cpu=100 * load_cpu / (end - start),
                    bitrate_kbps=(min(rates, default=0.0) / 1000, max(rates, default=0.0) / 1000),
                    ratio=(min(ratios, default=0.0), max(ratios, default=0.0)),
                    loss=max((t.loss for t in made), default=0.0),
                    tracks=len(made),
                    start=start,
                    end=end,
                )
            )
        await load.stop()
        for result in results:
            emits = load.window(result.start, result.end)
            latencies = [1000 * emit.latency for emit in emits if emit.latency is not None]
            result.emits = len(emits)
            result.p50, result.p95, result.p99 = (percentile(latencies, p) for p in (50, 95, 99))
            judge(result)
        errors = list(load.errors)
        for member in members:
            errors += member.errors
            errors += [
                f"audio link {member.peer_id}->{other} {link.pc.connectionState}"
                for other, link in member.links.items()
                if link.pc.connectionState != "connected"
            ]
        errors += log_errors(log)
        return Outcome(results, len(load.emits), errors)
    finally:
        await load.close()
        for member in members:
            await member.close()
        await close_all([member.sio for member in members])
        served.kill()
        unpin(me, mine, every_core)


async def check(request: pytest.FixtureRequest, outcome: Outcome, audio: int, tier: str) -> None:
    failed = sum(bool(result.failed) for result in outcome.steps)
    load_average = Path("/proc/loadavg").read_text().split()[:3]
    sizes = "/".join(str(result.clients) for result in outcome.steps)
    seconds = "/".join(f"{result.end - result.start:.0f}" for result in outcome.steps)
    record(
        "R7",
        node_id(request),
        attacked=(
            f"{sizes} socket clients in one meeting, each emitting an acked hand a second ({seconds} s"
            f" windows), plus {audio} aiortc audio members in a mesh; server pinned to core {SERVER_CORE},"
            f" load to core {LOAD_CORE}"
        ),
        attempts=outcome.emits,
        failures=len(outcome.errors) + failed,
        figure="; ".join(result.line() for result in outcome.steps)
        + f"; {len(outcome.errors)} errors; load average {' '.join(load_average)}"
        + (f" (first: {outcome.errors[0]})" if outcome.errors else ""),
        tier=tier,
    )
    assert not outcome.errors, outcome.errors[:20]
    assert not failed, [result.line() for result in outcome.steps]


@pytest.mark.reliability
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_capacity_20_clients_and_2_audio_members(
    request: pytest.FixtureRequest, world: World, database_url: str, tmp_path: Path
) -> None:
    outcome = await capacity(world, tmp_path, database_url, [Step(20, 8.0)], audio=2, warmup=1.0)
    await check(request, outcome, 2, "fast")


@pytest.mark.slow
@pytest.mark.reliability
@pytest.mark.timeout(1200)
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_capacity_curve_to_60_clients_and_6_audio_members_for_10_minutes(
    request: pytest.FixtureRequest, world: World, database_url: str, tmp_path: Path
) -> None:
    steps = [Step(20, 60.0), Step(40, 60.0), Step(60, 600.0)]
    outcome = await capacity(world, tmp_path, database_url, steps, audio=6, warmup=3.0)
    await check(request, outcome, 6, "slow")
