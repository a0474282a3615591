"""A scheduled meeting cancelled or moved, and the invitation sent to its members (issue 18).

Decisions this module makes (documented in docs/api.md "Meetings"):

- Only a scheduled meeting is cancelled or rescheduled (409 `meeting_not_scheduled` once it opened or
  closed, `meeting_cancelled` once cancelled). The caller locks the meeting row first, so a cancel
  and an opening never both succeed.
- Cancelling sets the status `cancelled` with `cancelled_at` and `cancel_reason`; the meeting stays
  listed (the auditor sees it as cancelled) and never opens. Audited `meeting.cancelled` with the
  reason and the start it had.
- Rescheduling moves the start (and, if given, the duration): the new start is refused in the past
  like a new meeting (422 `starts_in_past`); a group meeting's move re-checks R-GROUP-2/3. Audited
  `meeting.rescheduled` with the reason and the old and new start, end and duration. The answer
  carries the same R-ELIG-6 warnings as scheduling.
- The invitation may be sent while the meeting is scheduled or open (a closed meeting 409
  `meeting_closed`, a cancelled one `meeting_cancelled`); sending it again sends it again (`again:
  true` in the answer and the audit row `meeting.invited`).
- Each of the three writes a notice to every summoned member with an account (server.services.notices).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings.decision import Text
from meetings.enums import MeetingKind, MeetingStatus, NoticeKind
from server.audit.log import append
from server.clock import as_utc, iso
from server.db.tables import AuditEvent, Meeting, Org
from server.errors import conflict
from server.services.group_meetings import check_group_meeting
from server.services.meeting_checks import check_not_past, require_not_cancelled, require_scheduled
from server.services.notices import notify


def _times(meeting: Meeting) -> dict[str, Any]:
    starts_at = as_utc(meeting.starts_at)
    return {
        "starts_at": iso(starts_at),
        "ends_at": iso(starts_at + timedelta(minutes=meeting.duration_minutes)),
        "duration_minutes": meeting.duration_minutes,
    }


async def cancel(
    session: AsyncSession, meeting: Meeting, org: Org, reason: str, *, actor_user_id: int, at: datetime
) -> list[int]:
    """Cancel the scheduled meeting; the user ids told."""
    require_scheduled(meeting)
    meeting.status = MeetingStatus.CANCELLED.value
    meeting.cancelled_at = at
    meeting.cancel_reason = reason
    session.add(meeting)
    await session.flush()
    data = {"reason": reason, **_times(meeting)}
    told = await notify(session, meeting, org, NoticeKind.CANCELLED, data, at=at)
    await append(
        session,
        at=at,
        actor_user_id=actor_user_id,
        org_id=meeting.org_id,
        action="meeting.cancelled",
        target=f"meeting:{meeting.id}",
        data={**data, "notified": len(told)},
    )
    return told


async def reschedule(
    session: AsyncSession,
    meeting: Meeting,
    org: Org,
    starts_at: datetime,
    duration_minutes: int | None,
    reason: str,
    *,
    actor_user_id: int,
    at: datetime,
) -> list[int]:
    """Move the scheduled meeting; the user ids told."""
    require_scheduled(meeting)
    check_not_past(starts_at, at)
    new_start = as_utc(starts_at)
    if meeting.kind == MeetingKind.GROUP and new_start != as_utc(meeting.starts_at):
        await check_group_meeting(session, org, new_start, exclude_meeting_id=meeting.id)
    old = _times(meeting)
    meeting.starts_at = new_start
    if duration_minutes is not None:
        meeting.duration_minutes = duration_minutes
    session.add(meeting)
    await session.flush()
    new = _times(meeting)
    data = {
        "reason": reason,
        "old_starts_at": old["starts_at"],
        "old_ends_at": old["ends_at"],
        "old_duration_minutes": old["duration_minutes"],
        **new,
    }
    told = await notify(session, meeting, org, NoticeKind.RESCHEDULED, data, at=at)
    await append(
        session,
        at=at,
        actor_user_id=actor_user_id,
        org_id=meeting.org_id,
        action="meeting.rescheduled",
        target=f"meeting:{meeting.id}",
        data={**data, "notified": len(told)},
    )
    return told


async def times_rescheduled(session: AsyncSession, meeting: Meeting) -> int:
    """How many times the meeting was moved: its calendar invitation's SEQUENCE."""
    moved = await session.execute(
        select(func.count()).where(
            col(AuditEvent.org_id) == meeting.org_id,
            col(AuditEvent.action) == "meeting.rescheduled",
            col(AuditEvent.target) == f"meeting:{meeting.id}",
        )
    )
    return int(moved.scalar_one())


async def send_invitations(
    session: AsyncSession, meeting: Meeting, org: Org, *, actor_user_id: int, at: datetime
) -> tuple[list[int], int]:
    """The invitation to every summoned account: the user ids told and how many times it was sent before."""
    require_not_cancelled(meeting)
    if meeting.status == MeetingStatus.CLOSED:
        raise conflict(
            "meeting_closed",
            Text("Buổi sinh hoạt đã kết thúc.", "The meeting has closed."),
            status=meeting.status,
        )
    # Sent before: the audit rows of earlier sendings (a sending to nobody leaves no notice).
    before = (
        await session.execute(
            select(func.count()).where(
                col(AuditEvent.org_id) == meeting.org_id,
                col(AuditEvent.action) == "meeting.invited",
                col(AuditEvent.target) == f"meeting:{meeting.id}",
            )
        )
    ).scalar_one()
    data: dict[str, Any] = {
        **_times(meeting),
        "title": meeting.title,
        "mode": meeting.mode,
        "place": meeting.place,
        "org_name": org.name,
        "ics_url": f"/api/v1/meetings/{meeting.id}/invite.ics",
        "room_url": f"/meetings/{meeting.id}/room",
    }
    told = await notify(session, meeting, org, NoticeKind.INVITATION, data, at=at)
    await append(
        session,
        at=at,
        actor_user_id=actor_user_id,
        org_id=meeting.org_id,
        action="meeting.invited",
        target=f"meeting:{meeting.id}",
        data={"sent": len(told), "again": int(before) > 0, "user_ids": told, **_times(meeting)},
    )
    return told, int(before)
