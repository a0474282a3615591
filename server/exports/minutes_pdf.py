"""The minutes (biên bản) as PDF/A4 in the Party's document format (R-MIN-3), rendered offline by WeasyPrint.

The text comes from minutes_text (the DOCX says the same) through web/templates/exports/minutes.html,
autoescaped. The Unicode serif font is embedded from a local file (Liberation Serif, metric-compatible
with Times New Roman, covers Vietnamese); the URL fetcher refuses every URL but those font files, so a
render never touches the network. A draft carries a diagonal "DỰ THẢO" watermark on every page.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from server.exports.minutes_text import build
from server.exports.minutes_wording import ADDENDA_HEADING, DRAFT_MARK, PARTY
from server.exports.pdf_offline import FontMissing, environment, font_urls, local_fetcher, write_pdf

__all__ = ["MinutesFontMissing", "font_urls", "local_fetcher", "render_html", "render_pdf"]

MinutesFontMissing = FontMissing
TEMPLATE = "exports/minutes.html"
_ENV = environment()


def render_html(minutes: Mapping[str, Any], *, font_dir: Path | None = None) -> str:
    """The HTML WeasyPrint lays out (useful to inspect a layout problem)."""
    text = build(minutes)
    return _ENV.get_template(TEMPLATE).render(
        text=text,
        party=PARTY,
        draft_mark=DRAFT_MARK,
        addenda_heading=ADDENDA_HEADING,
        doc_title=f"{text.title} {text.meeting_title}".strip(),
        fonts=font_urls(font_dir),
    )


def render_pdf(minutes: Mapping[str, Any], *, font_dir: Path | None = None) -> bytes:
    """The minutes JSON (docs/api.md "Minutes") as an A4 PDF, font embedded, title and lang "vi" set."""
    return write_pdf(render_html(minutes, font_dir=font_dir), font_urls(font_dir))
