"""Rule sets (bộ quy tắc): every threshold of rules.md as a typed parameter, and the built-in sets by name.

The parameters' schema, sources and confidence are in meetings.ruleset_parameters, the built-in values
in meetings.hd03_parameters; their public names are importable from here too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from fractions import Fraction
from types import MappingProxyType
from typing import Any, TypeVar

from meetings.decision import Text
from meetings.enums import ItemType, MeetingMode, OrgKind, RemoteReason, VoteKind
from meetings.hd03_parameters import HD03_PARAMETERS
from meetings.ruleset_lifecycle import Lifecycle, Status, UnknownRuleSet, check_registry, in_force_on, lineage
from meetings.ruleset_parameters import (
    PARAMETER_NAMES,
    SCHEMA,
    Confidence,
    InvalidRuleSet,
    Parameter,
    check_type,
)

__all__ = [
    "BUILT_IN",
    "HD03_2022",
    "PARAMETER_NAMES",
    "Confidence",
    "InvalidRuleSet",
    "Lifecycle",
    "Parameter",
    "RuleSet",
    "Status",
    "UnknownRuleSet",
    "check_registry",
    "get_rule_set",
    "in_force_on",
    "lineage",
]

_T = TypeVar("_T")
_E = TypeVar("_E", bound=StrEnum)


# The lifecycle of a set made in code without one (tests, with_values): in force from any date, no end.
UNDATED = Lifecycle(Status.IN_FORCE, date.min)


@dataclass(frozen=True)
class RuleSet:
    """A versioned, named bundle of parameters; a unit is bound to one rule set at a time."""

    name: str
    title: Text
    parameters: Mapping[str, Parameter] = field(repr=False)
    lifecycle: Lifecycle = field(default_factory=lambda: UNDATED)

    def __post_init__(self) -> None:
        # Read-only view, so a shared built-in rule set cannot be changed by a caller.
        object.__setattr__(self, "parameters", MappingProxyType(dict(self.parameters)))
        for key, parameter in self.parameters.items():
            if key != parameter.name:
                raise InvalidRuleSet(f"{self.name}: parameter {parameter.name!r} filed under {key!r}")
        missing = sorted(set(SCHEMA) - set(self.parameters))
        if missing:
            raise InvalidRuleSet(f"{self.name}: missing parameters {', '.join(missing)}")
        for name, (kind, element) in SCHEMA.items():
            check_type(self.name, name, self.parameters[name].value, kind, element)

    def value(self, name: str) -> Any:
        try:
            return self.parameters[name].value
        except KeyError:
            raise KeyError(f"rule set {self.name!r} has no parameter {name!r}") from None

    def with_values(
        self,
        name: str,
        title: Text,
        values: Mapping[str, Any],
        source: str,
        confidence: Confidence = Confidence.CONFIRMED,
        lifecycle: Lifecycle | None = None,
    ) -> RuleSet:
        """A new rule set that differs from this one in `values`, all taken from `source`."""
        unknown = sorted(set(values) - set(self.parameters))
        if unknown:
            raise InvalidRuleSet(f"{name}: unknown parameters {', '.join(unknown)}")
        changed = {
            key: Parameter(key, value, source, confidence, self.parameters[key].rule)
            for key, value in values.items()
        }
        return RuleSet(name, title, {**self.parameters, **changed}, lifecycle or UNDATED)

    def with_lifecycle(self, lifecycle: Lifecycle) -> RuleSet:
        return RuleSet(self.name, self.title, self.parameters, lifecycle)

    def to_json(self, lang: str = "vi") -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title.in_language(lang),
            **self.lifecycle.to_json(),
            "parameters": [self.parameters[key].to_json() for key in sorted(self.parameters)],
        }

    def _typed(self, name: str, kind: type[_T]) -> _T:
        value = self.value(name)
        if not isinstance(value, kind):
            raise InvalidRuleSet(f"{self.name}: {name} is not a {kind.__name__}")
        return value

    def _set_of(self, name: str, element: type[_E]) -> frozenset[_E]:
        value = self._typed(name, frozenset)
        if not all(isinstance(item, element) for item in value):
            raise InvalidRuleSet(f"{self.name}: {name} holds a value that is not a {element.__name__}")
        return value

    # R-ELIG-1..4
    @property
    def eligible_org_kinds(self) -> frozenset[OrgKind]:
        return self._set_of("eligible_org_kinds", OrgKind)

    @property
    def eligibility_fraction(self) -> Fraction:
        return self._typed("eligibility_fraction", Fraction)

    @property
    def probationary_count_for_eligibility(self) -> bool:
        return self._typed("probationary_count_for_eligibility", bool)

    @property
    def special_character_reasons(self) -> frozenset[RemoteReason]:
        return self._set_of("special_character_reasons", RemoteReason)

    @property
    def special_circumstance_reasons(self) -> frozenset[RemoteReason]:
        return self._set_of("special_circumstance_reasons", RemoteReason)

    @property
    def remote_reasons(self) -> frozenset[RemoteReason]:
        """Every reason that makes a member count as unable to meet in person (R-ELIG-3 and R-ELIG-4)."""
        return self.special_character_reasons | self.special_circumstance_reasons

    # R-GROUP-2/3
    @property
    def group_pilot_org_kinds(self) -> frozenset[OrgKind]:
        return self._set_of("group_pilot_org_kinds", OrgKind)

    @property
    def group_pilot_min_members(self) -> int:
        return self._typed("group_pilot_min_members", int)

    @property
    def group_meetings_per_year_max(self) -> int:
        return self._typed("group_meetings_per_year_max", int)

    # R-FREQ-1..3
    @property
    def regular_meetings_per_month_min(self) -> int:
        return self._typed("regular_meetings_per_month_min", int)

    @property
    def thematic_meetings_per_quarter_min(self) -> int:
        return self._typed("thematic_meetings_per_quarter_min", int)

    @property
    def meeting_min_minutes(self) -> int:
        return self._typed("meeting_min_minutes", int)

    @property
    def combined_meeting_min_minutes(self) -> int:
        return self._typed("combined_meeting_min_minutes", int)

    @property
    def documents_lead_days(self) -> int:
        return self._typed("documents_lead_days", int)

    # R-CONTENT-1
    @property
    def content_barred_item_types(self) -> frozenset[ItemType]:
        return self._set_of("content_barred_item_types", ItemType)

    @property
    def content_barred_vote_kinds(self) -> frozenset[VoteKind]:
        return self._set_of("content_barred_vote_kinds", VoteKind)

    @property
    def content_barred_modes(self) -> frozenset[MeetingMode]:
        return self._set_of("content_barred_modes", MeetingMode)

    # R-BASE-3
    @property
    def excused_stay_in_voting_base(self) -> bool:
        return self._typed("excused_stay_in_voting_base", bool)

    # R-ATT-2/3
    @property
    def present_min_fraction(self) -> Fraction:
        return self._typed("present_min_fraction", Fraction)

    @property
    def late_after_minutes(self) -> int:
        return self._typed("late_after_minutes", int)

    @property
    def left_early_minutes(self) -> int:
        return self._typed("left_early_minutes", int)

    @property
    def disconnect_grace_seconds(self) -> int:
        return self._typed("disconnect_grace_seconds", int)

    @property
    def attendance_target_fraction(self) -> Fraction:
        return self._typed("attendance_target_fraction", Fraction)

    @property
    def excused_in_a_row_max(self) -> int:
        return self._typed("excused_in_a_row_max", int)

    # R-QUOR-1, R-VOTE-1, R-VOTE-3
    @property
    def quorum_fraction(self) -> Fraction:
        return self._typed("quorum_fraction", Fraction)

    @property
    def vote_pass_fraction(self) -> Fraction:
        return self._typed("vote_pass_fraction", Fraction)

    @property
    def two_thirds_fraction(self) -> Fraction:
        return self._typed("two_thirds_fraction", Fraction)

    @property
    def two_thirds_vote_kinds(self) -> frozenset[VoteKind]:
        return self._set_of("two_thirds_vote_kinds", VoteKind)

    # architecture.md, media topology
    @property
    def mesh_video_max_cameras(self) -> int:
        return self._typed("mesh_video_max_cameras", int)

    # R-MIN-1: the audit view flags minutes not adopted within this many days of the meeting
    @property
    def minutes_adoption_days_max(self) -> int:
        return self._typed("minutes_adoption_days_max", int)

    # R-ATT-4: a member taking part through another member's radio or phone (meetings.relays)
    @property
    def relayed_count_for_quorum(self) -> bool:
        return self._typed("relayed_count_for_quorum", bool)

    @property
    def relayed_may_vote(self) -> bool:
        return self._typed("relayed_may_vote", bool)


HD03_2022 = RuleSet(
    "hd03-2022",
    Text(
        "Hướng dẫn 03-HD/TW ngày 27/12/2022 và các quy định của Điều lệ Đảng liên quan",
        "Guideline 03-HD/TW of 27/12/2022 and the Party Charter rules it relies on",
    ),
    {parameter.name: parameter for parameter in HD03_PARAMETERS},
    # No document ending, extending or replacing the pilot was found (rules.md, research to 2026).
    Lifecycle(
        Status.PILOT,
        date(2022, 12, 27),
        sources=("Hướng dẫn 03-HD/TW ngày 27/12/2022 của Ban Bí thư",),
    ),
)

BUILT_IN: Mapping[str, RuleSet] = MappingProxyType({HD03_2022.name: HD03_2022})


def get_rule_set(name: str) -> RuleSet:
    try:
        return BUILT_IN[name]
    except KeyError:
        raise UnknownRuleSet(name) from None
