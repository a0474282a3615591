"""Who attended a meeting (điểm danh): presence intervals and attendance statuses, R-ATT-1/R-ATT-2.

Pure: the caller passes every instant (aware datetimes); nothing here reads a clock.

Boundary interpretations (R-ATT-2, parameters from the rule set):

- Intervals are half-open, ``[start, end)``; ``end=None`` means still connected.
- "A disconnection shorter than ``disconnect_grace_seconds`` is not an absence": an absence gap
  ``g`` is bridged when ``g < grace`` (strictly). A gap of exactly 120 s is an absence, so it
  leaves two intervals.
- Present by time when the connected time inside ``[starts_at, ends_at]`` is at least
  ``present_min_fraction`` of the duration (``>=``, compared exactly in microseconds): exactly
  50% is present. A zero-length meeting makes nobody present by time.
- Present at the attendance call when the call instant lies in one of the member's (merged)
  intervals, ``start <= call < end``.
- *Late* when first present strictly more than ``late_after_minutes`` after the start (exactly
  15 minutes is not late); *left early* when last present strictly more than
  ``left_early_minutes`` before the end. When both hold, *late* wins (one status per member;
  the intervals still show the early departure).
- ``present_seconds`` is the clipped connected time in whole seconds, rounded down.

A meeting still in progress (``in_progress=True``, ``ends_at`` = now) is shown as its record will
say it at the close, assuming that who is connected now stays to the close: a member still
connected at ``ends_at`` who is neither present by time nor at the call so far is judged by their
first presence alone, *late* when it is strictly more than ``late_after_minutes`` after the start,
else *present*; never absent while connected (a member who has just joined, with no connected time
yet, included). Who is not connected is judged by the time so far, as above. The close judges the
final intervals without this projection: a member who joined so late, or leaves so soon, that they
miss ``present_min_fraction`` of the meeting and the call is absent in the record.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from meetings.enums import AttendanceStatus
from meetings.rulesets import RuleSet

_MICRO = timedelta(microseconds=1)


class EventKind(StrEnum):
    """A presence event: online ``join``/``leave``, on-site ``checkin``/``checkout``."""

    JOIN = "join"
    LEAVE = "leave"
    CHECKIN = "checkin"
    CHECKOUT = "checkout"


@dataclass(frozen=True)
class PresenceEvent:
    member_id: int
    kind: EventKind
    at: datetime

    def __post_init__(self) -> None:
        _require_aware(self.at, "at")


@dataclass(frozen=True)
class Interval:
    """A span of presence, ``[start, end)``; ``end`` is None while still connected."""

    start: datetime
    end: datetime | None


@dataclass(frozen=True)
class MemberAttendance:
    member_id: int
    status: AttendanceStatus
    intervals: list[Interval]
    present_seconds: int
    first_present: datetime | None
    last_present: datetime | None
    relayed: bool = False  # present, at some time, through another member's radio or phone (R-ATT-4)


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime, got {value!r}")


def intervals(events: Iterable[PresenceEvent], rule_set: RuleSet) -> dict[int, list[Interval]]:
    """Fold each member's events, sorted by time, into sorted, non-overlapping presence intervals.

    A member is present while connected online (join..leave) or checked in on site
    (checkin..checkout). A repeated join or checkin while already so is ignored, as is a leave or
    checkout without one. Absences shorter than the grace are bridged (R-ATT-2). Events at the same
    instant keep their given order; zero-length intervals are dropped.
    """
    by_member: dict[int, list[PresenceEvent]] = {}
    for event in events:
        by_member.setdefault(event.member_id, []).append(event)
    grace = timedelta(seconds=rule_set.disconnect_grace_seconds)
    return {
        member_id: _merge(_raw_intervals(sorted(member_events, key=lambda e: e.at)), grace)
        for member_id, member_events in by_member.items()
    }


def _raw_intervals(events: Sequence[PresenceEvent]) -> list[Interval]:
    online = onsite = False
    start: datetime | None = None
    raw: list[Interval] = []
    for event in events:
        if event.kind is EventKind.JOIN:
            online = True
        elif event.kind is EventKind.LEAVE:
            online = False
        elif event.kind is EventKind.CHECKIN:
            onsite = True
        else:
            onsite = False
        present = online or onsite
        if present and start is None:
            start = event.at
        elif not present and start is not None:
            raw.append(Interval(start, event.at))
            start = None
    if start is not None:
        raw.append(Interval(start, None))
    return raw


def _merge(raw: Sequence[Interval], grace: timedelta) -> list[Interval]:
    merged: list[Interval] = []
    for interval in raw:
        if merged:
            last = merged[-1]
            assert last.end is not None  # only the final raw interval can be open
            if interval.start - last.end < grace:
                merged[-1] = Interval(last.start, interval.end)
                continue
        merged.append(interval)
    return [i for i in merged if i.end is None or i.end > i.start]


def attendance(
    summoned: Sequence[int],
    events: Iterable[PresenceEvent],
    excused: frozenset[int],
    starts_at: datetime,
    ends_at: datetime,
    rule_set: RuleSet,
    attendance_call_at: datetime | None = None,
    *,
    in_progress: bool = False,
    relays: Mapping[int, Sequence[Interval]] | None = None,
) -> dict[int, MemberAttendance]:
    """Each summoned member's attendance status for the meeting ``[starts_at, ends_at]`` (R-ATT-2).

    For a meeting still in progress pass ``ends_at`` = now and ``in_progress=True`` (see the module
    notes: who is connected at ``ends_at`` is projected to stay to the close). Events of members not
    summoned are ignored. The returned intervals are clipped to the meeting and have concrete ends.
    `relays` are each member's relay intervals (R-ATT-4, meetings.relays): presence like their own,
    joined to it; a relay still running at ``ends_at`` of a meeting in progress counts as connected.
    """
    _require_aware(starts_at, "starts_at")
    _require_aware(ends_at, "ends_at")
    if ends_at < starts_at:
        raise ValueError(f"the meeting ends ({ends_at}) before it starts ({starts_at})")
    if attendance_call_at is not None:
        _require_aware(attendance_call_at, "attendance_call_at")
        if not starts_at <= attendance_call_at <= ends_at:
            raise ValueError(f"the attendance call {attendance_call_at} is outside the meeting")
    summoned_ids = frozenset(summoned)
    per_member = intervals((e for e in events if e.member_id in summoned_ids), rule_set)
    duration_us = (ends_at - starts_at) // _MICRO
    fraction = rule_set.present_min_fraction
    late_after = timedelta(minutes=rule_set.late_after_minutes)
    left_early = timedelta(minutes=rule_set.left_early_minutes)

    result: dict[int, MemberAttendance] = {}
    relays = relays or {}
    for member_id in summoned:
        merged = _union(per_member.get(member_id, []), relays.get(member_id, ()))
        clipped = _clip(merged, starts_at, ends_at)
        present_us = sum(((i.end - i.start) // _MICRO for i in clipped if i.end is not None), 0)
        by_time = present_us > 0 and present_us * fraction.denominator >= fraction.numerator * duration_us
        at_call = attendance_call_at is not None and any(
            i.start <= attendance_call_at and (i.end is None or attendance_call_at < i.end) for i in merged
        )
        first = clipped[0].start if clipped else None
        last = clipped[-1].end if clipped else None
        relaying = any(
            i.start <= ends_at and (i.end is None or ends_at < i.end) for i in relays.get(member_id, ())
        )
        connected = (
            in_progress
            and bool(merged)
            and (relaying or (merged[-1].end is None and merged[-1].start <= ends_at))
        )
        if connected and first is None:
            first = max(merged[-1].start, starts_at)  # joined at this very instant
        status: AttendanceStatus
        if connected and not (by_time or at_call):
            assert first is not None
            status = AttendanceStatus.LATE if first - starts_at > late_after else AttendanceStatus.PRESENT
        elif by_time or at_call:
            if first is not None and first - starts_at > late_after:
                status = AttendanceStatus.LATE
            elif last is not None and ends_at - last > left_early:
                status = AttendanceStatus.LEFT_EARLY
            else:
                status = AttendanceStatus.PRESENT
        elif member_id in excused:
            status = AttendanceStatus.ABSENT_EXCUSED
        else:
            status = AttendanceStatus.ABSENT_UNEXCUSED
        result[member_id] = MemberAttendance(
            member_id, status, clipped, present_us // 1_000_000, first, last, bool(relays.get(member_id))
        )
    return result


def _union(own: Sequence[Interval], relayed: Sequence[Interval]) -> list[Interval]:
    """The member's own intervals and their relay intervals as one sorted list without overlaps."""
    if not relayed:
        return list(own)
    union: list[Interval] = []
    for interval in sorted([*own, *relayed], key=lambda i: i.start):
        if union and (union[-1].end is None or interval.start <= union[-1].end):
            last = union[-1]
            end = None if last.end is None or interval.end is None else max(last.end, interval.end)
            union[-1] = Interval(last.start, end)
        else:
            union.append(interval)
    return union


def _clip(merged: Sequence[Interval], starts_at: datetime, ends_at: datetime) -> list[Interval]:
    clipped: list[Interval] = []
    for interval in merged:
        start = max(interval.start, starts_at)
        end = ends_at if interval.end is None else min(interval.end, ends_at)
        if end > start:
            clipped.append(Interval(start, end))
    return clipped


def attendance_counts(result: dict[int, MemberAttendance]) -> dict[str, int]:
    """One count per attendance status, plus ``present_total`` (present + late + left early)."""
    counts = {status.value: 0 for status in AttendanceStatus}
    for member in result.values():
        counts[member.status.value] += 1
    counts["present_total"] = (
        counts[AttendanceStatus.PRESENT] + counts[AttendanceStatus.LATE] + counts[AttendanceStatus.LEFT_EARLY]
    )
    return counts
