"""The caller's language: Vietnamese unless the request prefers English."""

from __future__ import annotations

from aiohttp import web

SUPPORTED = ("vi", "en")


def request_language(request: web.Request, default: str = "vi") -> str:
    """First supported language in Accept-Language (q-ordered), else the default."""
    chosen = request.query.get("lang") or request.cookies.get("cellmeet_lang")
    if chosen in SUPPORTED:
        return chosen
    header = request.headers.get("Accept-Language", "")
    ranked: list[tuple[float, str]] = []
    for index, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        ranked.append((-quality + index * 1e-6, tag.strip().lower().split("-")[0]))
    for _, lang in sorted(ranked):
        if lang in SUPPORTED:
            return lang
    return default
