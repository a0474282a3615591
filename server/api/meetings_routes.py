"""Meetings, their agenda, excuses and the calendar invitation (api.md: /orgs/{id}/meetings, /meetings/{id}).

Every meeting route authorises on the meeting's own unit: a caller who cannot see that unit gets 404.
Excuses: a repeated excuse for the same member replaces the reason and answers 200 (the first is 201);
see server.services.meetings for the other decisions. Cancel, reschedule and the invitation (issue 18)
lock the meeting row and authorise like PATCH (meeting.write); see server.services.meeting_changes.
"""

from __future__ import annotations

from typing import Annotated, Any

from aiohttp import web
from pydantic import AwareDatetime, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings.decision import Text
from meetings.enums import ItemType, MeetingKind, MeetingMode
from meetings.policy import Action
from server.api import responses
from server.api.context import (
    actor,
    database,
    hub,
    json_response,
    lang,
    now,
    path_id,
    public_base,
    room_changed,
)
from server.api.registry import route
from server.api.validation import Body, read_json
from server.auth.authz import access_on, authorize, permits
from server.auth.identity import Actor
from server.db.tables import Excuse, Meeting, Member, Org
from server.db.tree import subtree_ids
from server.errors import ApiError, forbidden, not_found
from server.exports.invite import meeting_invitation
from server.mail.invitations import mail_invitations, recipients
from server.mail.outbox import outbox_of
from server.media.sfu_lifecycle import meeting_ended
from server.services.agenda_templates import AgendaEntry
from server.services.attendance import lock_meeting
from server.services.meeting_changes import cancel, reschedule, send_invitations, times_rescheduled
from server.services.meetings import (
    agenda_item_json,
    agenda_of,
    approval_warnings,
    change,
    excuse_json,
    meeting_json,
    past_start_warnings,
    replace_agenda,
    schedule,
    submit_excuse,
    unit_member_ids,
)
from server.services.orgs import get_org

Duration = Annotated[int, Field(ge=15, le=600)]


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


class CancelBody(Body):
    reason: str = Field(min_length=1, max_length=500)


class RescheduleBody(Body):
    starts_at: AwareDatetime
    duration_minutes: Duration | None = None
    reason: str = Field(min_length=1, max_length=500)


class AgendaItemBody(Body):
    title: str = Field(min_length=1, max_length=300)
    item_type: ItemType = ItemType.ORDINARY
    notes: str = Field(default="", max_length=4000)


class AgendaBody(Body):
    items: list[AgendaItemBody] = Field(max_length=50)


class ExcuseBody(Body):
    member_id: int | None = None
    reason: str = Field(min_length=1, max_length=1000)


async def _meeting(
    session: AsyncSession, caller: Actor, meeting_id: int, action: Action
) -> tuple[Meeting, Org]:
    meeting = await session.get(Meeting, meeting_id)
    if meeting is None:
        raise not_found()
    await authorize(session, caller, action, meeting.org_id)
    return meeting, await get_org(session, meeting.org_id)


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
        result["warnings"] = await _warnings(request, session, meeting, org)
    return json_response(result, status=201)


async def _warnings(request: web.Request, session: AsyncSession, meeting: Meeting, org: Org) -> list[Any]:
    """A start already gone (within the grace), and R-ELIG-6 on the meeting's own days
    (server.services.meetings.past_start_warnings, approval_warnings)."""
    return past_start_warnings(meeting.starts_at, now(request), lang(request)) + await approval_warnings(
        session,
        org,
        MeetingMode(meeting.mode),
        meeting.starts_at,
        meeting.duration_minutes,
        now(request),
        lang(request),
    )


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
                    .where(Meeting.org_id.in_(ids))  # type: ignore[attr-defined]
                    .order_by(Meeting.starts_at, Meeting.id)  # type: ignore[arg-type]
                )
            )
            .scalars()
            .all()
        )
        orgs = {
            org.id: org
            for org in (
                await session.execute(select(Org).where(Org.id.in_({m.org_id for m in rows})))  # type: ignore[union-attr]
            )
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
        meeting, org = await _meeting(session, caller, path_id(request), Action.MEETING_READ)
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
        meeting, org = await _meeting(session, caller, path_id(request), Action.MEETING_WRITE)
        meeting = await change(session, meeting, org, changes, actor_user_id=caller.user_id, at=now(request))
        result = meeting_json(meeting, org)
        result["warnings"] = await _warnings(request, session, meeting, org)
    room_changed(request, path_id(request))
    return json_response(result)


async def _locked(session: AsyncSession, caller: Actor, meeting_id: int) -> tuple[Meeting, Org]:
    """The meeting, its row locked against a concurrent opening, for a caller with meeting.write."""
    meeting = await lock_meeting(session, meeting_id)
    if meeting is None:
        raise not_found()
    await authorize(session, caller, Action.MEETING_WRITE, meeting.org_id)
    return meeting, await get_org(session, meeting.org_id)


@route(
    "POST",
    "/api/v1/meetings/{id}/cancel",
    summary="Cancel a scheduled meeting with a reason; the summoned members are told (audited)",
    tag="meetings",
    body=CancelBody,
    response=responses.MEETING,
)
async def post_cancel(request: web.Request) -> web.StreamResponse:
    caller = actor(request)
    body = await read_json(request, CancelBody)
    async with database(request).write() as session:
        meeting, org = await _locked(session, caller, path_id(request))
        told = await cancel(session, meeting, org, body.reason, actor_user_id=caller.user_id, at=now(request))
        result = {**meeting_json(meeting, org), "notified": len(told)}
    live = hub(request)
    if live is not None:
        await live.meeting_changed(meeting)  # the room hears `meeting-state` cancelled
    assert meeting.id is not None
    await meeting_ended(request.app, meeting.id)  # its SFU room, if any, goes with it
    return json_response(result)


@route(
    "POST",
    "/api/v1/meetings/{id}/reschedule",
    summary="Move a scheduled meeting to a new start (not in the past) with a reason; members are told",
    tag="meetings",
    body=RescheduleBody,
    response=responses.MEETING,
)
async def post_reschedule(request: web.Request) -> web.StreamResponse:
    caller = actor(request)
    body = await read_json(request, RescheduleBody)
    async with database(request).write() as session:
        meeting, org = await _locked(session, caller, path_id(request))
        told = await reschedule(
            session,
            meeting,
            org,
            body.starts_at,
            body.duration_minutes,
            body.reason,
            actor_user_id=caller.user_id,
            at=now(request),
        )
        result = {
            **meeting_json(meeting, org),
            "notified": len(told),
            "warnings": await _warnings(request, session, meeting, org),
        }
    room_changed(request, path_id(request))
    return json_response(result)


@route(
    "POST",
    "/api/v1/meetings/{id}/invitations",
    summary="Send the invitation to the summoned members with an account (a notice on their home page, "
    "and an e-mail to those with an address when SMTP is configured)",
    tag="meetings",
    response=responses.INVITATIONS,
)
async def post_invitations(request: web.Request) -> web.StreamResponse:
    caller = actor(request)
    outbox = outbox_of(request.app)
    async with database(request).write() as session:
        meeting, org = await _locked(session, caller, path_id(request))
        told, before = await send_invitations(
            session, meeting, org, actor_user_id=caller.user_id, at=now(request)
        )
        to = await recipients(session, told) if outbox is not None else []
        sequence = await times_rescheduled(session, meeting)
    result: dict[str, Any] = {
        "meeting_id": meeting.id,
        "sent": len(told),
        "again": before > 0,
        "times_sent_before": before,
    }
    if outbox is not None:  # queued once committed; sent in the background, never awaited here
        result["mailed"] = mail_invitations(
            request.app,
            outbox,
            meeting,
            org,
            to,
            base=public_base(request),
            actor_user_id=caller.user_id,
            sequence=sequence,
        )
    return json_response(result)


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
        meeting, _ = await _meeting(session, caller, path_id(request), Action.MEETING_READ)
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
        meeting, org = await _meeting(session, caller, path_id(request), Action.MEETING_WRITE)
        items = await replace_agenda(
            session, meeting, org, entries, actor_user_id=caller.user_id, at=now(request)
        )
        result = {"meeting_id": meeting.id, "items": [agenda_item_json(i) for i in items]}
    room_changed(request, path_id(request))
    return json_response(result)


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
        meeting, org = await _meeting(session, caller, path_id(request), Action.MEETING_READ)
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
                await session.execute(select(Member.id).where(Member.user_id == caller.user_id))
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
        meeting, _org = await _meeting(session, caller, path_id(request), Action.MEETING_READ)
        access = await access_on(session, caller, meeting.org_id)
        sees_all = access is not None and (
            permits(access, caller, Action.MEETING_WRITE) or permits(access, caller, Action.AUDIT_READ)
        )
        query = (
            select(Excuse, Member.full_name)
            .join(Member, col(Member.id) == col(Excuse.member_id))
            .where(col(Excuse.meeting_id) == meeting.id)
            .order_by(col(Excuse.created_at), col(Excuse.id))
        )
        if not sees_all:  # a member sees their own excuse only
            query = query.where(col(Member.user_id) == caller.user_id)
        rows = (await session.execute(query)).all()
    return json_response({"excuses": [{**excuse_json(excuse), "full_name": name} for excuse, name in rows]})


@route(
    "GET",
    "/api/v1/meetings/{id}/invite.ics",
    summary="Calendar invitation (RFC 5545) with the join link",
    tag="meetings",
    media_types=("text/calendar",),
)
async def get_invite(request: web.Request) -> web.StreamResponse:
    caller = actor(request)
    async with database(request).read() as session:
        meeting, org = await _meeting(session, caller, path_id(request), Action.MEETING_READ)
        sequence = await times_rescheduled(session, meeting)
    text = meeting_invitation(meeting, org, public_base(request), now(request), sequence=sequence)
    return web.Response(
        text=text,
        content_type="text/calendar",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="meeting-{meeting.id}.ics"'},
    )
