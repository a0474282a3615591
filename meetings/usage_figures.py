"""The usage report's figures: totals, months, one row per unit and the meetings and votes below quorum."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from meetings.enums import MeetingKind, MeetingMode, VoteOutcome
from meetings.rulesets import RuleSet
from meetings.usage_held import REMOTE_MODES, AttendanceTally, Held
from meetings.usage_numbers import median, percent
from meetings.usage_period import Period, month_start
from meetings.usage_records import Approval, UnitRecord, approval_on


def adoption_limit(rule_set: RuleSet, override: int | None) -> int:
    return rule_set.minutes_adoption_days_max if override is None else override


def _votes_below_quorum(item: Held) -> int:
    return sum(1 for vote in item.record.votes if vote.override_reason is not None)


def below_quorum(
    held: Sequence[Held], units: Iterable[UnitRecord], held_by_unit: Mapping[int, Sequence[Held]]
) -> dict[str, Any]:
    """Meetings opened below quorum and votes opened below quorum (R-QUOR-1), each counted once."""

    def counts(items: Sequence[Held]) -> dict[str, int]:
        return {
            "meetings": sum(1 for item in items if not item.record.quorate_at_opening),
            "votes": sum(_votes_below_quorum(item) for item in items),
        }

    return {
        **counts(held),
        "units": [{"id": unit.org_id, **counts(held_by_unit[unit.org_id])} for unit in units],
    }


def quorum_overrides(item: Held) -> int:
    return int(not item.record.quorate_at_opening) + sum(
        1 for vote in item.record.votes if vote.override_reason is not None
    )


def totals(
    units: Sequence[UnitRecord],
    held: Sequence[Held],
    period: Period,
    as_of: datetime,
    adoption_days_max: int | None,
) -> dict[str, Any]:
    states = Counter(approval_on(unit, state_day(unit, period, as_of)) for unit in units)
    attendance = AttendanceTally()
    for item in held:
        if item.attendance is not None:
            attendance.add(item.attendance)
    votes = [vote for item in held for vote in item.record.votes if vote.outcome is not None]
    days = [item.adoption_days for item in held if item.adoption_days is not None]
    late = sum(
        1
        for item in held
        if item.adoption_days is not None
        and item.adoption_days > adoption_limit(item.unit.rule_set, adoption_days_max)
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
            "overrides": sum(quorum_overrides(item) for item in held),
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
            "days_to_adoption_median": median(days),
            "days_to_adoption_max": max(days) if days else None,
        },
        "online_share_percent": percent(sum(modes[mode] for mode in REMOTE_MODES), len(held)),
    }


def state_day(unit: UnitRecord, period: Period, as_of: datetime) -> date:
    """The pilot state is read at the end of the period, or today while the period runs."""
    return min(period.end, unit.local_day(as_of))


def month_rows(held: Sequence[Held], period: Period) -> list[dict[str, Any]]:
    rows = []
    for first in period.months():
        inside = [item for item in held if month_start(item.day) == first]
        modes = Counter(item.record.mode for item in inside)
        attendance = AttendanceTally()
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


def unit_row(
    unit: UnitRecord, mine: Sequence[Held], period: Period, as_of: datetime, flags: int
) -> dict[str, Any]:
    modes = Counter(item.record.mode for item in mine)
    attendance = AttendanceTally()
    for item in mine:
        if item.attendance is not None:
            attendance.add(item.attendance)
    days = [item.adoption_days for item in mine if item.adoption_days is not None]
    return {
        "id": unit.org_id,
        "name": unit.name,
        "kind": unit.kind.value,
        "approval": approval_on(unit, state_day(unit, period, as_of)).value,
        "qualifies": unit.qualifies,
        "meetings": {"total": len(mine), **{mode.value: modes[mode] for mode in MeetingMode}},
        "online_share_percent": percent(sum(modes[mode] for mode in REMOTE_MODES), len(mine)),
        "attendance_rate_percent": attendance.rate,
        "quorum_overrides": sum(quorum_overrides(item) for item in mine),
        "votes_held": sum(1 for item in mine for vote in item.record.votes if vote.outcome is not None),
        "minutes_adopted": len(days),
        "days_to_adoption_median": median(days),
        "flags": flags,
    }
