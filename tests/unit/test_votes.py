"""Who may cast a ballot (R-VOTE-2) and when a vote passes (R-VOTE-1, R-VOTE-3)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meetings.decision import Decision
from meetings.enums import Activity, Standing, VoteKind, VoteOutcome
from meetings.rulesets import HD03_2022
from meetings.votes import ballot_allowed, vote_result

OFFICIAL, PROBATIONARY = Standing.OFFICIAL, Standing.PROBATIONARY
PASSED, FAILED = VoteOutcome.PASSED.value, VoteOutcome.FAILED.value


def _bilingual(decision: Decision) -> None:
    vi, en = decision.explanation.vi, decision.explanation.en
    assert vi and en and vi != en
    assert any(ord(char) > 127 for char in vi), vi
    assert decision.rule in vi and decision.rule in en


BALLOT_CASES = [
    pytest.param(
        OFFICIAL, Activity.ACTIVE, True, False, True, "allowed", id="R-VOTE-2 official present may vote"
    ),
    pytest.param(
        OFFICIAL,
        Activity.EXEMPT,
        True,
        False,
        True,
        "allowed",
        id="R-BASE-2 exempt member who attends may vote",
    ),
    pytest.param(
        PROBATIONARY,
        Activity.ACTIVE,
        True,
        False,
        False,
        "probationary",
        id="R-VOTE-2 probationary ballot refused",
    ),
    pytest.param(
        OFFICIAL, Activity.ACTIVE, False, False, False, "not_present", id="R-VOTE-2 absent member refused"
    ),
    pytest.param(
        OFFICIAL, Activity.ACTIVE, True, True, False, "already_voted", id="R-VOTE-2 second ballot refused"
    ),
    pytest.param(
        OFFICIAL, Activity.SUSPENDED, True, False, False, "suspended", id="R-BASE-2 suspended member refused"
    ),
    pytest.param(
        OFFICIAL,
        Activity.UNDER_PROSECUTION,
        True,
        False,
        False,
        "under_prosecution",
        id="R-BASE-2 member under prosecution refused",
    ),
    pytest.param(
        OFFICIAL,
        Activity.AWAY_TEMPORARILY,
        True,
        False,
        False,
        "away_temporarily",
        id="R-BASE-2 member attending temporarily elsewhere refused",
    ),
]


@pytest.mark.parametrize(("standing", "activity", "present", "voted", "allowed", "reason"), BALLOT_CASES)
def test_ballot_allowed(
    standing: Standing, activity: Activity, present: bool, voted: bool, allowed: bool, reason: str
) -> None:
    decision = ballot_allowed(standing, activity, present, voted, HD03_2022)
    assert decision.outcome is allowed
    assert decision.details["reason"] == reason
    assert decision.rule in {"R-VOTE-2", "R-BASE-2"}
    _bilingual(decision)


def test_every_refusal_explains_itself_differently() -> None:
    refusals = [
        ballot_allowed(PROBATIONARY, Activity.ACTIVE, True, False, HD03_2022),
        ballot_allowed(OFFICIAL, Activity.ACTIVE, False, False, HD03_2022),
        ballot_allowed(OFFICIAL, Activity.ACTIVE, True, True, HD03_2022),
        ballot_allowed(OFFICIAL, Activity.SUSPENDED, True, False, HD03_2022),
        ballot_allowed(OFFICIAL, Activity.UNDER_PROSECUTION, True, False, HD03_2022),
        ballot_allowed(OFFICIAL, Activity.AWAY_TEMPORARILY, True, False, HD03_2022),
    ]
    assert not any(decision.outcome for decision in refusals)
    assert len({decision.explanation.vi for decision in refusals}) == len(refusals)
    assert len({decision.explanation.en for decision in refusals}) == len(refusals)


def _vote(name: str, kind: VoteKind, for_: int, against: int, base: int, outcome: str, needed: int) -> Any:
    return pytest.param(kind, for_, against, 0, base, outcome, needed, id=name)


ORDINARY, MINUTES = VoteKind.ORDINARY, VoteKind.MINUTES_ADOPTION
ADMISSION, RECOGNITION = VoteKind.ADMISSION, VoteKind.RECOGNITION
VOTE_CASES = [
    _vote("R-VOTE-1 more than half of the base passes", ORDINARY, 7, 0, 12, PASSED, 7),
    _vote("R-VOTE-1 exactly half of the base fails", ORDINARY, 6, 0, 12, FAILED, 7),
    _vote(
        "R-VOTE-1 majority of those present but not more than half of the voting base fails",
        ORDINARY,
        5,
        2,
        12,
        FAILED,
        7,
    ),
    _vote("R-VOTE-1 minutes adoption passes", MINUTES, 7, 5, 12, PASSED, 7),
    _vote("R-VOTE-1 minutes adoption at half fails", MINUTES, 6, 0, 12, FAILED, 7),
    _vote("R-VOTE-1 empty voting base never passes", ORDINARY, 0, 0, 0, FAILED, 1),
    _vote("R-VOTE-3 two thirds exactly passes", ADMISSION, 8, 4, 12, PASSED, 8),
    _vote("R-VOTE-3 more than half but under two thirds fails", ADMISSION, 7, 0, 12, FAILED, 8),
    _vote("R-VOTE-3 recognition at two thirds passes", RECOGNITION, 6, 3, 9, PASSED, 6),
    _vote("R-VOTE-3 recognition just under two thirds fails", RECOGNITION, 7, 0, 11, FAILED, 8),
    _vote("R-VOTE-3 empty voting base never passes", ADMISSION, 0, 0, 0, FAILED, 1),
    pytest.param(ORDINARY, 3, 0, 2, 5, PASSED, 3, id="R-VOTE-1 abstentions do not block a majority"),
]


@pytest.mark.parametrize(("kind", "for_", "against", "abstain", "base", "outcome", "needed"), VOTE_CASES)
def test_vote_result(
    kind: VoteKind, for_: int, against: int, abstain: int, base: int, outcome: str, needed: int
) -> None:
    decision = vote_result(kind, for_, against, abstain, base, HD03_2022)
    assert decision.outcome == outcome
    assert type(decision.outcome) is str
    assert decision.rule == ("R-VOTE-3" if kind in {VoteKind.ADMISSION, VoteKind.RECOGNITION} else "R-VOTE-1")
    assert decision.counts == {
        "for": for_,
        "against": against,
        "abstain": abstain,
        "voting_base": base,
        "needed": needed,
    }
    assert f"{for_}/{base}" in decision.explanation.vi and f"{for_}/{base}" in decision.explanation.en
    _bilingual(decision)


def test_a_majority_of_those_present_is_told_why_it_is_not_enough() -> None:
    decision = vote_result(VoteKind.ORDINARY, 5, 2, 0, 12, HD03_2022)
    assert "không phải trên số có mặt" in decision.explanation.vi
    assert "not of those present" in decision.explanation.en


@pytest.mark.parametrize(
    ("for_", "against", "abstain", "base"),
    [
        pytest.param(-1, 0, 0, 3, id="R-VOTE-1 negative for"),
        pytest.param(0, -1, 0, 3, id="R-VOTE-1 negative against"),
        pytest.param(0, 0, -1, 3, id="R-VOTE-1 negative abstain"),
        pytest.param(0, 0, 0, -1, id="R-VOTE-1 negative base"),
        pytest.param(2, 1, 1, 3, id="R-VOTE-2 more ballots than the voting base"),
    ],
)
def test_impossible_counts_are_caller_errors(for_: int, against: int, abstain: int, base: int) -> None:
    with pytest.raises(ValueError):
        vote_result(VoteKind.ORDINARY, for_, against, abstain, base, HD03_2022)


@settings(max_examples=200)
@given(data=st.data(), kind=st.sampled_from(VoteKind), base=st.integers(min_value=0, max_value=300))
def test_vote_outcome_is_monotone_in_the_count_for(data: st.DataObject, kind: VoteKind, base: int) -> None:
    fewer = data.draw(st.integers(min_value=0, max_value=base))
    more = data.draw(st.integers(min_value=fewer, max_value=base))
    against = data.draw(st.integers(min_value=0, max_value=base - more))
    low = vote_result(kind, fewer, against, 0, base, HD03_2022)
    high = vote_result(kind, more, against, 0, base, HD03_2022)
    assert high.outcome == PASSED or low.outcome == FAILED
    assert (low.outcome == PASSED) is (fewer >= low.counts["needed"])


@settings(max_examples=200)
@given(data=st.data(), kind=st.sampled_from(VoteKind), base=st.integers(min_value=0, max_value=300))
def test_against_and_abstain_never_change_the_outcome(data: st.DataObject, kind: VoteKind, base: int) -> None:
    for_ = data.draw(st.integers(min_value=0, max_value=base))
    against = data.draw(st.integers(min_value=0, max_value=base - for_))
    abstain = data.draw(st.integers(min_value=0, max_value=base - for_ - against))
    silent = vote_result(kind, for_, 0, 0, base, HD03_2022)
    assert vote_result(kind, for_, against, abstain, base, HD03_2022).outcome == silent.outcome
