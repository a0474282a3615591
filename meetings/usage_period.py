"""The usage report's calendar: a period of days, its months and quarters, and years added to a day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(first: date) -> date:
    return date(first.year + 1, 1, 1) if first.month == 12 else date(first.year, first.month + 1, 1)


def quarter_of(day: date) -> tuple[int, int]:
    return day.year, (day.month - 1) // 3 + 1


def quarter_bounds(year: int, quarter: int) -> tuple[date, date]:
    first = date(year, 3 * quarter - 2, 1)
    last = next_month(next_month(next_month(first))) - timedelta(days=1)
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
        months, first = [], month_start(self.start)
        while first <= self.end:
            months.append(first)
            first = next_month(first)
        return months

    def whole_months(self) -> list[date]:
        return [m for m in self.months() if m >= self.start and next_month(m) - timedelta(days=1) <= self.end]

    def whole_quarters(self) -> list[tuple[int, int]]:
        quarters = sorted({quarter_of(m) for m in self.months()})
        return [
            q for q in quarters if self.start <= quarter_bounds(*q)[0] and quarter_bounds(*q)[1] <= self.end
        ]
