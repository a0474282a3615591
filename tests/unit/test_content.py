"""Agenda items and votes barred from online and hybrid meetings (R-CONTENT-1)."""

from __future__ import annotations

import pytest

from meetings.content import check_agenda_content, vote_kind_allowed
from meetings.decision import Decision, Text
from meetings.enums import ItemType, MeetingMode, VoteKind
from meetings.rulesets import HD03_2022

BARRED = {
    ItemType.PERSONNEL,
    ItemType.ELECTION,
    ItemType.DISCIPLINE,
    ItemType.ADMISSION,
    ItemType.STATE_SECRET,
}
ONLINE_ONLY = HD03_2022.with_values(
    "test-online-only",
    Text("Thử: chỉ cấm khi trực tuyến", "Test: barred online only"),
    {"content_barred_modes": frozenset({MeetingMode.ONLINE})},
    "test",
)


def _bilingual(decision: Decision) -> None:
    vi, en = decision.explanation.vi, decision.explanation.en
    assert vi and en and vi != en
    assert any(ord(char) > 127 for char in vi), vi
    assert decision.rule in vi and decision.rule in en


def _single_item_cases() -> list[object]:
    cases: list[object] = []
    for mode in MeetingMode:
        for item_type in ItemType:
            allowed = mode is MeetingMode.IN_PERSON or item_type not in BARRED
            verdict = "allowed" if allowed else "refused"
            cases.append(
                pytest.param(mode, item_type, allowed, id=f"R-CONTENT-1 {item_type} {verdict} {mode}")
            )
    return cases


@pytest.mark.parametrize(("mode", "item_type", "allowed"), _single_item_cases())
def test_single_item(mode: MeetingMode, item_type: ItemType, allowed: bool) -> None:
    decision = check_agenda_content(mode, [ItemType.ORDINARY, item_type], HD03_2022)
    assert decision.outcome is allowed
    assert decision.rule == "R-CONTENT-1"
    assert decision.counts == {"items": 2, "barred": 0 if allowed else 1}
    expected = [] if allowed else [{"index": 1, "item_type": str(item_type)}]
    assert decision.details["barred_items"] == expected
    _bilingual(decision)


def test_every_barred_item_is_listed_with_its_position() -> None:
    agenda = [ItemType.ORDINARY, ItemType.DISCIPLINE, ItemType.ORDINARY, ItemType.STATE_SECRET]
    decision = check_agenda_content(MeetingMode.HYBRID, agenda, HD03_2022)
    assert decision.outcome is False
    assert decision.details["barred_items"] == [
        {"index": 1, "item_type": "discipline"},
        {"index": 3, "item_type": "state_secret"},
    ]
    assert "2/4" in decision.explanation.vi
    assert "mục 2 (kỷ luật đảng)" in decision.explanation.vi
    assert "mục 4 (nội dung thuộc bí mật nhà nước)" in decision.explanation.vi
    assert "item 2 (party discipline)" in decision.explanation.en


@pytest.mark.parametrize(
    ("mode", "allowed"),
    [
        pytest.param(MeetingMode.ONLINE, False, id="R-CONTENT-1 barred-mode parameter keeps online barred"),
        pytest.param(MeetingMode.HYBRID, True, id="R-CONTENT-1 barred-mode parameter can free hybrid"),
    ],
)
def test_barred_modes_come_from_the_rule_set(mode: MeetingMode, allowed: bool) -> None:
    assert check_agenda_content(mode, [ItemType.PERSONNEL], ONLINE_ONLY).outcome is allowed


def test_an_empty_agenda_is_allowed() -> None:
    decision = check_agenda_content(MeetingMode.ONLINE, [], HD03_2022)
    assert decision.outcome is True
    assert decision.counts == {"items": 0, "barred": 0}
    _bilingual(decision)


@pytest.mark.parametrize(
    ("mode", "kind", "allowed"),
    [
        pytest.param(
            MeetingMode.ONLINE, VoteKind.ADMISSION, False, id="R-CONTENT-1 admission vote refused online"
        ),
        pytest.param(
            MeetingMode.HYBRID, VoteKind.ADMISSION, False, id="R-CONTENT-1 admission vote refused hybrid"
        ),
        pytest.param(
            MeetingMode.ONLINE, VoteKind.RECOGNITION, False, id="R-CONTENT-1 recognition vote refused online"
        ),
        pytest.param(
            MeetingMode.HYBRID, VoteKind.RECOGNITION, False, id="R-CONTENT-1 recognition vote refused hybrid"
        ),
        pytest.param(
            MeetingMode.IN_PERSON, VoteKind.ADMISSION, True, id="R-CONTENT-1 admission vote allowed in person"
        ),
        pytest.param(
            MeetingMode.ONLINE, VoteKind.ORDINARY, True, id="R-CONTENT-1 ordinary vote allowed online"
        ),
        pytest.param(
            MeetingMode.HYBRID,
            VoteKind.MINUTES_ADOPTION,
            True,
            id="R-CONTENT-1 minutes adoption allowed hybrid",
        ),
    ],
)
def test_vote_kind_allowed(mode: MeetingMode, kind: VoteKind, allowed: bool) -> None:
    decision = vote_kind_allowed(mode, kind, HD03_2022)
    assert decision.outcome is allowed
    assert decision.rule == "R-CONTENT-1"
    _bilingual(decision)
