"""The usage report (sơ kết, tổng kết thí điểm) of a subtree for a period: figures and flags put together.

Pure: the server loads the records (units, held meetings with their attendance, votes and minutes)
and passes every instant, including ``as_of`` (now); nothing here reads a clock or a database.
Every flag names its rule and rule set; every threshold is a rule-set parameter. The parts live
beside this module: the calendar (usage_period), the records passed in (usage_records), the meetings
held (usage_held), the figures (usage_figures), the flags (usage_flags) and the numbers' writing
(usage_numbers); their public names are importable from here too.

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
- Relayed attendance (R-ATT-4): ``relayed`` counts, per unit and in all, the closed meetings in which a
  member took part through another member's radio or phone, and those attendances.
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

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from meetings.enums import OrgKind
from meetings.rulesets import RuleSet
from meetings.usage_figures import adoption_limit, below_quorum, month_rows, totals, unit_row
from meetings.usage_flags import (
    FLAG_RULES,
    Flag,
    FlagCode,
    excused_in_a_row_flags,
    frequency_flags,
    meeting_flags,
)
from meetings.usage_held import PRESENT_STATUSES, REMOTE_MODES, Held, held_in_period
from meetings.usage_numbers import percent, percent_of
from meetings.usage_period import Period, add_years
from meetings.usage_records import (
    Approval,
    ApprovalRecord,
    MeetingRecord,
    OrgSummary,
    RegisterEntry,
    StoppedQualifying,
    UnitRecord,
    VoteRecord,
    approval_on,
    approved_at,
)

__all__ = [
    "FLAG_RULES",
    "PRESENT_STATUSES",
    "REMOTE_MODES",
    "Approval",
    "ApprovalRecord",
    "Flag",
    "FlagCode",
    "MeetingRecord",
    "OrgSummary",
    "Period",
    "RegisterEntry",
    "StoppedQualifying",
    "UnitRecord",
    "UsageReport",
    "VoteRecord",
    "add_years",
    "approval_on",
    "approved_at",
    "percent",
    "percent_of",
    "usage_report",
]


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
    relayed: Mapping[str, Any] = field(default_factory=dict)

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
            "relayed": dict(self.relayed),
        }


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
    held = held_in_period(by_id, meetings, period)
    held_by_unit: dict[int, list[Held]] = {org_id: [] for org_id in by_id}
    for item in held:
        held_by_unit[item.unit.org_id].append(item)

    flags: list[Flag] = []
    for item in held:
        flags.extend(meeting_flags(item, as_of, adoption_limit(item.unit.rule_set, adoption_days_max)))
    for unit in by_id.values():
        flags.extend(excused_in_a_row_flags(unit, held_by_unit[unit.org_id]))
        if unit.kind is OrgKind.CELL:
            flags.extend(frequency_flags(unit, held_by_unit[unit.org_id], period, as_of))
    flags.sort(key=Flag.sort_key)

    days_max = adoption_limit(rule_set, adoption_days_max)
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
        totals=totals(list(by_id.values()), held, period, as_of, adoption_days_max),
        months=month_rows(held, period),
        units=[
            unit_row(unit, held_by_unit[unit.org_id], period, as_of, flag_counts[unit.org_id])
            for unit in by_id.values()
        ],
        flags=flags,
        below_quorum=below_quorum(held, by_id.values(), held_by_unit),
        relayed=relayed_attendance(held_by_unit),
    )


def relayed_attendance(held_by_unit: Mapping[int, Sequence[Held]]) -> dict[str, Any]:
    """R-ATT-4 in the audit view: per unit (by id, as a string), the closed meetings with a member present
    through a relay and how many such attendances; and their totals."""
    by_unit = {
        str(org_id): {
            "meetings": sum(1 for item in items if item.record.relayed),
            "members": sum(len(item.record.relayed) for item in items),
        }
        for org_id, items in held_by_unit.items()
    }
    return {
        "meetings": sum(unit["meetings"] for unit in by_unit.values()),
        "members": sum(unit["members"] for unit in by_unit.values()),
        "by_unit": by_unit,
    }
