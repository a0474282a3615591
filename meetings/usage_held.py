"""The meetings held in a period, each on its day in its unit's time zone, with its attendance tally."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from meetings.enums import Activity, AttendanceStatus, MeetingMode
from meetings.usage_numbers import percent
from meetings.usage_period import Period
from meetings.usage_records import MeetingRecord, RegisterEntry, UnitRecord

PRESENT_STATUSES = frozenset({AttendanceStatus.PRESENT, AttendanceStatus.LATE, AttendanceStatus.LEFT_EARLY})
REMOTE_MODES = frozenset({MeetingMode.ONLINE, MeetingMode.HYBRID})
# Off the active register (R-BASE-1): expected at no meeting, counted only when they come.
_OFF_REGISTER = frozenset({Activity.EXEMPT, Activity.SUSPENDED})


@dataclass
class AttendanceTally:
    expected: int = 0
    present: int = 0
    excused: int = 0
    unexcused: int = 0

    def add(self, other: AttendanceTally) -> None:
        self.expected += other.expected
        self.present += other.present
        self.excused += other.excused
        self.unexcused += other.unexcused

    @property
    def rate(self) -> float | None:
        return percent(self.present, self.expected)

    def to_json(self) -> dict[str, Any]:
        return {
            "expected": self.expected,
            "present": self.present,
            "absent_excused": self.excused,
            "absent_unexcused": self.unexcused,
            "rate_percent": self.rate,
        }


def tally_attendance(meeting: MeetingRecord, register: Mapping[int, RegisterEntry]) -> AttendanceTally:
    tally = AttendanceTally()
    for member_id, status in meeting.attendance.items():
        entry = register.get(member_id)
        came = status in PRESENT_STATUSES
        if entry is not None and entry.activity in _OFF_REGISTER and not came:
            continue
        tally.expected += 1
        if came:
            tally.present += 1
        elif status is AttendanceStatus.ABSENT_EXCUSED:
            tally.excused += 1
        else:
            tally.unexcused += 1
    return tally


@dataclass
class Held:
    """A meeting held in the period, placed in its unit's time zone."""

    record: MeetingRecord
    unit: UnitRecord
    opened_at: datetime
    day: date
    attendance: AttendanceTally | None  # None until the meeting closed
    adoption_days: int | None


def held_in_period(
    by_id: Mapping[int, UnitRecord], meetings: Iterable[MeetingRecord], period: Period
) -> list[Held]:
    registers = {
        org_id: {entry.member_id: entry for entry in unit.register} for org_id, unit in by_id.items()
    }
    held: list[Held] = []
    for meeting in meetings:
        unit = by_id.get(meeting.unit_id)
        if unit is None or meeting.opened_at is None:
            continue
        day = unit.local_day(meeting.opened_at)
        if day not in period:
            continue
        register = registers[unit.org_id]
        adopted = meeting.minutes_adopted_at
        held.append(
            Held(
                record=meeting,
                unit=unit,
                opened_at=meeting.opened_at,
                day=day,
                attendance=tally_attendance(meeting, register) if meeting.closed else None,
                adoption_days=(unit.local_day(adopted) - day).days if adopted is not None else None,
            )
        )
    held.sort(key=lambda item: (item.opened_at, item.record.meeting_id))
    return held
