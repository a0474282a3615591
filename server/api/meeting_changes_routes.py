"""A scheduled meeting cancelled, rescheduled, its invitation sent and its calendar file (issue 18).

Cancel, reschedule and the invitation lock the meeting row and authorise like PATCH (meeting.write);
see server.services.meeting_changes for the decisions.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import AwareDatetime, Field

from meetings.policy import Action
from server.api import responses
from server.api.context import actor, database, hub, json_response, now, path_id, public_base, room_changed
from server.api.meeting_context import Duration, locked_meeting_for, meeting_for, start_warnings
from server.api.registry import route
from server.api.validation import Body, read_json
from server.exports.invite import meeting_invitation
from server.mail.invitations import mail_invitations, recipients
from server.mail.outbox import outbox_of
from server.media.sfu_lifecycle import meeting_ended
from server.services.meeting_changes import cancel, reschedule, send_invitations, times_rescheduled
from server.services.meetings import meeting_json


class CancelBody(Body):
    reason: str = Field(min_length=1, max_length=500)


class RescheduleBody(Body):
    starts_at: AwareDatetime
    duration_minutes: Duration | None = None
    reason: str = Field(min_length=1, max_length=500)


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
        meeting, org = await locked_meeting_for(session, caller, path_id(request))
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
        meeting, org = await locked_meeting_for(session, caller, path_id(request))
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
            "warnings": await start_warnings(request, session, meeting, org),
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
        meeting, org = await locked_meeting_for(session, caller, path_id(request))
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
    "/api/v1/meetings/{id}/invite.ics",
    summary="Calendar invitation (RFC 5545) with the join link",
    tag="meetings",
    media_types=("text/calendar",),
)
async def get_invite(request: web.Request) -> web.StreamResponse:
    caller = actor(request)
    async with database(request).read() as session:
        meeting, org = await meeting_for(session, caller, path_id(request), Action.MEETING_READ)
        sequence = await times_rescheduled(session, meeting)
    text = meeting_invitation(meeting, org, public_base(request), now(request), sequence=sequence)
    return web.Response(
        text=text,
        content_type="text/calendar",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="meeting-{meeting.id}.ics"'},
    )
