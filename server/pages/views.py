"""Page handlers: login, the organisation tree, one unit, a meeting, its live room and its minutes;
each serves the shell its script module fills.

The caller is the one the identity middleware found (`request[ACTOR]`, the API's own check); a page
that needs a session sends the anonymous visitor to /login. Which forms a unit page offers follows the
API's authorisation decision point, so nobody is shown a button the API would refuse by role.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from meetings.enums import OrgKind, Role
from meetings.policy import Action
from server.api.context import lang
from server.appkeys import CLOCK, DATABASE, SETTINGS
from server.auth.authz import Access, access_on, can_see, permits
from server.auth.identity import ACTOR, Actor
from server.clock import as_utc, iso
from server.db.tables import Meeting, Member, Org
from server.errors import ApiError
from server.i18n import SUPPORTED
from server.pages.rendering import LANGUAGE_COOKIE, render
from server.services.meeting_roles import MeetingRoles, meeting_roles
from server.services.orgs import get_org
from server.services.pilot import approver_org_above
from server.services.pilot_report import reports_due
from server.services.presence import admit

MAX_ID = 2**31 - 1
LANGUAGE_COOKIE_SECONDS = 365 * 24 * 3600


def safe_next(value: str | None) -> str:
    """A path on this site to go to after login; anything else (another host, a scheme) is "/"."""
    if (
        not value
        or len(value) > 2000
        or not value.startswith("/")
        or value.startswith(("//", "/\\"))
        or any(ord(ch) < 0x20 or ch == "\\" for ch in value)
    ):
        return "/"
    return value


def _redirect(location: str, status: int = 302) -> web.Response:
    # Returned, not raised: raising would skip the response middlewares' headers on some paths.
    return web.Response(status=status, headers={"Location": location, "Cache-Control": "no-store"})


def _to_login(request: web.Request) -> web.Response:
    return _redirect("/login?next=" + quote(request.path_qs, safe="/"))


def _set_language_cookie(request: web.Request, response: web.Response, language: str) -> None:
    response.set_cookie(
        LANGUAGE_COOKIE,
        language,
        max_age=LANGUAGE_COOKIE_SECONDS,
        path="/",
        httponly=True,
        samesite="Lax",
        secure=request.app[SETTINGS].https,
    )


def _remember_language(request: web.Request, response: web.Response) -> None:
    """`?lang=` also sets the cookie, so the next page and the page's API calls speak the same language."""
    chosen = request.query.get("lang")
    if chosen in SUPPORTED and request.cookies.get(LANGUAGE_COOKIE) != chosen:
        _set_language_cookie(request, response, chosen)


def _page(request: web.Request, template: str, *, status: int = 200, **context: Any) -> web.Response:
    caller: Actor | None = request.get(ACTOR)
    user = (caller.user.full_name or caller.user.username) if caller else None
    response = render(request, template, lang(request), status=status, user=user, **context)
    _remember_language(request, response)
    return response


def _not_found(request: web.Request) -> web.Response:
    return _page(request, "not_found.html", status=404, page_script="common.js")


def not_found_page(request: web.Request) -> web.Response:
    return _not_found(request)


async def login_page(request: web.Request) -> web.StreamResponse:
    target = safe_next(request.query.get("next"))
    if request.get(ACTOR) is not None:
        return _redirect(target)
    return _page(request, "login.html", next=target, no_script=False, page_script="login.js")


async def login_without_script(request: web.Request) -> web.StreamResponse:
    """The login form posts here only when its script did not run; the password is never read."""
    target = safe_next(request.query.get("next"))
    return _page(request, "login.html", status=400, next=target, no_script=True, page_script="login.js")


async def home_page(request: web.Request) -> web.StreamResponse:
    if request.get(ACTOR) is None:
        return _to_login(request)
    caller: Actor = request[ACTOR]
    return _page(request, "home.html", page_script="home.js", is_admin=caller.user.is_admin)


async def account_page(request: web.Request) -> web.StreamResponse:
    """One's own account: the password, two-step login and script tokens."""
    caller: Actor | None = request.get(ACTOR)
    if caller is None:
        return _to_login(request)
    return _page(request, "account.html", username=caller.user.username, page_script="account.js")


def _abilities(access: Access, caller: Actor, kind: OrgKind) -> dict[str, bool]:
    holds_members = kind is OrgKind.CELL
    holds_meetings = kind in (OrgKind.CELL, OrgKind.GROUP, OrgKind.GRASSROOTS)
    return {
        # the unit's meetings, and the form to schedule one (unit_meetings.js)
        "read_meetings": holds_meetings and permits(access, caller, Action.MEETING_READ),
        "schedule_meetings": holds_meetings and permits(access, caller, Action.MEETING_WRITE),
        "read_members": permits(access, caller, Action.MEMBER_READ),
        "write_members": holds_members and permits(access, caller, Action.MEMBER_WRITE),
        "import_members": holds_members and permits(access, caller, Action.MEMBER_IMPORT),
        "read_eligibility": permits(access, caller, Action.ELIGIBILITY_READ),
        "read_applications": permits(access, caller, Action.APPLICATION_READ),
        "apply": permits(access, caller, Action.APPLICATION_CREATE),
        # An approver decides only for units strictly below the grant (services.pilot.approver_org_above).
        "decide_here": approver_org_above(access) is not None,
        "decide_below": access.org_id in access.grant_orgs.get(Role.APPROVER, frozenset()),
        "read_access_log": permits(access, caller, Action.AUDIT_READ),  # the auditors' reads (access_routes)
        "read_usage": permits(access, caller, Action.AUDIT_READ),  # the pilot dashboard (usage_view)
        # a cell's monthly record, its party groups' meetings included (record_view)
        "read_record": kind is OrgKind.CELL and permits(access, caller, Action.MEETING_READ),
    }


async def may_audit(session: AsyncSession, caller: Actor, org_id: int) -> bool:
    """audit.read on the unit (its secretaries, the officers and auditors above): the pilot dashboard
    and the audit log; False also for a unit that does not exist or that the caller may not know."""
    access = await access_on(session, caller, org_id)
    return access is not None and can_see(access, caller) and permits(access, caller, Action.AUDIT_READ)


async def org_page(request: web.Request) -> web.StreamResponse:
    caller: Actor | None = request.get(ACTOR)
    if caller is None:
        return _to_login(request)
    org_id = _path_id(request)
    if org_id is None:
        return _not_found(request)
    async with request.app[DATABASE].read() as session:
        access = await access_on(session, caller, org_id)
        # Same answer for "no such unit" and "not yours", as the API gives.
        if access is None or not can_see(access, caller):
            return _not_found(request)
        org = await get_org(session, org_id)
        kind = OrgKind(org.kind)
        can = _abilities(access, caller, kind)
        # The approving body's page lists the periodic reports due from the units it approved (issue 30).
        due = await reports_due(session, org_id, request.app[CLOCK]()) if can["decide_below"] else []
    return _page(
        request,
        "org.html",
        org=org,
        kind=kind.value,
        can=can,
        reports_due=due,
        page_script="org.js",
    )


def _path_id(request: web.Request) -> int | None:
    raw = request.match_info["id"]
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 10 or int(raw) > MAX_ID:
        return None
    return int(raw)


async def _visible_meeting(
    request: web.Request, caller: Actor, meeting_id: int
) -> tuple[Meeting, Org, Access, MeetingRoles, dict[int, str]] | None:
    """The meeting, its unit, the caller's access and roles, and the names of its chair and minute-taker;
    None when the caller may not see it (no such meeting and another unit's meeting look the same)."""
    async with request.app[DATABASE].read() as session:
        meeting = await session.get(Meeting, meeting_id)
        access = None if meeting is None else await access_on(session, caller, meeting.org_id)
        if (
            meeting is None
            or access is None
            or not can_see(access, caller)
            or not permits(access, caller, Action.MEETING_READ)
        ):
            return None
        org = await get_org(session, meeting.org_id)
        roles = await meeting_roles(session, caller, meeting)
        names: dict[int, str] = {}
        for member_id in {meeting.chair_id, meeting.minute_taker_id} - {None}:
            member = await session.get(Member, member_id)
            if member is not None and member_id is not None:
                names[member_id] = member.full_name
    return meeting, org, access, roles, names


async def room_page(request: web.Request) -> web.StreamResponse:
    """The live room's shell: the pre-join check, then everything live comes over the /room socket."""
    caller: Actor | None = request.get(ACTOR)
    if caller is None:
        return _to_login(request)
    meeting_id = _path_id(request)
    found = None if meeting_id is None else await _visible_meeting(request, caller, meeting_id)
    if found is None:
        return _not_found(request)
    meeting, org, access, *_ = found
    if meeting.status == "closed":  # nothing live left: the record is what a member comes for
        return _redirect(f"/meetings/{meeting.id}/minutes")
    try:  # told before the page asks for any microphone (issue 19): not summoned, suspended, cancelled...
        async with request.app[DATABASE].read() as session:
            await admit(session, caller.user, meeting.id, request.app[CLOCK]())  # type: ignore[arg-type]
    except ApiError as refused:
        return _page(
            request,
            "room_refused.html",
            status=refused.status,
            meeting=meeting,
            org=org,
            reason=refused.message.in_language(lang(request)),
            page_script="common.js",
        )
    return _page(
        request,
        "room.html",
        meeting=meeting,
        org=org,
        can_run=permits(access, caller, Action.MEETING_WRITE),  # open and close (the API decides too)
        # The pre-join check tries the path to the SFU too, where there is one (issue 24).
        sfu_configured=request.app[SETTINGS].sfu_url is not None,
        page_script="room.js",
    )


async def meeting_page(request: web.Request) -> web.StreamResponse:
    """One meeting: its facts, the links to the room, the minutes and the invitation, and its agenda (an
    editor for the unit's leaders while it is scheduled; the API still decides every change)."""
    caller: Actor | None = request.get(ACTOR)
    if caller is None:
        return _to_login(request)
    meeting_id = _path_id(request)
    found = None if meeting_id is None else await _visible_meeting(request, caller, meeting_id)
    if found is None:
        return _not_found(request)
    meeting, org, access, roles, names = found
    starts_at = as_utc(meeting.starts_at)
    return _page(
        request,
        "meeting.html",
        meeting=meeting,
        org=org,
        names=names,
        starts_at_utc=iso(starts_at),
        starts_at_local=starts_at.astimezone(ZoneInfo(org.timezone)).strftime("%H:%M %d/%m/%Y"),
        edit_agenda=meeting.status == "scheduled" and permits(access, caller, Action.MEETING_WRITE),
        can_run=permits(access, caller, Action.MEETING_WRITE),
        member_id=roles.member_id,  # a member of the unit: may send an excuse
        page_script="meeting.js",
    )


async def minutes_page(request: web.Request) -> web.StreamResponse:
    """A meeting's minutes as the document reads, with the chair's and minute-taker's actions."""
    caller: Actor | None = request.get(ACTOR)
    if caller is None:
        return _to_login(request)
    meeting_id = _path_id(request)
    found = None if meeting_id is None else await _visible_meeting(request, caller, meeting_id)
    if found is None:
        return _not_found(request)
    meeting, org, _access, roles, _names = found
    signer = roles.is_chair_member or roles.is_minute_taker_member
    return _page(
        request,
        "minutes.html",
        meeting=meeting,
        org=org,
        member_id=roles.member_id,
        can={"adopt": roles.chairs, "sign": signer, "addendum": signer},
        page_script="minutes.js",
    )


async def set_language(request: web.Request) -> web.StreamResponse:
    code = request.match_info["code"]
    if code not in SUPPORTED:
        return _not_found(request)
    response = _redirect(safe_next(request.query.get("next")), status=303)
    _set_language_cookie(request, response, code)
    return response
