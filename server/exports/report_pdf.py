"""The pilot review report as PDF (WeasyPrint, offline, font embedded): the summary in Vietnamese, the
charts (the same SVG as the dashboard), and the tables by month, by unit and of flags."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from server.exports import charts
from server.exports.pdf_offline import environment, font_urls, write_pdf
from server.exports.report_text import (
    BASIS,
    DEFINITIONS,
    FLAG_COLUMNS,
    MONTH_COLUMNS,
    TITLE,
    UNIT_COLUMNS,
    Column,
    display,
    figure_rows,
    period_line,
    summary,
    table,
    unit_rows,
)

TEMPLATE = "exports/report.html"
_ENV = environment()

LABELS = charts.ChartLabels(
    monthly_title="Số buổi sinh hoạt theo tháng và hình thức",
    modes={"online": "Trực tuyến", "hybrid": "Kết hợp", "in_person": "Trực tiếp"},
    attendance_title="Tỷ lệ đảng viên có mặt theo tháng",
    target="Mục tiêu",
    share_title="Tỷ lệ buổi trực tuyến và kết hợp theo đơn vị",
    no_data="Chưa có buổi sinh hoạt nào",
)


def _section(
    name: str, rows: Sequence[Mapping[str, Any]], columns: Sequence[Column]
) -> tuple[str, list[tuple[str, bool]], list[list[str]]]:
    """A table's name, its headings with whether the column is a number (right-aligned), and its rows."""
    return name, [(c.heading, c.kind not in ("text", "yes_no")) for c in columns], table(rows, columns)


def render_html(usage: Mapping[str, Any], *, font_dir: Path | None = None) -> str:
    target = float(usage["parameters"]["attendance_target_percent"])
    return _ENV.get_template(TEMPLATE).render(
        title=TITLE,
        basis=BASIS,
        org=usage["org"],
        period=period_line(usage),
        summary=summary(usage),
        figures=[
            (label, display(value, kind), DEFINITIONS.get(label, ""))
            for label, value, kind in figure_rows(usage)
        ],
        charts=[
            charts.monthly_modes(usage["months"], LABELS),
            charts.attendance_trend(usage["months"], target, LABELS),
            charts.online_share_by_unit(usage["units"], LABELS),
        ],
        tables=[
            _section("Theo tháng", usage["months"], MONTH_COLUMNS),
            _section("Theo đơn vị", unit_rows(usage), UNIT_COLUMNS),
            _section("Cảnh báo", usage["flags"], FLAG_COLUMNS),
        ],
        fonts=font_urls(font_dir),
    )


def render_pdf(usage: Mapping[str, Any], *, font_dir: Path | None = None) -> bytes:
    return write_pdf(render_html(usage, font_dir=font_dir), font_urls(font_dir))
