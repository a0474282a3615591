"""The built-in agenda templates: regular R-AGENDA-1..4, thematic R-THEM-1, extraordinary, party group."""

from __future__ import annotations

import re

import pytest

from meetings.agenda_templates import BUILTIN_TEMPLATES, BuiltinTemplate, builtin
from meetings.content import check_agenda_content
from meetings.enums import ItemType, MeetingKind, MeetingMode
from meetings.rulesets import HD03_2022

RULE_ID = re.compile(r"R-[A-Z]+-\d")


def test_four_builtin_templates() -> None:
    assert [template.code for template in BUILTIN_TEMPLATES] == [
        "regular",
        "thematic",
        "extraordinary",
        "group",
    ]


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        pytest.param("regular", MeetingKind.REGULAR, id="R-AGENDA-1 regular monthly meeting"),
        pytest.param("thematic", MeetingKind.THEMATIC, id="R-THEM-1 thematic meeting"),
        pytest.param("extraordinary", MeetingKind.EXTRAORDINARY, id="R-AGENDA-1 extraordinary meeting"),
        pytest.param("group", MeetingKind.GROUP, id="R-AGENDA-1 party-group meeting"),
    ],
)
def test_builtin_by_code(code: str, kind: MeetingKind) -> None:
    template = builtin(code)
    assert template.code == code and template.kind is kind
    assert template.items


def test_unknown_code() -> None:
    with pytest.raises(KeyError):
        builtin("annual")


@pytest.mark.parametrize("template", [pytest.param(t, id=f"R-AGENDA-1 {t.code}") for t in BUILTIN_TEMPLATES])
def test_texts_are_bilingual_and_name_their_rule(template: BuiltinTemplate) -> None:
    texts = [template.name] + [item.title for item in template.items]
    for text in texts:
        assert text.vi and text.en and text.vi != text.en
        assert any(ord(char) > 127 for char in text.vi), text.vi
        assert text.en.isascii(), text.en
    for item in template.items:
        assert item.item_type is ItemType.ORDINARY
        assert RULE_ID.search(item.notes.vi) and RULE_ID.search(item.notes.en), item.notes
    assert len({item.title.vi for item in template.items}) == len(template.items)


@pytest.mark.parametrize("mode", [MeetingMode.ONLINE, MeetingMode.HYBRID])
@pytest.mark.parametrize("template", [pytest.param(t, id=f"R-CONTENT-1 {t.code}") for t in BUILTIN_TEMPLATES])
def test_no_barred_item_types(template: BuiltinTemplate, mode: MeetingMode) -> None:
    decision = check_agenda_content(mode, [item.item_type for item in template.items], HD03_2022)
    assert decision.outcome is True


def _titles(code: str) -> list[str]:
    return [item.title.vi.lower() for item in builtin(code).items]


@pytest.mark.parametrize(
    ("code", "words", "rule"),
    [
        pytest.param("regular", ("lý do", "đại biểu"), "R-AGENDA-2", id="R-AGENDA-2 reason and guests"),
        pytest.param("regular", ("thư ký", "biên bản"), "R-AGENDA-2", id="R-AGENDA-2 minute-taker"),
        pytest.param(
            "regular",
            ("có mặt", "vắng mặt có lý do", "không có lý do"),
            "R-AGENDA-2",
            id="R-AGENDA-2 attendance",
        ),
        pytest.param("regular", ("thông qua chương trình",), "R-AGENDA-2", id="R-AGENDA-2 agenda approved"),
        pytest.param("regular", ("tháng trước",), "R-AGENDA-3", id="R-AGENDA-3 last month's results"),
        pytest.param("regular", ("tư tưởng chính trị",), "R-AGENDA-3", id="R-AGENDA-3 political situation"),
        pytest.param("regular", ("văn bản mới",), "R-AGENDA-3", id="R-AGENDA-3 new documents"),
        pytest.param("regular", ("tháng tới",), "R-AGENDA-3", id="R-AGENDA-3 next month's tasks"),
        pytest.param("regular", ("tự phê bình",), "R-AGENDA-3", id="R-AGENDA-3 self-criticism"),
        pytest.param("regular", ("định hướng",), "R-AGENDA-3", id="R-AGENDA-3 secretary orients"),
        pytest.param("regular", ("biểu quyết",), "R-AGENDA-4", id="R-AGENDA-4 conclusion voted"),
        pytest.param("regular", ("biểu dương", "nhắc nhở"), "R-AGENDA-4", id="R-AGENDA-4 commendations"),
        pytest.param("regular", ("thông qua biên bản",), "R-AGENDA-4", id="R-AGENDA-4 minutes adopted"),
        pytest.param("regular", ("bế mạc",), "R-AGENDA-4", id="R-AGENDA-4 close"),
        pytest.param("thematic", ("mục đích",), "R-THEM-1", id="R-THEM-1 purpose"),
        pytest.param("thematic", ("dự thảo báo cáo chuyên đề",), "R-THEM-1", id="R-THEM-1 draft report"),
        pytest.param("thematic", ("hoàn thiện", "gửi"), "R-THEM-1", id="R-THEM-1 report finalised and sent"),
        pytest.param("thematic", ("thư ký", "biên bản"), "R-AGENDA-2", id="R-THEM-1 opening as usual"),
        pytest.param("extraordinary", ("bất thường",), "R-AGENDA-1", id="R-AGENDA-1 extraordinary matter"),
        pytest.param("extraordinary", ("biểu quyết",), "R-AGENDA-4", id="R-AGENDA-4 extraordinary vote"),
        pytest.param("group", ("tổ trưởng", "báo cáo"), "R-AGENDA-3", id="R-AGENDA-3 group leader reports"),
        pytest.param("group", ("chi bộ",), "R-AGENDA-4", id="R-AGENDA-4 group conclusions sent to the cell"),
        pytest.param("group", ("biên bản tóm tắt",), "R-AGENDA-4", id="R-AGENDA-4 group short minutes"),
    ],
)
def test_template_contains_step(code: str, words: tuple[str, ...], rule: str) -> None:
    matching = [item for item in builtin(code).items if all(word in item.title.vi.lower() for word in words)]
    assert matching, f"{code}: no item with {words}"
    assert any(rule in item.notes.vi and rule in item.notes.en for item in matching)


def test_regular_order_follows_the_three_parts() -> None:
    titles = _titles("regular")
    minute_taker = next(i for i, t in enumerate(titles) if "thư ký" in t and "ghi biên bản" in t)
    report = next(i for i, t in enumerate(titles) if "tháng trước" in t)
    adoption = next(i for i, t in enumerate(titles) if "thông qua biên bản" in t)
    assert minute_taker < report < adoption
    assert titles[-1] == "bế mạc"


def test_templates_are_immutable() -> None:
    with pytest.raises(AttributeError):
        builtin("regular").code = "x"  # type: ignore[misc]
