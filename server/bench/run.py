"""`cellmeet bench`: one run on a scratch database, ours against the bare baseline, as one JSON summary.

It seeds the database, starts our server and the bare baseline as subprocesses (server.bench.servers),
drives both with the same clients (server.bench.phases), judges the goals (server.bench.goals) and
prints the summary (docs/performance.md explains it).

Phases against each server, in this order: bare first, then ours (same seeded members, same order):
1. start the server, wait for /healthz, read its RSS;
2. join: every member connects (WebSocket) and joins its meeting, `concurrency` at a time, members
   interleaved across meetings; join latency = connect start -> join ack;
3. idle: everyone connected, nothing sent, for `idle_seconds` (server CPU of keeping them);
4. fan-out: one member per meeting raises and lowers a hand `rounds` times, every `interval` seconds,
   after two unmeasured warm-up rounds;
5. ours only: as many members again join other meetings the browser's way (the session cookie of
   the WebSocket upgrade instead of a signed ticket): `ours.browser`;
6. ours only: the aiortc peers join a meeting of their own and exchange audio.
With `--also-postgresql URL` all of it runs again on a scratch PostgreSQL database, reported under
`postgresql` beside the first run's keys. Only 127.0.0.1 is ever contacted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import secrets
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import asyncpg

from server.auth.tickets import Ticket, issue
from server.bench.driver import CpuWindow
from server.bench.goals import goals, more_goals, ratio_of
from server.bench.phases import TICKET_SECONDS, WARMUP_ROUNDS, browser_joins, drive, settle
from server.bench.seed import PostgresScratch, seed
from server.bench.servers import HOST, Server, free_port, server_env
from server.db.engine import Database


async def _run(options: argparse.Namespace, database_url: str | None, aiortc_peers: int) -> dict[str, Any]:
    """One complete run on one database: SQLite in a scratch directory, or a scratch PostgreSQL database."""
    load_before = os.getloadavg()[0]
    work = Path(tempfile.mkdtemp(prefix="cellmeet-bench-"))
    scratch = PostgresScratch(database_url) if database_url else None
    servers: list[Server] = []
    try:
        if scratch is not None:
            server_url = await scratch.create()
            seed_url = server_url.replace("postgresql://", "postgresql+asyncpg://")
        else:
            server_url = seed_url = f"sqlite+aiosqlite:///{work / 'cellmeet.db'}"
        db = Database(seed_url)
        try:
            seeded = await seed(db, options.members, options.meetings, aiortc_peers, datetime.now(UTC))
        finally:
            await db.close()
        secret_key = secrets.token_urlsafe(48)

        bare_port = free_port()
        bare_server = await Server.start(
            "bare",
            [sys.executable, "-m", "server.bench.bare", "--host", HOST, "--port", str(bare_port)],
            server_env(work, server_url, secret_key),
            bare_port,
            work / "bare.log",
        )
        servers.append(bare_server)
        bare = await drive(bare_server, seeded, None, options)
        await bare_server.stop()

        port = free_port()
        our_server = await Server.start(
            "ours",
            [sys.executable, "-m", "server.cli", "serve", "--host", HOST, "--port", str(port)],
            server_env(work, server_url, secret_key),
            port,
            work / "ours.log",
        )
        servers.append(our_server)
        ours = await drive(our_server, seeded, secret_key, options)
        # The ticket joins' connections are closing: their departures (pushes to those who stay) must
        # not be counted as the cookie joins' work.
        settled = await settle(our_server.pid)
        ours["browser"] = await browser_joins(our_server, seeded, options)
        ours["browser"]["settle_before_s"] = settled
        rtc: dict[str, Any] | None = None
        if seeded.rtc is not None:
            from server.bench.rtc import run_peers

            expires = int(time.time()) + TICKET_SECONDS
            meeting_id = seeded.rtc.meeting_id
            tokens = [
                issue(secret_key, Ticket(s.user_id, s.member_id, meeting_id, expires))
                for s in seeded.rtc.seats
            ]
            settled = await settle(our_server.pid)
            window = CpuWindow(our_server.pid).start()
            rtc = await run_peers(our_server.url, tokens, meeting_id)
            rtc["settle_before_s"] = settled
            rtc["server_cpu"] = window.stop()
        server_errors = [
            line for line in our_server.log_path.read_text(errors="replace").splitlines() if " ERROR " in line
        ]
        await our_server.stop()
    finally:
        for server in servers:
            await server.stop()
        if scratch is not None:
            await scratch.drop()
        shutil.rmtree(work, ignore_errors=True)

    return {
        "config": {
            "members": options.members,
            "meetings": options.meetings,
            "members_per_meeting": [len(m.seats) for m in seeded.meetings],
            "concurrency": options.concurrency,
            "rounds": options.rounds,
            "warmup_rounds": WARMUP_ROUNDS,
            "interval_s": options.interval,
            "idle_s": options.idle_seconds,
            "aiortc_peers": aiortc_peers,
            "database": "postgresql" if scratch is not None else "sqlite",
            "cpu_count": os.cpu_count(),
            "machine": platform.machine(),
            "python": platform.python_version(),
            "versions": {
                name: version(name)
                for name in ("python-socketio", "python-engineio", "aiohttp", "aiortc", "sqlalchemy")
            },
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
            # Other work on the machine skews latencies (not the CPU figures): judge a run by these.
            "loadavg_1m_before": round(load_before, 2),
            "loadavg_1m_after": round(os.getloadavg()[0], 2),
        },
        "ours": ours,
        "bare": bare,
        "ratio": {
            "join_p50": ratio_of(ours["join_ms"]["p50"], bare["join_ms"]["p50"]),
            "join_p99": ratio_of(ours["join_ms"]["p99"], bare["join_ms"]["p99"]),
            "fanout_p50": ratio_of(ours["fanout_ms"]["p50"], bare["fanout_ms"]["p50"]),
            "fanout_p99": ratio_of(ours["fanout_ms"]["p99"], bare["fanout_ms"]["p99"]),
            "browser_join_p99": ratio_of(ours["browser"]["join_ms"]["p99"], bare["join_ms"]["p99"]),
        },
        "goals": goals(ours, bare, options.members),
        "more_goals": more_goals(ours),
        "aiortc": rtc,
        "server_errors": server_errors[:5],
    }


async def bench(options: argparse.Namespace) -> dict[str, Any]:
    if options.members < 2 * options.meetings:
        raise ValueError("--members must be at least twice --meetings")
    result = await _run(options, options.database_url, options.aiortc_peers)
    if options.also_postgresql:
        # The same joins on PostgreSQL, beside the first run's keys (which keep their meaning). The
        # aiortc pair measures the relay, not the database: not repeated.
        try:
            result["postgresql"] = await _run(options, options.also_postgresql, 0)
        except (OSError, asyncpg.PostgresError) as exc:
            result["postgresql"] = {"error": f"{type(exc).__name__}: {exc}"[:300]}
    return result


def main(options: argparse.Namespace) -> int:
    if options.sfu:
        from server.bench.sfu import main as sfu_main

        result = sfu_main(options)
    elif options.processes > 1:
        from server.bench.processes import bench_processes

        result = asyncio.run(bench_processes(options))
    else:
        result = asyncio.run(bench(options))
    text = json.dumps(result, indent=2, ensure_ascii=False)
    print(text, flush=True)
    if options.out is not None:
        options.out.parent.mkdir(parents=True, exist_ok=True)
        options.out.write_text(text + "\n")
    return 0
