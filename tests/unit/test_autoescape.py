"""quality.md row S9 (issue 29): jinja2 autoescape is on for every template the server renders, pages
and documents alike, and no template turns it off or marks a value safe, except the usage charts: SVG
drawn by server.exports.charts, which escapes every text it draws (held below with hostile unit names)."""

from __future__ import annotations

import re

import jinja2
import pytest

from server.exports import charts, pdf_offline
from server.pages.rendering import TEMPLATES_DIR, make_environment

HOSTILE = "<script>window.__xss=1</script>\"'&"
ESCAPED = "&lt;script&gt;window.__xss=1&lt;/script&gt;&#34;&#39;&amp;"
# What would let a value through unescaped: an `autoescape false` block, the `safe` filter, Markup.
UNSAFE = re.compile(r"autoescape\s+false|\|\s*safe\b|\bMarkup\b")
# The reviewed exceptions: the charts' SVG, built by server.exports.charts (escaped there).
CHARTS = "{{ chart | safe }}"

ENVIRONMENTS = {"pages": make_environment, "pdf documents": pdf_offline.environment}
TEMPLATES = sorted(path.relative_to(TEMPLATES_DIR).as_posix() for path in TEMPLATES_DIR.rglob("*.html"))


def escapes(env: jinja2.Environment, name: str) -> bool:
    autoescape = env.autoescape
    return bool(autoescape(name) if callable(autoescape) else autoescape)


def test_the_templates_are_found() -> None:
    assert len(TEMPLATES) >= 15 and "base.html" in TEMPLATES and "exports/minutes.html" in TEMPLATES


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_autoescape_is_on_for_every_template(environment: str) -> None:
    env = ENVIRONMENTS[environment]()
    known = env.list_templates(extensions=["html"])
    assert sorted(known) == TEMPLATES
    off = [name for name in known if not escapes(env, name)]
    assert off == []
    # A value rendered through the environment, as every template's `{{ }}` is, comes out escaped.
    for name in known:
        template = env.get_template(name)
        assert template.environment is env
        rendered = env.from_string("{{ value }}", template_class=type(template)).render(value=HOSTILE)
        assert rendered == ESCAPED, name


def test_no_template_turns_escaping_off() -> None:
    found = [
        f"{name}:{number}: {line.strip()}"
        for name in TEMPLATES
        for number, line in enumerate((TEMPLATES_DIR / name).read_text().splitlines(), 1)
        if UNSAFE.search(line.replace(CHARTS, ""))
    ]
    assert found == []


def test_the_charts_marked_safe_escape_the_unit_names() -> None:
    labels = charts.ChartLabels(
        HOSTILE, {m: HOSTILE for m in charts.MODES}, HOSTILE, HOSTILE, HOSTILE, HOSTILE
    )
    units = [
        {"id": 1, "name": HOSTILE, "online_share_percent": 50.0},
        {"id": 2, "name": "x" * 30 + HOSTILE, "online_share_percent": 20.0},  # cut to 28 characters
    ]
    months = [{"month": "2026-11", "online": 1, "hybrid": 0, "in_person": 1, "attendance_rate_percent": 80.0}]
    drawn = [
        charts.online_share_by_unit(units, labels),
        charts.monthly_modes(months, labels),
        charts.attendance_trend(months, 70.0, labels),
    ]
    for svg in drawn:
        assert "<script" not in svg and "__xss=1</" not in svg, svg
        assert "&lt;script&gt;" in svg
