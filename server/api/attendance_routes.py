"""On-site check-ins, quorum, opening and closing a meeting, and attendance (api.md: /meetings/{id}/...).

Every route authorises on the meeting's own unit (another unit's meeting is 404); reads need
meeting.read, changes meeting.write (a secretary or deputy secretary). The decisions are listed in
server.services.attendance.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncSession

from meetings.attendance import EventKind
from meetings.enums import MeetingStatus
from meetings.policy import Action
from meetings.room import quorum_decision
from server.api import responses
from server.api.context import actor, database, json_response, lang, now, path_id, room_changed
from server.api.registry import route
from server.api.validation import Body, read_json
from server.appkeys import HUB
from server.auth.authz import absent, authorize
from server.auth.identity import Actor
from server.db.tables import Meeting, Org
from server.media.sfu_lifecycle import meeting_ended
from server.services.attendance import (
    attendance_json,
    attendance_of,
    close_meeting,
    lock_meeting,
    open_meeting,
    record_on_site,
    situation,
)
from server.services.meetings import meeting_json
from server.services.orgs import get_org


class PresenceBody(Body):
    member_id: int


class OpenBody(Body):
    override_reason: str | None = Field(default=None, min_length=1, max_length=1000)


async def _meeting(
    session: AsyncSession, caller: Actor, meeting_id: int, action: Action, *, lock: bool = False
) -> tuple[Meeting, Org]:
    meeting = await lock_meeting(session, meeting_id) if lock else await session.get(Meeting, meeting_id)
    if meeting is None:
        raise await absent(session, caller)
    await authorize(session, caller, action, meeting.org_id)
    return meeting, await get_org(session, meeting.org_id)


async def _meeting_changed(request: web.Request, meeting: Meeting) -> None:
    hub = request.app.get(HUB)
    if hub is not None:
        await hub.meeting_changed(meeting)
    if meeting.status == MeetingStatus.CLOSED and meeting.id is not None:
        await meeting_ended(request.app, meeting.id)  # its SFU room, if any, goes with it


async def _on_site(request: web.Request, kind: EventKind) -> web.StreamResponse:
    caller = actor(request)
    body = await read_json(request, PresenceBody)
    at = now(request)
    async with database(request).write() as session:
        meeting, org = await _meeting(session, caller, path_id(request), Action.MEETING_WRITE, lock=True)
        recorded, state = await record_on_site(
            session, meeting, org, body.member_id, kind, actor_user_id=caller.user_id, at=at
        )
        result: dict[str, Any] = {
            "meeting_id": meeting.id,
            "member_id": body.member_id,
            "kind": kind.value,
            "recorded": recorded,
            "at": at,
            "quorum": quorum_decision(state, at).to_json(lang(request)),
        }
    if recorded:
        room_changed(request, meeting.id)  # type: ignore[arg-type]
    return json_response(result, status=201 if recorded else 200)


@route(
    "POST",
    "/api/v1/meetings/{id}/checkins",
    summary="Check a summoned member in on site (hybrid, in person); a repeat is a 200 no-op",
    tag="attendance",
    body=PresenceBody,
    status=201,
    also=(200,),
    response=responses.ON_SITE,
)
async def post_checkin(request: web.Request) -> web.StreamResponse:
    return await _on_site(request, EventKind.CHECKIN)


@route(
    "POST",
    "/api/v1/meetings/{id}/checkouts",
    summary="Check a member out on site (hybrid, in person); a repeat is a 200 no-op",
    tag="attendance",
    body=PresenceBody,
    status=201,
    also=(200,),
    response=responses.ON_SITE,
)
async def post_checkout(request: web.Request) -> web.StreamResponse:
    return await _on_site(request, EventKind.CHECKOUT)


@route(
    "GET",
    "/api/v1/meetings/{id}/quorum",
    summary="Whether the meeting is quorate now (R-QUOR-1): counts voting_base, present_official",
    tag="attendance",
    response=responses.DECISION,
)
async def get_quorum(request: web.Request) -> web.StreamResponse:
    caller = actor(request)
    async with database(request).read() as session:
        meeting, org = await _meeting(session, caller, path_id(request), Action.MEETING_READ)
        decision = quorum_decision(await situation(session, meeting, org), now(request))
    return json_response(decision.to_json(lang(request)))


@route(
    "POST",
    "/api/v1/meetings/{id}/open",
    summary="Open a scheduled meeting; 409 not_quorate (R-QUOR-1) unless quorate or overridden with a reason",
    tag="attendance",
    body=OpenBody,
    response=responses.MEETING,
)
async def post_open(request: web.Request) -> web.StreamResponse:
    caller = actor(request)
    body = await read_json(request, OpenBody)
    async with database(request).write() as session:
        meeting, org = await _meeting(session, caller, path_id(request), Action.MEETING_WRITE, lock=True)
        decision = await open_meeting(
            session, meeting, org, body.override_reason, actor_user_id=caller.user_id, at=now(request)
        )
        result = {**meeting_json(meeting, org), "quorum": decision.to_json(lang(request))}
    await _meeting_changed(request, meeting)
    return json_response(result)


@route(
    "POST",
    "/api/v1/meetings/{id}/close",
    summary="Close an open meeting: every presence ends now and attendance is final",
    tag="attendance",
    response=responses.MEETING,
)
async def post_close(request: web.Request) -> web.StreamResponse:
    caller = actor(request)
    async with database(request).write() as session:
        meeting, org = await _meeting(session, caller, path_id(request), Action.MEETING_WRITE, lock=True)
        state, result = await close_meeting(
            session, meeting, org, actor_user_id=caller.user_id, at=now(request)
        )
        body = {**meeting_json(meeting, org), "attendance": attendance_json(state, result)}
    await _meeting_changed(request, meeting)
    return json_response(body)


@route(
    "GET",
    "/api/v1/meetings/{id}/attendance",
    summary="Each summoned member's attendance status and presence intervals (R-ATT-1, R-ATT-2)",
    tag="attendance",
    response=responses.ATTENDANCE,
)
async def get_attendance(request: web.Request) -> web.StreamResponse:
    caller = actor(request)
    at = now(request)
    async with database(request).read() as session:
        meeting, org = await _meeting(session, caller, path_id(request), Action.MEETING_READ)
        state = await situation(session, meeting, org)
        body = {
            "meeting_id": meeting.id,
            "status": meeting.status,
            **attendance_json(state, attendance_of(state, meeting, at)),
        }
    return json_response(body)
