"""What every PDF we render needs: a Vietnamese-capable font embedded from local files, a jinja2
environment over web/templates, and a WeasyPrint URL fetcher that serves those font files and refuses
every other URL, so a render never touches the network (no third-party call, ever)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import jinja2

# WeasyPrint is imported at the first render, not with this module: it costs about 0.7 s of the
# server's start-up (and of every `cellmeet` command) for a document most runs never make.

# Override with CELLMEET_MINUTES_FONT_DIR or the font_dir argument; Debian package fonts-liberation2.
FONT_DIR = Path(os.environ.get("CELLMEET_MINUTES_FONT_DIR", "/usr/share/fonts/truetype/liberation2"))
FONT_FILES = {
    "regular": "LiberationSerif-Regular.ttf",
    "bold": "LiberationSerif-Bold.ttf",
    "italic": "LiberationSerif-Italic.ttf",
    "bold_italic": "LiberationSerif-BoldItalic.ttf",
}
TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "web" / "templates"


class FontMissing(RuntimeError):
    """The embedded font's files are not where FONT_DIR says."""


def font_urls(font_dir: Path | None = None) -> dict[str, str]:
    """file:// URLs of the four faces; FontMissing names what is missing and how to install it."""
    directory = FONT_DIR if font_dir is None else font_dir
    paths = {face: (directory / name).resolve() for face, name in FONT_FILES.items()}
    missing = [str(path) for path in paths.values() if not path.is_file()]
    if missing:
        raise FontMissing(
            "PDF documents need the Liberation Serif font (Debian package fonts-liberation2, or set "
            f"CELLMEET_MINUTES_FONT_DIR); missing: {', '.join(missing)}"
        )
    return {face: path.as_uri() for face, path in paths.items()}


def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def local_fetcher(allowed: set[str]) -> Any:
    """A URL fetcher that serves the font files and refuses everything else (no network, no other files)."""

    def read(url: str) -> bytes:
        if url not in allowed:
            raise ValueError(f"PDF: refusing to fetch {url!r}")
        path = Path(url.removeprefix("file://"))
        return path.read_bytes()

    import weasyprint  # type: ignore[import-untyped]

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


def write_pdf(html: str, fonts: dict[str, str]) -> bytes:
    """Lay out `html` (which may only refer to `fonts`) as a PDF whose language is Vietnamese."""
    import weasyprint

    document = weasyprint.HTML(string=html, url_fetcher=local_fetcher(set(fonts.values()))).render()
    document.metadata.lang = "vi"
    data = document.write_pdf()
    assert isinstance(data, bytes)
    return data
