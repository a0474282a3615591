"""The pilot review report as XLSX (openpyxl): one sheet per view — summary, by month, by unit, flags —
with real numbers and number formats (a percentage is a fraction shown as 0.0 %, a month a date shown
as mm/yyyy), so a board can sort, sum and chart it further in its own spreadsheet."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

from openpyxl import Workbook  # type: ignore[import-untyped]
from openpyxl.styles import Alignment, Font  # type: ignore[import-untyped]
from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]
from openpyxl.worksheet.worksheet import Worksheet  # type: ignore[import-untyped]

from server.exports.report_text import (
    BASIS,
    DEFINITIONS,
    FLAG_COLUMNS,
    MONTH_COLUMNS,
    TITLE,
    UNIT_COLUMNS,
    Column,
    Kind,
    figure_rows,
    month_date,
    period_line,
    summary,
    unit_rows,
)
from server.exports.spreadsheet_safe import xlsx_cell

FORMATS: Mapping[Kind, str] = {
    "int": "#,##0",
    "percent": "0.0%",
    "days": "0.0",
    "month": "mm/yyyy",
    "text": "@",
    "yes_no": "@",
}
BOLD = Font(bold=True)


def _cell_value(value: Any, kind: Kind) -> Any:
    if value is None:
        return None
    if kind == "percent":
        return float(value) / 100
    if kind == "month":
        return month_date(str(value))
    if kind == "yes_no":
        return "Có" if value else "Không"
    return value


def _put(sheet: Worksheet, row: int, column: int, value: Any, kind: Kind) -> None:
    cell = xlsx_cell(sheet, row, column, _cell_value(value, kind))
    cell.number_format = FORMATS[kind]
    if kind == "text":
        cell.alignment = Alignment(wrap_text=True, vertical="top")


def _table(sheet: Worksheet, rows: Sequence[Mapping[str, Any]], columns: Sequence[Column]) -> None:
    for index, column in enumerate(columns, start=1):
        heading = xlsx_cell(sheet, 1, index, column.heading)
        heading.font = BOLD
        heading.alignment = Alignment(wrap_text=True, vertical="top")
        sheet.column_dimensions[get_column_letter(index)].width = column.width
    for number, row in enumerate(rows, start=2):
        for index, column in enumerate(columns, start=1):
            _put(sheet, number, index, column.value(row), column.kind)
    sheet.freeze_panes = "B2"
    if rows:
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{len(rows) + 1}"


def render_xlsx(usage: Mapping[str, Any]) -> bytes:
    book = Workbook()
    overview = book.active
    assert overview is not None
    overview.title = "Tổng hợp"
    xlsx_cell(overview, 1, 1, TITLE).font = Font(bold=True, size=13)
    # The line starts with the organisation's name: user text, so a string cell (never a formula).
    xlsx_cell(overview, 2, 1, f"{usage['org']['name']} — {period_line(usage)} — {BASIS}")
    xlsx_cell(overview, 3, 3, "Cách tính").font = BOLD
    row = 4
    for label, value, kind in figure_rows(usage):
        xlsx_cell(overview, row, 1, label)
        _put(overview, row, 2, value, kind)
        definition = xlsx_cell(overview, row, 3, DEFINITIONS.get(label, ""))
        definition.alignment = Alignment(wrap_text=True, vertical="top")
        row += 1
    row += 1
    xlsx_cell(overview, row, 1, "Tóm tắt").font = BOLD
    for line in summary(usage):
        row += 1
        cell = xlsx_cell(overview, row, 1, line)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        overview.merge_cells(start_row=row, start_column=1, end_row=row, end_column=2)
        overview.row_dimensions[row].height = 45
    overview.column_dimensions["A"].width = 60
    overview.column_dimensions["B"].width = 14
    overview.column_dimensions["C"].width = 70

    _table(book.create_sheet("Theo tháng"), usage["months"], MONTH_COLUMNS)
    _table(book.create_sheet("Theo đơn vị"), unit_rows(usage), UNIT_COLUMNS)
    _table(book.create_sheet("Cảnh báo"), usage["flags"], FLAG_COLUMNS)
    book.properties.title = TITLE
    book.properties.language = "vi"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
