"""Running an open meeting: the current agenda item, and who holds the floor on it.

Each item keeps when it was first taken up and when the chair last moved on; each speech keeps its
member, item and duration, so the minutes list the speakers of every item in order (R-MIN-4).
Moving to another item, or closing the meeting, ends the current speech.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings.decision import Text
from meetings.enums import MeetingStatus
from server.audit.log import append
from server.clock import as_utc, iso
from server.db.tables import AgendaItem, Meeting, Member, Speech
from server.errors import ApiError, conflict
from server.services.meeting_agenda import agenda_of
from server.services.orgs import get_org
from server.services.unit_members import unit_member_ids


def require_open(meeting: Meeting) -> None:
    if meeting.status != MeetingStatus.OPEN:
        raise conflict(
            "meeting_not_open",
            Text("Buổi sinh hoạt chưa khai mạc hoặc đã bế mạc.", "The meeting is not open."),
            status=meeting.status,
        )


async def end_speech(session: AsyncSession, meeting_id: int, at: datetime) -> None:
    await session.execute(
        update(Speech)
        .where(col(Speech.meeting_id) == meeting_id, col(Speech.ended_at).is_(None))
        .values(ended_at=at)
    )


def agenda_json(meeting: Meeting, items: list[AgendaItem]) -> dict[str, Any]:
    return {
        "meeting_id": meeting.id,
        "current": meeting.current_item,
        "items": [
            {
                "index": item.position,
                "title": item.title,
                "item_type": item.item_type,
                "started_at": iso(as_utc(item.started_at)) if item.started_at else None,
                "ended_at": iso(as_utc(item.ended_at)) if item.ended_at else None,
            }
            for item in items
        ],
    }


async def set_current_item(
    session: AsyncSession, meeting: Meeting, index: int, *, actor_user_id: int, at: datetime
) -> dict[str, Any]:
    require_open(meeting)
    assert meeting.id is not None
    items = await agenda_of(session, meeting.id)
    if not 0 <= index < len(items):
        raise ApiError(
            422,
            "validation_error",
            Text("Không có mục này trong chương trình.", "No such agenda item."),
            details={"fields": {"index": f"0..{len(items) - 1}"}},
        )
    if meeting.current_item != index:
        await end_speech(session, meeting.id, at)
        for item in items:
            if item.position == meeting.current_item:
                item.ended_at = at
            if item.position == index:
                item.started_at = item.started_at or at
                item.ended_at = None
            session.add(item)
        meeting.current_item = index
        session.add(meeting)
        await session.flush()
        await append(
            session,
            at=at,
            actor_user_id=actor_user_id,
            org_id=meeting.org_id,
            action="agenda.current",
            target=f"meeting:{meeting.id}",
            data={"index": index, "title": items[index].title},
        )
    return agenda_json(meeting, items)


async def give_floor(
    session: AsyncSession, meeting: Meeting, member_id: int | None, *, actor_user_id: int, at: datetime
) -> dict[str, Any]:
    """The floor to a summoned member (ending any current speech), or to nobody."""
    require_open(meeting)
    assert meeting.id is not None
    org = await get_org(session, meeting.org_id)
    if member_id is not None and member_id not in await unit_member_ids(session, org):
        raise ApiError(
            422,
            "validation_error",
            Text("Người này không phải đảng viên của đơn vị.", "Not a member of the unit."),
            details={"fields": {"member_id": "not a member of the unit"}},
        )
    await end_speech(session, meeting.id, at)
    floor: dict[str, Any] = {"member_id": None, "full_name": None, "since": None, "agenda_index": None}
    if member_id is not None:
        member = await session.get(Member, member_id)
        assert member is not None
        session.add(
            Speech(
                meeting_id=meeting.id,
                member_id=member_id,
                agenda_position=meeting.current_item,
                started_at=at,
            )
        )
        floor = {
            "member_id": member_id,
            "full_name": member.full_name,
            "since": iso(at),
            "agenda_index": meeting.current_item,
        }
    await session.flush()
    await append(
        session,
        at=at,
        actor_user_id=actor_user_id,
        org_id=meeting.org_id,
        action="floor.given",
        target=f"meeting:{meeting.id}",
        data={"member_id": member_id, "agenda_index": meeting.current_item},
    )
    return floor


async def speeches_of(session: AsyncSession, meeting_id: int) -> list[tuple[Speech, str]]:
    """Every speech with the speaker's name, in order."""
    rows = await session.execute(
        select(Speech, col(Member.full_name))
        .join(Member, col(Member.id) == col(Speech.member_id))
        .where(col(Speech.meeting_id) == meeting_id)
        .order_by(col(Speech.started_at), col(Speech.id))
    )
    return [(speech, name) for speech, name in rows.all()]


def speech_json(speech: Speech, name: str, at: datetime) -> dict[str, Any]:
    end = as_utc(speech.ended_at) if speech.ended_at else at
    return {
        "member_id": speech.member_id,
        "full_name": name,
        "agenda_index": speech.agenda_position,
        "started_at": iso(as_utc(speech.started_at)),
        "ended_at": iso(as_utc(speech.ended_at)) if speech.ended_at else None,
        "seconds": max(0, round((end - as_utc(speech.started_at)).total_seconds())),
    }
