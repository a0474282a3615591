"""The relays recorded for meetings (table meeting_relays), read as the domain's values (R-ATT-4)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings.relays import Channel, Relay
from server.clock import as_utc
from server.db.tables import MeetingRelay


def as_relay(row: MeetingRelay) -> Relay:
    return Relay(
        row.member_id, row.relayed_by, Channel(row.channel), as_utc(row.starts_at), as_utc(row.ends_at)
    )


async def relays_of(session: AsyncSession, meeting_ids: Iterable[int]) -> dict[int, tuple[Relay, ...]]:
    """Each meeting's relays in the order they were recorded (one query for them all)."""
    wanted = list(meeting_ids)
    found: dict[int, list[Relay]] = {}
    if not wanted:
        return {}
    rows = await session.execute(
        select(MeetingRelay).where(col(MeetingRelay.meeting_id).in_(wanted)).order_by(col(MeetingRelay.id))
    )
    for row in rows.scalars().all():
        found.setdefault(row.meeting_id, []).append(as_relay(row))
    return {meeting_id: tuple(relays) for meeting_id, relays in found.items()}
