"""The rule sets side by side (`/rule-sets`, issue 30 point 1): every set with its status, the days it is
in force, what supersedes it and its sources, then each parameter's value in every set, a value that
differs from the set it succeeds marked. Rendered on the server from the same registry as
`GET /api/v1/rule-sets`, for anyone signed in (the rules are no secret); no script needed."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from aiohttp import web

from meetings.rulesets import RuleSet
from server.api.context import lang
from server.appkeys import DATABASE
from server.auth.identity import ACTOR
from server.pages.views import _page, _to_login
from server.services.rule_sets import listing, registry


@dataclass(frozen=True)
class Cell:
    """One parameter in one set: its value as shown, its source, and whether it changed from the set
    this one supersedes (False for a set that supersedes none)."""

    value: str
    source: str
    changed: bool


@dataclass(frozen=True)
class Row:
    name: str
    rule: str
    cells: list[Cell]


def shown(value: Any, language: str) -> str:
    """A parameter's value as a reader takes it in: a fraction as a/b, a set as its members, yes or no."""
    if isinstance(value, bool):
        return {"vi": "có", "en": "yes"}[language] if value else {"vi": "không", "en": "no"}[language]
    if isinstance(value, Fraction):
        return f"{value.numerator}/{value.denominator}"
    if isinstance(value, frozenset):
        return ", ".join(sorted(str(item) for item in value)) or "—"
    return str(value)


def rows(sets: list[RuleSet], language: str) -> list[Row]:
    by_name = {rule_set.name: rule_set for rule_set in sets}
    before = {s.lifecycle.superseded_by: s for s in sets if s.lifecycle.superseded_by in by_name}
    names = sorted({name for rule_set in sets for name in rule_set.parameters})
    found: list[Row] = []
    for name in names:
        cells = []
        for rule_set in sets:
            parameter = rule_set.parameters.get(name)
            previous = before.get(rule_set.name)
            earlier = previous.parameters.get(name) if previous is not None else None
            value = parameter.value if parameter is not None else None
            cells.append(
                Cell(
                    shown(value, language) if parameter is not None else "—",
                    parameter.source if parameter is not None else "",
                    earlier is not None and value != earlier.value,
                )
            )
        rule = next((s.parameters[name].rule for s in sets if name in s.parameters), "")
        found.append(Row(name, rule, cells))
    return found


async def rule_sets_page(request: web.Request) -> web.StreamResponse:
    if request.get(ACTOR) is None:
        return _to_login(request)
    language = lang(request)
    async with request.app[DATABASE].read() as session:
        found = await registry(session)
    listed = listing(found, language)  # each lineage in order, as the API lists them
    sets = [found[entry["id"]] for entry in listed]
    return _page(request, "rule_sets.html", sets=listed, rows=rows(sets, language), page_script="common.js")
