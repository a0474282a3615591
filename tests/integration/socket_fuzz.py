"""What the `/room` fuzz (tests/integration/test_socket_fuzz_row.py, quality.md S7) sends and checks: the
hypothesis strategies of arbitrary payloads, the sorting of the server's answers, the domain invariants
read back over REST and from the database, a capture of the server's error logs, and a raw engine.io
WebSocket for the packets no socket.io client would send. A non-test module: tests import it."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import aiohttp
from hypothesis import strategies as st
from sqlalchemy import select

from server.appkeys import DATABASE
from server.db.tables import AgendaItem
from server.realtime import schemas
from server.realtime.attach import LIVE_HUB
from server.realtime.hub import NAMESPACE
from server.realtime.namespace import RoomNamespace
from tests.integration.world import World

# Strings that have broken parsers, loggers and databases before: NUL, a right-to-left override, a
# lone surrogate, an emoji with a joiner, combining marks, a line break with a log-like line after it.
NASTY_STRINGS = [
    "",
    "\x00",
    "a\x00b",
    "\u202egnp.exe",
    "\ud800",
    "👩‍👩‍👧‍👦",
    "Ả̴̛̖",
    "\r\n2026-01-01 ERROR forged",
    "%s%s%n",
    "' OR 1=1 --",
    "<script>window.__xss=1</script>",
    "../../etc/passwd",
    "x" * 10_000,
]
NASTY_INTS = [0, -1, 1, 2**31 - 1, 2**31, 2**53, 2**63, 2**64, -(2**63), 10**100]


def scalars() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.sampled_from(NASTY_INTS),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=40),
        st.sampled_from(NASTY_STRINGS),
        st.binary(max_size=64),  # a binary attachment wherever it lands
    )


def json_values(extra: st.SearchStrategy[Any] | None = None) -> st.SearchStrategy[Any]:
    """JSON of any shape, with bytes in it (sent as socket.io binary attachments)."""
    leaves = scalars() if extra is None else st.one_of(scalars(), extra)
    keys = st.one_of(st.text(max_size=12), st.sampled_from(["_placeholder", "num", "__proto__", "\x00"]))
    return st.recursive(
        leaves,
        lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)),
        max_leaves=12,
    )


@st.composite
def deep(draw: st.DrawFn, value: st.SearchStrategy[Any]) -> Any:
    """A value nested 1 to 60 levels deep in lists and objects (the server refuses more than 32)."""
    result = draw(value)
    for _ in range(draw(st.integers(1, 60))):
        result = [result] if draw(st.booleans()) else {"a": result}
    return result


def schema_of(event: str) -> type[schemas.Payload] | None:
    """The event's payload model, by the naming of server/realtime/schemas.py (`sfu-publish` is
    SfuPublishData), or None."""
    name = "".join(part.capitalize() for part in re.split(r"[-_]", event)) + "Data"
    model = getattr(schemas, name, None)
    return model if isinstance(model, type) and issubclass(model, schemas.Payload) else None


def payloads(event: str, known: list[Any]) -> st.SearchStrategy[Any]:
    """One payload for `event`: anything at all, anything deep, or the event's own fields (some left
    out) with values of any kind (often the meeting's real ids and names) and extra keys."""
    real = st.sampled_from(known) if known else st.nothing()
    values = st.one_of(json_values(real), real)
    model = schema_of(event)
    fields = list(model.model_fields) if model is not None else []
    shaped = st.builds(
        lambda required, optional, extra: {**required, **optional, **extra},
        st.fixed_dictionaries({name: values for name in fields[:1]}),
        st.fixed_dictionaries({}, optional={name: values for name in fields[1:]}),
        st.dictionaries(st.text(max_size=8), values, max_size=2),
    )
    return st.one_of(shaped, shaped, json_values(real), deep(json_values(real)))


@dataclass(frozen=True)
class Send:
    """One event as a client sends it: its arguments (none, one or several) and whether it asks for
    an ack."""

    args: tuple[Any, ...]
    ack: bool


def sends(event: str, known: list[Any]) -> st.SearchStrategy[Send]:
    one = payloads(event, known)
    args = st.one_of(
        st.tuples(one),
        st.tuples(one),
        st.tuples(one),
        st.just(()),
        st.lists(one, min_size=2, max_size=3).map(tuple),
    )
    return st.builds(Send, args, st.sampled_from([True, True, True, False]))  # most ask for an ack


def has_bytes(value: Any) -> bool:
    if isinstance(value, bytes | bytearray):
        return True
    if isinstance(value, list | tuple):
        return any(has_bytes(v) for v in value)
    if isinstance(value, dict):
        return any(has_bytes(v) for v in value.values())
    return False


def typed(answer: Any) -> str | None:
    """The kind of a well-formed ack ("ok" or the error's code), None for anything else. A 5xx of the
    room (`internal_error`) is not one: the handler raised."""
    if not isinstance(answer, dict):
        return None
    if answer.get("ok") is True:
        return "ok"
    error = answer.get("error")
    if answer.get("ok") is False and isinstance(error, dict) and isinstance(error.get("code"), str):
        return None if error["code"] == "internal_error" else error["code"]
    return None


def room_namespace(world: World) -> RoomNamespace:
    namespace = world.server.app[LIVE_HUB].sio.namespace_handlers[NAMESPACE]
    assert isinstance(namespace, RoomNamespace)
    return namespace


def registered_events(namespace: RoomNamespace) -> list[str]:
    """Every event name the namespace answers: its dispatch table, and its `on_*` methods (socket.io
    calls `on_connect` for an event named `connect`, whoever sends it)."""
    methods = {
        name[3:] for name in dir(namespace) if name.startswith("on_") and callable(getattr(namespace, name))
    }
    return sorted(set(namespace.handlers) | methods)


class ErrorLog(logging.Handler):
    """The records at ERROR and above, and any with a traceback, of every logger (set on the root)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR or record.exc_info:
            self.records.append(record)

    def shown(self, limit: int = 3) -> list[str]:
        return [f"{r.name}: {r.getMessage()[:200]}" for r in self.records[:limit]]

    def __enter__(self) -> ErrorLog:
        logging.getLogger().addHandler(self)
        return self

    def __exit__(self, *_: object) -> None:
        logging.getLogger().removeHandler(self)


def _at(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text is not None else None


async def broken_invariants(world: World, meeting_id: int) -> list[str]:
    """The meeting's domain invariants, read back: each member's presence intervals do not overlap (and
    only the last may be open); each vote counts no more ballots than the meeting's official members,
    one per member, each of an official, with counts that add up; at most one agenda item is open.
    Any 5xx of the reads is broken too. Empty: all held."""
    broken: list[str] = []
    secretary = await world.as_user("sec_a")
    attendance = await secretary.get(f"/api/v1/meetings/{meeting_id}/attendance")
    votes = await secretary.get(f"/api/v1/meetings/{meeting_id}/votes")
    for name, reply in (("attendance", attendance), ("votes", votes)):
        if reply.status != 200:
            broken.append(f"GET {name} answered {reply.status}")
    if broken:
        return broken
    officials = {m["member_id"] for m in attendance.body["members"] if m["standing"] == "official"}
    for member in attendance.body["members"]:
        intervals = [(_at(i["start"]), _at(i["end"])) for i in member["intervals"]]
        for (start, end), (next_start, _) in zip(intervals, intervals[1:], strict=False):
            assert start is not None and next_start is not None
            if end is None or end > next_start or start > next_start:
                broken.append(f"member {member['member_id']}'s intervals overlap: {member['intervals']}")
                break
        if any(start is None or (end is not None and end < start) for start, end in intervals):
            broken.append(f"member {member['member_id']} has a reversed interval: {member['intervals']}")
    for vote in votes.body["votes"]:
        counts, voted = vote["counts"], vote["voted"]
        if counts["ballots"] > len(officials):
            broken.append(f"vote {vote['id']}: {counts['ballots']} ballots, {len(officials)} officials")
        if len(set(voted)) != len(voted) or not set(voted) <= officials:
            broken.append(f"vote {vote['id']}: voted {voted}, officials {sorted(officials)}")
        if counts["for"] + counts["against"] + counts["abstain"] != counts["ballots"]:
            broken.append(f"vote {vote['id']}: counts do not add up: {counts}")
    async with world.server.app[DATABASE].read() as session:
        items = (
            await session.execute(select(AgendaItem).where(AgendaItem.meeting_id == meeting_id))  # type: ignore[arg-type]
        ).scalars()
        open_items = [
            item.position for item in items if item.started_at is not None and item.ended_at is None
        ]
    if len(open_items) > 1:
        broken.append(f"{len(open_items)} agenda items open at once: {open_items}")
    return broken


@dataclass
class RawSocket:
    """`/socket.io/` over a WebSocket, packet by packet: what no socket.io client would send."""

    ws: aiohttp.ClientWebSocketResponse
    http: aiohttp.ClientSession
    eio_sid: str = ""
    received: list[str | bytes] = field(default_factory=list)

    @classmethod
    async def open(cls, base: str, cookie: str) -> RawSocket:
        http = aiohttp.ClientSession()
        ws = await http.ws_connect(
            f"{base}/socket.io/?EIO=4&transport=websocket",
            headers={"Cookie": cookie},
            timeout=aiohttp.ClientWSTimeout(ws_close=5),
        )
        raw = cls(ws, http)
        opened = await raw.next()
        assert isinstance(opened, str) and opened.startswith("0{"), opened
        raw.eio_sid = json.loads(opened[1:])["sid"]
        return raw

    async def next(self, timeout: float = 5.0) -> str | bytes | None:
        """The next socket.io packet (engine.io pings answered on the way), None once closed or quiet."""
        while True:
            try:
                message = await self.ws.receive(timeout)
            except TimeoutError:
                return None
            if message.type == aiohttp.WSMsgType.TEXT:
                if message.data == "2":
                    await self.ws.send_str("3")
                    continue
                self.received.append(message.data)
                return str(message.data)
            if message.type == aiohttp.WSMsgType.BINARY:
                self.received.append(message.data)
                return bytes(message.data)
            return None

    async def send(self, *frames: str | bytes) -> bool:
        """False: the server had closed the connection."""
        try:
            for frame in frames:
                if isinstance(frame, bytes):
                    await self.ws.send_bytes(frame)
                else:
                    await self.ws.send_str(frame)
        except (ConnectionError, aiohttp.ClientError, RuntimeError):
            return False
        return True

    async def connect_room(self) -> bool:
        await self.send(f"40{NAMESPACE},")
        answer = await self.next()
        return isinstance(answer, str) and answer.startswith(f"40{NAMESPACE},")

    async def ack(self, ack_id: int, timeout: float = 5.0) -> Any:
        """The ack `ack_id`'s first argument; "closed" once the connection is gone, "none" if quiet."""
        prefix = f"43{NAMESPACE},{ack_id}["
        while True:
            packet = await self.next(timeout)
            if packet is None:
                return "closed" if self.ws.closed else "none"
            if isinstance(packet, str) and packet.startswith(prefix):
                args = json.loads(packet[len(prefix) - 1 :])
                return args[0] if args else None

    async def close(self) -> None:
        await self.ws.close()
        await self.http.close()


async def wait_until(condition: Any, seconds: float = 5.0) -> bool:
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True
