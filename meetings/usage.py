"""How the pilot is used (sơ kết, tổng kết thí điểm): figures and flags for a subtree and a period.

Pure: the server loads the records (units, held meetings with their attendance, votes and minutes)
and passes every instant, including ``as_of`` (now); nothing here reads a clock or a database.
Every flag names its rule and rule set; every threshold is a rule-set parameter.

Interpretations (docs/decisions.md, "Usage figures"):

- The period is calendar days ``start..end`` (inclusive). A meeting belongs to it, and to a month
  and a quarter, by the date of its **opening in its unit's time zone**; a meeting never opened was
  not held and counts nowhere. A party group's meetings count for its cell (R-GROUP-4).
- The units are the cells and grassroots committees the server passes (R-ELIG-1). Their approval
  state is read on the last day of the period, or today when the period has not ended: ``approved``
  (a valid online approval that day), else ``applying`` (a pending application), else ``revoked``
  (the latest application was revoked), else ``none``.
- Attendance figures count the closed meetings only (attendance is final at the close). Expected =
  the members of the active register summoned (R-BASE-1: exempt and suspended members are left out
  unless they came); present = present, late or left early (R-ATT-2).
- The online share is online **and** hybrid meetings over all meetings held: both use the online
  pilot and both need its approval (R-ELIG-6).
- Quorum failures are the meetings not quorate at their opening; since the chair can open them only
  with an override (R-QUOR-1), each is also an override. ``quorum.overrides`` (and a unit's
  ``quorum_overrides``) add the votes opened below quorum: they count events, not meetings, so the
  report shows them apart in ``below_quorum``: ``meetings`` (each meeting once, however many of its
  votes were opened below quorum) and ``votes`` (each vote once).
- Days to adoption are calendar days, in the unit's time zone, from the opening to the adoption.
- Flags:
  - ``no_regular_meeting`` / ``no_thematic_meeting`` (R-FREQ-1): cells only (a grassroots committee's
    own conferences follow no monthly rule in rules.md; its cells are flagged), for whole months and
    quarters inside the period that have ended by ``as_of`` and began after the unit was registered.
    A month in which the cell's party groups met counts as a month with a regular meeting
    (R-GROUP-3: meeting by groups replaces the monthly meeting).
  - ``short_meeting`` (R-FREQ-2): a closed meeting open for less than ``meeting_min_minutes``
    (exactly the minimum is enough). Whether a regular and a thematic meeting were held together is
    not recorded, so the longer ``combined_meeting_min_minutes`` is not applied.
  - ``low_attendance`` (R-ATT-3): a closed meeting with present ≤ the target ("above 85%": exactly
    85% is flagged) or any unexcused absence.
  - ``excused_in_a_row`` (R-ATT-3): a member absent with an excuse from more than
    ``excused_in_a_row_max`` consecutive closed meetings of the unit held within one year (the run
    may not span a year or more); flagged once per run, at the meeting that exceeded the maximum.
    Exempt members and members on special duty are excepted. Only meetings in the period are seen.
  - ``online_without_qualifying`` (R-ELIG-7): an online or hybrid meeting opened while the unit had
    an open "stopped qualifying" flag (R-ELIG-6) or no valid approval at that instant.
  - ``quorum_override`` (R-QUOR-1): a meeting opened, or a vote opened, below quorum.
  - ``minutes_not_adopted`` (R-MIN-1): minutes adopted more than ``minutes_adoption_days_max`` days
    after the meeting, or still not adopted when more than that many days have passed by ``as_of``.
"""

from __future__ import annotations

import statistics
from collections import Counter, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from enum import StrEnum
from fractions import Fraction
from typing import Any

from meetings.content import MODE_TEXT
from meetings.decision import Text, count_en
from meetings.enums import (
    Activity,
    ApplicationStatus,
    AttendanceStatus,
    MeetingKind,
    MeetingMode,
    MeetingStatus,
    OrgKind,
    Standing,
    VoteKind,
    VoteOutcome,
)
from meetings.rulesets import RuleSet

PRESENT_STATUSES = frozenset({AttendanceStatus.PRESENT, AttendanceStatus.LATE, AttendanceStatus.LEFT_EARLY})
REMOTE_MODES = frozenset({MeetingMode.ONLINE, MeetingMode.HYBRID})
# Off the active register (R-BASE-1): expected at no meeting, counted only when they come.
_OFF_REGISTER = frozenset({Activity.EXEMPT, Activity.SUSPENDED})


class Approval(StrEnum):
    """A unit's standing in the online pilot on one day."""

    APPROVED = "approved"
    APPLYING = "applying"
    REVOKED = "revoked"
    NONE = "none"


class FlagCode(StrEnum):
    NO_REGULAR_MEETING = "no_regular_meeting"
    NO_THEMATIC_MEETING = "no_thematic_meeting"
    SHORT_MEETING = "short_meeting"
    LOW_ATTENDANCE = "low_attendance"
    EXCUSED_IN_A_ROW = "excused_in_a_row"
    ONLINE_WITHOUT_QUALIFYING = "online_without_qualifying"
    QUORUM_OVERRIDE = "quorum_override"
    MINUTES_NOT_ADOPTED = "minutes_not_adopted"


FLAG_RULES: Mapping[FlagCode, str] = {
    FlagCode.NO_REGULAR_MEETING: "R-FREQ-1",
    FlagCode.NO_THEMATIC_MEETING: "R-FREQ-1",
    FlagCode.SHORT_MEETING: "R-FREQ-2",
    FlagCode.LOW_ATTENDANCE: "R-ATT-3",
    FlagCode.EXCUSED_IN_A_ROW: "R-ATT-3",
    FlagCode.ONLINE_WITHOUT_QUALIFYING: "R-ELIG-7",
    FlagCode.QUORUM_OVERRIDE: "R-QUOR-1",
    FlagCode.MINUTES_NOT_ADOPTED: "R-MIN-1",
}


# --- the period -----------------------------------------------------------------------------------


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _next_month(first: date) -> date:
    return date(first.year + 1, 1, 1) if first.month == 12 else date(first.year, first.month + 1, 1)


def _quarter(day: date) -> tuple[int, int]:
    return day.year, (day.month - 1) // 3 + 1


def _quarter_bounds(year: int, quarter: int) -> tuple[date, date]:
    first = date(year, 3 * quarter - 2, 1)
    last = _next_month(_next_month(_next_month(first))) - timedelta(days=1)
    return first, last


def add_years(day: date, years: int) -> date:
    """The same calendar day `years` later; 29 February becomes 1 March in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return date(day.year + years, 3, 1)


@dataclass(frozen=True)
class Period:
    """Calendar days ``start..end``, both included."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"the period ends ({self.end}) before it starts ({self.start})")

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end

    def months(self) -> list[date]:
        """The first day of every month the period touches."""
        months, first = [], _month_start(self.start)
        while first <= self.end:
            months.append(first)
            first = _next_month(first)
        return months

    def whole_months(self) -> list[date]:
        return [
            m for m in self.months() if m >= self.start and _next_month(m) - timedelta(days=1) <= self.end
        ]

    def whole_quarters(self) -> list[tuple[int, int]]:
        quarters = sorted({_quarter(m) for m in self.months()})
        return [
            q for q in quarters if self.start <= _quarter_bounds(*q)[0] and _quarter_bounds(*q)[1] <= self.end
        ]


# --- what the server passes in ---------------------------------------------------------------------


@dataclass(frozen=True)
class OrgSummary:
    org_id: int
    name: str
    kind: OrgKind


@dataclass(frozen=True)
class RegisterEntry:
    """A member of the unit's register, with what the attendance rules need to know."""

    member_id: int
    full_name: str
    standing: Standing
    activity: Activity = Activity.ACTIVE
    # Armed-forces members on special duty are excepted from R-ATT-3's excused-in-a-row rule.
    special_duty: bool = False

    @property
    def excepted_from_excuse_rule(self) -> bool:
        return self.activity is Activity.EXEMPT or self.special_duty


@dataclass(frozen=True)
class ApprovalRecord:
    """One application for the online pilot and what became of it."""

    status: ApplicationStatus
    applied_at: datetime
    valid_from: date | None = None
    valid_to: date | None = None
    revoked_at: datetime | None = None


@dataclass(frozen=True)
class StoppedQualifying:
    """An eligibility flag (R-ELIG-6): the approved unit stopped qualifying at `raised_at`."""

    raised_at: datetime
    cleared_at: datetime | None = None

    def open_at(self, at: datetime) -> bool:
        return self.raised_at <= at and (self.cleared_at is None or at < self.cleared_at)


@dataclass(frozen=True)
class UnitRecord:
    """A pilot unit (cell or grassroots committee) of the subtree."""

    org_id: int
    name: str
    kind: OrgKind
    zone: tzinfo
    rule_set: RuleSet
    register: tuple[RegisterEntry, ...] = ()
    approvals: tuple[ApprovalRecord, ...] = ()
    stopped_qualifying: tuple[StoppedQualifying, ...] = ()
    qualifies: bool = False  # R-ELIG-2 on today's register
    registered_at: datetime | None = None

    def local_day(self, at: datetime) -> date:
        return at.astimezone(self.zone).date()


@dataclass(frozen=True)
class VoteRecord:
    vote_id: int
    kind: VoteKind
    question: str = ""
    outcome: VoteOutcome | None = None  # None while the vote is open
    override_reason: str | None = None


@dataclass(frozen=True)
class MeetingRecord:
    """A meeting of a unit (a party group's meeting: `unit_id` is its cell, `held_by` the group)."""

    meeting_id: int
    unit_id: int
    held_by: str
    kind: MeetingKind
    mode: MeetingMode
    status: MeetingStatus
    scheduled_start: datetime
    opened_at: datetime | None = None
    closed_at: datetime | None = None
    quorate_at_opening: bool = True
    override_reason: str | None = None
    # The quorum counts at the opening (present_official, voting_base), when recorded.
    opening_counts: Mapping[str, int] = field(default_factory=dict)
    # Each summoned member's status (meetings.attendance), for a closed meeting.
    attendance: Mapping[int, AttendanceStatus] = field(default_factory=dict)
    votes: tuple[VoteRecord, ...] = ()
    minutes_adopted_at: datetime | None = None

    @property
    def closed(self) -> bool:
        return self.status is MeetingStatus.CLOSED and self.closed_at is not None


# --- what comes out --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Flag:
    code: FlagCode
    rule: str
    rule_set: str
    org_id: int
    org_name: str
    period: str
    message: Text
    meeting_id: int | None = None
    member_id: int | None = None

    def sort_key(self) -> tuple[int, str, str, int, int]:
        return (self.org_id, self.period, self.code.value, self.meeting_id or 0, self.member_id or 0)

    def to_json(self, lang: str = "vi") -> dict[str, Any]:
        return {
            "code": self.code.value,
            "rule": self.rule,
            "rule_set": self.rule_set,
            "org_id": self.org_id,
            "org_name": self.org_name,
            "period": self.period,
            "meeting_id": self.meeting_id,
            "member_id": self.member_id,
            "message": self.message.in_language(lang),
        }


@dataclass(frozen=True)
class UsageReport:
    """The figures (language-free) and the flags (bilingual) of api.md's `GET /audit/usage`."""

    org: OrgSummary
    period: Period
    rule_set: str
    parameters: Mapping[str, Any]
    totals: Mapping[str, Any]
    months: Sequence[Mapping[str, Any]]
    units: Sequence[Mapping[str, Any]]
    flags: Sequence[Flag]
    below_quorum: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self, lang: str = "vi") -> dict[str, Any]:
        return {
            "org": {"id": self.org.org_id, "name": self.org.name, "kind": self.org.kind.value},
            "from": self.period.start.isoformat(),
            "to": self.period.end.isoformat(),
            "rule_set": self.rule_set,
            "parameters": dict(self.parameters),
            "totals": dict(self.totals),
            "months": [dict(month) for month in self.months],
            "units": [dict(unit) for unit in self.units],
            "flags": [flag.to_json(lang) for flag in self.flags],
            "below_quorum": dict(self.below_quorum),
        }


# --- arithmetic ------------------------------------------------------------------------------------


def percent(part: int, whole: int) -> float | None:
    """part/whole as a percentage with one decimal, rounded half up; None when there is no whole."""
    if whole == 0:
        return None
    return percent_of(Fraction(part, whole))


def percent_of(fraction: Fraction) -> float:
    tenths = fraction * 1000
    return int((tenths * 2 + 1) // 2) / 10


def _median(values: Sequence[int]) -> float | None:
    return float(statistics.median(values)) if values else None


def _vi_number(value: float | None) -> str:
    return "—" if value is None else f"{value:g}".replace(".", ",")


def _vi_day(day: date) -> str:
    return day.strftime("%d/%m/%Y")


@dataclass
class _Attendance:
    expected: int = 0
    present: int = 0
    excused: int = 0
    unexcused: int = 0

    def add(self, other: _Attendance) -> None:
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


def _attendance(meeting: MeetingRecord, register: Mapping[int, RegisterEntry]) -> _Attendance:
    tally = _Attendance()
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


# --- approvals -------------------------------------------------------------------------------------


def approval_on(unit: UnitRecord, day: date) -> Approval:
    """The unit's pilot state on `day` (see the module notes)."""
    seen = [a for a in unit.approvals if unit.local_day(a.applied_at) <= day]

    def approved_that_day(record: ApprovalRecord) -> bool:
        revoked_later = (
            record.status is ApplicationStatus.REVOKED
            and record.revoked_at is not None
            and unit.local_day(record.revoked_at) > day
        )
        in_force = record.status is ApplicationStatus.APPROVED or revoked_later
        return (
            in_force
            and record.valid_from is not None
            and record.valid_to is not None
            and record.valid_from <= day <= record.valid_to
        )

    if any(approved_that_day(record) for record in seen):
        return Approval.APPROVED
    if any(record.status is ApplicationStatus.PENDING for record in seen):
        return Approval.APPLYING
    if seen and max(seen, key=lambda a: a.applied_at).status is ApplicationStatus.REVOKED:
        return Approval.REVOKED
    return Approval.NONE


def approved_at(unit: UnitRecord, at: datetime) -> bool:
    """R-ELIG-6 at an instant: an approval valid on the unit's date and not yet revoked."""
    day = unit.local_day(at)
    for record in unit.approvals:
        if record.status not in (ApplicationStatus.APPROVED, ApplicationStatus.REVOKED):
            continue
        if record.revoked_at is not None and record.revoked_at <= at:
            continue
        if record.valid_from and record.valid_to and record.valid_from <= day <= record.valid_to:
            return True
    return False


# --- the report ------------------------------------------------------------------------------------


@dataclass
class _Held:
    """A meeting held in the period, placed in its unit's time zone."""

    record: MeetingRecord
    unit: UnitRecord
    opened_at: datetime
    day: date
    attendance: _Attendance | None  # None until the meeting closed
    adoption_days: int | None


def usage_report(
    org: OrgSummary,
    period: Period,
    units: Sequence[UnitRecord],
    meetings: Iterable[MeetingRecord],
    rule_set: RuleSet,
    as_of: datetime,
    adoption_days_max: int | None = None,
) -> UsageReport:
    """Figures and flags of the units' meetings held in the period, as of `as_of`.

    `rule_set` is the subtree root's (shown with the figures); each unit's own rule set decides its
    flags. `adoption_days_max` overrides every rule set's `minutes_adoption_days_max`.
    """
    if adoption_days_max is not None and adoption_days_max < 0:
        raise ValueError("adoption_days_max must not be negative")
    by_id = {unit.org_id: unit for unit in sorted(units, key=lambda u: u.org_id)}
    held = _held(by_id, meetings, period)
    held_by_unit: dict[int, list[_Held]] = {org_id: [] for org_id in by_id}
    for item in held:
        held_by_unit[item.unit.org_id].append(item)

    flags: list[Flag] = []
    for item in held:
        flags.extend(_meeting_flags(item, as_of, _adoption_max(item.unit.rule_set, adoption_days_max)))
    for unit in by_id.values():
        flags.extend(_excused_in_a_row(unit, held_by_unit[unit.org_id]))
        if unit.kind is OrgKind.CELL:
            flags.extend(_frequency_flags(unit, held_by_unit[unit.org_id], period, as_of))
    flags.sort(key=Flag.sort_key)

    days_max = _adoption_max(rule_set, adoption_days_max)
    parameters = {
        "minutes_adoption_days_max": days_max,
        "meeting_min_minutes": rule_set.meeting_min_minutes,
        "attendance_target_percent": percent_of(rule_set.attendance_target_fraction),
        "excused_in_a_row_max": rule_set.excused_in_a_row_max,
    }
    flag_counts = Counter(flag.org_id for flag in flags)
    return UsageReport(
        org=org,
        period=period,
        rule_set=rule_set.name,
        parameters=parameters,
        totals=_totals(list(by_id.values()), held, period, as_of, adoption_days_max),
        months=_months(held, period),
        units=[
            _unit_row(unit, held_by_unit[unit.org_id], period, as_of, flag_counts[unit.org_id])
            for unit in by_id.values()
        ],
        flags=flags,
        below_quorum=_below_quorum(held, by_id.values(), held_by_unit),
    )


def _adoption_max(rule_set: RuleSet, override: int | None) -> int:
    return rule_set.minutes_adoption_days_max if override is None else override


def _held(by_id: Mapping[int, UnitRecord], meetings: Iterable[MeetingRecord], period: Period) -> list[_Held]:
    registers = {
        org_id: {entry.member_id: entry for entry in unit.register} for org_id, unit in by_id.items()
    }
    held: list[_Held] = []
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
            _Held(
                record=meeting,
                unit=unit,
                opened_at=meeting.opened_at,
                day=day,
                attendance=_attendance(meeting, register) if meeting.closed else None,
                adoption_days=(unit.local_day(adopted) - day).days if adopted is not None else None,
            )
        )
    held.sort(key=lambda item: (item.opened_at, item.record.meeting_id))
    return held


def _votes_below_quorum(item: _Held) -> int:
    return sum(1 for vote in item.record.votes if vote.override_reason is not None)


def _below_quorum(
    held: Sequence[_Held], units: Iterable[UnitRecord], held_by_unit: Mapping[int, Sequence[_Held]]
) -> dict[str, Any]:
    """Meetings opened below quorum and votes opened below quorum (R-QUOR-1), each counted once."""

    def counts(items: Sequence[_Held]) -> dict[str, int]:
        return {
            "meetings": sum(1 for item in items if not item.record.quorate_at_opening),
            "votes": sum(_votes_below_quorum(item) for item in items),
        }

    return {
        **counts(held),
        "units": [{"id": unit.org_id, **counts(held_by_unit[unit.org_id])} for unit in units],
    }


def _quorum_overrides(item: _Held) -> int:
    return int(not item.record.quorate_at_opening) + sum(
        1 for vote in item.record.votes if vote.override_reason is not None
    )


def _totals(
    units: Sequence[UnitRecord],
    held: Sequence[_Held],
    period: Period,
    as_of: datetime,
    adoption_days_max: int | None,
) -> dict[str, Any]:
    states = Counter(approval_on(unit, _state_day(unit, period, as_of)) for unit in units)
    attendance = _Attendance()
    for item in held:
        if item.attendance is not None:
            attendance.add(item.attendance)
    votes = [vote for item in held for vote in item.record.votes if vote.outcome is not None]
    days = [item.adoption_days for item in held if item.adoption_days is not None]
    late = sum(
        1
        for item in held
        if item.adoption_days is not None
        and item.adoption_days > _adoption_max(item.unit.rule_set, adoption_days_max)
    )
    modes = Counter(item.record.mode for item in held)
    kinds = Counter(item.record.kind for item in held)
    return {
        "units": {
            "total": len(units),
            "approved": states[Approval.APPROVED],
            "applying": states[Approval.APPLYING],
            "revoked": states[Approval.REVOKED],
            "not_applied": states[Approval.NONE],
        },
        "meetings": {
            "total": len(held),
            "by_kind": {kind.value: kinds[kind] for kind in MeetingKind},
            "by_mode": {mode.value: modes[mode] for mode in MeetingMode},
        },
        "attendance": attendance.to_json(),
        "quorum": {
            "failures": sum(1 for item in held if not item.record.quorate_at_opening),
            "overrides": sum(_quorum_overrides(item) for item in held),
        },
        "votes": {
            "held": len(votes),
            "passed": sum(1 for vote in votes if vote.outcome is VoteOutcome.PASSED),
            "failed": sum(1 for vote in votes if vote.outcome is VoteOutcome.FAILED),
        },
        "minutes": {
            "adopted": len(days),
            "not_adopted": len(held) - len(days),
            "adopted_late": late,
            "days_to_adoption_median": _median(days),
            "days_to_adoption_max": max(days) if days else None,
        },
        "online_share_percent": percent(sum(modes[mode] for mode in REMOTE_MODES), len(held)),
    }


def _state_day(unit: UnitRecord, period: Period, as_of: datetime) -> date:
    """The pilot state is read at the end of the period, or today while the period runs."""
    return min(period.end, unit.local_day(as_of))


def _months(held: Sequence[_Held], period: Period) -> list[dict[str, Any]]:
    rows = []
    for first in period.months():
        inside = [item for item in held if _month_start(item.day) == first]
        modes = Counter(item.record.mode for item in inside)
        attendance = _Attendance()
        for item in inside:
            if item.attendance is not None:
                attendance.add(item.attendance)
        rows.append(
            {
                "month": first.strftime("%Y-%m"),
                **{mode.value: modes[mode] for mode in MeetingMode},
                "attendance_rate_percent": attendance.rate,
            }
        )
    return rows


def _unit_row(
    unit: UnitRecord, mine: Sequence[_Held], period: Period, as_of: datetime, flags: int
) -> dict[str, Any]:
    modes = Counter(item.record.mode for item in mine)
    attendance = _Attendance()
    for item in mine:
        if item.attendance is not None:
            attendance.add(item.attendance)
    days = [item.adoption_days for item in mine if item.adoption_days is not None]
    return {
        "id": unit.org_id,
        "name": unit.name,
        "kind": unit.kind.value,
        "approval": approval_on(unit, _state_day(unit, period, as_of)).value,
        "qualifies": unit.qualifies,
        "meetings": {"total": len(mine), **{mode.value: modes[mode] for mode in MeetingMode}},
        "online_share_percent": percent(sum(modes[mode] for mode in REMOTE_MODES), len(mine)),
        "attendance_rate_percent": attendance.rate,
        "quorum_overrides": sum(_quorum_overrides(item) for item in mine),
        "votes_held": sum(1 for item in mine for vote in item.record.votes if vote.outcome is not None),
        "minutes_adopted": len(days),
        "days_to_adoption_median": _median(days),
        "flags": flags,
    }


# --- flags -----------------------------------------------------------------------------------------


def _flag(
    code: FlagCode,
    unit: UnitRecord,
    period: str,
    message: Text,
    meeting_id: int | None = None,
    member_id: int | None = None,
) -> Flag:
    rule = FLAG_RULES[code]
    return Flag(
        code=code,
        rule=rule,
        rule_set=unit.rule_set.name,
        org_id=unit.org_id,
        org_name=unit.name,
        period=period,
        message=Text(
            f"{message.vi} ({rule}, {unit.rule_set.name}).", f"{message.en} ({rule}, {unit.rule_set.name})."
        ),
        meeting_id=meeting_id,
        member_id=member_id,
    )


def _which(item: _Held) -> Text:
    """ "Buổi sinh hoạt trực tuyến ngày 05/03/2027 (Tổ đảng số 1)": the meeting a flag is about."""
    mode = MODE_TEXT[item.record.mode]
    held_by = f" ({item.record.held_by})" if item.record.held_by != item.unit.name else ""
    return Text(
        f"Buổi sinh hoạt {mode.vi} ngày {_vi_day(item.day)}{held_by}",
        f"The meeting held {mode.en} on {item.day.isoformat()}{held_by}",
    )


def _meeting_flags(item: _Held, as_of: datetime, adoption_days_max: int) -> list[Flag]:
    rule_set, unit, record = item.unit.rule_set, item.unit, item.record
    period, which = item.day.isoformat(), _which(item)
    flags: list[Flag] = []

    if record.closed and record.closed_at is not None:
        minutes = (record.closed_at - item.opened_at) // timedelta(minutes=1)
        if record.closed_at - item.opened_at < timedelta(minutes=rule_set.meeting_min_minutes):
            flags.append(
                _flag(
                    FlagCode.SHORT_MEETING,
                    unit,
                    period,
                    Text(
                        f"{which.vi} chỉ kéo dài {minutes} phút, ít hơn {rule_set.meeting_min_minutes} phút",
                        f"{which.en} lasted {minutes} minutes, less than {rule_set.meeting_min_minutes}",
                    ),
                    record.meeting_id,
                )
            )

    attendance = item.attendance
    if attendance is not None and attendance.expected > 0:
        target = rule_set.attendance_target_fraction
        low = Fraction(attendance.present, attendance.expected) <= target
        if low or attendance.unexcused:
            flags.append(_low_attendance(item, attendance, target, low))

    if record.mode in REMOTE_MODES:
        stopped = any(flag.open_at(item.opened_at) for flag in unit.stopped_qualifying)
        approved = approved_at(unit, item.opened_at)
        if stopped or not approved:
            reasons = []
            if not approved:
                reasons.append(
                    Text(
                        "đơn vị không có quyết định phê duyệt thí điểm sinh hoạt trực tuyến còn hiệu lực",
                        "the unit held no valid approval of the online pilot",
                    )
                )
            if stopped:
                reasons.append(
                    Text(
                        "đơn vị đã được báo không còn đủ điều kiện thí điểm (R-ELIG-6)",
                        "the unit had been flagged as no longer qualifying (R-ELIG-6)",
                    )
                )
            flags.append(
                _flag(
                    FlagCode.ONLINE_WITHOUT_QUALIFYING,
                    unit,
                    period,
                    Text(
                        f"{which.vi} được tổ chức khi " + " và ".join(r.vi for r in reasons),
                        f"{which.en} while " + " and ".join(r.en for r in reasons),
                    ),
                    record.meeting_id,
                )
            )

    if not record.quorate_at_opening:
        flags.append(_meeting_override(item, unit, period, which))
    for vote in record.votes:
        if vote.override_reason is not None:
            flags.append(
                _flag(
                    FlagCode.QUORUM_OVERRIDE,
                    unit,
                    period,
                    Text(
                        f"{which.vi}: biểu quyết «{vote.question}» được mở khi chưa đủ số đảng viên dự họp, "
                        f"lý do: «{vote.override_reason}»",
                        f"{which.en}: the vote «{vote.question}» was opened below quorum, "
                        f"reason: «{vote.override_reason}»",
                    ),
                    record.meeting_id,
                )
            )

    adoption_flag = _minutes_flag(item, as_of, adoption_days_max, which)
    if adoption_flag is not None:
        flags.append(adoption_flag)
    return flags


def _low_attendance(item: _Held, attendance: _Attendance, target: Fraction, low: bool) -> Flag:
    which = _which(item)
    share = f"{attendance.present}/{attendance.expected}"
    rate = attendance.rate
    target_percent = percent_of(target)
    parts_vi = [f"{which.vi}: có mặt {share} đảng viên ({_vi_number(rate)}%)"]
    parts_en = [f"{which.en}: {share} members present ({rate:g}%)" if rate is not None else which.en]
    if low:
        parts_vi[0] += f", không vượt mục tiêu trên {_vi_number(target_percent)}%"
        parts_en[0] += f", not above the {target_percent:g}% target"
    if attendance.unexcused:
        parts_vi.append(f"{attendance.unexcused} đảng viên vắng mặt không có lý do")
        parts_en.append(f"{count_en(attendance.unexcused, 'member')} absent without an excuse")
    return _flag(
        FlagCode.LOW_ATTENDANCE,
        item.unit,
        item.day.isoformat(),
        Text("; ".join(parts_vi), "; ".join(parts_en)),
        item.record.meeting_id,
    )


def _meeting_override(item: _Held, unit: UnitRecord, period: str, which: Text) -> Flag:
    counts = item.record.opening_counts
    present, base = counts.get("present_official"), counts.get("voting_base")
    share_vi = f" ({present}/{base} đảng viên chính thức có mặt)" if present is not None and base else ""
    share_en = f" ({present}/{base} official members present)" if present is not None and base else ""
    reason = item.record.override_reason
    reason_vi = f", lý do: «{reason}»" if reason else ""
    reason_en = f", reason: «{reason}»" if reason else ""
    return _flag(
        FlagCode.QUORUM_OVERRIDE,
        unit,
        period,
        Text(
            f"{which.vi} được khai mạc khi chưa đủ số đảng viên dự họp{share_vi}{reason_vi}",
            f"{which.en} was opened below quorum{share_en}{reason_en}",
        ),
        item.record.meeting_id,
    )


def _minutes_flag(item: _Held, as_of: datetime, days_max: int, which: Text) -> Flag | None:
    if item.adoption_days is not None:
        if item.adoption_days <= days_max:
            return None
        message = Text(
            f"Biên bản: {which.vi} được thông qua sau {item.adoption_days} ngày, quá {days_max} ngày",
            f"Minutes: {which.en} were adopted after {item.adoption_days} days, more than {days_max}",
        )
    else:
        waited = (item.unit.local_day(as_of) - item.day).days
        if waited <= days_max:
            return None
        message = Text(
            f"Biên bản: {which.vi} sau {waited} ngày vẫn chưa được thông qua, quá {days_max} ngày",
            f"Minutes: {which.en} are still not adopted after {waited} days, more than {days_max}",
        )
    return _flag(
        FlagCode.MINUTES_NOT_ADOPTED, item.unit, item.day.isoformat(), message, item.record.meeting_id
    )


def _excused_in_a_row(unit: UnitRecord, held: Sequence[_Held]) -> list[Flag]:
    """R-ATT-3: more than `excused_in_a_row_max` excused absences in a row, within one year."""
    maximum = unit.rule_set.excused_in_a_row_max
    register = {entry.member_id: entry for entry in unit.register}
    closed = [item for item in held if item.attendance is not None]
    runs: dict[int, deque[_Held]] = {}
    flagged: set[int] = set()
    flags: list[Flag] = []
    for item in closed:
        for member_id, status in sorted(item.record.attendance.items()):
            entry = register.get(member_id)
            if entry is not None and entry.excepted_from_excuse_rule:
                continue
            run = runs.setdefault(member_id, deque())
            if status is not AttendanceStatus.ABSENT_EXCUSED:
                run.clear()
                flagged.discard(member_id)
                continue
            run.append(item)
            while item.day >= add_years(run[0].day, 1):
                run.popleft()
            if len(run) > maximum and member_id not in flagged:
                flagged.add(member_id)
                name = entry.full_name if entry is not None else f"#{member_id}"
                first = run[-maximum - 1].day
                flags.append(
                    _flag(
                        FlagCode.EXCUSED_IN_A_ROW,
                        unit,
                        item.day.isoformat(),
                        Text(
                            f"Đồng chí {name} vắng mặt có lý do {len(run)} buổi sinh hoạt liên tiếp "
                            f"(từ {_vi_day(first)} đến {_vi_day(item.day)}), quá {maximum} lần trong một năm",
                            f"{name} was absent with an excuse from {len(run)} meetings in a row "
                            f"({first.isoformat()} to {item.day.isoformat()}), more than {maximum} in a year",
                        ),
                        item.record.meeting_id,
                        member_id,
                    )
                )
    return flags


def _frequency_flags(unit: UnitRecord, held: Sequence[_Held], period: Period, as_of: datetime) -> list[Flag]:
    """R-FREQ-1 for a cell: a regular meeting every month, a thematic one every quarter."""
    rule_set = unit.rule_set
    today = unit.local_day(as_of)
    since = unit.local_day(unit.registered_at) if unit.registered_at is not None else None
    regular = Counter(_month_start(i.day) for i in held if i.record.kind is MeetingKind.REGULAR)
    by_groups = {_month_start(i.day) for i in held if i.record.kind is MeetingKind.GROUP}
    thematic = Counter(_quarter(i.day) for i in held if i.record.kind is MeetingKind.THEMATIC)
    flags: list[Flag] = []
    for first in period.whole_months():
        last = _next_month(first) - timedelta(days=1)
        if last >= today or (since is not None and first < since):
            continue
        count = regular[first] + (1 if first in by_groups else 0)
        if count < rule_set.regular_meetings_per_month_min:
            flags.append(
                _flag(
                    FlagCode.NO_REGULAR_MEETING,
                    unit,
                    first.strftime("%Y-%m"),
                    Text(
                        f"Chi bộ không sinh hoạt thường kỳ trong tháng {first.strftime('%m/%Y')} "
                        f"(mỗi tháng ít nhất {rule_set.regular_meetings_per_month_min} lần)",
                        f"No regular meeting in {first.strftime('%Y-%m')} "
                        f"(at least {rule_set.regular_meetings_per_month_min} a month)",
                    ),
                )
            )
    for year, quarter in period.whole_quarters():
        first, last = _quarter_bounds(year, quarter)
        if last >= today or (since is not None and first < since):
            continue
        if thematic[(year, quarter)] < rule_set.thematic_meetings_per_quarter_min:
            flags.append(
                _flag(
                    FlagCode.NO_THEMATIC_MEETING,
                    unit,
                    f"{year}-Q{quarter}",
                    Text(
                        f"Chi bộ không sinh hoạt chuyên đề trong quý {quarter}/{year} "
                        f"(mỗi quý ít nhất {rule_set.thematic_meetings_per_quarter_min} lần)",
                        f"No thematic meeting in {year}-Q{quarter} "
                        f"(at least {rule_set.thematic_meetings_per_quarter_min} a quarter)",
                    ),
                )
            )
    return flags
