"""Presence, attendance, quorum, and opening and closing a meeting (R-ATT-1, R-ATT-2, R-QUOR-1, R-BASE-2..4).

Decisions this module makes (documented for docs/api.md):

- The record of presence is the append-only table `presence_events` (join/leave from the realtime
  room, checkin/checkout on site). Attendance and quorum are always computed from it with the pure
  functions of `meetings.attendance`, `meetings.register` and `meetings.quorum`; nothing is cached.
- Summoned = the unit's register as `unit_member_ids` gives it (a cell's members, a grassroots
  committee's subtree, a party group's members), minus nobody: the voting base (R-BASE-2) takes out
  the exempt-and-absent, the suspended, the away and the prosecuted. Excused = the meeting's
  `excuses` rows.
- Check-ins and check-outs are on-site presence: hybrid and in-person meetings only (online → 409
  `not_on_site`), for a summoned member (else 422), while the meeting is scheduled or open (closed →
  409 `meeting_closed`). They may be taken before the opening, so that the opening can see a quorum.
  A check-in of a member already checked in on site, or a check-out of one who is not, changes
  nothing: 200 with `recorded: false` and no audit row; a recorded event answers 201 and is audited
  (`presence.checkin`, `presence.checkout`).
- Present now = a summoned member with an open presence interval at the clock's instant.
  `present_official` = the present members who are in the voting base, so probationary members
  (R-BASE-4) never count towards the quorum. The voting base is computed with attending = present
  (an exempt member who attends is counted, R-BASE-2).
- Opening: only while scheduled (409 `meeting_not_scheduled`). Not quorate and no override → 409
  `not_quorate`, rule `R-QUOR-1`, the decision (without its explanation, which is the message) in
  `details`, nothing written. With an `override_reason` while not quorate the meeting opens, the
  reason is stored on the meeting and the `meeting.opened` audit row carries it with the quorum
  counts and `"override": true`. An override reason given while quorate is not needed and not stored.
- Closing: only while open (409 `meeting_not_open`). Every open presence is ended at the closing
  instant (a `leave` for the online, a `checkout` for the on-site), then the status is `closed`;
  the `meeting.closed` audit row carries the attendance counts.
- Attendance: the window is [opened_at, closed_at or now] and the opening is the attendance call
  (R-ATT-1: the opening states who is present). While the meeting is open, a member connected now is
  shown as the close will record them if they stay (`meetings.attendance`, in progress): present, or
  late when they came more than the rule set's `late_after_minutes` after the opening, never absent;
  the room, this answer and the minutes' draft all read it from `attendance_of`. Before the opening
  the statuses describe the moment: the window is [min(scheduled start, now), now] with the call at
  now, so a member checked in shows as present and everyone else as absent (excused or not).
  Intervals are clipped to the window; a presence still running ends at now.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings import attendance as att
from meetings import room
from meetings.decision import Decision, Text
from meetings.enums import Activity, MeetingMode, MeetingStatus, RemoteReason, Standing
from meetings.register import MemberFacts
from meetings.rulesets import in_force_on
from server.audit.log import append
from server.clock import as_utc, iso
from server.db.relays import relays_of
from server.db.tables import AgendaItem, Excuse, Meeting, Member, Org, PresenceEvent, Speech
from server.errors import ApiError, conflict
from server.services import breakout
from server.services.meeting_checks import require_not_cancelled, require_scheduled
from server.services.relay_views import relay_entry, relays_by_member
from server.services.rule_sets import meeting_date, registry
from server.services.unit_members import units_member_ids

ON_SITE_MODES = frozenset({MeetingMode.HYBRID, MeetingMode.IN_PERSON})


@dataclass(frozen=True)
class Situation(room.Presence):
    """The room's rules' facts about one meeting (`meetings.room.Presence`), with the summoned members'
    rows for their names."""

    members: list[Member]


def _facts(member: Member) -> MemberFacts:
    assert member.id is not None
    return MemberFacts(
        member_id=member.id,
        standing=Standing(member.standing),
        activity=Activity(member.activity),
        remote_reason=RemoteReason(member.remote_reason) if member.remote_reason else None,
    )


async def lock_meeting(session: AsyncSession, meeting_id: int) -> Meeting | None:
    """The meeting, locked for the transaction on PostgreSQL (SQLite writes are serialised anyway)."""
    query = select(Meeting).where(col(Meeting.id) == meeting_id).with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def situation(session: AsyncSession, meeting: Meeting, org: Org) -> Situation:
    assert meeting.id is not None
    return (await situations(session, [(meeting, org)]))[meeting.id]


async def situations(session: AsyncSession, meetings: Sequence[tuple[Meeting, Org]]) -> dict[int, Situation]:
    """The situations of several meetings (each with its unit) in a fixed number of queries: the live
    rooms of a province load their views together when its members join at once (issue 22)."""
    by_id = {meeting.id: (meeting, org) for meeting, org in meetings if meeting.id is not None}
    # A closed meeting keeps the members it summoned; an open or scheduled one follows the register.
    following = [org for meeting, org in by_id.values() if meeting.summoned_ids is None]
    registers = await units_member_ids(session, following) if following else {}
    summoned = {
        meeting_id: set(meeting.summoned_ids) if meeting.summoned_ids is not None else registers[org.id]  # type: ignore[index]
        for meeting_id, (meeting, org) in by_id.items()
    }
    wanted = set().union(*summoned.values()) if summoned else set()
    members = {
        member.id: member
        for member in (await session.execute(select(Member).where(col(Member.id).in_(wanted))))
        .scalars()
        .all()
    }
    rows = (
        (
            await session.execute(
                select(PresenceEvent)
                .where(col(PresenceEvent.meeting_id).in_(by_id))
                .order_by(col(PresenceEvent.at), col(PresenceEvent.id))
            )
        )
        .scalars()
        .all()
    )
    events: dict[int, list[att.PresenceEvent]] = {meeting_id: [] for meeting_id in by_id}
    for r in rows:
        events[r.meeting_id].append(att.PresenceEvent(r.member_id, att.EventKind(r.kind), as_utc(r.at)))
    excused: dict[int, set[int]] = {meeting_id: set() for meeting_id in by_id}
    excused_query = select(col(Excuse.meeting_id), col(Excuse.member_id)).where(
        col(Excuse.meeting_id).in_(by_id)
    )
    for meeting_id, member_id in (await session.execute(excused_query)).all():
        excused[meeting_id].add(member_id)
    relays = await relays_of(session, by_id)
    rule_sets = await registry(session)
    found = {}
    for meeting_id, (meeting, org) in by_id.items():
        chosen = [members[i] for i in sorted(summoned[meeting_id]) if i in members]
        found[meeting_id] = Situation(
            members=chosen,
            facts=[_facts(m) for m in chosen],
            events=events[meeting_id],
            excused=frozenset(excused[meeting_id]),
            # The set in force on the meeting's date within the unit's lineage decides it (issue 30).
            rule_set=in_force_on(rule_sets, org.rule_set, meeting_date(meeting, org)),
            relays=relays.get(meeting_id, ()),
        )
    return found


def timing(meeting: Meeting) -> room.Timing:
    return room.Timing(
        starts_at=as_utc(meeting.starts_at),
        opened_at=as_utc(meeting.opened_at) if meeting.opened_at is not None else None,
        closed_at=as_utc(meeting.closed_at) if meeting.closed_at is not None else None,
    )


def attendance_of(state: room.Presence, meeting: Meeting, at: datetime) -> dict[int, att.MemberAttendance]:
    return room.attendance_at(state, timing(meeting), at)


def attendance_json(state: Situation, result: dict[int, att.MemberAttendance]) -> dict[str, Any]:
    relays = relays_by_member(state.relays)
    return {
        "members": [
            {
                **relay_entry(relays.get(member.id, [])),  # type: ignore[arg-type]
                "member_id": member.id,
                "full_name": member.full_name,
                "standing": member.standing,
                "status": result[member.id].status.value,  # type: ignore[index]
                "present_seconds": result[member.id].present_seconds,  # type: ignore[index]
                "excused": member.id in state.excused,
                "intervals": [
                    {"start": iso(i.start), "end": iso(i.end) if i.end is not None else None}
                    for i in result[member.id].intervals  # type: ignore[index]
                ],
            }
            for member in state.members
        ],
        "counts": {
            **att.attendance_counts(result),
            "summoned": len(state.members),
            # Only where a relay was recorded: other meetings' counts read exactly as before R-ATT-4.
            **({"relayed": sum(1 for m in result.values() if m.relayed)} if state.relays else {}),
        },
    }


def _not_on_site(meeting: Meeting) -> None:
    if MeetingMode(meeting.mode) not in ON_SITE_MODES:
        raise conflict(
            "not_on_site",
            Text(
                "Buổi sinh hoạt trực tuyến không điểm danh tại chỗ; "
                "đảng viên tham dự qua phòng họp trực tuyến.",
                "An online meeting takes no on-site check-ins; members attend through the online room.",
            ),
            mode=meeting.mode,
        )


def _not_closed(meeting: Meeting) -> None:
    require_not_cancelled(meeting)
    if meeting.status == MeetingStatus.CLOSED:
        raise conflict(
            "meeting_closed",
            Text("Buổi sinh hoạt đã kết thúc.", "The meeting has closed."),
            status=meeting.status,
        )


async def record_on_site(
    session: AsyncSession,
    meeting: Meeting,
    org: Org,
    member_id: int,
    kind: att.EventKind,
    *,
    actor_user_id: int,
    at: datetime,
) -> tuple[bool, Situation]:
    """A check-in or check-out; False when the member was already in that state (nothing written)."""
    assert kind in (att.EventKind.CHECKIN, att.EventKind.CHECKOUT)
    _not_on_site(meeting)
    _not_closed(meeting)
    state = await situation(session, meeting, org)
    if member_id not in {f.member_id for f in state.facts}:
        raise ApiError(
            422,
            "validation_error",
            Text(
                "'member_id' phải là một đảng viên được triệu tập (thuộc đơn vị).",
                "'member_id' must be a summoned member (of the unit).",
            ),
            details={"fields": {"member_id": "not a member of the unit"}},
        )
    if not room.changes_place(state.events, member_id, kind):
        return False, state
    session.add(
        PresenceEvent(
            meeting_id=meeting.id,  # type: ignore[arg-type]
            member_id=member_id,
            kind=kind.value,
            at=at,
            recorded_by=actor_user_id,
        )
    )
    await session.flush()
    await append(
        session,
        at=at,
        actor_user_id=actor_user_id,
        org_id=meeting.org_id,
        action=f"presence.{kind.value}",
        target=f"meeting:{meeting.id}",
        data={"member_id": member_id},
    )
    events = [*state.events, att.PresenceEvent(member_id, kind, at)]
    return True, replace(state, events=events)


def _decision_details(decision: Decision) -> dict[str, Any]:
    return {
        "outcome": decision.outcome,
        "rule": decision.rule,
        "rule_set": decision.rule_set,
        "counts": dict(decision.counts),
    }


async def open_meeting(
    session: AsyncSession,
    meeting: Meeting,
    org: Org,
    override_reason: str | None,
    *,
    actor_user_id: int,
    at: datetime,
) -> Decision:
    require_scheduled(meeting)
    decision = room.quorum_decision(await situation(session, meeting, org))
    if not decision.outcome and not override_reason:
        raise ApiError(
            409,
            "not_quorate",
            decision.explanation,
            rule="R-QUOR-1",
            details=_decision_details(decision),
        )
    overridden = not decision.outcome
    meeting.status = MeetingStatus.OPEN.value
    meeting.opened_at = at
    meeting.quorum_override_reason = override_reason if overridden else None
    session.add(meeting)
    await session.flush()
    await append(
        session,
        at=at,
        actor_user_id=actor_user_id,
        org_id=meeting.org_id,
        action="meeting.opened",
        target=f"meeting:{meeting.id}",
        data={
            "quorate": bool(decision.outcome),
            "override": overridden,
            "override_reason": meeting.quorum_override_reason,
            "rule": decision.rule,
            "counts": dict(decision.counts),
        },
    )
    return decision


async def close_meeting(
    session: AsyncSession,
    meeting: Meeting,
    org: Org,
    *,
    actor_user_id: int,
    at: datetime,
) -> tuple[Situation, dict[int, att.MemberAttendance]]:
    if meeting.status != MeetingStatus.OPEN:
        raise conflict(
            "meeting_not_open",
            Text(
                "Chỉ kết thúc được buổi sinh hoạt đang diễn ra.",
                "Only an open meeting can be closed.",
            ),
            status=meeting.status,
        )
    state = await situation(session, meeting, org)
    ending = room.closing_events(state.events, at)
    session.add_all(
        PresenceEvent(
            meeting_id=meeting.id,  # type: ignore[arg-type]
            member_id=e.member_id,
            kind=e.kind.value,
            at=at,
            recorded_by=actor_user_id,
        )
        for e in ending
    )
    meeting.status = MeetingStatus.CLOSED.value
    meeting.closed_at = at
    meeting.summoned_ids = [member.id for member in state.members if member.id is not None]
    session.add(meeting)
    await end_agenda(session, meeting, at)
    # A split still running ends with the meeting: its notes go into the minutes as they are.
    await breakout.end(session, meeting, actor_user_id=actor_user_id, at=at, why="meeting_closed")
    await session.flush()
    state = replace(state, events=[*state.events, *ending])
    result = attendance_of(state, meeting, at)
    await append(
        session,
        at=at,
        actor_user_id=actor_user_id,
        org_id=meeting.org_id,
        action="meeting.closed",
        target=f"meeting:{meeting.id}",
        data={
            "counts": att.attendance_counts(result),
            "ended_presences": len(ending),
            "opened_at": iso(meeting.opened_at) if meeting.opened_at else None,
        },
    )
    return state, result


async def end_agenda(session: AsyncSession, meeting: Meeting, at: datetime) -> None:
    """At the close the current item and any speech end (their times go into the minutes)."""
    await session.execute(
        update(Speech)
        .where(col(Speech.meeting_id) == meeting.id, col(Speech.ended_at).is_(None))
        .values(ended_at=at)
    )
    if meeting.current_item is not None:
        await session.execute(
            update(AgendaItem)
            .where(col(AgendaItem.meeting_id) == meeting.id, col(AgendaItem.position) == meeting.current_item)
            .values(ended_at=at)
        )
