"""Meeting by party group (sinh hoạt theo tổ đảng) in place of the cell's monthly meeting: how many months
a year it may replace it (R-GROUP-3), and what the cell's monthly record takes from its groups'
minutes (R-GROUP-4).

Pure: instants come in aware, time zones as `tzinfo`; nothing here reads a clock or a database.
What is counted is months of the cell's own time zone: every group meeting of the cell stands for the
cell's monthly meeting of its month, and several groups meeting in one month count once.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from meetings.decision import Decision, Text
from meetings.rulesets import RuleSet

_MONTH = re.compile(r"(\d{4})-(\d{2})", re.ASCII)


@dataclass(frozen=True, order=True)
class Month:
    """A calendar month of one time zone."""

    year: int
    month: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12 or not 1 <= self.year <= 9999:
            raise ValueError(f"not a month: {self.year}-{self.month}")

    @classmethod
    def parse(cls, text: str) -> Month:
        """ "2027-03" → Month(2027, 3); ValueError for anything else."""
        found = _MONTH.fullmatch(text)
        if found is None:
            raise ValueError(f"not a month (YYYY-MM): {text!r}")
        return cls(int(found.group(1)), int(found.group(2)))

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    def next(self) -> Month:
        return Month(self.year + 1, 1) if self.month == 12 else Month(self.year, self.month + 1)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def text(self) -> str:
        """ "03/2027", as months are written in Vietnamese documents (and here in English too)."""
        return f"{self.month:02d}/{self.year:04d}"


def local_month(at: datetime, zone: tzinfo) -> Month:
    """The month of `zone` that the instant falls in (31 March 20:00 UTC is April in Ho Chi Minh City)."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("the instant must be timezone-aware")
    local = at.astimezone(zone)
    return Month(local.year, local.month)


def meeting_month(starts_at: datetime, opened_at: datetime | None, zone: tzinfo) -> Month:
    """The month a meeting stands for: when it was opened (it was held then), else when it is to start."""
    return local_month(opened_at if opened_at is not None else starts_at, zone)


def group_month_allowed(used: Iterable[Month], month: Month, rule_set: RuleSet) -> Decision:
    """R-GROUP-3: may the cell's groups meet in `month` in place of the monthly meeting?

    `used` are the months of the cell's group meetings already scheduled or held (every group of the
    cell, without the meeting being decided on). Allowed when `month` is one of them (the groups of one
    month count once) or when fewer than `group_meetings_per_year_max` months of its year are used.
    """
    maximum = rule_set.group_meetings_per_year_max
    in_year = sorted({m for m in used if m.year == month.year})
    already = month in in_year
    allowed = already or len(in_year) < maximum
    counts = {"year": month.year, "months_used": len(in_year), "max": maximum}
    details = {"month": str(month), "months_used": [str(m) for m in in_year], "already_used": already}
    listed = ", ".join(m.text for m in in_year)
    used_vi = f"{len(in_year)}/{maximum} tháng" + (f" ({listed})" if listed else "")
    used_en = f"{len(in_year)} of {maximum} months" + (f" ({listed})" if listed else "")
    if already:
        explanation = Text(
            f"Được sinh hoạt theo tổ đảng trong tháng {month.text}: chi bộ đã sinh hoạt theo tổ đảng trong "
            f"tháng này, các tổ họp cùng một tháng chỉ tính một lần; năm {month.year} đã dùng {used_vi} "
            "(R-GROUP-3).",
            f"Party groups may meet in {month.text}: the cell's groups already meet that month, and the "
            f"groups of one month count once; {used_en} of {month.year} are used (R-GROUP-3).",
        )
    elif allowed:
        explanation = Text(
            f"Được sinh hoạt theo tổ đảng thay cho sinh hoạt chi bộ trong tháng {month.text}: "
            f"năm {month.year} mới dùng {used_vi}, tối đa {maximum} tháng một năm (R-GROUP-3).",
            f"Party groups may meet in place of the cell in {month.text}: {used_en} of {month.year} are "
            f"used, at most {maximum} a year (R-GROUP-3).",
        )
    else:
        explanation = Text(
            f"Không được sinh hoạt theo tổ đảng thay cho sinh hoạt chi bộ trong tháng {month.text}: năm "
            f"{month.year} chi bộ đã sinh hoạt theo tổ đảng {used_vi}, tối đa {maximum} tháng một năm "
            "(R-GROUP-3).",
            f"Party groups may not meet in place of the cell in {month.text}: the cell's groups already "
            f"met in {used_en} of {month.year}, at most {maximum} a year (R-GROUP-3).",
        )
    return Decision(allowed, "R-GROUP-3", rule_set.name, counts, explanation, details)


@dataclass(frozen=True)
class Conclusion:
    """A written conclusion of a meeting's minutes: the field it is in, its heading, its text."""

    field: str  # "item:3" or "conclusions"
    title: str
    text: str


CONCLUSIONS_TITLE = Text("Kết luận của chủ trì", "The chair's conclusions")
_CONCLUDING_WORD = "kết luận"


def _fold(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold()


def conclusions(agenda_titles: Sequence[str], fields: Mapping[str, str]) -> list[Conclusion]:
    """R-GROUP-4: what a meeting concluded, as its minutes wrote it.

    The texts written under the agenda items whose title says "kết luận" (the group template's "Tổ
    trưởng kết luận; kết luận của tổ được gửi lên chi bộ"), in agenda order, then the minutes'
    `conclusions` field (the chair's conclusions); empty texts are left out.
    """
    found = [
        Conclusion(f"item:{index}", title, fields.get(f"item:{index}", "").strip())
        for index, title in enumerate(agenda_titles)
        if _CONCLUDING_WORD in _fold(title)
    ]
    found.append(Conclusion("conclusions", CONCLUSIONS_TITLE.vi, fields.get("conclusions", "").strip()))
    return [conclusion for conclusion in found if conclusion.text]


def _named(prefix: str, name: str) -> str:
    """ "số 1" → "Tổ đảng số 1"; a name that already says what it is stays as it is."""
    name = name.strip()
    return name if _fold(name).startswith(_fold(prefix)) else f"{prefix} {name}"


def group_unit_name(group_name: str, cell_name: str) -> str:
    """How a group's short minutes name their unit: "Tổ đảng số 1 (Chi bộ Tàu Biển Đông 01)"."""
    return f"{_named('Tổ đảng', group_name)} ({_named('Chi bộ', cell_name)})"
