"""The Decision every rule returns: outcome, counts, rule id, rule set and a bilingual explanation."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

LANGUAGES = ("vi", "en")


@dataclass(frozen=True)
class Text:
    """A message in Vietnamese (the default) and English."""

    vi: str
    en: str

    def in_language(self, lang: str) -> str:
        return self.en if lang == "en" else self.vi


@dataclass(frozen=True)
class Decision:
    """The answer of one rule, with why: the counts it used and the rule that decided."""

    outcome: bool | int | str
    rule: str
    rule_set: str
    counts: Mapping[str, int]
    explanation: Text
    details: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self, lang: str = "vi") -> dict[str, Any]:
        body: dict[str, Any] = {
            "outcome": self.outcome,
            "rule": self.rule,
            "rule_set": self.rule_set,
            "counts": dict(self.counts),
            "explanation": self.explanation.in_language(lang),
        }
        if self.details:
            body["details"] = dict(self.details)
        return body


# Threshold arithmetic shared by the rules: exact fractions, never floats, so "exactly half" is exact.


def more_than(part: int, fraction: Fraction, whole: int) -> bool:
    """part > fraction × whole, in exact arithmetic (an empty whole never qualifies)."""
    return whole > 0 and part > fraction * whole


def at_least(part: int, fraction: Fraction, whole: int) -> bool:
    """part ≥ fraction × whole, in exact arithmetic (an empty whole never qualifies)."""
    return whole > 0 and part >= fraction * whole


def least_more_than(fraction: Fraction, whole: int) -> int:
    """The smallest count that is more than fraction × whole."""
    return math.floor(fraction * whole) + 1


def least_at_least(fraction: Fraction, whole: int) -> int:
    """The smallest count that reaches fraction × whole (at least 1: nobody is never enough)."""
    return max(math.ceil(fraction * whole), 1)


def fraction_text(fraction: Fraction) -> Text:
    """A fraction as it is said in the documents: "một nửa", "hai phần ba"."""
    named = {
        Fraction(1, 2): Text("một nửa", "half"),
        Fraction(2, 3): Text("hai phần ba", "two thirds"),
        Fraction(3, 4): Text("ba phần tư", "three quarters"),
    }
    if fraction in named:
        return named[fraction]
    percent = f"{float(fraction * 100):g}%"
    return Text(percent.replace(".", ","), percent)


def count_en(count: int, noun: str) -> str:
    """ "1 member", "2 members": English needs the plural, Vietnamese does not."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
