"""Web pages (placeholder until the pages module lands)."""

from __future__ import annotations

from aiohttp import web


def setup_pages(app: web.Application) -> None:
    return None
