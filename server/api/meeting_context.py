"""What the meeting routes share: the meeting a route names, found and authorised on its own unit (a
caller who cannot see that unit gets 404), or locked for a change; the duration a body may give; and the
warnings a new or moved start answers with."""

from __future__ import annotations

from typing import Annotated, Any

from aiohttp import web
from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncSession

from meetings.enums import MeetingMode
from meetings.policy import Action
from server.api.context import lang, now
from server.auth.authz import absent, authorize
from server.auth.identity import Actor
from server.db.tables import Meeting, Org
from server.services.attendance import lock_meeting
from server.services.meeting_checks import past_start_warnings
from server.services.meeting_online import approval_warnings
from server.services.orgs import get_org

Duration = Annotated[int, Field(ge=15, le=600)]


async def meeting_for(
    session: AsyncSession, caller: Actor, meeting_id: int, action: Action
) -> tuple[Meeting, Org]:
    meeting = await session.get(Meeting, meeting_id)
    if meeting is None:
        raise await absent(session, caller)
    await authorize(session, caller, action, meeting.org_id)
    return meeting, await get_org(session, meeting.org_id)


async def locked_meeting_for(session: AsyncSession, caller: Actor, meeting_id: int) -> tuple[Meeting, Org]:
    """The meeting, its row locked against a concurrent opening, for a caller with meeting.write."""
    meeting = await lock_meeting(session, meeting_id)
    if meeting is None:
        raise await absent(session, caller)
    await authorize(session, caller, Action.MEETING_WRITE, meeting.org_id)
    return meeting, await get_org(session, meeting.org_id)


async def start_warnings(
    request: web.Request, session: AsyncSession, meeting: Meeting, org: Org
) -> list[Any]:
    """A start already gone (within the grace), and R-ELIG-6 on the meeting's own days
    (server.services.meeting_checks.past_start_warnings, meeting_online.approval_warnings)."""
    return past_start_warnings(meeting.starts_at, now(request), lang(request)) + await approval_warnings(
        session,
        org,
        MeetingMode(meeting.mode),
        meeting.starts_at,
        meeting.duration_minutes,
        now(request),
        lang(request),
    )
