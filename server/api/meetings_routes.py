"""Meetings scheduled, listed, shown and changed (api.md: /orgs/{id}/meetings, /meetings/{id}).

Every meeting route authorises on the meeting's own unit: a caller who cannot see that unit gets 404
(server.api.meeting_context); see server.services.meetings for the decisions. Cancel, reschedule and
the invitation are in meeting_changes_routes, the agenda in agenda_routes, excuses in excuses_routes.
"""

from __future__ import annotations

from aiohttp import web
from pydantic import AwareDatetime, Field
from sqlalchemy import select
from sqlmodel import col

from meetings.decision import Text
from meetings.enums import MeetingKind, MeetingMode
from meetings.policy import Action
from server.api import responses
from server.api.context import actor, database, json_response, now, path_id, room_changed
from server.api.meeting_context import Duration, meeting_for, start_warnings
from server.api.registry import route
from server.api.validation import Body, read_json
from server.auth.authz import authorize
from server.db.tables import Meeting, Org
from server.db.tree import subtree_ids
from server.errors import ApiError
from server.services.meetings import change, meeting_json, schedule
from server.services.orgs import get_org


class MeetingCreate(Body):
    kind: MeetingKind = MeetingKind.REGULAR
    mode: MeetingMode
    title: str = Field(min_length=1, max_length=200)
    starts_at: AwareDatetime
    duration_minutes: Duration
    agenda_template_id: int | None = None
    chair_id: int | None = None
    minute_taker_id: int | None = None
    place: str = Field(default="", max_length=300)


class MeetingUpdate(Body):
    title: str | None = Field(default=None, min_length=1, max_length=200)
    starts_at: AwareDatetime | None = None
    duration_minutes: Duration | None = None
    mode: MeetingMode | None = None
    chair_id: int | None = None
    minute_taker_id: int | None = None
    agenda_template_id: int | None = None
    place: str | None = Field(default=None, max_length=300)


@route(
    "POST",
    "/api/v1/orgs/{id}/meetings",
    summary="Schedule a meeting of a cell, grassroots committee or party group (R-ELIG-6 for online)",
    tag="meetings",
    body=MeetingCreate,
    status=201,
    response=responses.MEETING,
)
async def post_meeting(request: web.Request) -> web.StreamResponse:
    caller, org_id = actor(request), path_id(request)
    body = await read_json(request, MeetingCreate)
    async with database(request).write() as session:
        await authorize(session, caller, Action.MEETING_WRITE, org_id)
        org = await get_org(session, org_id)
        meeting = await schedule(
            session, org, body.model_dump(), actor_user_id=caller.user_id, at=now(request)
        )
        result = meeting_json(meeting, org)
        result["warnings"] = await start_warnings(request, session, meeting, org)
    return json_response(result, status=201)


@route(
    "GET",
    "/api/v1/orgs/{id}/meetings",
    summary="Meetings of the unit and the units below it, by start time",
    tag="meetings",
    response=responses.MEETINGS,
)
async def list_meetings(request: web.Request) -> web.StreamResponse:
    caller, org_id = actor(request), path_id(request)
    async with database(request).read() as session:
        await authorize(session, caller, Action.MEETING_READ, org_id)
        ids = await subtree_ids(session, [org_id])
        rows = (
            (
                await session.execute(
                    select(Meeting)
                    .where(col(Meeting.org_id).in_(ids))
                    .order_by(col(Meeting.starts_at), col(Meeting.id))
                )
            )
            .scalars()
            .all()
        )
        orgs = {
            org.id: org
            for org in (await session.execute(select(Org).where(col(Org.id).in_({m.org_id for m in rows}))))
            .scalars()
            .all()
        }
    return json_response({"meetings": [meeting_json(m, orgs[m.org_id]) for m in rows]})


@route(
    "GET",
    "/api/v1/meetings/{id}",
    summary="One meeting, with its start in the unit's time zone",
    tag="meetings",
    response=responses.MEETING,
)
async def get_meeting(request: web.Request) -> web.StreamResponse:
    caller = actor(request)
    async with database(request).read() as session:
        meeting, org = await meeting_for(session, caller, path_id(request), Action.MEETING_READ)
    return json_response(meeting_json(meeting, org))


@route(
    "PATCH",
    "/api/v1/meetings/{id}",
    summary="Change a scheduled meeting (a mode change re-checks R-ELIG-6 and R-CONTENT-1)",
    tag="meetings",
    body=MeetingUpdate,
    response=responses.MEETING,
)
async def patch_meeting(request: web.Request) -> web.StreamResponse:
    caller = actor(request)
    body = await read_json(request, MeetingUpdate)
    changes = body.model_dump(exclude_unset=True)
    for required in ("title", "starts_at", "duration_minutes", "mode", "place"):
        if required in changes and changes[required] is None:
            raise ApiError(
                422,
                "validation_error",
                Text(f"Trường '{required}' không được để trống.", f"'{required}' cannot be null."),
                details={"fields": {required: "null"}},
            )
    async with database(request).write() as session:
        meeting, org = await meeting_for(session, caller, path_id(request), Action.MEETING_WRITE)
        meeting = await change(session, meeting, org, changes, actor_user_id=caller.user_id, at=now(request))
        result = meeting_json(meeting, org)
        result["warnings"] = await start_warnings(request, session, meeting, org)
    room_changed(request, path_id(request))
    return json_response(result)
