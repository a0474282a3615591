"""The active register (R-BASE-1) and the voting base of a meeting (R-BASE-2..4)."""

from __future__ import annotations

import pytest

from meetings.decision import Decision, Text
from meetings.enums import Activity, Standing
from meetings.register import MemberFacts, active_register, voting_base
from meetings.rulesets import HD03_2022, RuleSet

OFFICIAL, PROBATIONARY = Standing.OFFICIAL, Standing.PROBATIONARY
EXCUSED_LEAVE_BASE = HD03_2022.with_values(
    "test-excused-out",
    Text("Thử: vắng có lý do bị trừ", "Test: excused absentees leave the base"),
    {"excused_stay_in_voting_base": False},
    "test",
)


def _bilingual(decision: Decision) -> None:
    vi, en = decision.explanation.vi, decision.explanation.en
    assert vi and en and vi != en
    assert any(ord(char) > 127 for char in vi), vi
    assert decision.rule in vi and decision.rule in en


def _members(*specs: tuple[Standing, Activity]) -> list[MemberFacts]:
    return [MemberFacts(i, standing, activity) for i, (standing, activity) in enumerate(specs, start=1)]


def test_active_register_drops_exempt_and_suspended_and_keeps_order() -> None:
    members = _members(
        (OFFICIAL, Activity.ACTIVE),
        (OFFICIAL, Activity.EXEMPT),
        (PROBATIONARY, Activity.ACTIVE),
        (OFFICIAL, Activity.SUSPENDED),
        (OFFICIAL, Activity.AWAY_TEMPORARILY),
        (OFFICIAL, Activity.UNDER_PROSECUTION),
    )
    assert [member.member_id for member in active_register(members)] == [1, 3, 5, 6]


TWELVE_ACTIVE = [(OFFICIAL, Activity.ACTIVE)] * 12


@pytest.mark.parametrize(
    ("specs", "attending", "excused", "rule_set", "base", "count_key"),
    [
        pytest.param(
            TWELVE_ACTIVE, set(), set(), HD03_2022, 12, "official", id="R-BASE-2 every official counts"
        ),
        pytest.param(
            [*TWELVE_ACTIVE[:11], (OFFICIAL, Activity.AWAY_TEMPORARILY)],
            set(),
            set(),
            HD03_2022,
            11,
            "away_temporarily",
            id="R-BASE-2 member attending temporarily elsewhere is excluded",
        ),
        pytest.param(
            [*TWELVE_ACTIVE[:11], (OFFICIAL, Activity.SUSPENDED)],
            {12},
            set(),
            HD03_2022,
            11,
            "suspended",
            id="R-BASE-2 suspended member is excluded even when attending",
        ),
        pytest.param(
            [*TWELVE_ACTIVE[:11], (OFFICIAL, Activity.UNDER_PROSECUTION)],
            set(),
            set(),
            HD03_2022,
            11,
            "under_prosecution",
            id="R-BASE-2 member under prosecution is excluded",
        ),
        pytest.param(
            [*TWELVE_ACTIVE[:11], (OFFICIAL, Activity.EXEMPT)],
            set(),
            set(),
            HD03_2022,
            11,
            "exempt_absent",
            id="R-BASE-2 exempt member who is absent is excluded",
        ),
        pytest.param(
            [*TWELVE_ACTIVE[:11], (OFFICIAL, Activity.EXEMPT)],
            {12},
            set(),
            HD03_2022,
            12,
            "official",
            id="R-BASE-2 exempt member who attends counts",
        ),
        pytest.param(
            TWELVE_ACTIVE,
            set(),
            {11, 12},
            HD03_2022,
            12,
            "excused_kept",
            id="R-BASE-3 excused absentees stay",
        ),
        pytest.param(
            TWELVE_ACTIVE,
            set(),
            {11, 12},
            EXCUSED_LEAVE_BASE,
            10,
            "excused_absent",
            id="R-BASE-3 excused absentees leave when the parameter says so",
        ),
        pytest.param(
            TWELVE_ACTIVE,
            {12},
            {11, 12},
            EXCUSED_LEAVE_BASE,
            11,
            "excused_absent",
            id="R-BASE-3 an excused member who comes anyway counts",
        ),
        pytest.param(
            [*TWELVE_ACTIVE[:10], (PROBATIONARY, Activity.ACTIVE), (PROBATIONARY, Activity.ACTIVE)],
            {11, 12},
            set(),
            HD03_2022,
            10,
            "probationary",
            id="R-BASE-4 probationary members are never in the base",
        ),
    ],
)
def test_voting_base(
    specs: list[tuple[Standing, Activity]],
    attending: set[int],
    excused: set[int],
    rule_set: RuleSet,
    base: int,
    count_key: str,
) -> None:
    decision = voting_base(_members(*specs), frozenset(attending), frozenset(excused), rule_set)
    assert decision.outcome == base
    assert decision.counts["voting_base"] == base
    assert decision.counts[count_key] > 0
    assert len(decision.details["member_ids"]) == base
    assert str(base) in decision.explanation.vi and str(base) in decision.explanation.en
    _bilingual(decision)


def test_voting_base_reports_every_exclusion_and_sorted_ids() -> None:
    members = [
        MemberFacts(30, OFFICIAL, Activity.ACTIVE),
        MemberFacts(10, OFFICIAL, Activity.ACTIVE),
        MemberFacts(20, OFFICIAL, Activity.AWAY_TEMPORARILY),
        MemberFacts(40, OFFICIAL, Activity.EXEMPT),
        MemberFacts(50, PROBATIONARY, Activity.ACTIVE),
    ]
    decision = voting_base(members, frozenset({10, 30, 50}), frozenset(), HD03_2022)
    assert decision.rule == "R-BASE-2"
    assert decision.rule_set == "hd03-2022"
    assert decision.counts == {
        "voting_base": 2,
        "summoned": 5,
        "official": 4,
        "probationary": 1,
        "away_temporarily": 1,
        "suspended": 0,
        "under_prosecution": 0,
        "exempt_absent": 1,
        "excused_absent": 0,
        "excused_kept": 0,
    }
    assert decision.details["member_ids"] == [10, 30]
    assert decision.details["excluded_ids"] == {"away_temporarily": [20], "exempt_absent": [40]}
    assert decision.explanation.vi == (
        "Căn cứ tính biểu quyết (R-BASE-2): 2 đảng viên chính thức, từ 4 đảng viên chính thức được triệu "
        "tập, trừ 1 đảng viên đang sinh hoạt tạm thời nơi khác, 1 đảng viên vắng mặt do được miễn công tác "
        "và sinh hoạt đảng. Đảng viên dự bị (1) dự họp nhưng không biểu quyết (R-BASE-4)."
    )
    assert decision.explanation.en == (
        "Voting base (R-BASE-2): 2 official members, from 4 official members summoned, minus 1 member "
        "attending temporarily elsewhere, 1 member absent and exempt from party work and meetings. "
        "Probationary members (1) attend but do not vote (R-BASE-4)."
    )


def test_empty_summons_gives_an_empty_base() -> None:
    decision = voting_base([], frozenset(), frozenset(), HD03_2022)
    assert decision.outcome == 0
    assert decision.details["member_ids"] == []
    _bilingual(decision)


def test_a_member_summoned_twice_is_a_caller_error() -> None:
    twice = [MemberFacts(1, OFFICIAL, Activity.ACTIVE), MemberFacts(1, OFFICIAL, Activity.ACTIVE)]
    with pytest.raises(ValueError, match="twice"):
        voting_base(twice, frozenset(), frozenset(), HD03_2022)
