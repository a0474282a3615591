"""Excuses: a member's reason for being absent from a meeting, taken while the meeting is scheduled.

- One per member and meeting. A repeated excuse for the same member replaces the reason (200,
  audited as `excuse.submitted` with `"updated": true`); the first one is 201. Excuses are taken
  only while the meeting is scheduled, because the opening states who is absent with a reason
  (R-ATT-1).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from server.audit.log import append
from server.clock import as_utc
from server.db.tables import Excuse, Meeting
from server.services.meeting_checks import require_scheduled


def excuse_json(excuse: Excuse) -> dict[str, Any]:
    return {
        "id": excuse.id,
        "meeting_id": excuse.meeting_id,
        "member_id": excuse.member_id,
        "reason": excuse.reason,
        "submitted_by": excuse.submitted_by,
        "created_at": as_utc(excuse.created_at),
    }


async def submit_excuse(
    session: AsyncSession,
    meeting: Meeting,
    member_id: int,
    reason: str,
    *,
    actor_user_id: int,
    at: datetime,
) -> tuple[Excuse, bool]:
    """Record or replace the member's excuse; True when it is new."""
    require_scheduled(meeting)
    existing = (
        await session.execute(
            select(Excuse).where(col(Excuse.meeting_id) == meeting.id, col(Excuse.member_id) == member_id)
        )
    ).scalar_one_or_none()
    created = existing is None
    if existing is None:
        excuse = Excuse(
            meeting_id=meeting.id,  # type: ignore[arg-type]
            member_id=member_id,
            reason=reason,
            submitted_by=actor_user_id,
            created_at=at,
        )
    else:
        excuse = existing
        excuse.reason = reason
        excuse.submitted_by = actor_user_id
    session.add(excuse)
    await session.flush()
    await append(
        session,
        at=at,
        actor_user_id=actor_user_id,
        org_id=meeting.org_id,
        action="excuse.submitted",
        target=f"meeting:{meeting.id}",
        data={"member_id": member_id, "reason": reason, "updated": not created},
    )
    return excuse, created
