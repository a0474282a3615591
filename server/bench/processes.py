"""`cellmeet bench --processes K` (issue 26): K server processes on one PostgreSQL and one Redis, the
bare library in the same topology, members spread over the processes.

Seeded as `cellmeet bench` (server.bench.seed), on a scratch PostgreSQL database. Against each
topology (bare first, then ours, the same members in the same order), member i connects to process
i mod K:
1. join: every member connects and joins its meeting, `concurrency` at a time in all; join latency =
   connect start -> join ack; the CPU of each process over the burst;
2. idle: everyone connected, nothing sent, for `idle_seconds` (CPU and RSS of each process);
3. fan-out: one member per meeting raises and lowers a hand `rounds` times (its meeting's members sit
   on every process: each `hands` crosses Redis).
The bare baseline is python-socketio with its own Redis manager (server.bench.bare --redis-url): what
the library costs in this topology by itself. Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import shutil
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from server.bench.driver import CpuWindow, close_all, hands_rounds, join_all, join_figures, rss_kib
from server.bench.goals import ratio_of
from server.bench.phases import WARMUP_ROUNDS, participants
from server.bench.seed import PostgresScratch, seed
from server.bench.servers import HOST, Server, free_port, server_env
from server.db.engine import Database

DEFAULT_POSTGRESQL = "postgresql://postgres@127.0.0.1:5432/"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"


async def _start(
    kind: str, count: int, work: Path, database_url: str, secret_key: str, redis_url: str
) -> list[Server]:
    prefix = f"cellmeet-bench-{uuid.uuid4().hex[:8]}"
    servers: list[Server] = []
    try:
        for number in range(count):
            port = free_port()
            env = server_env(work, database_url, secret_key)
            if kind == "bare":
                argv = [sys.executable, "-m", "server.bench.bare", "--host", HOST, "--port", str(port)]
                argv += ["--redis-url", redis_url, "--channel", f"{prefix}:socketio"]
            else:
                argv = [sys.executable, "-m", "server.cli", "serve", "--host", HOST, "--port", str(port)]
                env.update(CELLMEET_REDIS_URL=redis_url, CELLMEET_REDIS_PREFIX=prefix)
            log = work / f"{kind}-{number + 1}.log"
            servers.append(await Server.start(f"{kind}-{number + 1}", argv, env, port, log))
    except BaseException:
        for server in servers:
            await server.stop()
        raise
    return servers


def _per_join(cpu: dict[str, Any], joined: int) -> float:
    return round(1000 * float(cpu["server_cpu_s"]) / joined, 2)


def _cpu(windows: list[CpuWindow]) -> dict[str, Any]:
    per_process = [window.stop() for window in windows]
    return {
        "per_process": per_process,
        "server_cpu_s": round(sum(p["server_cpu_s"] for p in per_process), 3),
    }


async def _drive(servers: list[Server], seeded: Any, secret_key: str | None, options: Any) -> dict[str, Any]:
    order, rooms = participants(seeded.meetings, secret_key)
    shares: list[list[Any]] = [order[k :: len(servers)] for k in range(len(servers))]
    try:
        gc.collect()
        gc.freeze()
        rss_before = [rss_kib(s.pid) for s in servers]
        windows = [CpuWindow(s.pid).start() for s in servers]
        started = time.perf_counter()
        share = max(1, options.concurrency // len(servers))
        await asyncio.gather(*(join_all(s.url, part, share) for s, part in zip(servers, shares, strict=True)))
        join_wall = time.perf_counter() - started
        join_cpu = _cpu(windows)
        await asyncio.sleep(1.0)  # the last coalesced presence pushes arrive
        joins = join_figures(order)
        connected = max(1, joins["joined"])
        windows = [CpuWindow(s.pid).start() for s in servers]
        await asyncio.sleep(options.idle_seconds)
        idle_cpu = _cpu(windows)
        rss_joined = [rss_kib(s.pid) for s in servers]
        await hands_rounds(rooms, WARMUP_ROUNDS, options.interval)
        windows = [CpuWindow(s.pid).start() for s in servers]
        fanout = await hands_rounds(rooms, options.rounds, options.interval)
        fan_cpu = _cpu(windows)
        return {
            **joins,
            "join_wall_s": round(join_wall, 3),
            "joins_per_s": round(joins["joined"] / join_wall, 1) if join_wall > 0 else None,
            "fanout_ms": fanout,
            "cpu": {
                "join": {
                    **join_cpu,
                    "server_cpu_ms_per_join": round(1000 * join_cpu["server_cpu_s"] / connected, 2),
                },
                "idle": idle_cpu,
                "fanout": fan_cpu,
            },
            "rss_kib": {"before": rss_before, "all_joined": rss_joined},
        }
    finally:
        await close_all(order)
        gc.unfreeze()


async def bench_processes(options: argparse.Namespace) -> dict[str, Any]:
    if options.processes < 2:
        raise ValueError("--processes must be at least 2")
    if options.members < 2 * options.meetings:
        raise ValueError("--members must be at least twice --meetings")
    work = Path(tempfile.mkdtemp(prefix="cellmeet-bench-processes-"))
    scratch = PostgresScratch(options.database_url or DEFAULT_POSTGRESQL)
    redis_url = options.redis_url or DEFAULT_REDIS
    servers: list[Server] = []
    try:
        server_url = await scratch.create()
        db = Database(server_url.replace("postgresql://", "postgresql+asyncpg://"))
        try:
            seeded = await seed(db, options.members, options.meetings, 0, datetime.now(UTC))
        finally:
            await db.close()
        secret_key = uuid.uuid4().hex + uuid.uuid4().hex
        servers = await _start("bare", options.processes, work, server_url, secret_key, redis_url)
        bare = await _drive(servers, seeded, None, options)
        for server in servers:
            await server.stop()
        servers = await _start("ours", options.processes, work, server_url, secret_key, redis_url)
        ours = await _drive(servers, seeded, secret_key, options)
        errors = [
            line
            for server in servers
            for line in server.log_path.read_text(errors="replace").splitlines()
            if " ERROR " in line
        ]
    finally:
        for server in servers:
            await server.stop()
        await scratch.drop()
        shutil.rmtree(work, ignore_errors=True)
    return {
        "config": {
            "processes": options.processes,
            "members": options.members,
            "meetings": options.meetings,
            "concurrency": options.concurrency,
            "rounds": options.rounds,
            "interval_s": options.interval,
            "idle_s": options.idle_seconds,
            "database": "postgresql",
            "redis": "loopback",
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        },
        "ours": ours,
        "bare": bare,
        "ratio": {
            "join_p50": ratio_of(ours["join_ms"]["p50"], bare["join_ms"]["p50"]),
            "join_p99": ratio_of(ours["join_ms"]["p99"], bare["join_ms"]["p99"]),
            "cpu_per_join": ratio_of(
                ours["cpu"]["join"]["server_cpu_ms_per_join"], bare["cpu"]["join"]["server_cpu_ms_per_join"]
            ),
            "fanout_p99": ratio_of(ours["fanout_ms"]["p99"], bare["fanout_ms"]["p99"]),
        },
        "goals": {
            "all_joined": {
                "value": ours["joined"],
                "target": options.members,
                "met": ours["joined"] == options.members,
            },
        },
        "server_errors": errors[:5],
    }
