"""The client side of the benchmark: socket.io clients (WebSocket only) that join, raise hands and time
what the server sends back, and the /proc readings of a server process. The same driver runs against
our server and the bare baseline; every time is `time.perf_counter()` of this one process."""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import socketio

NAMESPACE = "/room"
CONNECT_TIMEOUT = 20.0
CALL_TIMEOUT = 30.0


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile (p in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100.0 * len(ordered)))
    return ordered[rank - 1]


def summary(values: Sequence[float]) -> dict[str, Any]:
    def ms(value: float | None) -> float | None:
        return None if value is None else round(value * 1000.0, 2)

    return {
        "count": len(values),
        "p50": ms(percentile(values, 50)),
        "p99": ms(percentile(values, 99)),
        "max": ms(max(values) if values else None),
    }


# -- /proc ------------------------------------------------------------------------------------------

_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (its threads included), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS  # fields 14 and 15 of proc(5)


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


@dataclass
class CpuWindow:
    """CPU used by the server and by this (client) process between start() and stop()."""

    pid: int
    server_start: float = 0.0
    client_start: float = 0.0
    wall_start: float = 0.0
    result: dict[str, float] = field(default_factory=dict)

    def start(self) -> CpuWindow:
        self.server_start = cpu_seconds(self.pid)
        self.client_start = sum(os.times()[:2])
        self.wall_start = time.perf_counter()
        return self

    def stop(self) -> dict[str, float]:
        wall = time.perf_counter() - self.wall_start
        server = cpu_seconds(self.pid) - self.server_start
        client = sum(os.times()[:2]) - self.client_start
        self.result = {
            "wall_s": round(wall, 3),
            "server_cpu_s": round(server, 3),
            "server_cpu_pct_of_core": round(100.0 * server / wall, 1) if wall > 0 else 0.0,
            "client_cpu_pct_of_core": round(100.0 * client / wall, 1) if wall > 0 else 0.0,
        }
        return self.result


class LoopLag:
    """How late this process's event loop wakes from 5 ms sleeps: a late client shows here, so a slow
    figure can be told apart from a slow server."""

    def __init__(self, tick: float = 0.005) -> None:
        self.tick = tick
        self.lags: list[float] = []
        self.task: asyncio.Task[None] | None = None

    async def _watch(self) -> None:
        while True:
            started = time.perf_counter()
            await asyncio.sleep(self.tick)
            self.lags.append(time.perf_counter() - started - self.tick)

    def start(self) -> LoopLag:
        self.task = asyncio.get_running_loop().create_task(self._watch())
        return self

    async def stop(self) -> dict[str, Any]:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        figures = summary(self.lags)
        return {k: figures[k] for k in ("p50", "p99", "max")}


# -- clients ----------------------------------------------------------------------------------------


@dataclass
class Participant:
    """One simulated member: a connection to /room that joins one meeting."""

    meeting_index: int
    meeting_id: int
    member_id: int  # the register's id (ours); the bench's own seat number on the bare server
    auth: dict[str, Any] | None
    # The upgrade request's headers: a browser's session cookie, for the joins made the browser's way.
    headers: dict[str, str] | None = None
    sio: socketio.AsyncClient = field(default_factory=lambda: socketio.AsyncClient(reconnection=False))
    connect_start: float | None = None
    join_emit: float | None = None
    join_ack: float | None = None
    error: str | None = None
    hands_at: list[tuple[float, bool]] = field(default_factory=list)  # (received, someone's hand is up)
    online_seen_at: dict[int, float] = field(default_factory=dict)  # member -> first push showing online
    online_at_ack: set[int] = field(default_factory=set)
    presence_pushes: int = 0

    def __post_init__(self) -> None:
        self.sio.on("hands", self._on_hands, namespace=NAMESPACE)
        self.sio.on("presence", self._on_presence, namespace=NAMESPACE)

    async def _on_hands(self, data: Any = None) -> None:
        self.hands_at.append((time.perf_counter(), bool(data and data.get("hands"))))

    async def _on_presence(self, data: Any = None) -> None:
        now = time.perf_counter()
        self.presence_pushes += 1
        for person in (data or {}).get("participants", []):
            if person.get("online") and person["member_id"] not in self.online_seen_at:
                self.online_seen_at[person["member_id"]] = now

    @property
    def joined(self) -> bool:
        return self.join_ack is not None

    async def connect_and_join(self, url: str) -> None:
        try:
            self.connect_start = time.perf_counter()
            await self.sio.connect(
                url,
                namespaces=[NAMESPACE],
                transports=["websocket"],
                socketio_path="socket.io",
                auth=self.auth,
                headers=self.headers or {},
                wait_timeout=CONNECT_TIMEOUT,
            )
            self.join_emit = time.perf_counter()
            ack = await self.sio.call(
                "join", {"meeting_id": self.meeting_id}, namespace=NAMESPACE, timeout=CALL_TIMEOUT
            )
            if not (isinstance(ack, dict) and ack.get("ok")):
                self.error = f"join refused: {str(ack)[:200]}"
                return
            self.join_ack = time.perf_counter()
            presence = (ack.get("state") or {}).get("presence") or {}
            self.online_at_ack = {p["member_id"] for p in presence.get("participants", []) if p.get("online")}
        except Exception as exc:  # a failed join is counted and reported, never raised
            self.error = f"{type(exc).__name__}: {exc}"[:200]

    async def close(self) -> None:
        with contextlib.suppress(Exception):  # closing after the measurement: nothing left to report
            await asyncio.wait_for(self.sio.disconnect(), 5.0)


async def join_all(url: str, participants: Sequence[Participant], concurrency: int) -> None:
    """Connect and join every participant, at most `concurrency` at a time, in the given order."""
    gate = asyncio.Semaphore(concurrency)

    async def one(p: Participant) -> None:
        async with gate:
            await p.connect_and_join(url)

    await asyncio.gather(*(one(p) for p in participants))


def join_figures(participants: Sequence[Participant]) -> dict[str, Any]:
    latencies = [p.join_ack - p.connect_start for p in participants if p.join_ack and p.connect_start]
    errors = sorted({p.error for p in participants if p.error})
    return {
        "members": len(participants),
        "joined": sum(1 for p in participants if p.joined),
        "join_ms": summary(latencies),
        "errors": errors[:5],
    }


def presence_figures(meetings: Sequence[Sequence[Participant]]) -> dict[str, Any]:
    """Join emit of X -> first `presence` push at Y showing X online, for every pair where Y had already
    joined (ack received) before X emitted its join; a pair whose push never came is `missing`."""
    latencies: list[float] = []
    missing = 0
    for room in meetings:
        for x in room:
            if x.join_emit is None or not x.joined:
                continue
            for y in room:
                if y is x or y.join_ack is None or y.join_ack >= x.join_emit:
                    continue
                seen = y.online_seen_at.get(x.member_id)
                if seen is None:
                    missing += 1
                elif seen >= x.join_emit:
                    latencies.append(seen - x.join_emit)
    return {**summary(latencies), "missing": missing}


async def hands_rounds(
    meetings: Sequence[Sequence[Participant]], rounds: int, interval: float, seed: int = 7
) -> dict[str, Any]:
    """In every meeting its first member raises and lowers a hand `rounds` times, one emit every
    `interval` seconds (meetings start at random offsets within the first interval). Latency: emit ->
    each other member's receipt of `hands`, matched in order (one WebSocket keeps the order)."""
    rng = random.Random(seed)
    emits: list[list[float]] = [[] for _ in meetings]
    for room in meetings:
        for p in room:
            p.hands_at.clear()
    refused: list[str] = []

    async def drive(index: int, room: Sequence[Participant]) -> None:
        emitter = room[0]
        await asyncio.sleep(rng.random() * interval)
        for k in range(rounds):
            started = time.perf_counter()
            emits[index].append(started)
            ack = await emitter.sio.call(
                "hand", {"raised": k % 2 == 0}, namespace=NAMESPACE, timeout=CALL_TIMEOUT
            )
            if not (isinstance(ack, dict) and ack.get("ok")):
                refused.append(str(ack)[:200])
            await asyncio.sleep(max(0.0, started + interval - time.perf_counter()))

    live = [[p for p in room if p.joined] for room in meetings]
    await asyncio.gather(*(drive(i, room) for i, room in enumerate(live) if len(room) > 1))
    # Wait (bounded) for the last deliveries.
    deadline = time.perf_counter() + 10.0
    while time.perf_counter() < deadline:
        if all(len(p.hands_at) >= rounds for room in live for p in room[1:]):
            break
        await asyncio.sleep(0.05)
    latencies: list[float] = []
    out_of_order = 0
    for index, room in enumerate(live):
        for p in room[1:]:
            for k, (received, up) in enumerate(p.hands_at[: len(emits[index])]):
                latencies.append(received - emits[index][k])
                if up != (k % 2 == 0):
                    out_of_order += 1
    expected = sum((len(room) - 1) * rounds for room in live if len(room) > 1)
    return {
        **summary(latencies),
        "expected": expected,
        "delivered": len(latencies),
        "out_of_order": out_of_order,
        "rounds": rounds,
        "interval_s": interval,
        "deliveries_per_s": round(expected / (rounds * interval), 1) if rounds else 0.0,
        "refused": refused[:5],
    }


async def close_all(participants: Sequence[Participant]) -> None:
    await asyncio.gather(*(p.close() for p in participants))
