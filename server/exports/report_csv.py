"""The pilot review report's per-unit view as CSV (one row per unit, the whole subtree's line last).

UTF-8 with a byte-order mark and CRLF line ends, as spreadsheet programs in Vietnamese offices open
without garbling the diacritics; values as the PDF shows them (decimal comma, "%")."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Any

from server.exports.report_text import UNIT_COLUMNS, below_quorum, display, table, unit_rows
from server.exports.spreadsheet_safe import csv_text


def _total_row(usage: Mapping[str, Any]) -> list[str]:
    totals = usage["totals"]
    by_mode = totals["meetings"]["by_mode"]
    meetings_below, votes_below = below_quorum(usage)
    cells = {
        "Đơn vị": f"Tổng cộng: {usage['org']['name']}",
        "Tổng số buổi": display(totals["meetings"]["total"], "int"),
        "Trực tuyến": display(by_mode["online"], "int"),
        "Kết hợp": display(by_mode["hybrid"], "int"),
        "Trực tiếp": display(by_mode["in_person"], "int"),
        "Tỷ lệ trực tuyến": display(totals["online_share_percent"], "percent"),
        "Tỷ lệ có mặt": display(totals["attendance"]["rate_percent"], "percent"),
        "Khai mạc khi chưa đủ số lượng": display(meetings_below, "int"),
        "Biểu quyết khi chưa đủ số lượng": display(votes_below, "int"),
        "Số lần biểu quyết": display(totals["votes"]["held"], "int"),
        "Biên bản đã thông qua": display(totals["minutes"]["adopted"], "int"),
        "Số ngày đến khi thông qua (trung vị)": display(totals["minutes"]["days_to_adoption_median"], "days"),
        "Số cảnh báo": display(len(usage["flags"]), "int"),
    }
    return [cells.get(column.heading, "") for column in UNIT_COLUMNS]


def _safe(row: list[str]) -> list[str]:
    """Text columns carry user text (unit names): neutralised. Number columns are left as they read."""
    return [
        csv_text(cell) if column.kind == "text" else cell
        for cell, column in zip(row, UNIT_COLUMNS, strict=True)
    ]


def render_csv(usage: Mapping[str, Any]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([column.heading for column in UNIT_COLUMNS])
    writer.writerows(_safe(row) for row in table(unit_rows(usage), UNIT_COLUMNS))
    writer.writerow(_safe(_total_row(usage)))
    return ("\ufeff" + out.getvalue()).encode("utf-8")
