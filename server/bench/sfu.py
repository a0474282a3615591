"""`cellmeet bench --sfu` (issue 27): how many audio members Janus carries, beside the mesh.

A real Janus runs alone in a network namespace (server.bench.janus_net, tech-notes "Janus — verified
recipe"; root only). On scratch SQLite databases seeded as `cellmeet bench` (server.bench.seed):
1. mesh: a server without an SFU; 2, 3, ... aiortc peers of one meeting exchange audio
   (server.bench.rtc), until a size fails (a pair not connected, or a leg hearing < 80 % of its frames);
2. one room: a server with CELLMEET_SFU_URL (and CELLMEET_SFU_MIN_PEERS=2, so the second join moves
   the room to Janus); N aiortc audio members (server.bench.sfu_member, spread over worker processes)
   join one after another, publish and subscribe to every feed; member 0 speaks during the joins;
   once all hear everyone, a steady window where each member speaks in turn (one speaker at a time);
3. several rooms: the same with N members in `--sfu-rooms` meetings (on a second database).
Janus's CPU comes from /proc/<its pid>/stat over the steady window. A leg is one forwarded audio
stream publisher -> subscriber: a room of n members with one speaker forwards n-1 legs.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import platform
import secrets
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from server.auth.tickets import Ticket, issue
from server.bench.driver import CpuWindow, cpu_seconds, percentile
from server.bench.janus_net import JanusNet, available, janus_in_namespace
from server.bench.phases import TICKET_SECONDS
from server.bench.seed import SeededMeeting, seed
from server.bench.servers import HOST, Server, free_port, server_env
from server.bench.sfu_mesh import mesh_sizes
from server.db.engine import Database

BENCH_OPUS_BITRATE = 32000  # bit/s of the members' Opus (sfu_member): a browser's speech is 20-40 kbit/s
GOAL_LOSS_PCT = 1.0
GOAL_JANUS_PCT_OF_CORE = 50.0
GOAL_LEGS_PER_CORE = 100.0
GOAL_FIRST_AUDIO_P50_S = 1.0
GOAL_MEMBERS = 50
PACKETS_PER_S = 50  # 20 ms Opus frames


def _figures(values: list[float], digits: int = 3) -> dict[str, Any]:
    def r(v: float | None) -> float | None:
        return None if v is None else round(v, digits)

    return {
        "count": len(values),
        "min": r(min(values) if values else None),
        "p50": r(percentile(values, 50)),
        "p95": r(percentile(values, 95)),
        "max": r(max(values) if values else None),
    }


def _spoke(index: int, size: int, steady_at: float, ends_at: float, turn: float) -> float:
    """Seconds member `index` of a room of `size` spoke in the window (the turns of sfu_member.Schedule)."""
    total, k = 0.0, 0
    while steady_at + k * turn < ends_at:
        if k % size == index:
            total += min(ends_at, steady_at + (k + 1) * turn) - (steady_at + k * turn)
        k += 1
    return total


async def _sfu_phase(
    server: Server, net: JanusNet, meetings: list[SeededMeeting], secret_key: str, options: Any
) -> dict[str, Any]:
    from server.bench.sfu_member import worker  # aiortc: only for this bench

    expires = int(time.time()) + TICKET_SECONDS
    start = time.time() + 2.0  # the workers start meanwhile
    seats: list[dict[str, Any]] = []
    longest = max(len(m.seats) for m in meetings)
    for index in range(longest):  # interleaved: the rooms fill together
        for room, meeting in enumerate(meetings):
            if index < len(meeting.seats):
                seat = meeting.seats[index]
                seats.append(
                    {
                        "token": issue(
                            secret_key,
                            Ticket(
                                seat.user_id,
                                seat.member_id,
                                meeting.meeting_id,
                                expires,
                                secrets.token_urlsafe(9),
                            ),
                        ),
                        "meeting_id": meeting.meeting_id,
                        "room": room,
                        "index": index,
                        "room_size": len(meeting.seats),
                        "join_at": start + len(seats) * options.sfu_join_gap,
                    }
                )
    count = max(1, min(options.sfu_workers, len(seats)))
    ready_timeout = 2.0 + len(seats) * options.sfu_join_gap + 20.0 + 0.5 * len(seats)
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    commands = [context.Queue() for _ in range(count)]
    processes = [
        context.Process(
            target=worker,
            args=(
                {
                    "url": server.url,
                    "host_address": net.host_address,
                    "bitrate": BENCH_OPUS_BITRATE,
                    "turn_s": options.sfu_turn,
                    "ready_timeout_s": ready_timeout,
                    "seats": seats[k::count],
                },
                commands[k],
                results,
            ),
            daemon=True,
        )
        for k in range(count)
    ]
    loop = asyncio.get_running_loop()
    done: list[dict[str, Any]] = []
    errors: list[str] = []
    try:
        for process in processes:
            process.start()

        async def message(timeout: float) -> tuple[str, Any]:
            got: tuple[str, Any] = await loop.run_in_executor(None, results.get, True, timeout)
            return got

        ready = 0
        while ready < count:
            kind, body = await message(ready_timeout + 60)
            if kind == "error":
                raise RuntimeError(f"a member process failed: {body}")
            ready += kind == "ready"
        await asyncio.sleep(2.0)  # the last renegotiations settle
        steady_at = time.time() + 1.0
        ends_at = steady_at + options.sfu_seconds
        for queue in commands:
            queue.put((steady_at, ends_at))
        await asyncio.sleep(max(0.0, steady_at - time.time()))
        janus_before, wall_before = cpu_seconds(net.pid), time.time()
        window = CpuWindow(server.pid).start()
        await asyncio.sleep(max(0.0, ends_at - time.time()))
        janus_cpu, wall = cpu_seconds(net.pid) - janus_before, time.time() - wall_before
        server_cpu = window.stop()
        while len(done) < count:
            kind, body = await message(120)
            if kind == "done":
                done.append(body)
            elif kind == "error":
                errors.append(body)
                count -= 1
    finally:
        for process in processes:
            await loop.run_in_executor(None, process.join, 30)
            if process.is_alive():
                process.kill()
    members = [m for figures in done for m in figures["members"]]
    sizes = [len(m.seats) for m in meetings]
    legs = sum(n - 1 for n in sizes)
    janus_pct = 100.0 * janus_cpu / wall
    return {
        "rooms": len(meetings),
        "members": len(seats),
        "members_per_room": sizes,
        "heard_everyone": sum(1 for m in members if m["subscribed"] >= sizes[m["room"]] - 1),
        "window_s": round(wall, 2),
        "turn_s": options.sfu_turn,
        "legs": legs,
        "subscriptions": sum(n * (n - 1) for n in sizes),
        "janus": {
            "cpu_s": round(janus_cpu, 3),
            "pct_of_core": round(janus_pct, 2),
            "pct_of_core_per_leg": round(janus_pct / legs, 4) if legs else None,
            "cpu_s_per_leg_per_s": round(janus_cpu / wall / legs, 6) if legs else None,
            "legs_per_core": round(legs / (janus_pct / 100.0), 1) if janus_pct > 0 else None,
        },
        "server_cpu": server_cpu,
        "tracks": _tracks(members, sizes, steady_at, ends_at, options.sfu_turn),
        "join_to_first_audio_s": _first_audio(members),
        "workers": [
            {"pid": f["pid"], "members": len(f["members"]), "cpu_pct_of_core": f["cpu_pct_of_core"]}
            for f in done
        ],
        "errors": (errors + [e for m in members for e in m["errors"]])[:5],
    }


def _tracks(
    members: list[dict[str, Any]], sizes: list[int], steady_at: float, ends_at: float, turn: float
) -> dict[str, Any]:
    """Per subscriber stream whose publisher spoke in the window: payload bitrate while it spoke, loss."""
    index_of = {(m["room"], m["peer_id"]): m["index"] for m in members}
    bitrates: list[float] = []
    losses: list[float] = []
    received = lost = 0
    expected = 0.0
    for m in members:
        size = sizes[m["room"]]
        for peer, after in m["tracks_after"].items():
            index = index_of.get((m["room"], peer))
            if index is None:
                continue
            spoke = _spoke(index, size, steady_at, ends_at, turn)
            if spoke < turn / 2:
                continue
            before = m["tracks_before"].get(peer, {"packets": 0, "lost": 0, "bytes": 0})
            got = after["packets"] - before["packets"]
            missed = max(0, after["lost"] - before["lost"])
            bitrates.append((after["bytes"] - before["bytes"]) * 8 / spoke / 1000.0)
            losses.append(100.0 * missed / (got + missed) if got + missed else 100.0)
            received, lost, expected = received + got, lost + missed, expected + spoke * PACKETS_PER_S
    return {
        "measured": len(bitrates),
        "bitrate_kbps": _figures(bitrates, 1),
        "loss_pct": _figures(losses, 2),
        "packets_received": received,
        "packets_lost": lost,
        "loss_pct_all": round(100.0 * lost / (received + lost), 3) if received + lost else None,
        "received_of_expected": round(received / expected, 3) if expected else None,
    }


def _first_audio(members: list[dict[str, Any]]) -> dict[str, Any]:
    """Join emitted -> first decoded frame from the room's speaker, for every member but the speaker."""
    listeners = [m for m in members if m["index"] > 0]
    times = [m["join_to_first_audio_s"] for m in listeners if m["join_to_first_audio_s"] is not None]
    return {**_figures(times), "missing": len(listeners) - len(times)}


async def _seeded_server(
    work: Path, name: str, members: int, meetings: int, mesh: int, secret_key: str, sfu_url: str | None
) -> tuple[Server, Any]:
    url = f"sqlite+aiosqlite:///{work / (name + '.db')}"
    db = Database(url)
    try:
        seeded = await seed(db, members, meetings, mesh, datetime.now(UTC))
    finally:
        await db.close()
    return await _serve(work, name, url, secret_key, sfu_url), seeded


async def _serve(work: Path, name: str, url: str, secret_key: str, sfu_url: str | None) -> Server:
    env = server_env(work, url, secret_key)
    if sfu_url is not None:
        env.update(CELLMEET_SFU_URL=sfu_url, CELLMEET_SFU_MIN_PEERS="2")
    port = free_port()
    argv = [sys.executable, "-m", "server.cli", "serve", "--host", HOST]
    return await Server.start(name, [*argv, "--port", str(port)], env, port, work / f"{name}.log")


def _errors(server: Server) -> list[str]:
    return [line for line in server.log_path.read_text(errors="replace").splitlines() if " ERROR " in line]


async def bench_sfu(options: argparse.Namespace) -> dict[str, Any]:
    members, rooms = options.members, options.sfu_rooms
    if members < 2 or rooms < 1 or members < 2 * rooms:
        raise ValueError("--members must be at least 2 and at least twice --sfu-rooms")
    load_before = os.getloadavg()[0]
    work = Path(tempfile.mkdtemp(prefix="cellmeet-bench-sfu-"))
    secret_key = secrets.token_urlsafe(48)
    mesh_largest = min(options.sfu_mesh_max, members)
    server_errors: list[str] = []
    try:
        async with janus_in_namespace(work) as net:
            server, seeded = await _seeded_server(work, "one", members, 1, mesh_largest, secret_key, None)
            try:
                assert seeded.rtc is not None
                mesh = await mesh_sizes(server, seeded.rtc, secret_key, mesh_largest)
            finally:
                await server.stop()
            server_errors += _errors(server)
            server = await _serve(
                work, "one-sfu", f"sqlite+aiosqlite:///{work / 'one.db'}", secret_key, net.ws_url
            )
            try:
                one_room = await _sfu_phase(server, net, seeded.meetings, secret_key, options)
            finally:
                await server.stop()
            server_errors += _errors(server)
            several: dict[str, Any] | None = None
            if rooms > 1:
                server, seeded = await _seeded_server(
                    work, "rooms", members, rooms, 0, secret_key, net.ws_url
                )
                try:
                    several = await _sfu_phase(server, net, seeded.meetings, secret_key, options)
                finally:
                    await server.stop()
                server_errors += _errors(server)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {
        "config": {
            "members": members,
            "rooms": rooms,
            "member_processes": options.sfu_workers,
            "member_processes_why": "aiortc decodes every member's audio in Python: the members are "
            "spread over this many spawned processes so that one process's event loop does not saturate",
            "opus_bitrate_bps": BENCH_OPUS_BITRATE,
            "steady_window_s": options.sfu_seconds,
            "turn_s": options.sfu_turn,
            "join_gap_s": options.sfu_join_gap,
            "sfu_min_peers": 2,
            "database": "sqlite",
            "cpu_count": os.cpu_count(),
            "machine": platform.machine(),
            "python": platform.python_version(),
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "loadavg_1m_before": round(load_before, 2),
            "loadavg_1m_after": round(os.getloadavg()[0], 2),
        },
        "definitions": {
            "leg": "one forwarded audio stream publisher -> subscriber; one speaker in a room of n "
            "members forwards n-1 legs (everyone subscribes to every feed: n(n-1) subscriptions)",
            "janus.pct_of_core": "CPU seconds of the Janus process (/proc/<pid>/stat utime+stime, its "
            "threads included) over the steady window / wall seconds * 100",
            "janus.legs_per_core": "legs / (pct_of_core / 100)",
            "tracks": "per subscriber stream whose publisher spoke in the window; bitrate = RTP payload "
            "bits while its publisher spoke; loss = packetsLost / (packetsReceived + packetsLost) of "
            "aiortc's inbound-rtp stats over the window",
            "join_to_first_audio_s": "join emitted (socket.io connect + join) -> first decoded frame",
            "mesh": "aiortc peers of server.bench.rtc on a server without an SFU, each sending to "
            "every other; works = every pair connected and every leg heard >= 80 % of its frames",
        },
        "sfu": {"one_room": one_room, "rooms": several},
        "mesh": mesh,
        "goals": sfu_goals(one_room, members),
        "server_errors": server_errors[:5],
    }


def sfu_goals(one_room: dict[str, Any], members: int) -> dict[str, Any]:
    big = members >= GOAL_MEMBERS
    complete = one_room["heard_everyone"] == one_room["members"]
    loss = one_room["tracks"]["loss_pct_all"]
    janus = one_room["janus"]["pct_of_core"]
    per_core = one_room["janus"]["legs_per_core"]
    first = one_room["join_to_first_audio_s"]["p50"]
    return {
        "members_50_loss_pct": {
            "value": loss,
            "target": f"< {GOAL_LOSS_PCT} with {GOAL_MEMBERS} members in one room",
            "met": big and complete and loss is not None and loss < GOAL_LOSS_PCT,
        },
        "members_50_janus_pct_of_core": {
            "value": janus,
            "target": f"< {GOAL_JANUS_PCT_OF_CORE} with {GOAL_MEMBERS} members in one room",
            "met": big and complete and janus < GOAL_JANUS_PCT_OF_CORE,
        },
        "legs_per_core": {
            "value": per_core,
            "target": f">= {GOAL_LEGS_PER_CORE}",
            "met": complete and per_core is not None and per_core >= GOAL_LEGS_PER_CORE,
        },
        "join_to_first_audio_p50_s": {
            "value": first,
            "target": f"< {GOAL_FIRST_AUDIO_P50_S}",
            "met": first is not None and first < GOAL_FIRST_AUDIO_P50_S,
        },
    }


def main(options: argparse.Namespace) -> dict[str, Any]:
    why = available()
    if why is not None:
        raise SystemExit(f"cellmeet bench --sfu needs a real Janus in a network namespace: {why}")
    return asyncio.run(bench_sfu(options))
