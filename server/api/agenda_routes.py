"""A meeting's agenda read and replaced (api.md: /meetings/{id}/agenda; R-CONTENT-1 for online and
hybrid meetings, checked in server.services.meeting_agenda)."""

from __future__ import annotations

from aiohttp import web
from pydantic import Field

from meetings.enums import ItemType
from meetings.policy import Action
from server.api import responses
from server.api.context import actor, database, json_response, now, path_id, room_changed
from server.api.meeting_context import meeting_for
from server.api.registry import route
from server.api.validation import Body, read_json
from server.services.agenda_templates import AgendaEntry
from server.services.meeting_agenda import agenda_item_json, agenda_of, replace_agenda


class AgendaItemBody(Body):
    title: str = Field(min_length=1, max_length=300)
    item_type: ItemType = ItemType.ORDINARY
    notes: str = Field(default="", max_length=4000)


class AgendaBody(Body):
    items: list[AgendaItemBody] = Field(max_length=50)


@route(
    "GET",
    "/api/v1/meetings/{id}/agenda",
    summary="The meeting's agenda, in order",
    tag="meetings",
    response=responses.AGENDA,
)
async def get_agenda(request: web.Request) -> web.StreamResponse:
    caller = actor(request)
    async with database(request).read() as session:
        meeting, _ = await meeting_for(session, caller, path_id(request), Action.MEETING_READ)
        items = await agenda_of(session, meeting.id)  # type: ignore[arg-type]
    return json_response({"meeting_id": meeting.id, "items": [agenda_item_json(i) for i in items]})


@route(
    "PUT",
    "/api/v1/meetings/{id}/agenda",
    summary="Replace the agenda of a scheduled meeting (R-CONTENT-1 for online and hybrid)",
    tag="meetings",
    body=AgendaBody,
    response=responses.AGENDA,
)
async def put_agenda(request: web.Request) -> web.StreamResponse:
    caller = actor(request)
    body = await read_json(request, AgendaBody)
    entries = [AgendaEntry(i.title, i.item_type, i.notes) for i in body.items]
    async with database(request).write() as session:
        meeting, org = await meeting_for(session, caller, path_id(request), Action.MEETING_WRITE)
        items = await replace_agenda(
            session, meeting, org, entries, actor_user_id=caller.user_id, at=now(request)
        )
        result = {"meeting_id": meeting.id, "items": [agenda_item_json(i) for i in items]}
    room_changed(request, path_id(request))
    return json_response(result)
