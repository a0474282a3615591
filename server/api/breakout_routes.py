"""Breakout of an open meeting into groups (docs/api.md "Breakout"): the chair splits, broadcasts,
moves members and brings everyone back; each group writes its notes. Every change is pushed to the
live room, where the server keeps each group's media and signalling inside the group."""

from __future__ import annotations

from typing import Literal

from aiohttp import web
from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncSession

from meetings.breakout import MAX_GROUPS, MAX_MINUTES, MIN_MINUTES, NAME_MAX
from server.api import responses
from server.api.context import actor, database, hub, json_response, lang, now, path_id
from server.api.registry import route
from server.api.validation import Body, read_json
from server.auth.authz import absent
from server.db.tables import Meeting
from server.errors import forbidden
from server.services import breakout
from server.services.attendance import lock_meeting
from server.services.meeting_roles import MeetingRoles, meeting_roles
from server.services.orgs import get_org


class GroupBody(Body):
    name: str = Field(min_length=1, max_length=NAME_MAX)
    member_ids: list[int] = Field(min_length=1, max_length=500)


class StartBody(Body):
    source: Literal["party_groups", "ad_hoc"] = "party_groups"
    groups: list[GroupBody] | None = Field(default=None, min_length=1, max_length=MAX_GROUPS)
    minutes: int = Field(ge=MIN_MINUTES, le=MAX_MINUTES)


class BroadcastBody(Body):
    text: str = Field(min_length=1, max_length=500)


class MoveBody(Body):
    member_id: int
    group_index: int = Field(ge=0, le=MAX_GROUPS)


class NotesBody(Body):
    text: str = Field(max_length=breakout.NOTES_MAX)
    version: int = Field(ge=0)


async def _meeting(request: web.Request, session: AsyncSession) -> tuple[Meeting, MeetingRoles]:
    """The meeting locked for a change, with who the caller is in it (another unit: 404)."""
    meeting = await lock_meeting(session, path_id(request))
    if meeting is None:
        raise await absent(session, actor(request))
    return meeting, await meeting_roles(session, actor(request), meeting)


async def _chaired(request: web.Request, session: AsyncSession) -> Meeting:
    """The meeting locked for a change, when the caller chairs it (else 403; another unit 404)."""
    meeting, roles = await _meeting(request, session)
    roles.require_chair()
    return meeting


async def _pushed(request: web.Request, meeting_id: int, *, ended: object = None) -> None:
    """The room learns the committed split (it reads it again itself)."""
    rooms = hub(request)
    if rooms is not None:
        await rooms.breakout_changed(meeting_id, ended)


@route(
    "GET",
    "/api/v1/meetings/{id}/breakout",
    summary="The meeting's current split into groups (null when none), with each group's notes",
    tag="breakout",
    response=responses.BREAKOUT_STATE,
)
async def get_breakout(request: web.Request) -> web.StreamResponse:
    async with database(request).read() as session:
        meeting = await session.get(Meeting, path_id(request))
        if meeting is None:
            raise await absent(session, actor(request))
        roles = await meeting_roles(session, actor(request), meeting)
        if roles.auditor_only:
            raise forbidden()  # live work of the meeting; the record is the minutes
        found = await breakout.current(session, meeting.id)  # type: ignore[arg-type]
    at = now(request)
    return json_response({"breakout": breakout.breakout_json(*found, at) if found else None})


@route(
    "POST",
    "/api/v1/meetings/{id}/breakout",
    summary="The chair splits the open meeting into its party groups or named groups for a set time",
    tag="breakout",
    body=StartBody,
    status=201,
    response=responses.BREAKOUT,
)
async def post_breakout(request: web.Request) -> web.StreamResponse:
    body = await read_json(request, StartBody)
    at = now(request)
    async with database(request).write() as session:
        meeting = await _chaired(request, session)
        split, groups = await breakout.start(
            session,
            meeting,
            await get_org(session, meeting.org_id),
            source=body.source,
            requested=[(g.name, g.member_ids) for g in body.groups or []],
            minutes=body.minutes,
            actor_user_id=actor(request).user_id,
            at=at,
            lang=lang(request),
        )
        result = breakout.breakout_json(split, groups, at)
    await _pushed(request, meeting.id)  # type: ignore[arg-type]
    return json_response(result, status=201)


@route(
    "POST",
    "/api/v1/meetings/{id}/breakout/end",
    summary="The chair brings every group back into one room",
    tag="breakout",
    response=responses.BREAKOUT,
)
async def post_breakout_end(request: web.Request) -> web.StreamResponse:
    at = now(request)
    async with database(request).write() as session:
        meeting = await _chaired(request, session)
        ended = await breakout.end(session, meeting, actor_user_id=actor(request).user_id, at=at, why="chair")
        if ended is None:
            raise breakout.no_breakout()
        result = breakout.breakout_json(*ended, at)
    await _pushed(request, meeting.id, ended=result)  # type: ignore[arg-type]
    return json_response(result)


@route(
    "POST",
    "/api/v1/meetings/{id}/breakout/broadcast",
    summary="The chair's message to every group; pushes `breakout-message`",
    tag="breakout",
    body=BroadcastBody,
    response=responses.BROADCAST,
)
async def post_broadcast(request: web.Request) -> web.StreamResponse:
    body = await read_json(request, BroadcastBody)
    at = now(request)
    async with database(request).write() as session:
        meeting = await _chaired(request, session)
        _, _, message = await breakout.broadcast(
            session, meeting, body.text, actor_user_id=actor(request).user_id, at=at
        )
    rooms = hub(request)
    if rooms is not None:
        await rooms.breakout_detail(meeting.id, "breakout-message", message)  # type: ignore[arg-type]
    return json_response(message)


@route(
    "POST",
    "/api/v1/meetings/{id}/breakout/move",
    summary="The chair moves a member (or themself) into another group",
    tag="breakout",
    body=MoveBody,
    response=responses.BREAKOUT,
)
async def post_move(request: web.Request) -> web.StreamResponse:
    body = await read_json(request, MoveBody)
    at = now(request)
    async with database(request).write() as session:
        meeting = await _chaired(request, session)
        split, groups = await breakout.move(
            session, meeting, body.member_id, body.group_index, actor_user_id=actor(request).user_id, at=at
        )
        result = breakout.breakout_json(split, groups, at)
    await _pushed(request, meeting.id)  # type: ignore[arg-type]
    return json_response(result)


@route(
    "PUT",
    "/api/v1/meetings/{id}/breakout/groups/{index}/notes",
    summary="A group's notes, by its members (or the chair or minute-taker); names the version it edits",
    tag="breakout",
    body=NotesBody,
    response=responses.NOTES,
)
async def put_notes(request: web.Request) -> web.StreamResponse:
    body = await read_json(request, NotesBody)
    index = path_id(request, "index")
    at = now(request)
    async with database(request).write() as session:
        meeting, roles = await _meeting(request, session)
        if roles.auditor_only:
            raise forbidden()
        group = await breakout.save_notes(
            session,
            meeting,
            index,
            body.text,
            body.version,
            member_id=roles.member_id,
            writes_minutes=roles.writes_minutes,
            actor_user_id=actor(request).user_id,
            at=at,
        )
        result = {"index": group.position, "notes": group.notes, "notes_version": group.notes_version}
    rooms = hub(request)
    if rooms is not None:
        await rooms.breakout_detail(meeting.id, "breakout-notes", result)  # type: ignore[arg-type]
    return json_response(result)
