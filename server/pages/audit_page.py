"""The audit log page of a unit (`/orgs/{id}/audit`): who did what, when and to what, in words, for those
who may audit the unit (its secretaries, the officers and auditors above); filtered by unit, person,
kind of action and dates, fifty rows a page, with the chain's verification state. Server-rendered: a
filter is a plain GET form, and the page needs no script to show its data."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from aiohttp import web

from server.api.context import lang, now
from server.appkeys import DATABASE
from server.auth.identity import ACTOR, Actor
from server.pages.views import _not_found, _page, _path_id, _to_login, may_audit
from server.services.audit_view import ChainCheck, LogFilter, log_page, scope_units
from server.services.audit_words import GROUPS
from server.services.orgs import get_org

CHAIN_CHECK = web.AppKey("chain_check", ChainCheck)
MAX_ID = 2**31 - 1


def _whole(raw: str | None) -> int | None:
    if raw is None or not (raw.isascii() and raw.isdigit()) or len(raw) > 10 or int(raw) > MAX_ID:
        return None
    return int(raw)


def _day(raw: str | None) -> date | None:
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def _filter(query: Any, units: set[int]) -> tuple[LogFilter, list[str]]:
    """The filter the form asked for, and which fields were not understood (they are left out)."""
    wrong = []
    unit = _whole(query.get("unit")) if query.get("unit") else None
    if query.get("unit") and unit not in units:
        wrong.append("unit")
        unit = None
    group = query.get("action") or None
    if group is not None and group not in GROUPS:
        wrong.append("action")
        group = None
    start, end = _day(query.get("from")), _day(query.get("to"))
    for name, value in (("from", start), ("to", end)):
        if query.get(name) and value is None:
            wrong.append(name)
    return (
        LogFilter(
            unit_id=unit,
            actor_id=_whole(query.get("person")) if query.get("person") else None,
            group=group,
            start=start,
            end=end,
            before=_whole(query.get("before")) if query.get("before") else None,
        ),
        wrong,
    )


async def audit_page(request: web.Request) -> web.StreamResponse:
    caller: Actor | None = request.get(ACTOR)
    if caller is None:
        return _to_login(request)
    org_id = _path_id(request)
    if org_id is None:
        return _not_found(request)
    language = lang(request)
    db = request.app[DATABASE]
    async with db.read() as session:
        if not await may_audit(session, caller, org_id):
            return _not_found(request)
        org = await get_org(session, org_id)
        zone = ZoneInfo(org.timezone)
        units = await scope_units(session, org_id)
        wanted, wrong = _filter(request.query, {unit_id for unit_id, _ in units})
        page = await log_page(session, units, zone, wanted)
    chain = await request.app[CHAIN_CHECK].state(db, now(request))
    # The next page keeps the filter; only `before` moves.
    kept = {k: v for k, v in request.query.items() if k != "before" and v}
    return _page(
        request,
        "audit.html",
        org=org,
        zone=org.timezone,
        page=page,
        wanted=wanted,
        wrong=wrong,
        groups=[(code, text.in_language(language)) for code, text in GROUPS.items()],
        chain=chain,
        problem=chain.problem.in_language(language) if chain.problem else None,
        checked_at=chain.checked_at.astimezone(zone).strftime("%d/%m/%Y %H:%M"),
        checkpoint_at=_local(chain.checkpoint_at, zone),
        older_query=urlencode({**kept, "before": str(page.older)}) if page.older else None,
        page_script="common.js",
    )


def _local(at: str | None, zone: ZoneInfo) -> str | None:
    if at is None:
        return None
    return datetime.fromisoformat(at.replace("Z", "+00:00")).astimezone(zone).strftime("%d/%m/%Y %H:%M")
