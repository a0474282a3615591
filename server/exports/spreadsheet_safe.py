"""User text in a spreadsheet stays text (OWASP "CSV injection"): a unit named `=HYPERLINK(...)` must not
become a live formula in the auditor's Excel or LibreOffice. Every CSV and XLSX writer goes through here.

- CSV has no cell types: a spreadsheet program evaluates a cell starting with `=`, `+`, `-` or `@` (and
  some strip a leading tab or carriage return first), so such a value gets a leading `'`, which Excel
  and LibreOffice read as "this is text".
- XLSX does: openpyxl turns any str starting with `=` into a formula (and `#N/A`-like strings into error
  cells), so a str is written as a string cell instead, and reads back exactly as it was written.

Numbers (int, float, dates) are never touched: a negative count stays a number.
"""

from __future__ import annotations

from typing import Any

from openpyxl.cell.cell import Cell  # type: ignore[import-untyped]
from openpyxl.worksheet.worksheet import Worksheet  # type: ignore[import-untyped]

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_text(value: str) -> str:
    """A text cell for a CSV file: prefixed with `'` when a spreadsheet would otherwise evaluate it."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def xlsx_cell(sheet: Worksheet, row: int, column: int, value: Any) -> Cell:
    """Write `value` at (row, column); a str is always a string cell, never a formula or an error."""
    cell = sheet.cell(row=row, column=column)
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"  # after the assignment: openpyxl's setter is what guesses "f" from a leading "="
    return cell
