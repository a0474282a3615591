"""How each vote is taken (issue 30, R-VOTE-4): the mode's default and where it may be used, the counts a
chair or counting committee enters, the result decided from them by R-VOTE-1/3 as for electronic
ballots, and elections refused online citing Quyết định 190-QĐ/TW (R-CONTENT-1)."""

from __future__ import annotations

import pytest

from meetings.content import check_agenda_content
from meetings.decision import Decision
from meetings.enums import ItemType, MeetingMode, VoteKind, VoteMode, VoteOutcome
from meetings.rulesets import HD03_2022
from meetings.vote_modes import MODE_TEXT, check_counts, default_mode, mode_allowed, suggested_mode
from meetings.votes import vote_result

HANDS, ELECTRONIC, PAPER = VoteMode.SHOW_OF_HANDS, VoteMode.ELECTRONIC, VoteMode.PAPER_BALLOT
ONLINE, HYBRID, IN_PERSON = MeetingMode.ONLINE, MeetingMode.HYBRID, MeetingMode.IN_PERSON


def _bilingual(decision: Decision) -> None:
    vi, en = decision.explanation.vi, decision.explanation.en
    assert vi and en and vi != en
    assert any(ord(char) > 127 for char in vi), vi
    assert decision.rule in vi and decision.rule in en
    assert decision.rule_set == HD03_2022.name


def test_every_mode_is_said_in_both_languages() -> None:
    assert set(MODE_TEXT) == set(VoteMode)
    for text in MODE_TEXT.values():
        assert text.vi and text.en and text.vi != text.en


@pytest.mark.parametrize(
    ("meeting_mode", "suggested"),
    [(ONLINE, ELECTRONIC), (HYBRID, ELECTRONIC), (IN_PERSON, HANDS)],
)
def test_the_default_and_the_suggested_mode(meeting_mode: MeetingMode, suggested: VoteMode) -> None:
    assert default_mode(meeting_mode) is ELECTRONIC  # the API's, unchanged for clients before issue 30
    assert suggested_mode(meeting_mode) is suggested  # the chair's form's first choice


@pytest.mark.parametrize(
    ("meeting_mode", "vote_mode", "allowed", "reason"),
    [
        (ONLINE, ELECTRONIC, True, "allowed"),
        (ONLINE, HANDS, True, "allowed"),
        (ONLINE, PAPER, False, "paper_online"),
        (HYBRID, ELECTRONIC, True, "allowed"),
        (HYBRID, HANDS, True, "allowed"),
        (HYBRID, PAPER, True, "allowed"),
        (IN_PERSON, ELECTRONIC, True, "allowed"),
        (IN_PERSON, HANDS, True, "allowed"),
        (IN_PERSON, PAPER, True, "allowed"),
    ],
)
def test_where_each_mode_may_be_used(
    meeting_mode: MeetingMode, vote_mode: VoteMode, allowed: bool, reason: str
) -> None:
    decision = mode_allowed(meeting_mode, vote_mode, HD03_2022)
    assert decision.outcome is allowed
    assert decision.rule == "R-VOTE-4"
    assert decision.details == {"reason": reason, "mode": vote_mode.value}
    _bilingual(decision)


# (mode, for, against, abstain, officials present, counted_by, accepted, rule, reason, field)
COUNT_CASES = [
    pytest.param(HANDS, 4, 1, 1, 6, [], True, "R-VOTE-4", "accepted", None, id="hands: all present counted"),
    pytest.param(HANDS, 3, 0, 0, 6, [], True, "R-VOTE-4", "accepted", None, id="hands: fewer than present"),
    pytest.param(HANDS, 0, 0, 0, 0, [], True, "R-VOTE-4", "accepted", None, id="hands: nobody, nothing"),
    pytest.param(HANDS, 5, 1, 1, 6, [], False, "R-VOTE-2", "exceeds_present", "for", id="hands: 7 of 6"),
    pytest.param(HANDS, -1, 0, 0, 6, [], False, "R-VOTE-4", "negative", "for", id="hands: negative for"),
    pytest.param(
        HANDS, 1, -2, 0, 6, [], False, "R-VOTE-4", "negative", "against", id="hands: negative against"
    ),
    pytest.param(
        HANDS, 1, 0, -1, 6, [], False, "R-VOTE-4", "negative", "abstain", id="hands: negative abstain"
    ),
    pytest.param(
        HANDS, 2, 0, 0, 6, ["Lê Văn Ba"], True, "R-VOTE-4", "accepted", None, id="hands: a named counter"
    ),
    pytest.param(
        PAPER, 4, 2, 0, 6, ["Lê Văn Ba", "Phạm Thị Tư"], True, "R-VOTE-4", "accepted", None, id="paper: named"
    ),
    pytest.param(
        PAPER, 4, 2, 0, 6, [], False, "R-VOTE-4", "counted_by_missing", "counted_by", id="paper: no names"
    ),
    pytest.param(
        PAPER,
        4,
        2,
        0,
        6,
        ["Lê Văn Ba", "  "],
        False,
        "R-VOTE-4",
        "counted_by_invalid",
        "counted_by",
        id="paper: blank",
    ),
    pytest.param(
        PAPER,
        4,
        2,
        1,
        6,
        ["Lê Văn Ba"],
        False,
        "R-VOTE-2",
        "exceeds_present",
        "for",
        id="paper: 7 papers of 6",
    ),
    pytest.param(
        ELECTRONIC,
        1,
        0,
        0,
        6,
        [],
        False,
        "R-VOTE-4",
        "electronic",
        "mode",
        id="electronic: no counts by hand",
    ),
]


@pytest.mark.parametrize(
    ("mode", "for_", "against", "abstain", "present", "counted_by", "accepted", "rule", "reason", "field"),
    COUNT_CASES,
)
def test_entered_counts(
    mode: VoteMode,
    for_: int,
    against: int,
    abstain: int,
    present: int,
    counted_by: list[str],
    accepted: bool,
    rule: str,
    reason: str,
    field: str | None,
) -> None:
    decision = check_counts(mode, for_, against, abstain, present, counted_by, HD03_2022)
    assert decision.outcome is accepted
    assert decision.rule == rule
    assert decision.details["reason"] == reason
    assert decision.details.get("field") == field
    assert decision.counts == {
        "for": for_,
        "against": against,
        "abstain": abstain,
        "officials_present": present,
    }
    _bilingual(decision)
    if accepted:
        assert decision.details["counted_by"] == [name.strip() for name in counted_by]
        for name in counted_by:
            assert name in decision.explanation.vi


def test_a_refusal_says_what_is_wrong_in_vietnamese() -> None:
    too_many = check_counts(HANDS, 5, 1, 1, 6, [], HD03_2022)
    assert "7" in too_many.explanation.vi and "6 đảng viên chính thức có mặt" in too_many.explanation.vi
    no_names = check_counts(PAPER, 1, 0, 0, 6, [], HD03_2022)
    assert "ban kiểm phiếu" in no_names.explanation.vi


# (kind, for, against, abstain, voting base, outcome): counts entered by any mode are decided by
# R-VOTE-1 (more than half of the base) or R-VOTE-3 (two thirds), exactly as electronic ballots are.
RESULT_CASES = [
    pytest.param(VoteKind.ORDINARY, 4, 2, 0, 7, "passed", "R-VOTE-1", id="4 of 7 for: more than half"),
    pytest.param(VoteKind.ORDINARY, 4, 0, 0, 8, "failed", "R-VOTE-1", id="4 of 8 for: exactly half fails"),
    pytest.param(VoteKind.ORDINARY, 3, 0, 0, 7, "failed", "R-VOTE-1", id="3 of 7, all present for: fails"),
    pytest.param(VoteKind.ADMISSION, 5, 1, 0, 8, "failed", "R-VOTE-3", id="admission 5 of 8: under 2/3"),
    pytest.param(VoteKind.ADMISSION, 6, 0, 0, 9, "passed", "R-VOTE-3", id="admission 6 of 9: 2/3"),
]


@pytest.mark.parametrize("mode", [HANDS, PAPER])
@pytest.mark.parametrize(("kind", "for_", "against", "abstain", "base", "outcome", "rule"), RESULT_CASES)
def test_entered_counts_are_decided_as_electronic_ballots(
    mode: VoteMode, kind: VoteKind, for_: int, against: int, abstain: int, base: int, outcome: str, rule: str
) -> None:
    counted_by = ["Lê Văn Ba"] if mode is PAPER else []
    accepted = check_counts(mode, for_, against, abstain, for_ + against + abstain, counted_by, HD03_2022)
    assert accepted.outcome is True
    decision = vote_result(kind, for_, against, abstain, base, HD03_2022)
    electronic = vote_result(kind, for_, against, abstain, base, HD03_2022)
    assert decision == electronic
    assert decision.outcome == VoteOutcome(outcome).value
    assert decision.rule == rule


@pytest.mark.parametrize("mode", [ONLINE, HYBRID])
def test_an_election_online_is_refused_citing_qd_190(mode: MeetingMode) -> None:
    decision = check_agenda_content(mode, [ItemType.ORDINARY, ItemType.ELECTION], HD03_2022)
    assert decision.outcome is False
    assert decision.rule == "R-CONTENT-1"
    assert decision.details["sources"] == ["Quyết định 190-QĐ/TW (10/10/2024)"]
    assert "190-QĐ/TW" in decision.explanation.vi and "bỏ phiếu kín" in decision.explanation.vi
    assert "190-QĐ/TW" in decision.explanation.en and "secret ballot" in decision.explanation.en


def test_other_barred_items_cite_no_election_source() -> None:
    decision = check_agenda_content(ONLINE, [ItemType.DISCIPLINE], HD03_2022)
    assert decision.outcome is False
    assert "sources" not in decision.details
    assert "190" not in decision.explanation.vi


def test_an_election_in_person_is_allowed() -> None:
    assert check_agenda_content(IN_PERSON, [ItemType.ELECTION], HD03_2022).outcome is True
