"""How the usage report writes numbers: percentages rounded half up, medians, Vietnamese decimals and days."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from datetime import date
from fractions import Fraction


def percent(part: int, whole: int) -> float | None:
    """part/whole as a percentage with one decimal, rounded half up; None when there is no whole."""
    if whole == 0:
        return None
    return percent_of(Fraction(part, whole))


def percent_of(fraction: Fraction) -> float:
    tenths = fraction * 1000
    return int((tenths * 2 + 1) // 2) / 10


def median(values: Sequence[int]) -> float | None:
    return float(statistics.median(values)) if values else None


def vi_number(value: float | None) -> str:
    return "—" if value is None else f"{value:g}".replace(".", ",")


def vi_day(day: date) -> str:
    return day.strftime("%d/%m/%Y")
