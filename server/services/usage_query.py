"""The usage report's query: the period and the adoption limit asked for, checked, errors in two languages."""

from __future__ import annotations

import re
from datetime import date

from meetings.decision import Text
from meetings.usage_period import add_years

MAX_PERIOD_YEARS = 5
ADOPTION_DAYS_RANGE = (1, 365)
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class UsageQueryError(ValueError):
    """A bad query of the usage figures; `str()` is the message in the language asked for."""

    def __init__(self, field: str, message: Text, language: str = "vi") -> None:
        super().__init__(message.in_language(language))
        self.field = field
        self.message = message


class UsagePeriodError(UsageQueryError):
    """The period is not two dates in order, at most MAX_PERIOD_YEARS long."""


def _day(raw: str, field: str, language: str) -> date:
    if _ISO_DAY.fullmatch(raw):
        try:
            return date.fromisoformat(raw)
        except ValueError:
            pass
    raise UsagePeriodError(
        field,
        Text(
            f"'{field}' phải là một ngày có thật, dạng YYYY-MM-DD (ví dụ 2026-01-31).",
            f"'{field}' must be a real date, YYYY-MM-DD (e.g. 2026-01-31).",
        ),
        language,
    )


def parse_period(
    raw_from: str | None, raw_to: str | None, today: date, language: str = "vi"
) -> tuple[date, date]:
    """The period asked for; by default from 1 January of `today`'s year to `today`."""
    start = _day(raw_from, "from", language) if raw_from is not None else date(today.year, 1, 1)
    end = _day(raw_to, "to", language) if raw_to is not None else today
    if end < start:
        raise UsagePeriodError(
            "to",
            Text(
                f"Kỳ báo cáo không hợp lệ: ngày bắt đầu ({start:%d/%m/%Y}) "
                f"sau ngày kết thúc ({end:%d/%m/%Y}).",
                f"Invalid period: it starts ({start.isoformat()}) after it ends ({end.isoformat()}).",
            ),
            language,
        )
    if end >= add_years(start, MAX_PERIOD_YEARS):
        raise UsagePeriodError(
            "to",
            Text(
                f"Kỳ báo cáo dài quá {MAX_PERIOD_YEARS} năm; hãy chọn một kỳ ngắn hơn.",
                f"The period is longer than {MAX_PERIOD_YEARS} years; choose a shorter one.",
            ),
            language,
        )
    return start, end


def parse_adoption_days(raw: str | None, language: str = "vi") -> int | None:
    """`adoption_days=` overrides the rule set's minutes_adoption_days_max (R-MIN-1)."""
    if raw is None:
        return None
    low, high = ADOPTION_DAYS_RANGE
    if raw.isascii() and raw.isdigit() and len(raw) <= 3 and low <= int(raw) <= high:
        return int(raw)
    raise UsageQueryError(
        "adoption_days",
        Text(
            f"'adoption_days' phải là một số nguyên từ {low} đến {high}.",
            f"'adoption_days' must be a whole number from {low} to {high}.",
        ),
        language,
    )
