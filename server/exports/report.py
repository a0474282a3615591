"""The review report in the format asked for: one entry point for the download route and the CLI."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

FORMATS = ("xlsx", "csv", "pdf")


@dataclass(frozen=True)
class ReportFile:
    data: bytes
    content_type: str
    filename: str


_CONTENT_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
    "pdf": "application/pdf",
}


def render_report(usage: Mapping[str, Any], fmt: str) -> ReportFile:
    """`fmt` is one of FORMATS (the caller validated it); the file name says the unit and the period."""
    # Imported here: WeasyPrint and openpyxl take a while to load, and the CLI's other commands need neither.
    from server.exports import report_csv, report_pdf, report_xlsx

    renderers = {"xlsx": report_xlsx.render_xlsx, "csv": report_csv.render_csv, "pdf": report_pdf.render_pdf}
    name = f"bao-cao-thi-diem-{usage['org']['id']}-{usage['from']}-{usage['to']}.{fmt}"
    return ReportFile(renderers[fmt](usage), _CONTENT_TYPES[fmt], name)
