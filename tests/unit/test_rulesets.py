"""The built-in rule set holds every threshold of rules.md, typed and sourced; the registry finds it."""

from __future__ import annotations

import json
from fractions import Fraction
from typing import Any

import pytest

from meetings.decision import Text
from meetings.enums import ItemType, MeetingMode, OrgKind, RemoteReason, VoteKind
from meetings.rulesets import (
    BUILT_IN,
    HD03_2022,
    PARAMETER_NAMES,
    Confidence,
    InvalidRuleSet,
    Parameter,
    RuleSet,
    UnknownRuleSet,
    get_rule_set,
)

EXPECTED_VALUES = [
    pytest.param("eligible_org_kinds", {OrgKind.GRASSROOTS, OrgKind.CELL}, id="R-ELIG-1 grassroots and cell"),
    pytest.param("eligibility_fraction", Fraction(1, 2), id="R-ELIG-2 more than half"),
    pytest.param("probationary_count_for_eligibility", True, id="R-ELIG-2 probationary count by default"),
    pytest.param(
        "special_character_reasons",
        {
            RemoteReason.ABROAD,
            RemoteReason.MULTI_PROVINCE,
            RemoteReason.FAR_FROM_HOME,
            RemoteReason.STUDENT_SUMMER,
            RemoteReason.ARMED_FORCES,
            RemoteReason.HEALTH,
            RemoteReason.FOREST_RANGER,
            RemoteReason.SEAFARER_OFFSHORE_ISLAND,
        },
        id="R-ELIG-3 special-character reasons",
    ),
    pytest.param(
        "special_circumstance_reasons",
        {RemoteReason.DISASTER, RemoteReason.EPIDEMIC, RemoteReason.OTHER_CIRCUMSTANCE},
        id="R-ELIG-4 special-circumstance reasons",
    ),
    pytest.param("group_pilot_min_members", 50, id="R-GROUP-2 at least 50 members"),
    pytest.param("group_meetings_per_year_max", 3, id="R-GROUP-3 at most 3 group months a year"),
    pytest.param("meeting_min_minutes", 90, id="R-FREQ-2 90 minutes"),
    pytest.param("combined_meeting_min_minutes", 120, id="R-FREQ-2 120 minutes combined"),
    pytest.param(
        "content_barred_item_types",
        {
            ItemType.PERSONNEL,
            ItemType.ELECTION,
            ItemType.DISCIPLINE,
            ItemType.ADMISSION,
            ItemType.STATE_SECRET,
        },
        id="R-CONTENT-1 barred item types",
    ),
    pytest.param(
        "content_barred_modes", {MeetingMode.ONLINE, MeetingMode.HYBRID}, id="R-CONTENT-1 barred modes"
    ),
    pytest.param(
        "content_barred_vote_kinds", {VoteKind.ADMISSION, VoteKind.RECOGNITION}, id="R-CONTENT-1 barred votes"
    ),
    pytest.param("excused_stay_in_voting_base", True, id="R-BASE-3 excused stay in the base"),
    pytest.param("present_min_fraction", Fraction(1, 2), id="R-ATT-2 present for half the meeting"),
    pytest.param("late_after_minutes", 15, id="R-ATT-2 late after 15 minutes"),
    pytest.param("left_early_minutes", 15, id="R-ATT-2 left early 15 minutes"),
    pytest.param("disconnect_grace_seconds", 120, id="R-ATT-2 120 s disconnection grace"),
    pytest.param("attendance_target_fraction", Fraction(85, 100), id="R-ATT-3 85 percent target"),
    pytest.param("excused_in_a_row_max", 3, id="R-ATT-3 excused 3 times in a row"),
    pytest.param("quorum_fraction", Fraction(1, 2), id="R-QUOR-1 more than half"),
    pytest.param("vote_pass_fraction", Fraction(1, 2), id="R-VOTE-1 more than half of the base"),
    pytest.param("two_thirds_fraction", Fraction(2, 3), id="R-VOTE-3 two thirds"),
    pytest.param(
        "two_thirds_vote_kinds",
        {VoteKind.ADMISSION, VoteKind.RECOGNITION},
        id="R-VOTE-3 admission, recognition",
    ),
    pytest.param("mesh_video_max_cameras", 4, id="architecture mesh video at most 4 cameras"),
    pytest.param("minutes_adoption_days_max", 7, id="R-MIN-1 minutes adopted within 7 days"),
]


@pytest.mark.parametrize(("name", "expected"), EXPECTED_VALUES)
def test_built_in_value(name: str, expected: Any) -> None:
    assert HD03_2022.value(name) == expected
    assert getattr(HD03_2022, name) == expected


@pytest.mark.parametrize(
    ("name", "confidence"),
    [
        pytest.param("eligible_org_kinds", Confidence.CONFIRMED, id="R-ELIG-1 confirmed"),
        pytest.param(
            "probationary_count_for_eligibility", Confidence.PLATFORM_DEFAULT, id="R-ELIG-2 default"
        ),
        pytest.param("special_circumstance_reasons", Confidence.PLATFORM_DEFAULT, id="R-ELIG-4 default"),
        pytest.param("group_pilot_min_members", Confidence.SECONDARY, id="R-GROUP-2 secondary"),
        pytest.param("excused_stay_in_voting_base", Confidence.PLATFORM_DEFAULT, id="R-BASE-3 default"),
        pytest.param("vote_pass_fraction", Confidence.CONFIRMED, id="R-VOTE-1 confirmed"),
        pytest.param("minutes_adoption_days_max", Confidence.PLATFORM_DEFAULT, id="R-MIN-1 default"),
    ],
)
def test_confidence_follows_rules_md(name: str, confidence: Confidence) -> None:
    assert HD03_2022.parameters[name].confidence is confidence


def test_every_parameter_has_a_source_and_a_rule() -> None:
    assert set(HD03_2022.parameters) == set(PARAMETER_NAMES)
    for name, parameter in HD03_2022.parameters.items():
        assert parameter.name == name
        assert parameter.source, name
        assert parameter.rule and parameter.rule in parameter.source, name
        assert isinstance(parameter.confidence, Confidence)


def test_typed_properties_have_their_types() -> None:
    assert isinstance(HD03_2022.group_pilot_min_members, int)
    assert isinstance(HD03_2022.quorum_fraction, Fraction)
    assert isinstance(HD03_2022.probationary_count_for_eligibility, bool)
    assert HD03_2022.remote_reasons == frozenset(RemoteReason)


def test_registry_finds_the_built_in_rule_set() -> None:
    assert get_rule_set("hd03-2022") is HD03_2022
    assert BUILT_IN == {"hd03-2022": HD03_2022}


def test_unknown_rule_set_is_a_key_error_naming_it() -> None:
    with pytest.raises(UnknownRuleSet) as caught:
        get_rule_set("hd99-2030")
    assert isinstance(caught.value, KeyError)
    assert "hd99-2030" in str(caught.value)


def test_to_json_lists_every_parameter_and_serialises() -> None:
    body = HD03_2022.to_json()
    assert body["name"] == "hd03-2022"
    assert body["title"].startswith("Hướng dẫn 03-HD/TW")
    listed = {item["name"]: item for item in body["parameters"]}
    assert set(listed) == set(PARAMETER_NAMES)
    assert listed["group_pilot_min_members"] == {
        "name": "group_pilot_min_members",
        "value": 50,
        "source": HD03_2022.parameters["group_pilot_min_members"].source,
        "confidence": "secondary",
        "rule": "R-GROUP-2",
    }
    assert listed["quorum_fraction"]["value"] == {"fraction": "1/2", "decimal": 0.5}
    assert listed["content_barred_modes"]["value"] == ["hybrid", "online"]
    json.dumps(body, ensure_ascii=False)
    assert HD03_2022.to_json("en")["title"].startswith("Guideline 03-HD/TW")


def test_a_later_document_can_change_a_threshold() -> None:
    later = HD03_2022.with_values(
        "later-2026", Text("Văn bản sau", "A later document"), {"group_pilot_min_members": 40}, "Văn bản X"
    )
    assert later.group_pilot_min_members == 40
    assert later.parameters["group_pilot_min_members"].source == "Văn bản X"
    assert later.parameters["group_pilot_min_members"].rule == "R-GROUP-2"
    assert HD03_2022.group_pilot_min_members == 50


@pytest.mark.parametrize(
    "values",
    [
        pytest.param({"group_pilot_min_members": True}, id="a bool is not a count"),
        pytest.param({"group_pilot_min_members": "50"}, id="a string is not a count"),
        pytest.param({"group_pilot_min_members": -1}, id="a count is not negative"),
        pytest.param({"quorum_fraction": 0.5}, id="a fraction is exact, not a float"),
        pytest.param({"quorum_fraction": Fraction(3, 2)}, id="a fraction lies between 0 and 1"),
        pytest.param({"special_character_reasons": frozenset({"abroad"})}, id="reasons are RemoteReason"),
        pytest.param({"no_such_parameter": 1}, id="unknown parameter"),
    ],
)
def test_an_operator_rule_set_is_checked(values: dict[str, Any]) -> None:
    with pytest.raises(InvalidRuleSet):
        HD03_2022.with_values("bad", Text("Sai", "Bad"), values, "test")


def test_a_rule_set_missing_a_parameter_is_refused() -> None:
    parameters = dict(HD03_2022.parameters)
    del parameters["quorum_fraction"]
    with pytest.raises(InvalidRuleSet, match="quorum_fraction"):
        RuleSet("short", Text("Thiếu", "Short"), parameters)


def test_a_parameter_filed_under_another_name_is_refused() -> None:
    parameters = dict(HD03_2022.parameters)
    parameters["quorum_fraction"] = Parameter("vote_pass_fraction", Fraction(1, 2), "x", Confidence.CONFIRMED)
    with pytest.raises(InvalidRuleSet):
        RuleSet("misfiled", Text("Sai", "Bad"), parameters)


def test_built_in_parameters_cannot_be_changed_by_a_caller() -> None:
    with pytest.raises(TypeError):
        HD03_2022.parameters["group_pilot_min_members"] = HD03_2022.parameters["late_after_minutes"]  # type: ignore[index]


def test_value_of_an_unknown_parameter_names_it() -> None:
    with pytest.raises(KeyError, match="nope"):
        HD03_2022.value("nope")
