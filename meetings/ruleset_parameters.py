"""A rule set's parameters: each value with its source and confidence, and the schema every set meets."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction
from types import MappingProxyType
from typing import Any

from meetings.enums import ItemType, MeetingMode, OrgKind, RemoteReason, VoteKind


class Confidence(StrEnum):
    """How sure we are of a parameter's value (rules.md, "Confidence")."""

    CONFIRMED = "confirmed"
    SECONDARY = "secondary"
    PLATFORM_DEFAULT = "platform_default"


class InvalidRuleSet(ValueError):
    """A rule set lacks a parameter or holds a value of the wrong type."""


@dataclass(frozen=True)
class Parameter:
    """One value of a rule set, with the document or section it comes from."""

    name: str
    value: Any
    source: str
    confidence: Confidence
    rule: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": json_value(self.value),
            "source": self.source,
            "confidence": self.confidence.value,
            "rule": self.rule,
        }


# What every rule set must hold: the type of each parameter and, for sets, of their elements.
# An operator's rule set is checked against this, so a rule never meets a missing or mistyped value.
SCHEMA: Mapping[str, tuple[type, type | None]] = MappingProxyType(
    {
        "eligible_org_kinds": (frozenset, OrgKind),
        "eligibility_fraction": (Fraction, None),
        "probationary_count_for_eligibility": (bool, None),
        "special_character_reasons": (frozenset, RemoteReason),
        "special_circumstance_reasons": (frozenset, RemoteReason),
        "group_pilot_org_kinds": (frozenset, OrgKind),
        "group_pilot_min_members": (int, None),
        "group_meetings_per_year_max": (int, None),
        "regular_meetings_per_month_min": (int, None),
        "thematic_meetings_per_quarter_min": (int, None),
        "meeting_min_minutes": (int, None),
        "combined_meeting_min_minutes": (int, None),
        "documents_lead_days": (int, None),
        "content_barred_item_types": (frozenset, ItemType),
        "content_barred_vote_kinds": (frozenset, VoteKind),
        "content_barred_modes": (frozenset, MeetingMode),
        "excused_stay_in_voting_base": (bool, None),
        "present_min_fraction": (Fraction, None),
        "late_after_minutes": (int, None),
        "left_early_minutes": (int, None),
        "disconnect_grace_seconds": (int, None),
        "attendance_target_fraction": (Fraction, None),
        "excused_in_a_row_max": (int, None),
        "quorum_fraction": (Fraction, None),
        "vote_pass_fraction": (Fraction, None),
        "two_thirds_fraction": (Fraction, None),
        "two_thirds_vote_kinds": (frozenset, VoteKind),
        "mesh_video_max_cameras": (int, None),
        "minutes_adoption_days_max": (int, None),
        "relayed_count_for_quorum": (bool, None),
        "relayed_may_vote": (bool, None),
    }
)

PARAMETER_NAMES: tuple[str, ...] = tuple(SCHEMA)


def check_type(rule_set: str, name: str, value: Any, kind: type, element: type | None) -> None:
    # bool is an int in Python; a True where a count is expected is a mistake, not a 1.
    wrong = not isinstance(value, kind) or (kind is int and isinstance(value, bool))
    if wrong:
        raise InvalidRuleSet(f"{rule_set}: {name} must be a {kind.__name__}, not {value!r}")
    if element is not None and not all(isinstance(item, element) for item in value):
        raise InvalidRuleSet(f"{rule_set}: every item of {name} must be a {element.__name__}")
    if kind is Fraction and not 0 <= value <= 1:
        raise InvalidRuleSet(f"{rule_set}: {name} must lie between 0 and 1, not {value}")
    if kind is int and value < 0:
        raise InvalidRuleSet(f"{rule_set}: {name} must not be negative, not {value}")


def json_value(value: Any) -> Any:
    if isinstance(value, Fraction):
        return {"fraction": f"{value.numerator}/{value.denominator}", "decimal": float(value)}
    if isinstance(value, frozenset):
        return sorted(str(item) for item in value)
    return value
