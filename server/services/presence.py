"""Online presence in the live room: who may join a meeting, and the join/leave events it writes (R-ATT-2).

Decisions this module makes (documented in docs/api.md, "The live room"):

- A caller joins as their own member record, which must be summoned to the meeting (the unit's
  register as `unit_member_ids` gives it). A meeting that does not exist and a meeting the caller
  may not see are the same 404 `not_found`; a user who sees the unit but is not summoned gets 403
  `not_a_member`.
- Closed meetings and in-person meetings have no room (409 `meeting_closed`, `not_online`). An
  online or hybrid room needs the unit's approval to be valid on the day of joining (409 R-ELIG-6),
  not only on the day of scheduling: a revoked approval stops the room.
- A `join` event is written only when the member's last online event is not already a join (the
  room asks its Snapshot), so a reconnect after a server restart does not start a second interval;
  a `leave` only when it is.
  Both are audited (`presence.join`, `presence.leave`) in the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings import attendance as att
from meetings import room
from meetings.decision import Decision, Text
from meetings.enums import Activity, MeetingMode, MeetingStatus, OrgKind
from meetings.rulesets import RuleSet
from server.auth.authz import NO_UNIT, absent, access_on, can_see, hidden
from server.auth.identity import Actor
from server.db.tables import Meeting, Member, Org, PresenceEvent, User
from server.errors import ApiError, conflict
from server.services.attendance import Situation, attendance_of, situations
from server.services.meeting_agenda import agendas_of
from server.services.meeting_checks import require_not_cancelled
from server.services.meeting_online import REMOTE_MODES, check_online_allowed, online_approved
from server.services.orgs import get_org
from server.services.presence_batch import LIVE_STATUSES, PresenceWrite, write_presence
from server.services.unit_members import unit_member_ids


@dataclass(frozen=True)
class Attendee:
    """A member admitted to a meeting's room."""

    meeting: Meeting
    org: Org
    member: Member

    @property
    def member_id(self) -> int:
        assert self.member.id is not None
        return self.member.id


def not_a_member() -> ApiError:
    return ApiError(
        403,
        "not_a_member",
        Text(
            "Bạn không thuộc danh sách đảng viên được triệu tập dự buổi sinh hoạt này.",
            "You are not among the members summoned to this meeting.",
        ),
    )


def door(meeting: Meeting, online_allowed: bool) -> room.Door:
    return room.Door(MeetingStatus(meeting.status), MeetingMode(meeting.mode), online_allowed)


def activity_of(member: Member | None) -> Activity | None:
    return Activity(member.activity) if member is not None else None


async def admit(session: AsyncSession, user: User, meeting_id: int, at: datetime) -> Attendee:
    """The caller's member record for the meeting's room, or the refusal (see the module notes)."""
    meeting = await session.get(Meeting, meeting_id)
    if meeting is None:
        raise await _absent_meeting(session, user, at)
    org = await get_org(session, meeting.org_id)
    summoned = await unit_member_ids(session, org)
    member = await _summoned_member(session, user, summoned)
    mode = MeetingMode(meeting.mode)
    allowed = mode not in REMOTE_MODES or org.id in await online_approved(session, [org], at)
    refusal = room.admission(door(meeting, allowed), activity_of(member))
    if refusal is not None:
        await _refuse(session, refusal, user, meeting, org, at)
    assert member is not None
    return Attendee(meeting, org, member)


async def _summoned_member(session: AsyncSession, user: User, summoned: set[int]) -> Member | None:
    return (
        await session.execute(
            select(Member).where(col(Member.user_id) == user.id, col(Member.id).in_(summoned))
        )
    ).scalar_one_or_none()


async def _absent_meeting(session: AsyncSession, user: User, at: datetime) -> ApiError:
    """The 404 for a meeting that does not exist, after the queries `admit` makes before it refuses
    another unit's meeting as hidden (its unit, its members, the caller among them, the unit's online
    approval, the caller's access): quality.md S1, a denial's time must not tell that it exists. A
    stand-in cell that is never saved takes the unit's place (its approving unit is looked up where the
    unit itself is read; tests/integration/test_authz_matrix.py counts the reads of both)."""
    stand_in = Org(id=NO_UNIT, kind=OrgKind.CELL, name="", timezone="UTC", created_at=at)
    await _summoned_member(session, user, await unit_member_ids(session, stand_in))
    await online_approved(session, [stand_in], at)
    return await absent(session, Actor(user=user, via="room"))


async def _refuse(
    session: AsyncSession, refusal: room.Refusal, user: User, meeting: Meeting, org: Org, at: datetime
) -> None:
    """Raise the refusal the caller is told, with its explanation."""
    if refusal is room.Refusal.NOT_SUMMONED:
        caller = Actor(user=user, via="room")
        access = await access_on(session, caller, meeting.org_id)
        if access is None or not can_see(access, caller):
            raise hidden(meeting.org_id)
        raise not_a_member()
    if refusal is room.Refusal.SUSPENDED:
        raise ApiError(
            403,
            refusal.value,
            Text(
                "Đảng viên đang bị đình chỉ sinh hoạt đảng không dự buổi sinh hoạt.",
                "A member suspended from party activity does not attend the meeting.",
            ),
            rule=refusal.rule,
        )
    require_not_cancelled(meeting)  # 409 meeting_cancelled: it never opens
    if refusal is room.Refusal.CLOSED:
        raise conflict(
            refusal.value,
            Text("Buổi sinh hoạt đã kết thúc.", "The meeting has closed."),
            status=meeting.status,
        )
    if refusal is room.Refusal.IN_PERSON:
        raise conflict(
            refusal.value,
            Text(
                "Buổi sinh hoạt này họp trực tiếp, không có phòng họp trực tuyến.",
                "This meeting is held in person; it has no online room.",
            ),
            mode=meeting.mode,
        )
    # R-ELIG-6, explained with the approving unit; an approval that became valid since lets them in.
    await check_online_allowed(session, org, MeetingMode(meeting.mode), at)


async def online_leave(
    session: AsyncSession, meeting_id: int, member_id: int, *, user_id: int | None, at: datetime, why: str
) -> bool:
    """Write the member's leave if they are online (closing has already ended it); True when written."""
    entry = PresenceWrite(meeting_id, None, member_id, att.EventKind.LEAVE, user_id, at, why, if_online=True)
    return (await write_presence(session, [entry]))[0]


async def online_members(session: AsyncSession) -> list[tuple[int, int]]:
    """(meeting_id, member_id) of every member whose last online event at a live meeting is a join."""
    latest = (
        select(
            col(PresenceEvent.meeting_id),
            col(PresenceEvent.member_id),
            func.max(col(PresenceEvent.id)).label("last_id"),
        )
        .join(Meeting, col(Meeting.id) == col(PresenceEvent.meeting_id))
        .where(
            col(Meeting.status).in_(LIVE_STATUSES),
            col(PresenceEvent.kind).in_([att.EventKind.JOIN.value, att.EventKind.LEAVE.value]),
        )
        .group_by(col(PresenceEvent.meeting_id), col(PresenceEvent.member_id))
        .subquery()
    )
    rows = await session.execute(
        select(latest.c.meeting_id, latest.c.member_id)
        .join(
            PresenceEvent,
            col(PresenceEvent.id) == latest.c.last_id,
        )
        .where(col(PresenceEvent.kind) == att.EventKind.JOIN.value)
    )
    return [(int(m), int(p)) for m, p in rows.all()]


@dataclass(frozen=True)
class RoomState:
    """What the room shows about attendance: the presence panel and the quorum decision."""

    presence: dict[str, Any]
    quorum: Decision


def presence_json(state: Situation, meeting: Meeting, at: datetime) -> dict[str, Any]:
    result = attendance_of(state, meeting, at)
    live = room.current_states(state.events)
    return {
        "counts": {
            **att.attendance_counts(result),
            "summoned": len(state.members),
            "relayed": sum(1 for member in result.values() if member.relayed),
        },
        "participants": [
            {
                "member_id": m.id,
                "full_name": m.full_name,
                "standing": m.standing,
                "online": live.get(m.id, room.NOWHERE).online,  # type: ignore[arg-type]
                "on_site": live.get(m.id, room.NOWHERE).on_site,  # type: ignore[arg-type]
                "status": result[m.id].status.value,  # type: ignore[index]
                "relayed": result[m.id].relayed,  # type: ignore[index]
            }
            for m in state.members
        ],
    }


@dataclass
class Snapshot:
    """The live room's view of its meeting: the register, excuses, presence events, the approval and
    the agenda, loaded at once and kept by the room so that a join costs one small write.

    The room appends the presence events it writes (hub.Room.record); it reloads the view when REST
    changed presence or the meeting's state, and whenever the view is older than its maximum age
    (hub.py, outside the room's lock), so other changes (a member's standing, an excuse, a revoked
    approval) reach the room within that age.
    """

    meeting: Meeting
    org: Org
    situation: Situation
    online_allowed: bool
    agenda: list[dict[str, Any]]

    @property
    def rule_set(self) -> RuleSet:
        return self.situation.rule_set

    def attendee(self, user_id: int) -> Attendee | None:
        """The user's member record when the view admits them at once; None: ask the database (admit),
        which explains a refusal, or admits a member added since the view was read."""
        member = next((m for m in self.situation.members if m.user_id == user_id), None)
        if member is None or room.admission(door(self.meeting, self.online_allowed), activity_of(member)):
            return None
        return Attendee(self.meeting, self.org, member)

    def online(self, member_id: int) -> bool:
        return room.place_of(self.situation.events, member_id).online

    def state(self, at: datetime) -> RoomState:
        return RoomState(
            presence_json(self.situation, self.meeting, at), room.quorum_decision(self.situation, at)
        )


async def load_snapshot(session: AsyncSession, meeting_id: int, at: datetime) -> Snapshot | None:
    return (await load_snapshots(session, [meeting_id], at)).get(meeting_id)


async def load_snapshots(
    session: AsyncSession, meeting_ids: Sequence[int], at: datetime
) -> dict[int, Snapshot]:
    """The views of several meetings in a fixed number of queries (about ten, however many rooms):
    at 19:00 the first joins of a province's rooms ask for their views at once (issue 22). A meeting
    that does not exist has none."""
    meetings = list(
        (await session.execute(select(Meeting).where(col(Meeting.id).in_(meeting_ids)))).scalars().all()
    )
    if not meetings:
        return {}
    orgs = {
        org.id: org
        for org in (await session.execute(select(Org).where(col(Org.id).in_({m.org_id for m in meetings}))))
        .scalars()
        .all()
    }
    meetings = [m for m in meetings if m.org_id in orgs]
    remote = [orgs[m.org_id] for m in meetings if MeetingMode(m.mode) in REMOTE_MODES]
    approved = await online_approved(session, remote, at) if remote else set()
    agendas = await agendas_of(session, [m.id for m in meetings if m.id is not None])
    states = await situations(session, [(m, orgs[m.org_id]) for m in meetings])
    return {
        m.id: Snapshot(
            meeting=m,
            org=orgs[m.org_id],
            situation=states[m.id],
            online_allowed=MeetingMode(m.mode) not in REMOTE_MODES or m.org_id in approved,
            agenda=[{"title": i.title, "item_type": i.item_type} for i in agendas[m.id]],
        )
        for m in meetings
        if m.id is not None
    }
