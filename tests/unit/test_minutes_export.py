"""Minutes exports (R-MIN-3/4): DOCX and PDF say the same Vietnamese text; A4, font embedded, draft marked.

The PDF's first page is compared with tests/fixtures/minutes_page1.png (grayscale, 50 DPI). After an
intended layout change, regenerate it and look at it:

    CELLMEET_UPDATE_REFERENCE=1 .venv/bin/pytest -q tests/unit/test_minutes_export.py -k reference
"""

from __future__ import annotations

import io
import json
import os
import re
import zlib
from functools import cache
from pathlib import Path
from typing import Any

import docx
import pypdfium2 as pdfium
import pytest
from PIL import Image, ImageChops, ImageStat

from server.exports import minutes_pdf
from server.exports.minutes_docx import render_docx
from server.exports.minutes_pdf import MinutesFontMissing, render_html, render_pdf
from tests.documents import docx_text, norm, pdf_pages, poppler

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SAMPLE = FIXTURES / "minutes_sample.json"
REFERENCE = FIXTURES / "minutes_page1.png"
REFERENCE_DPI = 50
# Mean absolute difference over the page (0-255), and over any 16x16-pixel tile: a changed word moves
# one tile far more than it moves the page's mean (a changed unit name: mean 0.13, worst tile 40).
MEAN_TOLERANCE = 2.0
TILE = 16
TILE_TOLERANCE = 12.0

# poppler-utils (pdftotext, pdffonts) is installed by .ci/run; without it these tests fail, never skip.

# The exact phrases the documents print for the sample (minutes_text.py), in both formats.
PHRASES = [
    "ĐẢNG BỘ NGOÀI NƯỚC",
    "ĐẢNG CỘNG SẢN VIỆT NAM",
    "Số 01-BB/CB",
    "Trực tuyến, ngày 15 tháng 11 năm 2026",
    "BIÊN BẢN",
    "Sinh hoạt chi bộ thường kỳ tháng 11 năm 2026",
    "I. THỜI GIAN, ĐỊA ĐIỂM, THÀNH PHẦN",
    "Thời gian: bắt đầu lúc 19 giờ 32 phút, ngày 15/11/2026; kết thúc lúc 21 giờ 05 phút, ngày 15/11/2026.",
    "Địa điểm: Trực tuyến.",
    "Chủ trì: đồng chí Trần Văn An, Bí thư Chi bộ.",
    "Thư ký: đồng chí Nguyễn Thị Hồng Nhung, Chi ủy viên.",
    "Tổng số đảng viên của chi bộ: 7 đồng chí (6 đảng viên chính thức, 1 đảng viên dự bị).",
    "Có mặt: 5 đồng chí (5 đảng viên chính thức, 0 đảng viên dự bị), gồm các đồng chí: Trần Văn An, "
    "Nguyễn Thị Hồng Nhung, Hoàng Minh Đức, Vũ Thị Thu Hằng, Đặng Quốc Việt.",
    "Vắng có lý do: 1 đồng chí: Lê Văn Cường (lý do: đi công tác tại Osaka).",
    "Vắng không có lý do: 1 đồng chí: Bùi Thị Ngọc Ánh.",
    "Khách mời: Đồng chí Phạm Quốc Bảo, Phó Bí thư Đảng ủy, Đảng bộ Ngoài nước.",
    "II. NỘI DUNG HỘI NGHỊ",
    "1. Đánh giá tình hình thực hiện nhiệm vụ tháng 11 năm 2026",
    "Các ý kiến phát biểu (theo thứ tự):",
    "- Đồng chí Trần Văn An (15 phút).",
    "- Đồng chí Nguyễn Thị Hồng Nhung (dưới 1 phút).",
    "Nội dung:",
    "tổ chức thành công Ngày hội văn hóa Việt Nam tại Tokyo.",
    "3. Phương hướng, nhiệm vụ tháng 12 năm 2026",
    "- Biểu quyết: Thông qua kế hoạch học tập, quán triệt nghị quyết của chi bộ",
    "- Hình thức: biểu quyết công khai.",
    "- Số phiếu: 5 tán thành, 0 không tán thành, 0 không biểu quyết; số đảng viên có quyền biểu quyết: 6; "
    "số tán thành cần có: 4.",
    "- Kết quả biểu quyết: Thông qua (quy tắc R-VOTE-1).",
    "- Ý kiến bảo lưu: không có.",
    "III. KẾT LUẬN CỦA CHỦ TRÌ",
    "Chi bộ thống nhất đánh giá chi bộ đã hoàn thành tốt nhiệm vụ tháng 11 năm 2026.",
    "IV. THÔNG QUA BIÊN BẢN",
    "Hội nghị kết thúc lúc 21 giờ 05 phút, ngày 15/11/2026.",
    "THƯ KÝ",
    "T/M CHI BỘ",
    "CHỦ TRÌ",
]
DRAFT_PHRASES = [
    "BIÊN BẢN (DỰ THẢO)",
    "Biên bản này là bản dự thảo, chưa được hội nghị thông qua.",
    "- Số phiếu: 3 tán thành, 1 không tán thành, 1 không biểu quyết; số đảng viên có quyền biểu quyết: 6; "
    "số tán thành cần có: 4.",
    "- Kết quả biểu quyết: Không thông qua (quy tắc R-VOTE-1).",
    "Đồng chí Đặng Quốc Việt: Đề nghị ghi đầy đủ ý kiến về công tác bảo hộ công dân.",
]
LOCKED_PHRASES = [
    "Biên bản đã được đọc lại trước hội nghị và được hội nghị thông qua lúc 21 giờ 03 phút, ngày 15/11/2026.",
    "(Đã ký số lúc 21:10 15/11/2026)",
    "(Đã ký số lúc 21:12 15/11/2026)",
    "PHỤ LỤC ĐÍNH CHÍNH",
    "Đính chính số 1: đồng chí Nguyễn Thị Hồng Nhung, lúc 09 giờ 00 phút, ngày 16/11/2026",
    "Mục 1 ghi nhầm số lượt công dân: 1.205 lượt, không phải 1.250 lượt.",
    "Mã băm SHA-256: " + "ab" * 32,
]
HOSTILE = ["<script>alert(1)</script>", "{{ 7*7 }}", "&amp; <b>đậm</b>", "x" * 400]


def sample() -> dict[str, Any]:
    with SAMPLE.open(encoding="utf-8") as file:
        data: dict[str, Any] = json.load(file)
    return data


def locked() -> dict[str, Any]:
    """The sample after a passed adoption vote, both signatures and one addendum."""
    minutes = sample()
    vote = minutes["document"]["votes"][1]
    vote["counts"].update({"for": 5, "against": 0, "abstain": 0})
    vote["outcome"] = "passed"
    vote["reserved_opinions"] = []
    minutes.update(
        status="locked",
        adoption={"vote_id": vote["id"], "adopted_at": "2026-11-15T12:03:00Z"},
        signatures=[
            {
                "role": "minute_taker",
                "member_id": 2,
                "full_name": "Nguyễn Thị Hồng Nhung",
                "signed_at": "2026-11-15T21:10:00+09:00",
            },
            {
                "role": "chair",
                "member_id": 1,
                "full_name": "Trần Văn An",
                "signed_at": "2026-11-15T12:12:00Z",
            },
        ],
        locked_at="2026-11-15T12:12:00Z",
        hash="ab" * 32,
        addenda=[
            {
                "id": 1,
                "text": "Mục 1 ghi nhầm số lượt công dân: 1.205 lượt, không phải 1.250 lượt.",
                "full_name": "Nguyễn Thị Hồng Nhung",
                "created_at": "2026-11-16T09:00:00+09:00",
                "hash": "cd" * 32,
            },
        ],
    )
    return minutes


def hostile() -> dict[str, Any]:
    minutes = sample()
    minutes["document"]["unit"]["name"] = HOSTILE[0]
    minutes["document"]["title"] = HOSTILE[1]
    minutes["fields"]["item:0"] = "\n".join(HOSTILE)
    minutes["document"]["present"]["names"][0] = HOSTILE[2]
    return minutes


# --- DOCX -------------------------------------------------------------------------------------


@cache
def docx_of(kind: str) -> bytes:
    return render_docx({"draft": sample, "locked": locked, "hostile": hostile}[kind]())


def test_docx_says_every_fact_in_vietnamese() -> None:
    text, header = docx_text(docx_of("draft"))
    for phrase in [*PHRASES, *DRAFT_PHRASES, "CHI BỘ CƠ QUAN ĐẠI DIỆN TẠI NHẬT BẢN"]:
        assert norm(phrase) in text, phrase
    assert header == "DỰ THẢO"
    # Order of the meeting (R-MIN-1): facts, opening, items in order, conclusions, adoption, close.
    order = [
        "I. THỜI GIAN",
        "Khai mạc",
        "1. Đánh giá",
        "2. Kế hoạch",
        "3. Phương hướng",
        "III. KẾT LUẬN",
        "IV. THÔNG QUA",
        "Hội nghị kết thúc",
    ]
    positions = [text.index(norm(mark)) for mark in order]
    assert positions == sorted(positions)


def test_docx_header_format_and_a4() -> None:
    document = docx.Document(io.BytesIO(docx_of("draft")))
    section = document.sections[0]
    assert section.page_width is not None and section.page_height is not None
    assert abs(section.page_width.cm - 21.0) < 0.05 and abs(section.page_height.cm - 29.7) < 0.05
    header = document.tables[0]
    left, right = (cell.text for cell in header.rows[0].cells)
    assert norm(left) == "ĐẢNG BỘ NGOÀI NƯỚC CHI BỘ CƠ QUAN ĐẠI DIỆN TẠI NHẬT BẢN * Số 01-BB/CB"
    party = [
        run
        for p in header.rows[0].cells[1].paragraphs
        for run in p.runs
        if run.text == "ĐẢNG CỘNG SẢN VIỆT NAM"
    ]
    assert party and party[0].underline and party[0].bold
    assert "Trực tuyến, ngày 15 tháng 11 năm 2026" in right
    unit = [run for p in header.rows[0].cells[0].paragraphs for run in p.runs if "CHI BỘ CƠ QUAN" in run.text]
    assert unit and unit[0].bold
    assert document.core_properties.title.startswith("BIÊN BẢN (DỰ THẢO)")


def test_docx_locked_has_no_draft_mark_but_signatures_addenda_and_hash() -> None:
    data = docx_of("locked")
    text, header = docx_text(data)
    assert "DỰ THẢO" not in text and "DỰ THẢO" not in header
    for phrase in LOCKED_PHRASES[:-1]:
        assert norm(phrase) in text, phrase
    footer = " ".join(p.text for p in docx.Document(io.BytesIO(data)).sections[0].footer.paragraphs)
    assert LOCKED_PHRASES[-1] in footer


def test_docx_hostile_text_is_literal() -> None:
    text, _ = docx_text(docx_of("hostile"))
    for value in HOSTILE:
        assert norm(value.upper() if value == HOSTILE[0] else value) in text


# --- PDF --------------------------------------------------------------------------------------


@cache
def pdf_of(kind: str) -> bytes:
    return render_pdf({"draft": sample, "locked": locked, "hostile": hostile}[kind]())


def test_pdf_says_every_fact_in_vietnamese() -> None:
    data = pdf_of("draft")
    text = norm(" ".join(pdf_pages(data, "-raw")))
    for phrase in [*PHRASES, *DRAFT_PHRASES]:
        assert norm(phrase) in text, phrase
    # The header's two columns side by side (layout mode): the Party's name on the first line, right.
    first_line = pdf_pages(data)[0].splitlines()[0]
    assert first_line.split()[:4] == ["ĐẢNG", "BỘ", "NGOÀI", "NƯỚC"] and first_line.rstrip().endswith(
        "ĐẢNG CỘNG SẢN VIỆT NAM"
    )
    assert "CHI BỘ CƠ QUAN ĐẠI DIỆN TẠI" in pdf_pages(data)[0]


def test_pdf_font_embedded_a4_metadata() -> None:
    data = pdf_of("draft")
    fonts = poppler("pdffonts", data).splitlines()[2:]
    assert fonts and all(" yes yes yes " in line for line in fonts), fonts
    assert all("Minutes-Serif" in line for line in fonts)
    pdf = pdfium.PdfDocument(data)
    try:
        for page in pdf:
            width, height = page.get_size()
            assert abs(width - 595.28) < 1 and abs(height - 841.89) < 1
        assert (
            pdf.get_metadata_dict()["Title"]
            == "BIÊN BẢN (DỰ THẢO) Sinh hoạt chi bộ thường kỳ tháng 11 năm 2026"
        )
    finally:
        pdf.close()
    assert b"/Lang (vi)" in inflated(data)


def inflated(data: bytes) -> bytes:
    """The PDF with its Flate streams decompressed (the catalog may sit in an object stream)."""
    out = [data]
    for match in re.finditer(rb"stream\r?\n", data):
        try:
            out.append(zlib.decompressobj().decompress(data[match.end() :]))
        except zlib.error:
            continue
    return b"\n".join(out)


def test_pdf_draft_watermark_on_every_page_and_not_when_locked() -> None:
    draft_pages = pdf_pages(pdf_of("draft"), "-raw")
    assert len(draft_pages) >= 2
    for page in draft_pages:
        assert "DỰTHẢO" in re.sub(r"\s+", "", page)
    locked_pages = pdf_pages(pdf_of("locked"), "-raw")
    text = norm(" ".join(locked_pages))
    assert "DỰ THẢO" not in text and "DỰTHẢO" not in re.sub(r"\s+", "", text)
    for phrase in [*LOCKED_PHRASES, "BIÊN BẢN"]:
        assert norm(phrase) in text, phrase


def test_pdf_hostile_text_is_literal() -> None:
    text = norm(" ".join(pdf_pages(pdf_of("hostile"), "-raw")))
    assert "<SCRIPT>ALERT(1)</SCRIPT>" in text and "{{ 7*7 }}" in text and "&amp; <b>đậm</b>" in text
    assert "49" not in text.split("Sinh hoạt")[0]
    # The long word wraps (never overflows); the watermark's letters interleave with its lines.
    assert "x" * 400 in re.sub(r"\s+", "", text).replace("DỰTHẢO", "")
    html = render_html(hostile())
    assert "<script>" not in html and "&lt;script&gt;" in html.lower()


def test_pdf_fetches_nothing_but_the_font(tmp_path: Path) -> None:
    fonts = minutes_pdf.font_urls()
    fetcher = minutes_pdf.local_fetcher(set(fonts.values()))
    for url in ["https://fonts.googleapis.com/css?family=Roboto", "file:///etc/passwd", "http://127.0.0.1/x"]:
        with pytest.raises(ValueError):
            fetcher(url)
    with pytest.raises(MinutesFontMissing, match="fonts-liberation2"):
        render_pdf(sample(), font_dir=tmp_path)


# --- Reference image ----------------------------------------------------------------------------


def page_image(data: bytes, dpi: int = REFERENCE_DPI) -> Image.Image:
    pdf = pdfium.PdfDocument(data)
    try:
        image: Image.Image = pdf[0].render(scale=dpi / 72, grayscale=True).to_pil().convert("L")
    finally:
        pdf.close()
    return image


def update_reference() -> None:
    """Rewrite tests/fixtures/minutes_page1.png from the sample (look at the result before committing)."""
    page_image(render_pdf(sample())).save(REFERENCE, optimize=True)


def difference(image: Image.Image, reference: Image.Image) -> tuple[float, float]:
    """(mean absolute difference over the page, worst mean over a TILE x TILE tile), 0-255."""
    assert image.size == reference.size, (image.size, reference.size)
    diff = ImageChops.difference(image, reference)
    mean = float(ImageStat.Stat(diff).mean[0])
    worst = diff.reduce(TILE).getextrema()[1]
    assert isinstance(worst, int | float)
    return mean, float(worst)


def close_enough(image: Image.Image, reference: Image.Image) -> bool:
    mean, worst = difference(image, reference)
    return mean < MEAN_TOLERANCE and worst < TILE_TOLERANCE


def test_first_page_matches_reference_image() -> None:
    if os.environ.get("CELLMEET_UPDATE_REFERENCE"):
        update_reference()
    with Image.open(REFERENCE) as stored:
        reference = stored.convert("L")
    image = page_image(pdf_of("draft"))
    assert close_enough(image, reference), difference(image, reference)
    # The comparison catches real changes: another unit name, no watermark, a blank page.
    other = sample()
    other["document"]["unit"]["name"] = "Chi bộ Cơ quan đại diện tại Hàn Quốc"
    assert not close_enough(page_image(render_pdf(other)), reference)
    assert not close_enough(page_image(pdf_of("locked")), reference)
    assert not close_enough(Image.new("L", reference.size, 255), reference)


def test_same_text_in_both_formats() -> None:
    """Every line the PDF prints for the locked sample is in the DOCX too (shared minutes_text)."""
    docx_body, _ = docx_text(docx_of("locked"))
    pdf_text = norm(" ".join(pdf_pages(pdf_of("locked"), "-raw")))
    for phrase in [*PHRASES, *LOCKED_PHRASES[:-1]]:
        assert norm(phrase) in docx_body and norm(phrase) in pdf_text, phrase
