"""The measured phases against one server: the join burst, the idle window, the hand fan-out, cookie joins."""

from __future__ import annotations

import argparse
import asyncio
import gc
import time
from typing import Any

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
from server.bench.seed import Seeded, SeededMeeting
from server.bench.servers import Server

TICKET_SECONDS = 3600
WARMUP_ROUNDS = 2


def participants(
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


async def drive(
    server: Server, seeded: Seeded, secret_key: str | None, options: argparse.Namespace
) -> dict[str, Any]:
    ours = secret_key is not None
    order, rooms = participants(seeded.meetings, secret_key)
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


async def browser_joins(server: Server, seeded: Seeded, options: argparse.Namespace) -> dict[str, Any]:
    """Joins the browser's way (session cookie on the upgrade), into meetings of their own that no
    one has joined yet: the same burst as the ticket joins, through the identity middleware."""
    order, rooms = participants(seeded.browser, None)
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


async def settle(pid: int, quiet_pct: float = 10.0, limit: float = 20.0) -> float:
    """Wait until the server is quiet (under `quiet_pct` of a core over half a second), at most `limit`
    seconds: the 500 departures before it set off leave handling and presence pushes. Returns the wait."""
    started = time.perf_counter()
    while time.perf_counter() - started < limit:
        window = CpuWindow(pid).start()
        await asyncio.sleep(0.5)
        if window.stop()["server_cpu_pct_of_core"] < quiet_pct:
            break
    return round(time.perf_counter() - started, 2)
