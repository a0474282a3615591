"""`cellmeet bench`: seed a scratch database, start our server and the bare baseline as subprocesses,
drive both with the same clients, and print one JSON summary (docs/performance.md explains it).

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
import contextlib
import gc
import json
import os
import platform
import secrets
import shutil
import signal
import socket
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from server.auth.tickets import Ticket, issue
from server.auth.tokens import SESSION_COOKIE_PLAIN
from server.bench.driver import (
    CpuWindow,
    LoopLag,
    Participant,
    close_all,
    hands_rounds,
    join_all,
    join_figures,
    presence_figures,
    rss_kib,
)
from server.bench.seed import PostgresScratch, Seeded, SeededMeeting, seed
from server.db.engine import Database

HOST = "127.0.0.1"
GOAL_JOIN_P99_MS = 250.0
GOAL_JOIN_RATIO = 1.5
GOAL_FANOUT_P99_MS = 100.0
TICKET_SECONDS = 3600
WARMUP_ROUNDS = 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--members", type=int, default=500, help="simulated members in all (default 500)")
    parser.add_argument("--meetings", type=int, default=50, help="meetings they are spread over (default 50)")
    parser.add_argument("--concurrency", type=int, default=50, help="joins in flight at once (default 50)")
    parser.add_argument("--rounds", type=int, default=20, help="hand emits per meeting (default 20)")
    parser.add_argument("--interval", type=float, default=0.2, help="seconds between a meeting's emits")
    parser.add_argument("--idle-seconds", type=float, default=2.0, help="idle window with all joined")
    parser.add_argument("--aiortc-peers", type=int, default=2, help="aiortc peers in a meeting of their own")
    parser.add_argument("--database-url", default=None, help="postgresql://USER@127.0.0.1:5432/NEW_DB_NAME")
    parser.add_argument(
        "--also-postgresql",
        default=None,
        metavar="URL",
        help="run again on a new database of this PostgreSQL server (postgresql://USER@127.0.0.1:5432/)",
    )
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    name: str
    process: asyncio.subprocess.Process
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    @classmethod
    async def start(
        cls, name: str, argv: list[str], env: dict[str, str], port: int, log_path: Path
    ) -> Server:
        with open(log_path, "wb") as log:
            process = await asyncio.create_subprocess_exec(
                *argv, env=env, stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=asyncio.subprocess.STDOUT
            )
        server = cls(name, process, port, log_path)
        try:
            await server._wait_ready()
        except BaseException:
            await server.stop()
            raise
        return server

    async def _wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                if self.process.returncode is not None:
                    raise RuntimeError(
                        f"{self.name} server exited ({self.process.returncode}):\n{self.log_tail()}"
                    )
                with contextlib.suppress(aiohttp.ClientError, OSError):
                    async with http.get(
                        f"{self.url}/healthz", timeout=aiohttp.ClientTimeout(total=2)
                    ) as reply:
                        if reply.status == 200:
                            return
                await asyncio.sleep(0.1)
        raise RuntimeError(f"{self.name} server not ready within {timeout} s:\n{self.log_tail()}")

    async def stop(self) -> None:
        if self.process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.process.wait(), 15.0)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
            await self.process.wait()


def _server_env(data_dir: Path, database_url: str, secret_key: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CELLMEET_")}
    env.update(
        CELLMEET_DATA_DIR=str(data_dir),
        CELLMEET_DATABASE_URL=database_url,
        CELLMEET_SECRET_KEY=secret_key,
        CELLMEET_ICE_SERVERS="[]",
        CELLMEET_LANG="vi",
        # Every simulated member connects from 127.0.0.1: the per-address defences (tested on their
        # own) would stop the burst at the 60th member. The bench measures the join, not them.
        CELLMEET_CONNECTIONS_PER_ADDRESS="100000",
        CELLMEET_ROOM_CONNECT_BURST_PER_ADDRESS="100000",
        CELLMEET_ROOM_CONNECTS_PER_ADDRESS_PER_SECOND="100000",
    )
    return env


def _participants(
    meetings: list[SeededMeeting], secret_key: str | None
) -> tuple[list[Participant], list[list[Participant]]]:
    """Every member as a participant; the join order interleaves meetings (seat 1 of every meeting,
    then seat 2, ...), so all rooms fill at once as at the start of a real meeting hour. A seat with a
    browser session joins with its cookie, the others with a ticket (none on the bare server)."""
    expires = int(time.time()) + TICKET_SECONDS
    rooms: list[list[Participant]] = []
    for index, meeting in enumerate(meetings):
        room = []
        for seat in meeting.seats:
            auth, headers = None, None
            if seat.session_token is not None:
                headers = {"Cookie": f"{SESSION_COOKIE_PLAIN}={seat.session_token}"}
            elif secret_key is not None:
                ticket = Ticket(seat.user_id, seat.member_id, meeting.meeting_id, expires)
                auth = {"token": issue(secret_key, ticket)}
            room.append(Participant(index, meeting.meeting_id, seat.member_id, auth, headers))
        rooms.append(room)
    order = [room[k] for k in range(max(len(r) for r in rooms)) for room in rooms if k < len(room)]
    return order, rooms


async def _drive(
    server: Server, seeded: Seeded, secret_key: str | None, options: argparse.Namespace
) -> dict[str, Any]:
    ours = secret_key is not None
    order, rooms = _participants(seeded.meetings, secret_key)
    result: dict[str, Any] = {}
    try:
        # The client's own garbage collector must not stall it in the middle of a measurement: what
        # exists now (imports, tickets, clients) is frozen out of the collections (gc.freeze).
        gc.collect()
        gc.freeze()
        rss_before = rss_kib(server.pid)
        window = CpuWindow(server.pid).start()
        lag = LoopLag().start()
        started = time.perf_counter()
        await join_all(server.url, order, options.concurrency)
        join_wall = time.perf_counter() - started
        join_cpu = window.stop()
        join_lag = await lag.stop()
        await asyncio.sleep(1.0)  # coalesced presence pushes (<= 100 ms apart) all arrive
        rss_after = rss_kib(server.pid)
        joins = join_figures(order)
        gc.collect()
        gc.freeze()
        idle = CpuWindow(server.pid).start()
        await asyncio.sleep(options.idle_seconds)
        idle_cpu = idle.stop()
        # Unmeasured warm-up: the first emits on fresh connections are slower on either server (lazy set-up
        # in the libraries); both servers get the same two rounds before the measured ones.
        await hands_rounds(rooms, WARMUP_ROUNDS, options.interval)
        fan = CpuWindow(server.pid).start()
        lag = LoopLag().start()
        fanout = await hands_rounds(rooms, options.rounds, options.interval)
        fan_cpu = fan.stop()
        fan_lag = await lag.stop()
        connected = max(1, joins["joined"])
        result = {
            **joins,
            "join_wall_s": round(join_wall, 3),
            "joins_per_s": round(joins["joined"] / join_wall, 1) if join_wall > 0 else None,
            "fanout_ms": fanout,
            "cpu": {
                "join": {
                    **join_cpu,
                    "server_cpu_ms_per_join": round(1000.0 * join_cpu["server_cpu_s"] / connected, 2),
                },
                "idle": {
                    **idle_cpu,
                    "server_cpu_pct_per_member": round(idle_cpu["server_cpu_pct_of_core"] / connected, 4),
                },
                "fanout": {
                    **fan_cpu,
                    "server_cpu_us_per_delivery": round(
                        1e6 * fan_cpu["server_cpu_s"] / max(1, fanout["delivered"]), 1
                    ),
                },
            },
            "client_loop_lag_ms": {"join": join_lag, "fanout": fan_lag},
            "rss": {
                "before_kib": rss_before,
                "all_joined_kib": rss_after,
                "per_member_kib": round((rss_after - rss_before) / connected, 1),
            },
        }
        if ours:
            result["presence_fanout_ms"] = presence_figures(rooms)
    finally:
        await close_all(order)
        gc.unfreeze()
    return result


async def _browser_joins(server: Server, seeded: Seeded, options: argparse.Namespace) -> dict[str, Any]:
    """Joins the browser's way (session cookie on the upgrade), into meetings of their own that no
    one has joined yet: the same burst as the ticket joins, through the identity middleware."""
    order, rooms = _participants(seeded.browser, None)
    try:
        gc.collect()
        gc.freeze()
        window = CpuWindow(server.pid).start()
        started = time.perf_counter()
        await join_all(server.url, order, options.concurrency)
        join_wall = time.perf_counter() - started
        join_cpu = window.stop()
        await asyncio.sleep(1.0)  # the last coalesced presence pushes arrive
        joins = join_figures(order)
        connected = max(1, joins["joined"])
        return {
            **joins,
            "join_wall_s": round(join_wall, 3),
            "cpu": {
                **join_cpu,
                "server_cpu_ms_per_join": round(1000.0 * join_cpu["server_cpu_s"] / connected, 2),
            },
            "presence_fanout_ms": presence_figures(rooms),
        }
    finally:
        await close_all(order)
        gc.unfreeze()


async def _settle(pid: int, quiet_pct: float = 10.0, limit: float = 20.0) -> float:
    """Wait until the server is quiet (under `quiet_pct` of a core over half a second), at most `limit`
    seconds: the 500 departures before it set off leave handling and presence pushes. Returns the wait."""
    started = time.perf_counter()
    while time.perf_counter() - started < limit:
        window = CpuWindow(pid).start()
        await asyncio.sleep(0.5)
        if window.stop()["server_cpu_pct_of_core"] < quiet_pct:
            break
    return round(time.perf_counter() - started, 2)


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a is not None and b else None


def _goals(ours: dict[str, Any], bare: dict[str, Any], members: int) -> dict[str, Any]:
    join_p99 = ours["join_ms"]["p99"]
    ratio = _ratio(join_p99, bare["join_ms"]["p99"])
    fan_p99 = ours["fanout_ms"]["p99"]
    all_joined = ours["joined"] == members
    return {
        "all_joined": {"value": ours["joined"], "target": members, "met": all_joined},
        "join_p99_ms": {
            "value": join_p99,
            "target": f"< {GOAL_JOIN_P99_MS}",
            "met": all_joined and join_p99 is not None and join_p99 < GOAL_JOIN_P99_MS,
        },
        "join_p99_ratio": {
            "value": ratio,
            "target": f"<= {GOAL_JOIN_RATIO}",
            "met": all_joined and ratio is not None and ratio <= GOAL_JOIN_RATIO,
        },
        "fanout_p99_ms": {
            "value": fan_p99,
            "target": f"< {GOAL_FANOUT_P99_MS}",
            "met": fan_p99 is not None
            and fan_p99 < GOAL_FANOUT_P99_MS
            and ours["fanout_ms"]["delivered"] == ours["fanout_ms"]["expected"],
        },
    }


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
            _server_env(work, server_url, secret_key),
            bare_port,
            work / "bare.log",
        )
        servers.append(bare_server)
        bare = await _drive(bare_server, seeded, None, options)
        await bare_server.stop()

        port = free_port()
        our_server = await Server.start(
            "ours",
            [sys.executable, "-m", "server.cli", "serve", "--host", HOST, "--port", str(port)],
            _server_env(work, server_url, secret_key),
            port,
            work / "ours.log",
        )
        servers.append(our_server)
        ours = await _drive(our_server, seeded, secret_key, options)
        # The ticket joins' connections are closing: their departures (pushes to those who stay) must
        # not be counted as the cookie joins' work.
        settled = await _settle(our_server.pid)
        ours["browser"] = await _browser_joins(our_server, seeded, options)
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
            settled = await _settle(our_server.pid)
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
            "join_p50": _ratio(ours["join_ms"]["p50"], bare["join_ms"]["p50"]),
            "join_p99": _ratio(ours["join_ms"]["p99"], bare["join_ms"]["p99"]),
            "fanout_p50": _ratio(ours["fanout_ms"]["p50"], bare["fanout_ms"]["p50"]),
            "fanout_p99": _ratio(ours["fanout_ms"]["p99"], bare["fanout_ms"]["p99"]),
            "browser_join_p99": _ratio(ours["browser"]["join_ms"]["p99"], bare["join_ms"]["p99"]),
        },
        "goals": _goals(ours, bare, options.members),
        "more_goals": _more_goals(ours),
        "aiortc": rtc,
        "server_errors": server_errors[:5],
    }


def _more_goals(ours: dict[str, Any]) -> dict[str, Any]:
    """Goals of issue 22 beside `goals` (whose keys stay as they were): presence fan-out during the
    join burst, and the browser's joins held to the ticket joins' bar."""
    presence_p99 = ours["presence_fanout_ms"]["p99"]
    browser_p99 = ours["browser"]["join_ms"]["p99"]
    return {
        "presence_p99_ms": {
            "value": presence_p99,
            "target": f"< {GOAL_FANOUT_P99_MS}",
            "met": presence_p99 is not None
            and presence_p99 < GOAL_FANOUT_P99_MS
            and ours["presence_fanout_ms"]["missing"] == 0,
        },
        "browser_join_p99_ms": {
            "value": browser_p99,
            "target": f"< {GOAL_JOIN_P99_MS}",
            "met": ours["browser"]["joined"] == ours["browser"]["members"]
            and browser_p99 is not None
            and browser_p99 < GOAL_JOIN_P99_MS,
        },
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
    result = asyncio.run(bench(options))
    text = json.dumps(result, indent=2, ensure_ascii=False)
    print(text, flush=True)
    if options.out is not None:
        options.out.parent.mkdir(parents=True, exist_ok=True)
        options.out.write_text(text + "\n")
    return 0
