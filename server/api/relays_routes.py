"""Relayed attendance (issue 30, R-ATT-4): the chair records a member heard through another member's
radio or phone (api.md `POST /meetings/{id}/relays`). Decisions in server.services.relays."""

from __future__ import annotations

from aiohttp import web
from pydantic import AwareDatetime, Field

from meetings.decision import Text
from meetings.relays import Channel, Relay
from meetings.room import quorum_decision
from server.api.context import actor, database, json_response, lang, now, path_id, room_changed
from server.api.registry import route
from server.api.responses import obj
from server.api.validation import Body, read_json
from server.auth.authz import absent
from server.errors import ApiError
from server.services.attendance import attendance_json, attendance_of, lock_meeting
from server.services.meeting_roles import meeting_roles
from server.services.orgs import get_org
from server.services.relay_views import relay_json
from server.services.relays import record_relay

RELAY = obj(
    "Relay",
    id="integer",
    meeting_id="integer",
    member_id="integer",
    relayed_by="integer",
    channel="string",
    from_="string",
    to="string",
    attendance="object",
    quorum="object",
)


class RelayBody(Body):
    member_id: int
    relayed_by: int
    channel: Channel
    from_: AwareDatetime = Field(alias="from")
    to: AwareDatetime


@route(
    "POST",
    "/api/v1/meetings/{id}/relays",
    summary="The chair records a member taking part by radio or phone relayed by another member present "
    "(R-ATT-4): present for attendance and the record, for quorum and votes only if the rule set allows",
    tag="attendance",
    body=RelayBody,
    status=201,
    response=RELAY,
)
async def post_relay(request: web.Request) -> web.StreamResponse:
    caller = actor(request)
    body = await read_json(request, RelayBody)
    at = now(request)
    async with database(request).write() as session:
        meeting = await lock_meeting(session, path_id(request))
        if meeting is None:
            raise await absent(session, caller)
        (await meeting_roles(session, caller, meeting)).require_chair()
        org = await get_org(session, meeting.org_id)
        try:
            relay = Relay(body.member_id, body.relayed_by, body.channel, body.from_, body.to)
        except ValueError:
            raise _order() from None
        row, state, relay = await record_relay(
            session, meeting, org, relay, actor_user_id=caller.user_id, at=at
        )
        entries = attendance_json(state, attendance_of(state, meeting, at))
        entry = next(m for m in entries["members"] if m["member_id"] == relay.member_id)
        result = {
            "id": row.id,
            "meeting_id": meeting.id,
            "member_id": relay.member_id,
            **relay_json(relay),
            "attendance": entry,
            "quorum": quorum_decision(state, at).to_json(lang(request)),
        }
    room_changed(request, meeting.id)  # type: ignore[arg-type]
    return json_response(result, status=201)


def _order() -> ApiError:
    text = Text(
        "Thời điểm kết thúc chuyển tiếp ('to') phải sau thời điểm bắt đầu ('from') (R-ATT-4).",
        "The relay's end ('to') must come after its start ('from') (R-ATT-4).",
    )
    return ApiError(
        422, "validation_error", text, rule="R-ATT-4", details={"reason": "order", "fields": {"to": text.en}}
    )
