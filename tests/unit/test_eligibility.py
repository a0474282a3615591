"""Who may pilot online meetings (R-ELIG-1..4) and party-group meetings (R-GROUP-2)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meetings.decision import Decision, Text
from meetings.eligibility import group_eligibility, unit_eligibility
from meetings.enums import Activity, OrgKind, RemoteReason, Standing
from meetings.register import MemberFacts
from meetings.rulesets import HD03_2022, RuleSet

OFFICIAL, PROBATIONARY = Standing.OFFICIAL, Standing.PROBATIONARY
PROBATIONARY_OUT = HD03_2022.with_values(
    "test-probationary-out",
    Text("Thử: không tính dự bị", "Test: probationary not counted"),
    {"probationary_count_for_eligibility": False},
    "test",
)
NO_DISASTER = HD03_2022.with_values(
    "test-no-disaster",
    Text("Thử: không có thiên tai", "Test: no disaster reason"),
    {"special_circumstance_reasons": frozenset({RemoteReason.EPIDEMIC})},
    "test",
)


def _bilingual(decision: Decision) -> None:
    vi, en = decision.explanation.vi, decision.explanation.en
    assert vi and en and vi != en
    assert any(ord(char) > 127 for char in vi), vi
    assert decision.rule in vi and decision.rule in en


def _unit(
    remote: int,
    local: int,
    *,
    standing: Standing = OFFICIAL,
    activity: Activity = Activity.ACTIVE,
    reason: RemoteReason = RemoteReason.SEAFARER_OFFSHORE_ISLAND,
) -> list[MemberFacts]:
    """`remote` members with a reason, then `local` members without, all of one standing and activity."""
    members = [MemberFacts(i, standing, activity, reason) for i in range(remote)]
    return members + [MemberFacts(remote + i, standing, activity, None) for i in range(local)]


def _renumber(*groups: list[MemberFacts]) -> list[MemberFacts]:
    flat = [member for group in groups for member in group]
    return [MemberFacts(i, m.standing, m.activity, m.remote_reason) for i, m in enumerate(flat, start=1)]


def _case(
    name: str,
    register: list[MemberFacts],
    eligible: bool,
    counted: int,
    unable: int,
    *,
    kind: OrgKind = OrgKind.CELL,
    rule_set: RuleSet = HD03_2022,
    rule: str = "R-ELIG-2",
) -> Any:
    return pytest.param(kind, register, rule_set, eligible, rule, counted, unable, id=name)


UNIT_CASES = [
    _case("R-ELIG-2 exactly half does not qualify", _unit(6, 6), False, 12, 6),
    _case("R-ELIG-2 half plus one qualifies", _unit(7, 5), True, 12, 7),
    _case("R-ELIG-2 three of five qualifies", _unit(3, 2), True, 5, 3),
    _case("R-ELIG-2 two of five does not", _unit(2, 3), False, 5, 2),
    _case("R-ELIG-2 empty register does not qualify", [], False, 0, 0),
    _case(
        "R-BASE-1 exempt members leave the register, so 6 of 11 qualifies",
        _renumber(_unit(6, 5), _unit(0, 2, activity=Activity.EXEMPT)),
        True,
        11,
        6,
    ),
    _case(
        "R-BASE-1 suspended remote members do not count",
        _renumber(_unit(5, 6), _unit(2, 0, activity=Activity.SUSPENDED)),
        False,
        11,
        5,
    ),
    _case(
        "R-ELIG-2 probationary members count by default",
        _renumber(_unit(5, 5), _unit(2, 0, standing=PROBATIONARY)),
        True,
        12,
        7,
    ),
    _case(
        "R-ELIG-2 probationary members not counted when the parameter says so",
        _renumber(_unit(5, 5), _unit(2, 0, standing=PROBATIONARY)),
        False,
        10,
        5,
        rule_set=PROBATIONARY_OUT,
    ),
    _case(
        "R-ELIG-4 a reason outside the rule set does not count",
        _unit(7, 5, reason=RemoteReason.DISASTER),
        False,
        12,
        0,
        rule_set=NO_DISASTER,
    ),
    _case("R-ELIG-4 a special circumstance counts", _unit(7, 5, reason=RemoteReason.EPIDEMIC), True, 12, 7),
    _case("R-ELIG-1 grassroots may pilot", _unit(7, 5), True, 12, 7, kind=OrgKind.GRASSROOTS),
    _case(
        "R-ELIG-1 province may not pilot", _unit(12, 0), False, 12, 12, kind=OrgKind.PROVINCE, rule="R-ELIG-1"
    ),
    _case(
        "R-ELIG-1 committee may not pilot",
        _unit(12, 0),
        False,
        12,
        12,
        kind=OrgKind.COMMITTEE,
        rule="R-ELIG-1",
    ),
    _case(
        "R-ELIG-1 party group may not pilot", _unit(12, 0), False, 12, 12, kind=OrgKind.GROUP, rule="R-ELIG-1"
    ),
]


@pytest.mark.parametrize(
    ("kind", "register", "rule_set", "eligible", "rule", "counted", "unable"), UNIT_CASES
)
def test_unit_eligibility(
    kind: OrgKind,
    register: list[MemberFacts],
    rule_set: RuleSet,
    eligible: bool,
    rule: str,
    counted: int,
    unable: int,
) -> None:
    decision = unit_eligibility(kind, register, rule_set)
    assert decision.outcome is eligible
    assert decision.rule == rule
    assert decision.rule_set == rule_set.name
    assert decision.counts["register"] == counted
    assert decision.counts["cannot_meet_in_person"] == unable
    assert f"{unable}/{counted}" in decision.explanation.vi
    assert f"{unable}/{counted}" in decision.explanation.en
    _bilingual(decision)


def test_eligible_explanation_reads_as_the_spec_says() -> None:
    decision = unit_eligibility(OrgKind.CELL, _unit(7, 5), HD03_2022)
    assert decision.explanation.vi == (
        "Đủ điều kiện: 7/12 đảng viên trong danh sách sinh hoạt không thể sinh hoạt trực tiếp, "
        "hơn một nửa (R-ELIG-2)."
    )
    assert decision.explanation.en == (
        "Eligible: 7/12 members of the active register cannot meet in person, more than half (R-ELIG-2)."
    )


def test_exactly_half_says_so_and_what_is_needed() -> None:
    decision = unit_eligibility(OrgKind.CELL, _unit(6, 6), HD03_2022)
    assert "đúng một nửa" in decision.explanation.vi
    assert "cần ít nhất 7" in decision.explanation.vi
    assert "exactly half" in decision.explanation.en
    assert decision.counts["needed"] == 7


def test_left_out_members_are_named_in_the_explanation() -> None:
    register = _renumber(
        _unit(6, 5), _unit(0, 2, activity=Activity.EXEMPT), _unit(1, 0, standing=PROBATIONARY)
    )
    decision = unit_eligibility(OrgKind.CELL, register, PROBATIONARY_OUT)
    assert decision.counts["exempt"] == 2
    assert decision.counts["probationary_not_counted"] == 1
    assert (
        "Không tính 2 đảng viên được miễn công tác và sinh hoạt đảng (R-BASE-1)." in decision.explanation.vi
    )
    assert "1 đảng viên dự bị" in decision.explanation.vi


def test_reasons_are_broken_down() -> None:
    register = _renumber(
        _unit(2, 0, reason=RemoteReason.ABROAD),
        _unit(3, 0, reason=RemoteReason.ARMED_FORCES),
        _unit(0, 1),
    )
    decision = unit_eligibility(OrgKind.CELL, register, HD03_2022)
    assert decision.details["by_reason"] == {"abroad": 2, "armed_forces": 3}
    assert decision.details["cannot_meet_in_person_ids"] == [1, 2, 3, 4, 5]


def test_to_json_speaks_vietnamese_by_default_and_english_on_request() -> None:
    decision = unit_eligibility(OrgKind.CELL, _unit(7, 5), HD03_2022)
    assert decision.to_json()["explanation"] == decision.explanation.vi
    assert decision.to_json("vi")["explanation"] == decision.explanation.vi
    assert decision.to_json("en")["explanation"] == decision.explanation.en
    body = decision.to_json("en")
    assert body["outcome"] is True
    assert body["rule"] == "R-ELIG-2"
    assert body["rule_set"] == "hd03-2022"
    assert body["counts"]["register"] == 12
    assert body["counts"]["cannot_meet_in_person"] == 7


@pytest.mark.parametrize(
    ("kind", "members", "groups", "allowed", "failed"),
    [
        pytest.param(OrgKind.CELL, 50, 3, True, [], id="R-GROUP-2 50 members with groups may meet by group"),
        pytest.param(
            OrgKind.CELL, 49, 3, False, ["too_few_members"], id="R-GROUP-2 49 members with groups may not"
        ),
        pytest.param(
            OrgKind.CELL, 50, 0, False, ["no_groups"], id="R-GROUP-2 50 members without groups may not"
        ),
        pytest.param(
            OrgKind.CELL,
            49,
            0,
            False,
            ["no_groups", "too_few_members"],
            id="R-GROUP-2 49 without groups fails both",
        ),
        pytest.param(
            OrgKind.GRASSROOTS, 80, 4, False, ["not_a_cell"], id="R-GROUP-2 only a cell may meet by group"
        ),
    ],
)
def test_group_eligibility(
    kind: OrgKind, members: int, groups: int, allowed: bool, failed: list[str]
) -> None:
    decision = group_eligibility(kind, _unit(0, members), groups, HD03_2022)
    assert decision.outcome is allowed
    assert decision.rule == "R-GROUP-2"
    assert decision.counts == {"members": members, "groups": groups, "min_members": 50}
    assert decision.details["failed"] == failed
    assert str(members) in decision.explanation.vi and str(members) in decision.explanation.en
    _bilingual(decision)


def test_group_eligibility_counts_the_active_register_only() -> None:
    register = _renumber(
        _unit(0, 48), _unit(0, 2, activity=Activity.EXEMPT), _unit(0, 1, standing=PROBATIONARY)
    )
    decision = group_eligibility(OrgKind.CELL, register, 2, HD03_2022)
    assert decision.counts["members"] == 49
    assert decision.outcome is False
    assert "chưa đủ 50 đảng viên" in decision.explanation.vi


def test_negative_group_count_is_a_caller_error() -> None:
    with pytest.raises(ValueError):
        group_eligibility(OrgKind.CELL, [], -1, HD03_2022)


_members = st.builds(
    MemberFacts,
    member_id=st.integers(min_value=1, max_value=10_000),
    standing=st.sampled_from(Standing),
    activity=st.sampled_from(Activity),
    remote_reason=st.none() | st.sampled_from(RemoteReason),
)
_registers = st.lists(_members, max_size=40)
_rule_sets = st.sampled_from([HD03_2022, PROBATIONARY_OUT, NO_DISASTER])


@settings(max_examples=200)
@given(
    register=_registers,
    extra=st.builds(
        MemberFacts,
        member_id=st.just(99_999),
        standing=st.sampled_from(Standing),
        activity=st.sampled_from([Activity.EXEMPT, Activity.SUSPENDED]),
        remote_reason=st.none() | st.sampled_from(RemoteReason),
    ),
    rule_set=_rule_sets,
)
def test_adding_an_exempt_or_suspended_member_never_changes_eligibility(
    register: list[MemberFacts], extra: MemberFacts, rule_set: RuleSet
) -> None:
    before = unit_eligibility(OrgKind.CELL, register, rule_set)
    after = unit_eligibility(OrgKind.CELL, [*register, extra], rule_set)
    assert after.outcome == before.outcome
    assert after.counts["register"] == before.counts["register"]
    assert after.counts["cannot_meet_in_person"] == before.counts["cannot_meet_in_person"]


@settings(max_examples=200)
@given(
    register=_registers,
    reason=st.sampled_from(sorted(HD03_2022.remote_reasons)),
    standing=st.sampled_from(Standing),
    kind=st.sampled_from(OrgKind),
)
def test_adding_a_remote_member_never_turns_eligible_into_not_eligible(
    register: list[MemberFacts], reason: RemoteReason, standing: Standing, kind: OrgKind
) -> None:
    remote = MemberFacts(99_999, standing, Activity.ACTIVE, reason)
    before = unit_eligibility(kind, register, HD03_2022)
    after = unit_eligibility(kind, [*register, remote], HD03_2022)
    assert after.outcome or not before.outcome


@settings(max_examples=200)
@given(register=_registers, rule_set=_rule_sets)
def test_eligible_exactly_when_more_than_half_of_the_counted_register(
    register: list[MemberFacts], rule_set: RuleSet
) -> None:
    decision = unit_eligibility(OrgKind.CELL, register, rule_set)
    unable, total = decision.counts["cannot_meet_in_person"], decision.counts["register"]
    assert decision.outcome is (unable * 2 > total)
    assert (unable >= decision.counts["needed"]) is decision.outcome
