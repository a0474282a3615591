"""Minutes: read, edit (versioned, merged or refused), adopt, sign, addenda, DOCX and PDF.

Reading is for whoever sees the meeting (members read the draft, product.md); writing for the chair,
the minute-taker and the unit's leaders; signing for the chair and the minute-taker themselves.
Decisions are listed in server.services.minutes, minutes_edits and minutes_document.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any
from urllib.parse import quote

from aiohttp import web
from pydantic import ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from meetings.decision import Text
from meetings.minutes import FIELD_MAX_CHARS
from server.api import responses
from server.api.context import actor, database, hub, json_response, now, path_id
from server.api.registry import route
from server.api.validation import Body, read_json
from server.auth.authz import absent
from server.db.tables import Meeting, Org
from server.errors import ApiError
from server.exports.minutes_docx import render_docx
from server.exports.minutes_pdf import render_pdf
from server.services.attendance import lock_meeting
from server.services.meeting_roles import MeetingRoles, meeting_roles
from server.services.minutes import add_addendum, adopt, minutes_json, sign
from server.services.minutes_edits import edit_minutes
from server.services.orgs import get_org
from server.services.room_pushes import push_minutes, push_texts

# meetings.minutes.FIELD_MAX_CHARS: a longer text is a 422 like any invalid field.
FieldText = Annotated[str, Field(max_length=FIELD_MAX_CHARS)]


class MinutesEditBody(Body):
    # Texts are kept exactly as typed: trimming would eat the space the writer just typed.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    version: int = Field(ge=0)
    fields: dict[Annotated[str, Field(max_length=20)], FieldText] = Field(min_length=1, max_length=60)
    edit_id: str | None = Field(default=None, min_length=1, max_length=64)


class AdoptBody(Body):
    vote_id: int


class AddendumBody(Body):
    text: str = Field(min_length=1, max_length=20_000)


async def _meeting(
    request: web.Request, session: AsyncSession, *, lock: bool
) -> tuple[Meeting, Org, MeetingRoles]:
    meeting = (
        await lock_meeting(session, path_id(request))
        if lock
        else await session.get(Meeting, path_id(request))
    )
    if meeting is None:
        raise await absent(session, actor(request))
    roles = await meeting_roles(session, actor(request), meeting)
    return meeting, await get_org(session, meeting.org_id), roles


def _readable(roles: MeetingRoles, minutes: dict[str, Any]) -> dict[str, Any]:
    """An auditor reads adopted minutes only: a draft is the minute-taker's work in progress."""
    if roles.auditor_only and minutes["status"] == "draft":
        raise ApiError(
            403,
            "minutes_not_adopted",
            Text(
                "Cán bộ kiểm tra chỉ xem biên bản đã được hội nghị thông qua.",
                "Auditors read the minutes once the meeting has adopted them.",
            ),
        )
    return minutes


@route(
    "GET",
    "/api/v1/meetings/{id}/minutes",
    summary="The minutes: texts, facts, status",
    tag="minutes",
    response=responses.MINUTES,
)
async def get_minutes(request: web.Request) -> web.StreamResponse:
    async with database(request).read() as session:
        meeting, org, roles = await _meeting(request, session, lock=False)
        result = _readable(roles, await minutes_json(session, meeting, org, now(request)))
    return json_response(result)


@route(
    "PUT",
    "/api/v1/meetings/{id}/minutes",
    summary="Edit the minutes' texts on a named version: merged, or 409 conflict with the current texts",
    tag="minutes",
    body=MinutesEditBody,
    response=responses.MINUTES,
)
async def put_minutes(request: web.Request) -> web.StreamResponse:
    body = await read_json(request, MinutesEditBody)
    caller = actor(request)
    async with database(request).write() as session:
        meeting, org, roles = await _meeting(request, session, lock=True)
        roles.require_minutes_writer()
        _, merged = await edit_minutes(
            session,
            meeting,
            base_version=body.version,
            changes=body.fields,
            edit_id=body.edit_id,
            user_id=caller.user_id,
            at=now(request),
        )
        result = {**await minutes_json(session, meeting, org, now(request)), "merged": merged}
    await push_texts(hub(request), meeting.id, result)  # type: ignore[arg-type]
    return json_response(result)


@route(
    "POST",
    "/api/v1/meetings/{id}/minutes/adopt",
    summary="Record the adoption of the minutes by a passed minutes_adoption vote; text edits stop",
    tag="minutes",
    body=AdoptBody,
    response=responses.MINUTES,
)
async def post_adopt(request: web.Request) -> web.StreamResponse:
    body = await read_json(request, AdoptBody)
    async with database(request).write() as session:
        meeting, org, roles = await _meeting(request, session, lock=True)
        roles.require_chair()
        await adopt(session, meeting, body.vote_id, actor_user_id=actor(request).user_id, at=now(request))
        result = await minutes_json(session, meeting, org, now(request))
    await push_minutes(database(request), hub(request), meeting.id, now(request))  # type: ignore[arg-type]
    return json_response(result)


@route(
    "POST",
    "/api/v1/meetings/{id}/minutes/sign",
    summary="The chair or the minute-taker signs; both signatures lock and hash the minutes (R-MIN-5)",
    tag="minutes",
    response=responses.MINUTES,
)
async def post_sign(request: web.Request) -> web.StreamResponse:
    async with database(request).write() as session:
        meeting, org, roles = await _meeting(request, session, lock=True)
        await sign(session, meeting, org, roles, actor_user_id=actor(request).user_id, at=now(request))
        result = await minutes_json(session, meeting, org, now(request))
    await push_minutes(database(request), hub(request), meeting.id, now(request))  # type: ignore[arg-type]
    return json_response(result)


@route(
    "POST",
    "/api/v1/meetings/{id}/minutes/addenda",
    summary="A signed correction of locked minutes, chained to their hash (R-MIN-5)",
    tag="minutes",
    body=AddendumBody,
    status=201,
    response=responses.MINUTES,
)
async def post_addendum(request: web.Request) -> web.StreamResponse:
    body = await read_json(request, AddendumBody)
    async with database(request).write() as session:
        meeting, org, roles = await _meeting(request, session, lock=True)
        await add_addendum(
            session, meeting, roles, body.text, actor_user_id=actor(request).user_id, at=now(request)
        )
        result = await minutes_json(session, meeting, org, now(request))
    return json_response(result, status=201)


async def _document(request: web.Request, suffix: str, content_type: str) -> web.StreamResponse:
    async with database(request).read() as session:
        meeting, org, roles = await _meeting(request, session, lock=False)
        minutes = _readable(roles, await minutes_json(session, meeting, org, now(request)))
    # Rendering takes a CPU for a moment (PDF layout): off the event loop, so rooms stay live.
    render = render_docx if suffix == "docx" else render_pdf
    data = await asyncio.to_thread(render, minutes)
    name = f"bien-ban-{meeting.id}.{suffix}"
    return web.Response(
        body=data,
        content_type=content_type,
        headers={"Content-Disposition": f"attachment; filename={name}; filename*=UTF-8''{quote(name)}"},
    )


@route(
    "GET",
    "/api/v1/meetings/{id}/minutes.docx",
    summary="The minutes as DOCX (R-MIN-3)",
    tag="minutes",
    media_types=("application/vnd.openxmlformats-officedocument.wordprocessingml.document",),
)
async def get_minutes_docx(request: web.Request) -> web.StreamResponse:
    return await _document(
        request, "docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    )


@route(
    "GET",
    "/api/v1/meetings/{id}/minutes.pdf",
    summary="The minutes as PDF (R-MIN-3)",
    tag="minutes",
    media_types=("application/pdf",),
)
async def get_minutes_pdf(request: web.Request) -> web.StreamResponse:
    return await _document(request, "pdf", "application/pdf")
