"""The pilot dashboard of a subtree (`/orgs/{id}/usage`): figures, charts, units, flags and, for a cell,
its meetings — rendered on the server from the same usage figures as `GET /api/v1/audit/usage`, with
the same SVG charts as the review report's PDF, so the page needs no script to show its data and the
screen and the paper agree.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy import select

from server.api.context import lang, now
from server.appkeys import DATABASE
from server.auth.identity import ACTOR, Actor
from server.clock import as_utc
from server.db.tables import Meeting
from server.exports import charts
from server.pages.rendering import PAGES
from server.pages.views import _not_found, _page, _path_id, _to_login, may_audit
from server.services.orgs import get_org
from server.services.usage import UsagePeriodError, parse_period, usage_figures


def _labels(gettext: Any) -> charts.ChartLabels:
    return charts.ChartLabels(
        monthly_title=gettext("Meetings per month, by mode"),
        modes={"online": gettext("Online"), "hybrid": gettext("Hybrid"), "in_person": gettext("In person")},
        attendance_title=gettext("Attendance per month"),
        target=gettext("Target"),
        share_title=gettext("Share of online and hybrid meetings, by unit"),
        no_data=gettext("No meeting yet"),
    )


def _number(value: float | int | None, language: str) -> str:
    if value is None:
        return "—"
    text = f"{value:g}" if isinstance(value, float) else str(value)
    return text.replace(".", ",") if language == "vi" else text


async def usage_page(request: web.Request) -> web.StreamResponse:
    caller: Actor | None = request.get(ACTOR)
    if caller is None:
        return _to_login(request)
    org_id = _path_id(request)
    if org_id is None:
        return _not_found(request)
    language = lang(request)
    gettext = request.app[PAGES].catalogues[language].gettext
    async with request.app[DATABASE].read() as session:
        if not await may_audit(session, caller, org_id):
            return _not_found(request)
        org = await get_org(session, org_id)
        today = now(request).astimezone(ZoneInfo(org.timezone)).date()
        period_error = None
        try:
            start, end = parse_period(request.query.get("from"), request.query.get("to"), today, language)
        except UsagePeriodError as error:
            period_error = str(error)
            start, end = date(today.year, 1, 1), today
        usage = await usage_figures(session, org_id, start, end, language=language, at=now(request))
        meetings = None
        if org.kind == "cell":
            rows = (
                await session.execute(
                    select(Meeting).where(Meeting.org_id == org_id).order_by(Meeting.starts_at)  # type: ignore[arg-type]
                )
            ).scalars()
            meetings = [_meeting_line(m, org.timezone, gettext) for m in rows if _within(m, start, end, org)]
    target = float(usage["parameters"]["attendance_target_percent"])
    labels = _labels(gettext)
    return _page(
        request,
        "usage.html",
        usage=usage,
        period_error=period_error,
        charts=[
            charts.monthly_modes(usage["months"], labels),
            charts.attendance_trend(usage["months"], target, labels),
            charts.online_share_by_unit(usage["units"], labels),
        ],
        meetings=meetings,
        percent=lambda value: "—" if value is None else f"{_number(value, language)}%",
        number=lambda value: _number(value, language),
        period_text=lambda period: period_text(period, language),
        page_script="common.js",
    )


_ROMAN = {"1": "I", "2": "II", "3": "III", "4": "IV"}


def period_text(period: str, language: str) -> str:
    """A flag's period as the page writes dates: 2027-05-12 → 12/05/2027, 2027-03 → 03/2027,
    2027-Q1 → Quý I/2027 (Q1 2027); anything else as it is."""
    parts = period.split("-")
    if len(parts) == 3:
        return f"{parts[2]}/{parts[1]}/{parts[0]}"
    if len(parts) == 2 and parts[1].startswith("Q") and parts[1][1:] in _ROMAN:
        quarter = parts[1][1:]
        return f"Quý {_ROMAN[quarter]}/{parts[0]}" if language == "vi" else f"Q{quarter} {parts[0]}"
    if len(parts) == 2:
        return f"{parts[1]}/{parts[0]}"
    return period


def _within(meeting: Meeting, start: date, end: date, org: Any) -> bool:
    local = as_utc(meeting.starts_at).astimezone(ZoneInfo(org.timezone)).date()
    return start <= local <= end


def _meeting_line(meeting: Meeting, timezone: str, gettext: Any) -> dict[str, Any]:
    modes = {"online": gettext("Online"), "hybrid": gettext("Hybrid"), "in_person": gettext("In person")}
    statuses = {"scheduled": gettext("scheduled"), "open": gettext("in session"), "closed": gettext("closed")}
    starts = as_utc(meeting.starts_at).astimezone(ZoneInfo(timezone))
    return {
        "id": meeting.id,
        "title": meeting.title,
        "status": meeting.status,
        "starts_at_local": starts.strftime("%d/%m/%Y %H:%M"),
        "mode_label": modes.get(meeting.mode, meeting.mode),
        "status_label": statuses.get(meeting.status, meeting.status),
    }
