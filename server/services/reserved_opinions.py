"""Reserved opinions (R-VOTE-4): a member who voted against or abstained keeps their opinion on record,
one per member and vote, until the minutes are adopted (R-MIN-5)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings.decision import Text
from meetings.enums import Choice
from server.audit.log import append
from server.db.tables import Ballot, Meeting, Minutes, ReservedOpinion, Vote
from server.errors import ApiError


async def record_opinion(
    session: AsyncSession,
    vote: Vote,
    meeting: Meeting,
    *,
    member_id: int,
    opinion: str,
    actor_user_id: int,
    at: datetime,
) -> ReservedOpinion:
    """R-VOTE-4: a member who did not vote for keeps their opinion on record; one per member, until the
    minutes are adopted (R-MIN-5: the adopted record changes only by an addendum)."""
    minutes = await session.get(Minutes, meeting.id)
    if minutes is not None and minutes.adopted_vote_id is not None:
        raise ApiError(
            409,
            "minutes_locked",
            Text(
                "Biên bản đã được thông qua; ý kiến bảo lưu không thêm được nữa (R-MIN-5).",
                "The minutes were adopted; a reserved opinion can no longer be added (R-MIN-5).",
            ),
            rule="R-MIN-5",
        )
    choice = (
        await session.execute(
            select(col(Ballot.choice)).where(
                col(Ballot.vote_id) == vote.id, col(Ballot.member_id) == member_id
            )
        )
    ).scalar_one_or_none()
    if choice is None or choice == Choice.FOR.value:
        raise ApiError(
            409,
            "not_in_minority",
            Text(
                "Chỉ đảng viên không tán thành hoặc không biểu quyết mới bảo lưu ý kiến (R-VOTE-4).",
                "Only a member who voted against or abstained reserves an opinion (R-VOTE-4).",
            ),
            rule="R-VOTE-4",
        )
    existing = (
        await session.execute(
            select(ReservedOpinion).where(
                col(ReservedOpinion.vote_id) == vote.id, col(ReservedOpinion.member_id) == member_id
            )
        )
    ).scalar_one_or_none()
    row = existing or ReservedOpinion(
        vote_id=vote.id,  # type: ignore[arg-type]
        member_id=member_id,
        opinion=opinion,
        recorded_at=at,
        recorded_by=actor_user_id,
    )
    row.opinion, row.recorded_at, row.recorded_by = opinion, at, actor_user_id
    session.add(row)
    await session.flush()
    await append(
        session,
        at=at,
        actor_user_id=actor_user_id,
        org_id=meeting.org_id,
        action="vote.opinion_reserved",
        target=f"vote:{vote.id}",
        data={"member_id": member_id},
    )
    return row
