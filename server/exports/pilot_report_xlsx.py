"""The periodic pilot report as XLSX (openpyxl), from its JSON: the first sheet holds the heading lines and
one row per figure (section, figure, value as a real number, rule); the second the flags. Every cell of
user text (the unit's name, the flags' messages) goes through spreadsheet_safe, never as a formula."""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

from openpyxl import Workbook  # type: ignore[import-untyped]
from openpyxl.styles import Alignment, Font  # type: ignore[import-untyped]

from server.exports.pilot_report import (
    BASIS,
    NOT_OFFICIAL,
    TITLE,
    approving_line,
    generated_line,
    rows,
    rule_set_line,
    title,
)
from server.exports.spreadsheet_safe import xlsx_cell

BOLD = Font(bold=True)
NUMBER_FORMATS = {"int": "#,##0", "days": "0.0"}
HEADINGS = ("Mục", "Số liệu", "Giá trị", "Căn cứ")
FLAG_HEADINGS = ("Ngày / kỳ", "Đơn vị", "Nội dung", "Quy tắc", "Bộ quy tắc")


def render_xlsx(report: Mapping[str, Any]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Báo cáo"
    xlsx_cell(sheet, 1, 1, title(report)).font = Font(bold=True, size=13)
    lines = [BASIS, NOT_OFFICIAL, generated_line(report), approving_line(report), rule_set_line(report)]
    for number, line in enumerate(lines, start=2):
        xlsx_cell(sheet, number, 1, line)
    sheet.cell(row=3, column=1).font = BOLD
    start = len(lines) + 3
    for column, heading in enumerate(HEADINGS, start=1):
        xlsx_cell(sheet, start, column, heading).font = BOLD
    for number, row in enumerate(rows(report), start=start + 1):
        xlsx_cell(sheet, number, 1, row.section)
        xlsx_cell(sheet, number, 2, row.label).alignment = Alignment(wrap_text=True, vertical="top")
        value = xlsx_cell(sheet, number, 3, row.value)
        value.number_format = NUMBER_FORMATS.get(row.kind, "General")
        xlsx_cell(sheet, number, 4, row.rule)
    for letter, width in zip("ABCD", (22, 55, 12, 12), strict=True):
        sheet.column_dimensions[letter].width = width

    flags = book.create_sheet("Cảnh báo")
    for column, heading in enumerate(FLAG_HEADINGS, start=1):
        xlsx_cell(flags, 1, column, heading).font = BOLD
    for number, flag in enumerate(report["flags"], start=2):
        values = (flag["period"], flag["org_name"], flag["message"], flag["rule"], flag["rule_set"])
        for column, value in enumerate(values, start=1):
            xlsx_cell(flags, number, column, value)
    for letter, width in zip("ABCDE", (12, 30, 80, 12, 14), strict=True):
        flags.column_dimensions[letter].width = width
    book.properties.title = TITLE
    book.properties.language = "vi"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
