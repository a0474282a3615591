"""Spreadsheet neutralising (issue 17 part 3, OWASP "CSV injection"): user text never becomes a formula."""

from __future__ import annotations

import io

import openpyxl
import pytest
from openpyxl import Workbook

from server.exports.spreadsheet_safe import csv_text, xlsx_cell

HOSTILE = ['=HYPERLINK("http://127.0.0.1:9/?"&A1,"x")', "+1+1", "-2+3", "@SUM(A1)", "\t=1+2", "\r=1+2"]


@pytest.mark.parametrize("value", HOSTILE)
def test_csv_prefixes_what_a_spreadsheet_would_evaluate(value: str) -> None:
    assert csv_text(value) == "'" + value


@pytest.mark.parametrize("value", ["Chi bộ Văn phòng", "", "1+1", "a=b", "'=quoted", "Tổng cộng: =x", "—"])
def test_csv_leaves_other_text_as_it_is(value: str) -> None:
    assert csv_text(value) == value


def test_xlsx_writes_text_as_text_and_numbers_as_numbers() -> None:
    book = Workbook()
    sheet = book.active
    values: list[object] = [*HOSTILE, "#N/A", "Chi bộ", -2, -1.5, 0, None]
    for row, value in enumerate(values, start=1):
        xlsx_cell(sheet, row, 1, value)
    out = io.BytesIO()
    book.save(out)

    reread = openpyxl.load_workbook(io.BytesIO(out.getvalue())).active
    cells = [reread.cell(row=row, column=1) for row in range(1, len(values) + 1)]
    assert [cell.value for cell in cells] == values
    for cell, value in zip(cells, values, strict=True):
        assert cell.data_type == ("s" if isinstance(value, str) else "n"), (value, cell.data_type)
