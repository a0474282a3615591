"""The page templates: autoescaped, and every message translated into Vietnamese by the Babel catalogues."""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from types import SimpleNamespace

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

from meetings.enums import Activity, ApplicationKind, ApplicationStatus, OrgKind, RemoteReason, Role, Standing
from server.imports.members_file import ACTIVITY_LABELS_VI, REMOTE_REASON_LABELS_VI, STANDING_LABELS_VI
from server.pages import labels
from server.pages.rendering import (
    LANGUAGE_NAMES,
    TEMPLATES_DIR,
    catalogue_path,
    load_catalogues,
    make_environment,
)

ROOT = Path(__file__).resolve().parents[2]
# The same sources and keywords as web/locale/babel.cfg and `pybabel extract -k _label:1c,2`.
KEYWORDS = {**DEFAULT_KEYWORDS, "_label": ((1, "c"), 2)}
METHODS = [("server/pages/**.py", "python"), ("web/templates/**.html", "jinja2.ext:babel_extract")]
OPTIONS = {"web/templates/**.html": {"trim_blocks": "true", "lstrip_blocks": "true"}}
PLACEHOLDER = re.compile(r"\{(\w+)\}")
ABILITIES = (
    "read_members",
    "write_members",
    "import_members",
    "read_eligibility",
    "read_applications",
    "apply",
    "decide_here",
    "decide_below",
    "read_access_log",
    "read_usage",
    "read_record",
)


def extracted() -> dict[tuple[str | None, str], str]:
    """Every message id the pages use, with where it is used."""
    found: dict[tuple[str | None, str], str] = {}
    for filename, lineno, message, _comments, context in extract_from_dir(
        str(ROOT), METHODS, options_map=OPTIONS, keywords=KEYWORDS
    ):
        assert isinstance(message, str), f"{filename}:{lineno}: plural forms are not used by the pages"
        found.setdefault((context, message), f"{filename}:{lineno}")
    return found


def catalogue(language: str) -> Catalog:
    with catalogue_path(language).open("rb") as source:
        return read_po(source, locale=language)


def test_autoescape_is_on_for_every_template() -> None:
    env = make_environment()
    assert env.autoescape is True
    assert env.from_string("{{ value }}").render(value="<b>") == "&lt;b&gt;"
    names = env.list_templates(extensions=["html"])
    assert {"base.html", "login.html", "home.html", "org.html", "not_found.html"} <= set(names)
    translations = load_catalogues()["vi"]
    hostile = '<script>alert("x")</script>'
    html = env.get_template("org.html").render(
        lang="vi",
        _=translations.gettext,
        labels=labels.translated_tables(translations),
        language_names=LANGUAGE_NAMES,
        here="/orgs/1",
        user=hostile,
        org=SimpleNamespace(id=1, name=hostile, timezone="Asia/Ho_Chi_Minh"),
        kind="cell",
        can=dict.fromkeys(ABILITIES, True),
        page_script="org.js",
    )
    assert hostile not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html


def test_extraction_sees_every_message_of_the_templates() -> None:
    # A cross-check that the Babel extractor really reads the templates: a plain scan finds no more.
    scanned = set()
    for template in TEMPLATES_DIR.rglob("*.html"):
        scanned.update(re.findall(r"""\b_\(\s*(["'])(.+?)\1\s*\)""", template.read_text(encoding="utf-8")))
    messages = {message for _context, message in extracted()}
    assert {text for _quote, text in scanned} <= messages
    assert len(scanned) > 100


def test_every_page_message_has_a_vietnamese_translation() -> None:
    vi = catalogue("vi")
    missing = []
    for (context, message), where in extracted().items():
        entry = vi.get(message, context=context)
        if entry is None or not entry.string or entry.fuzzy:
            missing.append(f"{where}: {message!r}")
    assert missing == []


def test_translations_keep_their_placeholders() -> None:
    vi = catalogue("vi")
    for entry in vi:
        if isinstance(entry.id, str) and isinstance(entry.string, str) and entry.id and entry.string:
            assert set(PLACEHOLDER.findall(entry.id)) == set(PLACEHOLDER.findall(entry.string)), entry.id


def test_catalogues_hold_no_stale_or_missing_entries() -> None:
    used = set(extracted())
    for language in ("vi", "en"):
        held = {(entry.context, entry.id) for entry in catalogue(language) if entry.id}
        assert held == used, language


def test_the_english_catalogue_loads_and_falls_back_to_the_message_ids() -> None:
    catalogues = load_catalogues()
    assert set(catalogues) == {"vi", "en"}
    english = catalogues["en"]
    assert english.gettext("Log in") == "Log in"
    assert english.pgettext("org kind", "party cell") == "party cell"
    vietnamese = catalogues["vi"]
    assert vietnamese.gettext("Log in") == "Đăng nhập"
    assert vietnamese.gettext("Eligibility flags") == "Cảnh báo về điều kiện"


@pytest.mark.parametrize(
    ("table", "enum"),
    [
        (labels.ORG_KIND, OrgKind),
        (labels.STANDING, Standing),
        (labels.ACTIVITY, Activity),
        (labels.REMOTE_REASON, RemoteReason),
        (labels.ROLE, Role),
        (labels.APPLICATION_KIND, ApplicationKind),
        (labels.APPLICATION_STATUS, ApplicationStatus),
    ],
)
def test_every_enumeration_value_has_a_label(table: Mapping[str, labels.Label], enum: type[StrEnum]) -> None:
    assert set(table) == {member.value for member in enum}


def test_vietnamese_labels_are_the_glossary_terms_and_the_import_spellings() -> None:
    tables = labels.translated_tables(load_catalogues()["vi"])
    assert tables["org_kind"] == {
        "province": "tỉnh ủy",
        "committee": "đảng ủy cấp trên cơ sở",
        "grassroots": "đảng bộ cơ sở",
        "cell": "chi bộ",
        "group": "tổ đảng",
    }
    # What the page shows is what a secretary may type in the register file.
    assert tables["standing"] == {key.value: text for key, text in STANDING_LABELS_VI.items()}
    assert tables["activity"] == {key.value: text for key, text in ACTIVITY_LABELS_VI.items()}
    assert tables["remote_reason"] == {key.value: text for key, text in REMOTE_REASON_LABELS_VI.items()}
