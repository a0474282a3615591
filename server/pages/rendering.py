"""Jinja2 templates (autoescape on for every template) translated through Babel catalogues read at startup.

The catalogues are the `.po` files themselves, compiled in memory: no generated `.mo` file is kept.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Mapping
from dataclasses import dataclass
from gettext import GNUTranslations
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from server.i18n import SUPPORTED
from server.pages.labels import translated_tables

WEB_DIR = Path(__file__).resolve().parents[2] / "web"
TEMPLATES_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"
LOCALE_DIR = WEB_DIR / "locale"
LANGUAGE_COOKIE = "cellmeet_lang"
LANGUAGE_NAMES = {"vi": "Tiếng Việt", "en": "English"}


def make_environment(templates: Path = TEMPLATES_DIR) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        auto_reload=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # Compile everything now: a broken template stops the start, not a request.
    for name in env.list_templates(extensions=["html"]):
        env.get_template(name)
    return env


def catalogue_path(language: str, locale_dir: Path = LOCALE_DIR) -> Path:
    return locale_dir / language / "LC_MESSAGES" / "messages.po"


def load_catalogue(path: Path, language: str) -> GNUTranslations:
    """A `.po` file as a gettext object; fuzzy and empty entries fall back to the English message id."""
    with path.open("rb") as source:
        catalog = read_po(source, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return GNUTranslations(compiled)


def load_catalogues(locale_dir: Path = LOCALE_DIR) -> dict[str, GNUTranslations]:
    return {
        language: load_catalogue(catalogue_path(language, locale_dir), language) for language in SUPPORTED
    }


@dataclass(frozen=True)
class Pages:
    env: jinja2.Environment
    catalogues: Mapping[str, GNUTranslations]
    labels: Mapping[str, dict[str, dict[str, str]]]

    @classmethod
    @functools.cache
    def load(cls) -> Pages:
        """Read once per process: the templates and catalogues do not change while it runs
        (auto_reload is off), and an app started again in the same process (the tests start one per
        test) would otherwise compile them all again."""
        catalogues = load_catalogues()
        labels = {language: translated_tables(translations) for language, translations in catalogues.items()}
        return cls(env=make_environment(), catalogues=catalogues, labels=labels)


PAGES = web.AppKey("pages", Pages)


def _without_language(request: web.Request) -> str:
    """This page's address without `?lang=`, for the language switch to come back to."""
    query = [(key, value) for key, value in request.query.items() if key != "lang"]
    return str(request.rel_url.with_query(query))


def render(
    request: web.Request, template: str, language: str, *, status: int = 200, **context: Any
) -> web.Response:
    pages = request.app[PAGES]
    translations = pages.catalogues[language]
    html = pages.env.get_template(template).render(
        lang=language,
        _=translations.gettext,
        labels=pages.labels[language],
        language_names=LANGUAGE_NAMES,
        here=_without_language(request),
        **context,
    )
    response = web.Response(text=html, status=status, content_type="text/html", charset="utf-8")
    # Pages name the signed-in user; no shared cache may keep them.
    response.headers["Cache-Control"] = "no-store"
    return response
