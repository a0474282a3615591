"""The pilot's periodic report (issue 30 part 4): one unit's quarter for the body that approved its pilot.

Pure: the server computes the unit's usage figures for the quarter (meetings.usage, the same figures and
flags as the pilot dashboard) and passes them with the quarter's closed votes and the rule sets in force;
this module reads the quarter asked for and puts the report's figures together, each citing its rule.

Decisions (docs/api.md "Periodic pilot report"):

- The period is a calendar quarter `YYYY-Qn` (the default period of a periodic report). The current
  quarter may be asked for (it is marked in progress); a quarter that has not begun is refused, so is
  one before 2023 (Hướng dẫn 03-HD/TW is of 27/12/2022).
- Which meetings belong to the quarter is meetings.usage's rule (the date of the opening in the unit's
  time zone); a party group's meetings count for its cell.
- Votes by mode count the closed votes of those meetings (as the usage figures' `votes.held`).
- Minutes: adopted on time (within `minutes_adoption_days_max` days, R-MIN-1), adopted late, not
  adopted; of the not adopted, `overdue` are those whose limit has passed (each is a R-MIN-1 flag).
- Breaches are the usage flags of the unit for the quarter, counted by code with their rule.
- The rule sets cited are those of the unit's lineage in force on some day of the quarter; the
  adoption limit is the one of the set in force on the quarter's last day (or today, while it runs).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar

from meetings.decision import Text
from meetings.enums import VoteMode, VoteOutcome
from meetings.ruleset_lifecycle import Dated, lineage
from meetings.usage import UsageReport
from meetings.usage_flags import FlagCode
from meetings.usage_period import quarter_bounds, quarter_of

FIRST_YEAR = 2023  # the pilot's guidance is of 27/12/2022: no quarter before 2023 has a meeting under it
_PERIOD = re.compile(r"([0-9]{4})-Q([1-4])")

NOT_OFFICIAL = Text(
    "Báo cáo do nền tảng cellmeet tự tổng hợp từ dữ liệu đã ghi; không phải biểu mẫu chính thức.",
    "A report compiled by the cellmeet platform from its records; it is not an official form.",
)


class PeriodError(ValueError):
    """A period that is not a quarter the report can be made for; `message` in both languages."""

    def __init__(self, message: Text) -> None:
        super().__init__(message.en)
        self.message = message


@dataclass(frozen=True, order=True)
class Quarter:
    year: int
    number: int

    @property
    def start(self) -> date:
        return quarter_bounds(self.year, self.number)[0]

    @property
    def end(self) -> date:
        return quarter_bounds(self.year, self.number)[1]

    @property
    def label(self) -> str:
        """The query's spelling, `2026-Q4`."""
        return f"{self.year}-Q{self.number}"

    @property
    def vi_label(self) -> str:
        return f"Quý {self.number}/{self.year}"

    def previous(self) -> Quarter:
        return Quarter(self.year - 1, 4) if self.number == 1 else Quarter(self.year, self.number - 1)

    def finished_on(self, today: date) -> bool:
        return self.end < today

    @staticmethod
    def of(day: date) -> Quarter:
        return Quarter(*quarter_of(day))


def parse_quarter(raw: str | None, today: date) -> Quarter:
    """`YYYY-Qn`; without one, the last finished quarter (what is due). Refused: another spelling, a
    quarter before FIRST_YEAR, a quarter that has not begun on `today` (the unit's date)."""
    if raw is None:
        return Quarter.of(today).previous()
    found = _PERIOD.fullmatch(raw)
    if found is None:
        raise PeriodError(
            Text(
                f"Kỳ báo cáo «{raw[:20]}» không hợp lệ: phải là một quý, dạng YYYY-Qn (ví dụ 2026-Q3).",
                f"Invalid period «{raw[:20]}»: it must be a quarter, YYYY-Qn (e.g. 2026-Q3).",
            )
        )
    quarter = Quarter(int(found.group(1)), int(found.group(2)))
    if quarter.year < FIRST_YEAR:
        raise PeriodError(
            Text(
                f"Kỳ báo cáo {quarter.vi_label} trước khi thí điểm bắt đầu (Hướng dẫn 03-HD/TW, 27/12/2022).",
                f"The period {quarter.label} is before the pilot began (Hướng dẫn 03-HD/TW, 27/12/2022).",
            )
        )
    if quarter.start > today:
        raise PeriodError(
            Text(
                f"Kỳ báo cáo {quarter.vi_label} chưa bắt đầu (hôm nay là {today:%d/%m/%Y}).",
                f"The period {quarter.label} has not begun (today is {today.isoformat()}).",
            )
        )
    return quarter


def due_quarters(today: date) -> tuple[Quarter, Quarter]:
    """The reports an approving body is shown: the last finished quarter, and the current one (running)."""
    current = Quarter.of(today)
    return current.previous(), current


D = TypeVar("D", bound=Dated)


def sets_in_force(registry: Mapping[str, D], name: str, start: date, end: date) -> list[D]:
    """The sets of `name`'s lineage that decide some day of `start..end` (meetings.ruleset_lifecycle:
    before a successor's first day its predecessor decides, before the first set the first)."""
    chain = lineage(registry, name)
    chosen = [
        rule_set
        for index, rule_set in enumerate(chain)
        if (index == 0 or rule_set.lifecycle.in_force_from <= end)
        and (index + 1 == len(chain) or chain[index + 1].lifecycle.in_force_from > start)
    ]
    return chosen


@dataclass(frozen=True)
class ClosedVote:
    """A closed vote of a meeting held in the quarter: how it was taken and what it decided."""

    mode: VoteMode
    outcome: VoteOutcome


def _count(values: Mapping[str, Any], key: str) -> int:
    return int(values.get(key) or 0)


def pilot_figures(
    usage: UsageReport,
    votes: Sequence[ClosedVote],
    rule_sets: Sequence[Mapping[str, Any]],
    quarter: Quarter,
    today: date,
) -> dict[str, Any]:
    """The report's figures (language-free): each group cites its rule; `rule_sets` as the listing gives
    them (`{id, title, status, in_force_from, ...}`), in the lineage's order: the last one is in force
    on the quarter's last day (or today) and its adoption limit is the usage figures'."""
    totals = usage.totals
    meetings = totals["meetings"]
    by_mode = meetings["by_mode"]
    attendance = totals["attendance"]
    minutes = totals["minutes"]
    failures = _count(totals["quorum"], "failures")
    days_max = int(usage.parameters["minutes_adoption_days_max"])
    late = _count(minutes, "adopted_late")
    adopted = _count(minutes, "adopted")
    flags = list(usage.flags)
    minutes_flags = sum(1 for flag in flags if flag.code is FlagCode.MINUTES_NOT_ADOPTED)
    modes = Counter(vote.mode for vote in votes)
    outcomes = Counter(vote.outcome for vote in votes)
    breaches = Counter((flag.code.value, flag.rule) for flag in flags)
    return {
        "period": quarter.label,
        "from": quarter.start.isoformat(),
        "to": quarter.end.isoformat(),
        "in_progress": not quarter.finished_on(today),
        "rule_set": rule_sets[-1]["id"] if rule_sets else usage.rule_set,
        "rule_sets": [dict(rule_set) for rule_set in rule_sets],
        "meetings": {
            "total": _count(meetings, "total"),
            "online": _count(by_mode, "online"),
            "hybrid": _count(by_mode, "hybrid"),
            "in_person": _count(by_mode, "in_person"),
            "online_share_percent": totals.get("online_share_percent"),
            "rule": "R-ELIG-6",
        },
        "attendance": {
            "expected": _count(attendance, "expected"),
            "present": _count(attendance, "present"),
            "absent_excused": _count(attendance, "absent_excused"),
            "absent_unexcused": _count(attendance, "absent_unexcused"),
            "rate_percent": attendance.get("rate_percent"),
            "target_percent": usage.parameters["attendance_target_percent"],
            "rule": "R-ATT-3",
        },
        "quorum": {
            "meetings_quorate": _count(meetings, "total") - failures,
            "meetings_below_quorum": failures,
            "votes_below_quorum": _count(usage.below_quorum, "votes"),
            "overrides": _count(totals["quorum"], "overrides"),
            "rule": "R-QUOR-1",
        },
        "votes": {
            "total": len(votes),
            **{mode.value: modes[mode] for mode in VoteMode},
            "passed": outcomes[VoteOutcome.PASSED],
            "failed": outcomes[VoteOutcome.FAILED],
            "rule": "R-VOTE-4",
        },
        "minutes": {
            "adopted_on_time": adopted - late,
            "adopted_late": late,
            "not_adopted": _count(minutes, "not_adopted"),
            "not_adopted_overdue": max(minutes_flags - late, 0),
            "days_max": days_max,
            "rule": "R-MIN-1",
        },
        "breaches": {
            "total": len(flags),
            "by_code": [
                {"code": code, "rule": rule, "count": number}
                for (code, rule), number in sorted(breaches.items())
            ],
        },
    }


def report_json(
    usage: UsageReport,
    figures: Mapping[str, Any],
    *,
    approving_body: Mapping[str, Any] | None,
    generated_at: datetime,
    lang: str = "vi",
) -> dict[str, Any]:
    """The JSON answer (`format=json`): the unit, the figures, the flags in the caller's language and the
    statement that this is not an official form."""
    return {
        "org": {"id": usage.org.org_id, "name": usage.org.name, "kind": usage.org.kind.value},
        "approving_body": dict(approving_body) if approving_body else None,
        "generated_at": generated_at.isoformat(),
        **figures,
        "flags": [flag.to_json(lang) for flag in usage.flags],
        "notice": NOT_OFFICIAL.in_language(lang),
    }
