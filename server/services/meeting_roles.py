"""Who the caller is in one meeting: a unit leader, its chair, its minute-taker, a member, or none.

The permission table (meetings.policy) answers for units; a meeting adds two people named by member
id (R-MIN-2: the chair, who leads the agenda and votes, and the minute-taker). A unit's secretary or
deputy may always act as the chair: they run the unit's meetings when no chair was named.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings.policy import Action
from server.auth.authz import authorize, by_auditor_grant_only, permits
from server.auth.identity import Actor
from server.db.tables import Meeting, Member
from server.errors import forbidden


@dataclass(frozen=True)
class MeetingRoles:
    member_id: int | None  # the caller's member record in the meeting's unit
    leader: bool  # secretary or deputy secretary of the unit (meeting.write)
    is_chair_member: bool
    is_minute_taker_member: bool
    # Reaches the unit through an auditor grant alone (not a member of it): reads the record, takes no
    # part, and reads the minutes only once the meeting adopted them (issue 5: drafts are work in progress).
    auditor_only: bool = False

    @property
    def chairs(self) -> bool:
        return self.leader or self.is_chair_member

    @property
    def writes_minutes(self) -> bool:
        return self.chairs or self.is_minute_taker_member

    def require_chair(self) -> None:
        if not self.chairs:
            raise forbidden()

    def require_minutes_writer(self) -> None:
        if not self.writes_minutes:
            raise forbidden()


async def meeting_roles(session: AsyncSession, caller: Actor, meeting: Meeting) -> MeetingRoles:
    """404 when the caller may not see the meeting's unit (authorize)."""
    access = await authorize(session, caller, Action.MEETING_READ, meeting.org_id)
    member_id: int | None = None
    if access.is_member:
        member_id = (
            await session.execute(select(col(Member.id)).where(col(Member.user_id) == caller.user_id))
        ).scalar_one_or_none()
    return MeetingRoles(
        member_id=member_id,
        leader=permits(access, caller, Action.MEETING_WRITE),
        is_chair_member=member_id is not None and member_id == meeting.chair_id,
        is_minute_taker_member=member_id is not None and member_id == meeting.minute_taker_id,
        auditor_only=by_auditor_grant_only(access) and not access.is_member,
    )
