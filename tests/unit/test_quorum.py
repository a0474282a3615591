"""Quorum: more than half of the voting base present (R-QUOR-1)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meetings.decision import Decision
from meetings.quorum import quorum
from meetings.rulesets import HD03_2022


def _bilingual(decision: Decision) -> None:
    vi, en = decision.explanation.vi, decision.explanation.en
    assert vi and en and vi != en
    assert any(ord(char) > 127 for char in vi), vi
    assert decision.rule in vi and decision.rule in en


@pytest.mark.parametrize(
    ("base", "present", "quorate", "needed"),
    [
        pytest.param(12, 6, False, 7, id="R-QUOR-1 exactly half is not quorate"),
        pytest.param(12, 7, True, 7, id="R-QUOR-1 half plus one is quorate"),
        pytest.param(5, 3, True, 3, id="R-QUOR-1 three of five is quorate"),
        pytest.param(5, 2, False, 3, id="R-QUOR-1 two of five is not"),
        pytest.param(1, 1, True, 1, id="R-QUOR-1 one of one is quorate"),
        pytest.param(1, 0, False, 1, id="R-QUOR-1 nobody present is not quorate"),
        pytest.param(0, 0, False, 1, id="R-QUOR-1 an empty voting base is never quorate"),
        pytest.param(12, 12, True, 7, id="R-QUOR-1 everyone present"),
    ],
)
def test_quorum(base: int, present: int, quorate: bool, needed: int) -> None:
    decision = quorum(base, present, HD03_2022)
    assert decision.outcome is quorate
    assert decision.rule == "R-QUOR-1"
    assert decision.counts == {"voting_base": base, "present_official": present, "needed": needed}
    assert f"{present}/{base}" in decision.explanation.vi
    assert f"{present}/{base}" in decision.explanation.en
    _bilingual(decision)


def test_not_quorate_says_how_many_are_needed() -> None:
    decision = quorum(12, 6, HD03_2022)
    assert "cần ít nhất 7" in decision.explanation.vi
    assert "at least 7" in decision.explanation.en


@pytest.mark.parametrize(
    ("base", "present"),
    [
        pytest.param(-1, 0, id="R-QUOR-1 negative base"),
        pytest.param(3, -1, id="R-QUOR-1 negative present"),
        pytest.param(3, 4, id="R-QUOR-1 more present than the base"),
    ],
)
def test_impossible_counts_are_caller_errors(base: int, present: int) -> None:
    with pytest.raises(ValueError):
        quorum(base, present, HD03_2022)


@settings(max_examples=200)
@given(data=st.data(), base=st.integers(min_value=0, max_value=500))
def test_quorum_is_monotone_in_those_present(data: st.DataObject, base: int) -> None:
    fewer = data.draw(st.integers(min_value=0, max_value=base))
    more = data.draw(st.integers(min_value=fewer, max_value=base))
    low, high = quorum(base, fewer, HD03_2022), quorum(base, more, HD03_2022)
    assert high.outcome or not low.outcome
    assert low.outcome is (fewer * 2 > base)
    assert low.outcome is (fewer >= low.counts["needed"])
