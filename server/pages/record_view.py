"""A cell's monthly record (`/orgs/{id}/record?month=YYYY-MM`): its meetings and its party groups', with
each group's conclusions (R-GROUP-4), rendered on the server from the same record as
`GET /api/v1/orgs/{id}/monthly-record`, so the page needs no script to show it."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from aiohttp import web

from meetings.enums import OrgKind
from meetings.groups import Month
from meetings.policy import Action
from server.api.context import lang, now
from server.appkeys import DATABASE
from server.auth.authz import access_on, by_auditor_grant_only, can_see, permits
from server.auth.identity import ACTOR, Actor
from server.pages.rendering import PAGES
from server.pages.views import _not_found, _page, _path_id, _to_login
from server.services.monthly_record import monthly_record
from server.services.orgs import get_org


def _previous(month: Month) -> Month:
    return Month(month.year - 1, 12) if month.month == 1 else Month(month.year, month.month - 1)


def _local(value: datetime | None, zone: ZoneInfo) -> str:
    return value.astimezone(zone).strftime("%H:%M %d/%m/%Y") if value is not None else ""


async def record_page(request: web.Request) -> web.StreamResponse:
    caller: Actor | None = request.get(ACTOR)
    if caller is None:
        return _to_login(request)
    org_id = _path_id(request)
    if org_id is None:
        return _not_found(request)
    language, at = lang(request), now(request)
    gettext = request.app[PAGES].catalogues[language].gettext
    async with request.app[DATABASE].read() as session:
        access = await access_on(session, caller, org_id)
        if access is None or not can_see(access, caller) or not permits(access, caller, Action.MEETING_READ):
            return _not_found(request)
        org = await get_org(session, org_id)
        if org.kind != OrgKind.CELL:
            return _not_found(request)
        zone = ZoneInfo(org.timezone)
        local = at.astimezone(zone)
        month, month_error = Month(local.year, local.month), None
        raw = request.query.get("month")
        if raw is not None:
            try:
                month = Month.parse(raw)
            except ValueError:
                month_error = gettext("The month must be written as YYYY-MM.")
        record = await monthly_record(
            session,
            org,
            month,
            at=at,
            drafts_hidden=by_auditor_grant_only(access) and not access.is_member,
            lang=language,
        )
    for meeting in record["meetings"]:
        meeting["starts_at_text"] = _local(meeting["starts_at"], zone)
        meeting["opened_at_text"] = _local(meeting["opened_at"], zone)
    used = record["group_months_used"]
    return _page(
        request,
        "record.html",
        org=org,
        record=record,
        month_text=month.text,
        previous_month=str(_previous(month)),
        next_month=str(month.next()),
        month_error=month_error,
        months_used_text=", ".join(Month.parse(text).text for text in used["months"]),
        page_script="common.js",
    )
