"""The pilot review report (issue 5): XLSX, CSV and PDF say what the usage figures say; charts carry the data.

Built from tests/fixtures/usage_sample.json, a document shaped exactly like `GET /api/v1/audit/usage`
(the integration tests check the files made from the live API against the API's own answer).
"""

from __future__ import annotations

import copy
import csv
import io
import json
import xml.etree.ElementTree as ET
from datetime import datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from server.exports import charts, report_csv, report_pdf, report_xlsx
from server.exports.report_text import DEFINITIONS, below_quorum, figure_rows, summary, vn_number
from tests.documents import norm, pdf_pages, poppler

SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "usage_sample.json"
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def usage() -> dict[str, Any]:
    return dict(json.loads(SAMPLE.read_text(encoding="utf-8")))


def test_xlsx_has_one_sheet_per_view_with_real_numbers(usage: dict[str, Any]) -> None:
    book = openpyxl.load_workbook(io.BytesIO(report_xlsx.render_xlsx(usage)))
    assert book.sheetnames == ["Tổng hợp", "Theo tháng", "Theo đơn vị", "Cảnh báo"]

    overview = book["Tổng hợp"]
    figures = {row[0].value: row[1] for row in overview.iter_rows(min_row=4, max_col=2) if row[0].value}
    assert figures["Tổng số buổi sinh hoạt"].value == 8
    assert figures["Buổi trực tuyến"].value == 4
    assert figures["Đơn vị đã bị thu hồi"].value == 1
    assert figures["Khai mạc khi chưa đủ số lượng (có lý do)"].value == 1
    assert figures["Biên bản thông qua muộn"].value == 1
    assert figures["Số cảnh báo"].value == 6
    rate = figures["Tỷ lệ có mặt"]
    assert rate.value == pytest.approx(0.859) and rate.number_format == "0.0%"
    assert figures["Số ngày đến khi thông qua (lâu nhất)"].value == 12.0
    assert figures["Số ngày đến khi thông qua (lâu nhất)"].number_format == "0.0"
    assert figures["Lượt có mặt"].number_format == "#,##0"
    text = " ".join(str(c.value) for c in overview["A"] if c.value)
    assert "Đảng bộ Ngoài nước" in text and "Từ ngày 01/01/2026 đến ngày 31/03/2026" in text

    months = list(book["Theo tháng"].iter_rows(min_row=2, values_only=True))
    assert [row[0] for row in months] == [datetime(2026, 1, 1), datetime(2026, 2, 1), datetime(2026, 3, 1)]
    assert book["Theo tháng"]["A2"].number_format == "mm/yyyy"
    assert [row[1:5] for row in months] == [(2, 0, 1, 3), (1, 1, 1, 3), (1, 1, 0, 2)]
    assert months[1][5] == pytest.approx(0.833)

    units = book["Theo đơn vị"]
    headings = [c.value for c in units[1]]
    rows = {
        row[0]: dict(zip(headings, row, strict=True)) for row in units.iter_rows(min_row=2, values_only=True)
    }
    japan = rows["Chi bộ Nhật Bản"]
    assert (japan["Tổng số buổi"], japan["Trực tuyến"], japan["Kết hợp"], japan["Trực tiếp"]) == (3, 1, 1, 1)
    assert japan["Tỷ lệ trực tuyến"] == pytest.approx(0.333)
    assert japan["Còn đủ điều kiện"] == "Không" and japan["Thí điểm trực tuyến"] == "Được phép"
    assert rows["Chi bộ Thuyền viên"]["Tỷ lệ có mặt"] is None  # nothing to divide: an empty cell, not 0 %
    assert units.freeze_panes == "B2"

    flags = list(book["Cảnh báo"].iter_rows(min_row=2, values_only=True))
    assert len(flags) == 6
    assert ("Chi bộ Nhật Bản", "2026-02", "R-QUOR-1", "quorum_override", 41) == flags[1][:5]


def test_csv_is_the_unit_view_with_a_total_line(usage: dict[str, Any]) -> None:
    data = report_csv.render_csv(usage)
    assert data.startswith("\ufeff".encode())  # spreadsheet programs then read the diacritics as UTF-8
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0][:4] == ["Đơn vị", "Loại", "Thí điểm trực tuyến", "Còn đủ điều kiện"]
    assert [row[0] for row in rows[1:]] == [
        "Chi bộ Hàn Quốc",
        "Chi bộ Nhật Bản",
        "Chi bộ Thuyền viên",
        "Tổng cộng: Đảng bộ Ngoài nước",
    ]
    by_heading = dict(zip(rows[0], rows[2], strict=True))
    assert (by_heading["Tỷ lệ trực tuyến"], by_heading["Tỷ lệ có mặt"]) == ("33,3%", "79,2%")
    total = dict(zip(rows[0], rows[4], strict=True))
    assert (total["Tổng số buổi"], total["Tỷ lệ có mặt"], total["Số cảnh báo"]) == ("8", "85,9%", "6")


def test_pdf_has_the_summary_charts_and_tables_in_vietnamese(usage: dict[str, Any]) -> None:
    data = report_pdf.render_pdf(usage)
    text = norm(" ".join(pdf_pages(data, "-raw")))
    assert "BÁO CÁO SƠ KẾT THÍ ĐIỂM SINH HOẠT ĐẢNG TRỰC TUYẾN" in text
    for line in summary(usage):
        assert norm(line) in text, line
    for title in (
        "Số buổi sinh hoạt theo tháng và hình thức",
        "Tỷ lệ đảng viên có mặt theo tháng",
        "Tỷ lệ buổi trực tuyến và kết hợp theo đơn vị",
    ):
        assert title in text
    assert "Tháng 02/2026 không có buổi sinh hoạt thường kỳ (R-FREQ-1)." in text
    assert "Chi bộ Thuyền viên" in text and "85,9%" in text
    fonts = poppler("pdffonts", data).splitlines()[2:]
    # Every face is embedded (the "emb" column): the report reads the same on a machine without the font.
    assert fonts and all(line.split()[-5] == "yes" and "Serif" in line for line in fonts), fonts


def test_summary_reads_the_figures(usage: dict[str, Any]) -> None:
    lines = summary(usage)
    assert lines[0].startswith("Từ ngày 01/01/2026 đến ngày 31/03/2026, Đảng bộ Ngoài nước có 3 đơn vị")
    assert "4 buổi trực tuyến, 2 buổi kết hợp, 2 buổi trực tiếp (trực tuyến và kết hợp chiếm 50%)" in lines[1]
    assert "Tỷ lệ đảng viên có mặt 85,9% (55/64 lượt)" in lines[2]
    assert "trung vị 0,5 ngày, lâu nhất 12 ngày" in lines[5]
    quiet = copy.deepcopy(usage)
    quiet["flags"] = []
    assert summary(quiet)[-1] == "Không có cảnh báo nào."
    assert dict((label, value) for label, value, _ in figure_rows(quiet))["Số cảnh báo"] == 0


@pytest.mark.parametrize(
    ("value", "text"), [(0, "0"), (12.0, "12"), (85.94, "85,9"), (1234, "1.234"), (None, "—")]
)
def test_numbers_read_the_vietnamese_way(value: float | None, text: str) -> None:
    assert vn_number(value) == text


def test_charts_carry_the_figures(usage: dict[str, Any]) -> None:
    monthly = ET.fromstring(charts.monthly_modes(usage["months"], report_pdf.LABELS))
    bars = {
        (bar.get("data-month"), bar.get("data-mode")): int(bar.get("data-value") or 0)
        for bar in monthly.iter(f"{SVG}rect")
        if bar.get("class") == "bar"
    }
    expected = {(m["month"], mode): m[mode] for m in usage["months"] for mode in charts.MODES if m[mode]}
    assert bars == expected
    assert monthly.get("role") == "img" and monthly.get("aria-label")

    trend = ET.fromstring(charts.attendance_trend(usage["months"], 85.0, report_pdf.LABELS))
    points = [float(p.get("data-value") or 0) for p in trend.iter(f"{SVG}circle")]
    assert points == [87.5, 83.3, 87.5]
    assert [line for line in trend.iter(f"{SVG}line") if line.get("class") == "target"]

    share = ET.fromstring(charts.online_share_by_unit(usage["units"], report_pdf.LABELS))
    ordered = [(b.get("data-unit"), b.get("data-value")) for b in share.iter(f"{SVG}rect")]
    assert ordered == [("5", "75.0"), ("6", "33.3"), ("7", "0.0")]  # highest share first


def test_a_month_without_meetings_is_a_gap_and_names_are_escaped(usage: dict[str, Any]) -> None:
    months = copy.deepcopy(usage["months"])
    months[1].update(online=0, hybrid=0, in_person=0, attendance_rate_percent=None)
    trend = ET.fromstring(charts.attendance_trend(months, 85.0, report_pdf.LABELS))
    assert len(list(trend.iter(f"{SVG}circle"))) == 2
    assert not list(trend.iter(f"{SVG}polyline"))  # no line drawn across the missing month
    units = copy.deepcopy(usage["units"])
    units[0]["name"] = '<script>alert("x")</script> & Co'
    drawn = charts.online_share_by_unit(units, report_pdf.LABELS)
    assert "<script>" not in drawn
    assert ET.fromstring(drawn) is not None  # still well-formed
    assert "Chưa có buổi sinh hoạt nào" in charts.online_share_by_unit([], report_pdf.LABELS)


def test_every_figure_says_how_it_is_counted_and_below_quorum_is_split(usage: dict[str, Any]) -> None:
    """Issue 23: meetings and votes opened below quorum are two figures, each with its definition."""
    labels = [label for label, _, _ in figure_rows(usage)]
    assert set(DEFINITIONS) <= set(labels)
    figures = {label: value for label, value, _ in figure_rows(usage)}
    assert figures["Khai mạc khi chưa đủ số lượng (có lý do)"] == 1
    assert figures["Biểu quyết mở khi chưa đủ số lượng (có lý do)"] == 0
    split = copy.deepcopy(usage)
    split["below_quorum"].update(meetings=1, votes=2)
    assert "Có 1 buổi khai mạc và 2 lần mở biểu quyết khi chưa đủ số lượng" in " ".join(summary(split))
    # A document made before the split still reads: every meeting below quorum was an override.
    older = copy.deepcopy(usage)
    del older["below_quorum"]
    older["totals"]["quorum"] = {"failures": 1, "overrides": 3}
    assert below_quorum(older) == (1, 2)
    book = openpyxl.load_workbook(io.BytesIO(report_xlsx.render_xlsx(usage)))
    overview = book["Tổng hợp"]
    assert overview["C3"].value == "Cách tính"
    defined = {row[0]: row[2] for row in overview.iter_rows(min_row=4, max_col=3, values_only=True) if row[0]}
    assert all(defined[label] == text for label, text in DEFINITIONS.items())
