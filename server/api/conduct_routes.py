"""Agenda templates and running an open meeting: the current item, the floor, the speeches.

Templates: built-ins are read-only (no route changes them); a unit's template is created with
meeting.write on the unit. Running the meeting is the chair's (server.services.meeting_roles).
"""

from __future__ import annotations

from aiohttp import web
from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncSession

from meetings.enums import ItemType, MeetingKind
from meetings.policy import Action
from server.api import responses
from server.api.context import actor, database, hub, json_response, now, path_id
from server.api.registry import Query, route
from server.api.validation import Body, read_json
from server.auth.authz import absent, authorize
from server.db.tables import Meeting
from server.errors import not_found
from server.services.agenda_templates import (
    AgendaEntry,
    create_template,
    template_json,
    visible_templates,
)
from server.services.attendance import lock_meeting
from server.services.meeting_roles import meeting_roles
from server.services.orgs import get_org
from server.services.running import give_floor, set_current_item, speech_json, speeches_of


class TemplateItemBody(Body):
    title: str = Field(min_length=1, max_length=300)
    item_type: ItemType = ItemType.ORDINARY
    notes: str = Field(default="", max_length=4000)


class TemplateBody(Body):
    org_id: int
    kind: MeetingKind = MeetingKind.REGULAR
    name: str = Field(min_length=1, max_length=300)
    items: list[TemplateItemBody] = Field(min_length=1, max_length=50)


class CurrentItemBody(Body):
    index: int = Field(ge=0, le=49)


class FloorBody(Body):
    member_id: int | None


@route(
    "GET",
    "/api/v1/agenda-templates",
    summary="Built-in agenda templates (read-only) and those of ?org= and its ancestors",
    tag="agenda",
    query=(Query("org", "integer", minimum=1),),
    response=responses.TEMPLATES,
)
async def list_templates(request: web.Request) -> web.StreamResponse:
    caller = actor(request)
    raw = request.query.get("org")
    org_id = int(raw) if raw is not None and raw.isascii() and raw.isdigit() and len(raw) <= 10 else None
    if raw is not None and org_id is None:
        raise not_found()
    async with database(request).read() as session:
        if org_id is not None:
            await authorize(session, caller, Action.MEETING_READ, org_id)
        templates = await visible_templates(session, org_id)
    return json_response({"templates": [template_json(t) for t in templates]})


@route(
    "POST",
    "/api/v1/agenda-templates",
    summary="A unit's own agenda template (R-CONTENT-1 applies when a meeting uses it online)",
    tag="agenda",
    body=TemplateBody,
    status=201,
    response=responses.TEMPLATE,
)
async def post_template(request: web.Request) -> web.StreamResponse:
    caller = actor(request)
    body = await read_json(request, TemplateBody)
    async with database(request).write() as session:
        await authorize(session, caller, Action.MEETING_WRITE, body.org_id)
        org = await get_org(session, body.org_id)
        template = await create_template(
            session,
            org,
            body.kind,
            body.name,
            [AgendaEntry(i.title, i.item_type, i.notes) for i in body.items],
            actor_user_id=caller.user_id,
            at=now(request),
        )
        result = template_json(template)
    return json_response(result, status=201)


async def _chaired_meeting(request: web.Request, session: AsyncSession) -> Meeting:
    """The meeting, locked for the change, when the caller chairs it (else 403; another unit 404)."""
    meeting = await lock_meeting(session, path_id(request))
    if meeting is None:
        raise await absent(session, actor(request))
    (await meeting_roles(session, actor(request), meeting)).require_chair()
    return meeting


@route(
    "POST",
    "/api/v1/meetings/{id}/agenda/current",
    summary="The chair moves the open meeting to an agenda item; pushes `agenda`",
    tag="agenda",
    body=CurrentItemBody,
    response=responses.CURRENT_ITEM,
)
async def post_current_item(request: web.Request) -> web.StreamResponse:
    body = await read_json(request, CurrentItemBody)
    async with database(request).write() as session:
        meeting = await _chaired_meeting(request, session)
        agenda = await set_current_item(
            session, meeting, body.index, actor_user_id=actor(request).user_id, at=now(request)
        )
    rooms = hub(request)
    if rooms is not None:
        await rooms.push(path_id(request), "agenda", agenda)
    return json_response(agenda)


@route(
    "POST",
    "/api/v1/meetings/{id}/floor",
    summary="The chair gives the floor to a member (or ends the speech); pushes `floor` and `hands`",
    tag="agenda",
    body=FloorBody,
    response=responses.FLOOR,
)
async def post_floor(request: web.Request) -> web.StreamResponse:
    body = await read_json(request, FloorBody)
    async with database(request).write() as session:
        meeting = await _chaired_meeting(request, session)
        floor = await give_floor(
            session, meeting, body.member_id, actor_user_id=actor(request).user_id, at=now(request)
        )
    rooms = hub(request)
    if rooms is not None:
        await rooms.push(path_id(request), "floor", floor)
        if body.member_id is not None:
            await rooms.lower_hand(path_id(request), body.member_id)
    return json_response(floor)


@route(
    "GET",
    "/api/v1/meetings/{id}/speeches",
    summary="Who spoke on which agenda item, in order, and for how long",
    tag="agenda",
    response=responses.SPEECHES,
)
async def get_speeches(request: web.Request) -> web.StreamResponse:
    caller = actor(request)
    async with database(request).read() as session:
        meeting = await session.get(Meeting, path_id(request))
        if meeting is None:
            raise await absent(session, caller)
        await authorize(session, caller, Action.MEETING_READ, meeting.org_id)
        speeches = await speeches_of(session, meeting.id)  # type: ignore[arg-type]
    at = now(request)
    return json_response({"speeches": [speech_json(s, name, at) for s, name in speeches]})
