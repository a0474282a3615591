"""Prometheus metrics of the HTTP server and the live rooms, in a registry of our own.

Labels stay few and bounded: route templates, methods, statuses, a join's outcome, the room's media
mode. Never a meeting, member or user id (docs/operator-guide.md "Health, metrics, audit").
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Iterator
from typing import Protocol

from aiohttp import web
from aiohttp.typedefs import Handler
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

REGISTRY = CollectorRegistry(auto_describe=True)
REQUESTS = Counter(
    "cellmeet_http_requests_total",
    "HTTP requests by route and status",
    ["method", "route", "status"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "cellmeet_http_request_seconds", "HTTP request latency", ["method", "route"], registry=REGISTRY
)


@web.middleware
async def metrics_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    started = time.perf_counter()
    # The route template, never the raw path: ids in paths would explode the label space.
    resource = request.match_info.route.resource
    route_name = resource.canonical if resource is not None else "unmatched"
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        REQUESTS.labels(request.method, route_name, str(status)).inc()
        LATENCY.labels(request.method, route_name).observe(time.perf_counter() - started)


# -- the live rooms (server.realtime) ---------------------------------------------------------------

ROOM_JOINS = Counter(
    "cellmeet_room_joins",
    "socket.io joins of the live room answered, by outcome (ok, refused)",
    ["outcome"],
    registry=REGISTRY,
)
ROOM_JOIN_SECONDS = Histogram(
    "cellmeet_room_join_seconds",
    "Seconds from a live room's join event received to its successful ack handed to socket.io",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)
ROOM_ICE_FAILURES = Counter(
    "cellmeet_room_ice_failures",
    "Peer connections the room pages reported as failed (ICE), by the room's media mode (mesh, sfu)",
    ["mode"],
    registry=REGISTRY,
)
# Every label value from the start, at 0: a rate over the first scrapes is then right.
for _outcome in ("ok", "refused"):
    ROOM_JOINS.labels(_outcome)
for _mode in ("mesh", "sfu"):
    ROOM_ICE_FAILURES.labels(_mode)


class LiveRooms(Protocol):
    """What the live-room gauges read: a realtime hub of this process."""

    def live_counts(self) -> tuple[int, int]:
        """(rooms with at least one joined connection, members connected in them)."""
        ...


class _LiveRoomsCollector(Collector):
    """The gauges read at each scrape from the hubs alive in this process: never a count kept on the
    side that a missed decrement could leave wrong."""

    def __init__(self) -> None:
        self.hubs: weakref.WeakSet[LiveRooms] = weakref.WeakSet()

    def collect(self) -> Iterator[Metric]:
        rooms = members = 0
        for hub in list(self.hubs):
            hub_rooms, hub_members = hub.live_counts()
            rooms, members = rooms + hub_rooms, members + hub_members
        yield GaugeMetricFamily(
            "cellmeet_rooms_open", "Live rooms with at least one member connected", value=rooms
        )
        yield GaugeMetricFamily(
            "cellmeet_room_members_connected",
            "Members connected to live rooms (a member on two devices counts once per room)",
            value=members,
        )


_LIVE_ROOMS = _LiveRoomsCollector()
REGISTRY.register(_LIVE_ROOMS)


def watch_live_rooms(hub: LiveRooms) -> None:
    """Count this hub's rooms in the gauges until `forget_live_rooms` (or until it is collected)."""
    _LIVE_ROOMS.hubs.add(hub)


def forget_live_rooms(hub: LiveRooms) -> None:
    _LIVE_ROOMS.hubs.discard(hub)


# -- the SFU (server.media.sfu_watch, server.realtime.sfu_relay) ------------------------------------


class SfuRooms(Protocol):
    def sfu_counts(self) -> tuple[int, int, int]:
        """(meetings on Janus now, members' publisher handles, members' subscriber handles)."""
        ...


class SfuReachability(Protocol):
    @property
    def reachable(self) -> bool: ...


class _SfuCollector(Collector):
    """Read at each scrape, like the live rooms. `cellmeet_sfu_reachable` exists only where an SFU
    is configured (0 when any watch of this process finds Janus not answering)."""

    def __init__(self) -> None:
        self.relays: weakref.WeakSet[SfuRooms] = weakref.WeakSet()
        self.watches: weakref.WeakSet[SfuReachability] = weakref.WeakSet()

    def collect(self) -> Iterator[Metric]:
        watches = list(self.watches)
        if watches:
            yield GaugeMetricFamily(
                "cellmeet_sfu_reachable",
                "1 when Janus answers this process's probes (every second), 0 when it does not",
                value=int(all(watch.reachable for watch in watches)),
            )
        totals = [0, 0, 0]
        for relay in list(self.relays):
            for index, count in enumerate(relay.sfu_counts()):
                totals[index] += count
        for (name, help_text), value in zip(_SFU_GAUGES, totals, strict=True):
            yield GaugeMetricFamily(name, help_text, value=value)


_SFU_GAUGES = (
    ("cellmeet_sfu_rooms", "Meetings whose media goes through Janus now"),
    ("cellmeet_sfu_publishers", "Members' connections publishing to Janus (one upload each)"),
    ("cellmeet_sfu_subscribers", "Members' connections receiving from Janus (one subscriber each)"),
)
_SFU = _SfuCollector()
REGISTRY.register(_SFU)


def watch_sfu_rooms(relay: SfuRooms) -> None:
    _SFU.relays.add(relay)


def forget_sfu_rooms(relay: SfuRooms) -> None:
    _SFU.relays.discard(relay)


def watch_sfu_reachability(watch: SfuReachability) -> None:
    _SFU.watches.add(watch)


def forget_sfu_reachability(watch: SfuReachability) -> None:
    _SFU.watches.discard(watch)


# -- the event loop and the echo checks (server.media.echo) -----------------------------------------


class EchoPeers(Protocol):
    def live_peers(self) -> int:
        """Server-side RTCPeerConnections of the echo checks not closed yet."""
        ...


class _ProcessCollector(Collector):
    """What a leak would grow, read at each scrape: the event loop's tasks (the loop the scrape runs
    on: the server's) and the echo checks' peer connections, the only ones the server opens itself."""

    def __init__(self) -> None:
        self.echoes: weakref.WeakSet[EchoPeers] = weakref.WeakSet()

    def collect(self) -> Iterator[Metric]:
        try:
            tasks = len(asyncio.all_tasks(asyncio.get_running_loop()))
        except RuntimeError:  # scraped outside an event loop (a test's generate_latest): no loop, no tasks
            tasks = 0
        yield GaugeMetricFamily(
            "cellmeet_asyncio_tasks", "Tasks of the server's event loop not done yet", value=tasks
        )
        yield GaugeMetricFamily(
            "cellmeet_echo_peers",
            "Server-side peer connections of pre-join echo checks not closed yet",
            value=sum(echo.live_peers() for echo in list(self.echoes)),
        )


_PROCESS = _ProcessCollector()
REGISTRY.register(_PROCESS)


def watch_echo_peers(echo: EchoPeers) -> None:
    _PROCESS.echoes.add(echo)


def forget_echo_peers(echo: EchoPeers) -> None:
    _PROCESS.echoes.discard(echo)
