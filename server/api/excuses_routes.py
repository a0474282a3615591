"""Excuses of a meeting submitted and listed (api.md: /meetings/{id}/excuses).

A member excuses their own absence, the secretary anyone of the unit; a repeated excuse for the same
member replaces the reason and answers 200 (the first is 201; server.services.meeting_excuses). The
list is every excuse for the unit's leaders and auditors, one's own for a member.
"""

from __future__ import annotations

from aiohttp import web
from pydantic import Field
from sqlalchemy import select
from sqlmodel import col

from meetings.decision import Text
from meetings.policy import Action
from server.api import responses
from server.api.context import actor, database, json_response, now, path_id, room_changed
from server.api.meeting_context import meeting_for
from server.api.registry import route
from server.api.validation import Body, read_json
from server.auth.authz import access_on, authorize, permits
from server.db.tables import Excuse, Member
from server.errors import ApiError, forbidden
from server.services.meeting_excuses import excuse_json, submit_excuse
from server.services.unit_members import unit_member_ids


class ExcuseBody(Body):
    member_id: int | None = None
    reason: str = Field(min_length=1, max_length=1000)


@route(
    "POST",
    "/api/v1/meetings/{id}/excuses",
    summary="Excuse an absence: {reason} by the member, {member_id, reason} by the secretary",
    tag="meetings",
    body=ExcuseBody,
    status=201,
    also=(200,),
    response=responses.EXCUSE,
)
async def post_excuse(request: web.Request) -> web.StreamResponse:
    caller = actor(request)
    body = await read_json(request, ExcuseBody)
    async with database(request).write() as session:
        meeting, org = await meeting_for(session, caller, path_id(request), Action.MEETING_READ)
        members = await unit_member_ids(session, org)
        if body.member_id is not None:
            await authorize(session, caller, Action.MEETING_WRITE, meeting.org_id)
            if body.member_id not in members:
                raise ApiError(
                    422,
                    "validation_error",
                    Text(
                        "'member_id' phải là một đảng viên của đơn vị.",
                        "'member_id' must be a member of the unit.",
                    ),
                    details={"fields": {"member_id": "not a member of the unit"}},
                )
            member_id = body.member_id
        else:
            linked = (
                await session.execute(select(col(Member.id)).where(col(Member.user_id) == caller.user_id))
            ).scalar_one_or_none()
            if linked is None or linked not in members:
                raise forbidden()
            member_id = linked
        excuse, created = await submit_excuse(
            session, meeting, member_id, body.reason, actor_user_id=caller.user_id, at=now(request)
        )
        result = excuse_json(excuse)
    room_changed(request, path_id(request))
    return json_response(result, status=201 if created else 200)


@route(
    "GET",
    "/api/v1/meetings/{id}/excuses",
    summary="Excuses of the meeting: every one for its leaders and auditors, one's own for a member",
    tag="meetings",
    response=responses.EXCUSES,
)
async def list_excuses(request: web.Request) -> web.StreamResponse:
    caller = actor(request)
    async with database(request).read() as session:
        meeting, _org = await meeting_for(session, caller, path_id(request), Action.MEETING_READ)
        access = await access_on(session, caller, meeting.org_id)
        sees_all = access is not None and (
            permits(access, caller, Action.MEETING_WRITE) or permits(access, caller, Action.AUDIT_READ)
        )
        query = (
            select(Excuse, col(Member.full_name))
            .join(Member, col(Member.id) == col(Excuse.member_id))
            .where(col(Excuse.meeting_id) == meeting.id)
            .order_by(col(Excuse.created_at), col(Excuse.id))
        )
        if not sees_all:  # a member sees their own excuse only
            query = query.where(col(Member.user_id) == caller.user_id)
        rows = (await session.execute(query)).all()
    return json_response({"excuses": [{**excuse_json(excuse), "full_name": name} for excuse, name in rows]})
