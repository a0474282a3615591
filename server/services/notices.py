"""Notices to members' accounts about a meeting: the invitation the secretary sends, a cancellation, a
new time (issue 18). They are shown on the member's home page (GET /api/v1/notices); the invitation
is also e-mailed to accounts with an address when the operator configured SMTP (server.mail.invitations).

Decisions this module makes (documented in docs/api.md "Meetings"):

- The members told are the meeting's summoned members (`unit_member_ids`: a cell's register, a
  grassroots committee's subtree, a party group's members) who have a linked account, minus those
  suspended from party activity (R-BASE-1: off the active register, they do not attend). One notice
  per account and event, whatever the number of member records linked to it.
- A notice keeps what it told (`data`: the times, the reason) as it was told; the meeting it names is
  read afresh for the listing (its current title, start and status).
- Every notice is written in the transaction of the change it tells of, so a refused change tells
  nobody.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings.enums import Activity, MeetingStatus, NoticeKind
from server.clock import as_utc
from server.db.tables import Meeting, Member, Notice, Org
from server.services.unit_members import unit_member_ids

LIST_MAX = 50


async def summoned_accounts(session: AsyncSession, org: Org) -> list[int]:
    """The user ids of the summoned members with a linked account, suspended members left out."""
    ids = await unit_member_ids(session, org)
    if not ids:
        return []
    rows = await session.execute(
        select(col(Member.user_id)).where(
            col(Member.id).in_(ids),
            col(Member.user_id).is_not(None),
            col(Member.activity) != Activity.SUSPENDED.value,
        )
    )
    return sorted({user_id for (user_id,) in rows.all() if user_id is not None})


async def notify(
    session: AsyncSession, meeting: Meeting, org: Org, kind: NoticeKind, data: dict[str, Any], *, at: datetime
) -> list[int]:
    """A notice of `kind` to every summoned account; the user ids told."""
    assert meeting.id is not None
    users = await summoned_accounts(session, org)
    session.add_all(
        Notice(user_id=user_id, meeting_id=meeting.id, kind=kind.value, created_at=at, data=data)
        for user_id in users
    )
    await session.flush()
    return users


def ics_url(meeting: Meeting) -> str | None:
    """The calendar invitation, while the meeting is still to be held."""
    if meeting.status in (MeetingStatus.CANCELLED, MeetingStatus.CLOSED):
        return None
    return f"/api/v1/meetings/{meeting.id}/invite.ics"


def notice_json(notice: Notice, meeting: Meeting) -> dict[str, Any]:
    return {
        "id": notice.id,
        "kind": notice.kind,
        "meeting": {
            "id": meeting.id,
            "title": meeting.title,
            "starts_at": as_utc(meeting.starts_at),
            "status": meeting.status,
            "org_id": meeting.org_id,
        },
        "created_at": as_utc(notice.created_at),
        "data": notice.data,
        "ics_url": ics_url(meeting),
    }


async def notices_of(session: AsyncSession, user_id: int) -> list[dict[str, Any]]:
    """The account's notices, newest first, at most LIST_MAX."""
    rows = await session.execute(
        select(Notice, Meeting)
        .join(Meeting, col(Meeting.id) == col(Notice.meeting_id))
        .where(col(Notice.user_id) == user_id)
        .order_by(col(Notice.created_at).desc(), col(Notice.id).desc())
        .limit(LIST_MAX)
    )
    return [notice_json(notice, meeting) for notice, meeting in rows.all()]
