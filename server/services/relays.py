"""Recording a member who takes part through another member's radio or phone (issue 30, R-ATT-4).

The chair records it (api.md `POST /meetings/{id}/relays`); meetings.relays.check_relay decides whether
it may be: a refusal of the input is 422 `validation_error`, one by the meeting's state or record 409
(`meeting_not_opened`, `minutes_adopted`, `relay_overlap`), both with the rule R-ATT-4, the reason and
the field in `details`, and nothing written. A recorded relay is a `meeting_relays` row and an
`attendance.relayed` audit entry in the same transaction; attendance and the quorum read it from then on.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from meetings import attendance as att
from meetings.relays import RULE, Relay, RelayContext, check_relay
from server.audit.log import append
from server.clock import as_utc, iso
from server.db.tables import Meeting, MeetingRelay, Minutes, Org
from server.errors import ApiError
from server.services.attendance import Situation, situation


async def record_relay(
    session: AsyncSession,
    meeting: Meeting,
    org: Org,
    relay: Relay,
    *,
    actor_user_id: int,
    at: datetime,
) -> tuple[MeetingRelay, Situation, Relay]:
    """Call with the meeting locked, by its chair: the row, the situation with it, the relay in UTC."""
    state = await situation(session, meeting, org)
    minutes = await session.get(Minutes, meeting.id)
    context = RelayContext(
        summoned=frozenset(f.member_id for f in state.facts),
        opened_at=as_utc(meeting.opened_at) if meeting.opened_at is not None else None,
        closed_at=as_utc(meeting.closed_at) if meeting.closed_at is not None else None,
        now=at,
        scheduled_end=as_utc(meeting.starts_at) + timedelta(minutes=meeting.duration_minutes),
        minutes_adopted=minutes is not None and minutes.adopted_vote_id is not None,
        relays=state.relays,
        presence=att.intervals(state.events, state.rule_set),
    )
    refusal = check_relay(relay, context)
    if refusal is not None:
        raise ApiError(
            409 if refusal.conflict else 422,
            refusal.reason if refusal.conflict else "validation_error",
            refusal.text,
            rule=RULE,
            details={"reason": refusal.reason, "fields": {refusal.field: refusal.text.en}},
        )
    # Stored in UTC (SQLite keeps no zone); only now, once the times are known to lie in the meeting.
    relay = replace(relay, start=as_utc(relay.start), end=as_utc(relay.end))
    row = MeetingRelay(
        meeting_id=meeting.id,  # type: ignore[arg-type]
        member_id=relay.member_id,
        relayed_by=relay.relayed_by,
        channel=relay.channel.value,
        starts_at=relay.start,
        ends_at=relay.end,
        recorded_by=actor_user_id,
        recorded_at=at,
    )
    session.add(row)
    await session.flush()
    await append(
        session,
        at=at,
        actor_user_id=actor_user_id,
        org_id=meeting.org_id,
        action="attendance.relayed",
        target=f"meeting:{meeting.id}",
        data={
            "relay_id": row.id,
            "member_id": relay.member_id,
            "relayed_by": relay.relayed_by,
            "channel": relay.channel.value,
            "from": iso(relay.start),
            "to": iso(relay.end),
            "rule": RULE,
        },
    )
    return row, replace(state, relays=(*state.relays, relay)), relay
