"""Rule sets (bộ quy tắc): every threshold of rules.md as a named parameter with its source and confidence."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction
from types import MappingProxyType
from typing import Any, TypeVar

from meetings.decision import Text
from meetings.enums import ItemType, MeetingMode, OrgKind, RemoteReason, VoteKind

_T = TypeVar("_T")
_E = TypeVar("_E", bound=StrEnum)


class Confidence(StrEnum):
    """How sure we are of a parameter's value (rules.md, "Confidence")."""

    CONFIRMED = "confirmed"
    SECONDARY = "secondary"
    PLATFORM_DEFAULT = "platform_default"


class UnknownRuleSet(KeyError):
    """No rule set has this name."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name

    def __str__(self) -> str:
        return f"unknown rule set {self.name!r}"


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
            "value": _json_value(self.value),
            "source": self.source,
            "confidence": self.confidence.value,
            "rule": self.rule,
        }


# What every rule set must hold: the type of each parameter and, for sets, of their elements.
# An operator's rule set is checked against this, so a rule never meets a missing or mistyped value.
_SCHEMA: Mapping[str, tuple[type, type | None]] = MappingProxyType(
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
    }
)

PARAMETER_NAMES: tuple[str, ...] = tuple(_SCHEMA)


@dataclass(frozen=True)
class RuleSet:
    """A versioned, named bundle of parameters; a unit is bound to one rule set at a time."""

    name: str
    title: Text
    parameters: Mapping[str, Parameter] = field(repr=False)

    def __post_init__(self) -> None:
        # Read-only view, so a shared built-in rule set cannot be changed by a caller.
        object.__setattr__(self, "parameters", MappingProxyType(dict(self.parameters)))
        for key, parameter in self.parameters.items():
            if key != parameter.name:
                raise InvalidRuleSet(f"{self.name}: parameter {parameter.name!r} filed under {key!r}")
        missing = sorted(set(_SCHEMA) - set(self.parameters))
        if missing:
            raise InvalidRuleSet(f"{self.name}: missing parameters {', '.join(missing)}")
        for name, (kind, element) in _SCHEMA.items():
            _check_type(self.name, name, self.parameters[name].value, kind, element)

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
    ) -> RuleSet:
        """A new rule set that differs from this one in `values`, all taken from `source`."""
        unknown = sorted(set(values) - set(self.parameters))
        if unknown:
            raise InvalidRuleSet(f"{name}: unknown parameters {', '.join(unknown)}")
        changed = {
            key: Parameter(key, value, source, confidence, self.parameters[key].rule)
            for key, value in values.items()
        }
        return RuleSet(name, title, {**self.parameters, **changed})

    def to_json(self, lang: str = "vi") -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title.in_language(lang),
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


def _check_type(rule_set: str, name: str, value: Any, kind: type, element: type | None) -> None:
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


def _json_value(value: Any) -> Any:
    if isinstance(value, Fraction):
        return {"fraction": f"{value.numerator}/{value.denominator}", "decimal": float(value)}
    if isinstance(value, frozenset):
        return sorted(str(item) for item in value)
    return value


_HD03 = "Hướng dẫn 03-HD/TW ngày 27/12/2022 của Ban Bí thư"
_CHARTER = "Điều lệ Đảng và các quy định, hướng dẫn thi hành"
_PLATFORM = "Mặc định của nền tảng (chưa tìm thấy văn bản quy định)"
_CELL_LIFE = "Quy định, hướng dẫn về sinh hoạt chi bộ (rules.md chưa ghi số văn bản)"


def _p(name: str, value: Any, rule: str, source: str, confidence: Confidence) -> Parameter:
    return Parameter(name, value, f"{source} (rules.md {rule})", confidence, rule)


_C, _S, _D = Confidence.CONFIRMED, Confidence.SECONDARY, Confidence.PLATFORM_DEFAULT

_HD03_PARAMETERS = (
    _p(
        "eligible_org_kinds",
        frozenset({OrgKind.GRASSROOTS, OrgKind.CELL}),
        "R-ELIG-1",
        f"{_HD03}, phần 1",
        _C,
    ),
    _p("eligibility_fraction", Fraction(1, 2), "R-ELIG-2", f"{_HD03}, phần 1: hơn một nửa", _C),
    _p("probationary_count_for_eligibility", True, "R-ELIG-2", f"{_PLATFORM}: dự bị vẫn là đảng viên", _D),
    _p(
        "special_character_reasons",
        frozenset(
            {
                RemoteReason.ABROAD,
                RemoteReason.MULTI_PROVINCE,
                RemoteReason.FAR_FROM_HOME,
                RemoteReason.STUDENT_SUMMER,
                RemoteReason.ARMED_FORCES,
                RemoteReason.HEALTH,
                RemoteReason.FOREST_RANGER,
                RemoteReason.SEAFARER_OFFSHORE_ISLAND,
            }
        ),
        "R-ELIG-3",
        f"{_HD03}, phần 1: tính chất đặc thù",
        _C,
    ),
    _p(
        "special_circumstance_reasons",
        frozenset({RemoteReason.DISASTER, RemoteReason.EPIDEMIC, RemoteReason.OTHER_CIRCUMSTANCE}),
        "R-ELIG-4",
        f"{_PLATFORM}: hoàn cảnh đặc biệt",
        _D,
    ),
    _p("group_pilot_org_kinds", frozenset({OrgKind.CELL}), "R-GROUP-2", f"{_HD03}, phần 2", _S),
    _p("group_pilot_min_members", 50, "R-GROUP-2", f"{_HD03}, phần 2 (nguồn thứ cấp)", _S),
    _p("group_meetings_per_year_max", 3, "R-GROUP-3", f"{_HD03}, phần 2 (nguồn thứ cấp)", _S),
    _p("regular_meetings_per_month_min", 1, "R-FREQ-1", f"{_CELL_LIFE}: sinh hoạt thường kỳ", _C),
    _p("thematic_meetings_per_quarter_min", 1, "R-FREQ-1", f"{_CELL_LIFE}: sinh hoạt chuyên đề", _C),
    _p("meeting_min_minutes", 90, "R-FREQ-2", f"{_CELL_LIFE}: thời lượng sinh hoạt", _C),
    _p("combined_meeting_min_minutes", 120, "R-FREQ-2", f"{_CELL_LIFE}: thường kỳ kết hợp chuyên đề", _C),
    _p("documents_lead_days", 1, "R-FREQ-3", f"{_CELL_LIFE}, năm 2025: gửi tài liệu trước", _C),
    _p(
        "content_barred_item_types",
        frozenset(
            {
                ItemType.PERSONNEL,
                ItemType.ELECTION,
                ItemType.DISCIPLINE,
                ItemType.ADMISSION,
                ItemType.STATE_SECRET,
            }
        ),
        "R-CONTENT-1",
        f"{_PLATFORM}; quy định bảo vệ bí mật nhà nước",
        _D,
    ),
    _p(
        "content_barred_vote_kinds",
        frozenset({VoteKind.ADMISSION, VoteKind.RECOGNITION}),
        "R-CONTENT-1",
        f"{_PLATFORM}: kết nạp, công nhận đảng viên chính thức",
        _D,
    ),
    _p(
        "content_barred_modes",
        frozenset({MeetingMode.ONLINE, MeetingMode.HYBRID}),
        "R-CONTENT-1",
        f"{_PLATFORM}: trực tuyến và kết hợp",
        _D,
    ),
    _p("excused_stay_in_voting_base", True, "R-BASE-3", f"{_PLATFORM}: loại trừ chỉ áp dụng cho đại hội", _D),
    _p("present_min_fraction", Fraction(1, 2), "R-ATT-2", f"{_PLATFORM}: có mặt", _D),
    _p("late_after_minutes", 15, "R-ATT-2", f"{_PLATFORM}: đến muộn", _D),
    _p("left_early_minutes", 15, "R-ATT-2", f"{_PLATFORM}: về sớm", _D),
    _p("disconnect_grace_seconds", 120, "R-ATT-2", f"{_PLATFORM}: mất kết nối ngắn", _D),
    _p("attendance_target_fraction", Fraction(17, 20), "R-ATT-3", f"{_CELL_LIFE}: trên 85% có mặt", _C),
    _p("excused_in_a_row_max", 3, "R-ATT-3", f"{_CELL_LIFE}: vắng có lý do liên tiếp", _C),
    _p("quorum_fraction", Fraction(1, 2), "R-QUOR-1", f"{_PLATFORM}, suy từ R-VOTE-1", _D),
    _p("vote_pass_fraction", Fraction(1, 2), "R-VOTE-1", f"{_CHARTER}: quá nửa", _C),
    _p("two_thirds_fraction", Fraction(2, 3), "R-VOTE-3", f"{_CHARTER}: ít nhất hai phần ba", _C),
    _p(
        "two_thirds_vote_kinds",
        frozenset({VoteKind.ADMISSION, VoteKind.RECOGNITION}),
        "R-VOTE-3",
        f"{_CHARTER}: kết nạp, công nhận đảng viên chính thức",
        _C,
    ),
    _p("mesh_video_max_cameras", 4, "architecture.md", f"{_PLATFORM}: mạng lưới ngang hàng", _D),
    _p("minutes_adoption_days_max", 7, "R-MIN-1", f"{_PLATFORM}: thời hạn thông qua biên bản", _D),
)

HD03_2022 = RuleSet(
    "hd03-2022",
    Text(
        "Hướng dẫn 03-HD/TW ngày 27/12/2022 và các quy định của Điều lệ Đảng liên quan",
        "Guideline 03-HD/TW of 27/12/2022 and the Party Charter rules it relies on",
    ),
    {parameter.name: parameter for parameter in _HD03_PARAMETERS},
)

BUILT_IN: Mapping[str, RuleSet] = MappingProxyType({HD03_2022.name: HD03_2022})


def get_rule_set(name: str) -> RuleSet:
    try:
        return BUILT_IN[name]
    except KeyError:
        raise UnknownRuleSet(name) from None
