"""The periodic pilot report as PDF (WeasyPrint, offline, the font embedded), from its JSON."""

from __future__ import annotations

from collections.abc import Mapping
from itertools import groupby
from pathlib import Path
from typing import Any

from server.exports.pdf_offline import environment, font_urls, write_pdf
from server.exports.pilot_report import (
    BASIS,
    NOT_OFFICIAL,
    approving_line,
    generated_line,
    rows,
    rule_set_line,
    shown,
    title,
)

TEMPLATE = "exports/pilot_report.html"
_ENV = environment()


def render_html(report: Mapping[str, Any], *, font_dir: Path | None = None) -> str:
    sections = [
        (section, [(row.label, shown(row), row.rule) for row in group])
        for section, group in groupby(rows(report), key=lambda row: row.section)
    ]
    return _ENV.get_template(TEMPLATE).render(
        title=title(report),
        basis=BASIS,
        notice=NOT_OFFICIAL,
        lines=[generated_line(report), approving_line(report), rule_set_line(report)],
        sections=sections,
        flags=report["flags"],
        fonts=font_urls(font_dir),
    )


def render_pdf(report: Mapping[str, Any], *, font_dir: Path | None = None) -> bytes:
    return write_pdf(render_html(report, font_dir=font_dir), font_urls(font_dir))
