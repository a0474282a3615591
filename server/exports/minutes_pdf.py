"""The minutes (biên bản) as PDF/A4 in the Party's document format (R-MIN-3), rendered offline by WeasyPrint.

The text comes from minutes_text (the DOCX says the same) through web/templates/exports/minutes.html,
autoescaped. The Unicode serif font is embedded from a local file (Liberation Serif, metric-compatible
with Times New Roman, covers Vietnamese); the URL fetcher refuses every URL but those font files, so a
render never touches the network. A draft carries a diagonal "DỰ THẢO" watermark on every page.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2
import weasyprint  # type: ignore[import-untyped]

from server.exports.minutes_text import ADDENDA_HEADING, DRAFT_MARK, PARTY, build

# Override with CELLMEET_MINUTES_FONT_DIR or the font_dir argument; Debian package fonts-liberation2.
FONT_DIR = Path(os.environ.get("CELLMEET_MINUTES_FONT_DIR", "/usr/share/fonts/truetype/liberation2"))
FONT_FILES = {
    "regular": "LiberationSerif-Regular.ttf",
    "bold": "LiberationSerif-Bold.ttf",
    "italic": "LiberationSerif-Italic.ttf",
    "bold_italic": "LiberationSerif-BoldItalic.ttf",
}
TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "web" / "templates"
TEMPLATE = "exports/minutes.html"


class MinutesFontMissing(RuntimeError):
    """The embedded font's files are not where FONT_DIR says."""


def font_urls(font_dir: Path | None = None) -> dict[str, str]:
    """file:// URLs of the four faces; MinutesFontMissing names what is missing and how to install it."""
    directory = FONT_DIR if font_dir is None else font_dir
    paths = {face: (directory / name).resolve() for face, name in FONT_FILES.items()}
    missing = [str(path) for path in paths.values() if not path.is_file()]
    if missing:
        raise MinutesFontMissing(
            "The minutes PDF needs the Liberation Serif font (Debian package fonts-liberation2, or set "
            f"CELLMEET_MINUTES_FONT_DIR); missing: {', '.join(missing)}"
        )
    return {face: path.as_uri() for face, path in paths.items()}


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


_ENV = _environment()


def _fetcher(allowed: set[str]) -> Any:
    """A URL fetcher that serves the font files and refuses everything else (no network, no other files)."""

    def read(url: str) -> bytes:
        if url not in allowed:
            raise ValueError(f"minutes PDF: refusing to fetch {url!r}")
        path = Path(url.removeprefix("file://"))
        return path.read_bytes()

    url_fetcher_class = getattr(weasyprint.urls, "URLFetcher", None)
    if url_fetcher_class is None:  # WeasyPrint < 68: a function returning a dict

        def fetch(url: str) -> dict[str, Any]:
            return {"string": read(url), "mime_type": "font/ttf", "redirected_url": url}

        return fetch

    response_class = weasyprint.urls.URLFetcherResponse

    class LocalFonts(url_fetcher_class):  # type: ignore[misc,valid-type]
        def fetch(self, url: str, headers: Any = None) -> Any:
            return response_class(url, read(url), {"Content-Type": "font/ttf"})

    return LocalFonts(allowed_protocols=("file",))


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
    fonts = font_urls(font_dir)
    html = weasyprint.HTML(
        string=render_html(minutes, font_dir=font_dir), url_fetcher=_fetcher(set(fonts.values()))
    )
    document = html.render()
    document.metadata.lang = "vi"
    data = document.write_pdf()
    assert isinstance(data, bytes)
    return data
