"""A party group's short minutes (R-GROUP-4): titled as a group meeting's, naming the group with its cell,
signed for the group; the same words in the text, the DOCX and the PDF."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from meetings.groups import group_unit_name
from server.exports.minutes_docx import render_docx
from server.exports.minutes_pdf import render_pdf
from server.exports.minutes_text import build
from tests.documents import docx_text, norm, pdf_pages

SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "minutes_sample.json"
UNIT = "TỔ ĐẢNG SỐ 2 (CHI BỘ CƠ QUAN ĐẠI DIỆN TẠI NHẬT BẢN)"
PHRASES = [
    "BIÊN BẢN SINH HOẠT TỔ ĐẢNG (DỰ THẢO)",
    "Tổng số đảng viên của tổ đảng: 7 đồng chí (6 đảng viên chính thức, 1 đảng viên dự bị).",
    "T/M TỔ ĐẢNG",
]


def group_minutes(status: str = "draft") -> dict[str, Any]:
    with SAMPLE.open(encoding="utf-8") as file:
        minutes: dict[str, Any] = json.load(file)
    minutes["status"] = status
    minutes["document"]["kind"] = "group"
    minutes["document"]["unit"] = {
        "name": group_unit_name("Tổ đảng số 2", "Chi bộ Cơ quan đại diện tại Nhật Bản"),
        "parent_name": "Đảng bộ Ngoài nước",
    }
    return minutes


def test_the_group_is_named_with_its_cell() -> None:
    assert (
        group_unit_name("Tổ đảng số 1", "Chi bộ Tàu Biển Đông 01") == "Tổ đảng số 1 (Chi bộ Tàu Biển Đông 01)"
    )
    assert group_unit_name("số 3", "Kho vận") == "Tổ đảng số 3 (Chi bộ Kho vận)"
    assert group_unit_name(" TỔ ĐẢNG Khu phố 2 ", "chi bộ Khu phố") == "TỔ ĐẢNG Khu phố 2 (chi bộ Khu phố)"


def test_the_text_of_a_group_meetings_minutes() -> None:
    draft = build(group_minutes())
    assert (draft.title, draft.unit_name, draft.parent_name) == (
        "BIÊN BẢN SINH HOẠT TỔ ĐẢNG (DỰ THẢO)",
        UNIT,
        "ĐẢNG BỘ NGOÀI NƯỚC",
    )
    assert draft.signatures[1].roles == ("T/M TỔ ĐẢNG", "CHỦ TRÌ")
    assert build(group_minutes("adopted")).title == "BIÊN BẢN SINH HOẠT TỔ ĐẢNG"
    # a cell's minutes keep their own title and signature
    cell = group_minutes()
    cell["document"]["kind"] = "regular"
    assert build(cell).title == "BIÊN BẢN (DỰ THẢO)"
    assert build(cell).signatures[1].roles == ("T/M CHI BỘ", "CHỦ TRÌ")


def test_docx_and_pdf_say_it() -> None:
    body, _header = docx_text(render_docx(group_minutes()))
    pdf = norm(" ".join(pdf_pages(render_pdf(group_minutes()), "-raw")))
    for text in (body, pdf):
        for phrase in [*PHRASES, UNIT]:
            assert norm(phrase) in text, phrase
        assert "T/M CHI BỘ" not in text
