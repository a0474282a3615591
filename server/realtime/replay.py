"""What a member missed while cut off (issue 28, quality.md R3): events to a meeting, numbered.

Every event sent to a meeting's socket.io rooms (`meeting:{id}` and its language rooms) is numbered
per meeting in this process's delivery order, and the latest are kept for a while. A connection
whose join asked for it (`resume`) gets each such event with one more, last argument `{"seq": n}`;
when it joins again after a cut with what it last saw (`resume: {epoch, last_seq}`), its join ack
carries the events it missed, in order, so its state converges with everyone's without a reload.

Connections that did not ask get the events exactly as before (no extra argument): older clients and
handlers that take one payload are unchanged.

The numbers belong to this process (the `epoch`): after a restart, or a reconnect landing on another
process, or when the missed events are no longer all kept, the answer says so (`replayed: null` and
a `reason`) and the client relies on the full state its join ack carries anyway.
Events sent to one connection (a `signal`, a group view) are not numbered: they are not the
meeting's, and a new connection gets its own.
"""

from __future__ import annotations

import re
import secrets
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

_MEETING_ROOM = re.compile(r"^meeting:(\d+)(?::([a-z]{2}))?$")

# Kept per meeting: the latest events up to these bounds (a cut longer than the attendance grace is
# a new presence anyway). The bytes are those of the encoded events (the minutes travel whole).
KEEP_EVENTS = 1000
KEEP_BYTES = 4_000_000
KEEP_SECONDS = 600.0
SWEEP_EVERY = 1000  # appends between two sweeps of the meetings that went quiet


@dataclass(frozen=True)
class Numbered:
    seq: int
    event: str
    data: Any
    lang: str | None  # the language room it went to, None for the whole meeting
    skip: frozenset[str]  # the connections it was not sent to
    size: int
    at: float


@dataclass
class MeetingLog:
    seq: int = 0  # the last number given
    events: deque[Numbered] = field(default_factory=deque)
    size: int = 0

    def keep(self, event: Numbered, now: float) -> None:
        self.events.append(event)
        self.size += event.size
        while self.events and (
            len(self.events) > KEEP_EVENTS or self.size > KEEP_BYTES or self.events[0].at < now - KEEP_SECONDS
        ):
            self.size -= self.events.popleft().size


def meeting_of(room: Any) -> tuple[int, str | None] | None:
    """(meeting id, language or None) of a meeting's socket.io room; None for any other room."""
    found = _MEETING_ROOM.match(room) if isinstance(room, str) else None
    return (int(found.group(1)), found.group(2)) if found else None


class ReplayLog:
    """This process's numbered events of every meeting, and which connections take the numbers."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.epoch = secrets.token_urlsafe(8)
        self.clock = clock
        self.meetings: dict[int, MeetingLog] = {}
        self.numbered: set[str] = set()  # socket.io sids that asked for numbers
        self._appends = 0

    def number(self, room: Any, event: str, data: Any, skip: Iterable[str], size: int) -> int | None:
        """The number of an event being sent to `room`, kept for replay; None when the room is not a
        meeting's."""
        found = meeting_of(room)
        if found is None:
            return None
        meeting_id, lang = found
        log = self.meetings.setdefault(meeting_id, MeetingLog())
        log.seq += 1
        now = self.clock()
        log.keep(Numbered(log.seq, event, data, lang, frozenset(skip), size, now), now)
        self._appends += 1
        if self._appends % SWEEP_EVERY == 0:
            self._sweep(now)
        return log.seq

    def _sweep(self, now: float) -> None:
        for meeting_id, log in list(self.meetings.items()):
            if not log.events or log.events[-1].at < now - KEEP_SECONDS:
                del self.meetings[meeting_id]

    def current(self, meeting_id: int) -> int:
        log = self.meetings.get(meeting_id)
        return log.seq if log is not None else 0

    def answer(self, meeting_id: int, lang: str, sid: str, asked: Any) -> dict[str, Any]:
        """The `resume` of a join ack. `asked` is the join's `resume`: true (number from now on), or
        {epoch, last_seq} (and the events after last_seq that this connection would have had)."""
        log = self.meetings.get(meeting_id)
        current = log.seq if log is not None else 0
        answer: dict[str, Any] = {"epoch": self.epoch, "seq": current}
        if not isinstance(asked, dict):
            return answer
        last = asked["last_seq"]
        if asked["epoch"] != self.epoch or last > current:
            return {**answer, "replayed": None, "reason": "other_epoch"}
        kept = log.events if log is not None else deque()
        oldest = kept[0].seq if kept else current + 1
        if last + 1 < oldest:
            return {**answer, "replayed": None, "reason": "too_old"}
        missed = [
            {"seq": e.seq, "event": e.event, "data": e.data}
            for e in kept
            if e.seq > last and (e.lang is None or e.lang == lang) and sid not in e.skip
        ]
        return {**answer, "replayed": missed}
