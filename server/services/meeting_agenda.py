"""A meeting's agenda: its items read (one meeting or several at once), checked against R-CONTENT-1,
written from a template's or the secretary's entries, and replaced while the meeting is scheduled.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings.content import check_agenda_content
from meetings.enums import ItemType, MeetingMode
from meetings.rulesets import RuleSet, get_rule_set
from server.audit.log import append
from server.db.tables import AgendaItem, Meeting, Org
from server.errors import refused
from server.services.agenda_templates import AgendaEntry
from server.services.meeting_checks import require_scheduled


def agenda_item_json(item: AgendaItem) -> dict[str, Any]:
    return {"position": item.position, "title": item.title, "item_type": item.item_type, "notes": item.notes}


def check_agenda(
    org: Org, mode: MeetingMode, item_types: Sequence[ItemType], rule_set: RuleSet | None = None
) -> None:
    """R-CONTENT-1 under `rule_set`: the set in force on the meeting's date (default: the unit's own)."""
    decision = check_agenda_content(mode, item_types, rule_set or get_rule_set(org.rule_set))
    if not decision.outcome:
        raise refused(
            "R-CONTENT-1",
            decision.explanation,
            details={**dict(decision.details), "counts": dict(decision.counts), "mode": mode.value},
        )


async def agenda_of(session: AsyncSession, meeting_id: int) -> list[AgendaItem]:
    return (await agendas_of(session, [meeting_id]))[meeting_id]


async def agendas_of(session: AsyncSession, meeting_ids: Sequence[int]) -> dict[int, list[AgendaItem]]:
    """The agendas of several meetings in one query, each in its order."""
    found: dict[int, list[AgendaItem]] = {meeting_id: [] for meeting_id in meeting_ids}
    query = (
        select(AgendaItem)
        .where(col(AgendaItem.meeting_id).in_(found))
        .order_by(col(AgendaItem.meeting_id), col(AgendaItem.position))
    )
    for item in (await session.execute(query)).scalars().all():
        found[item.meeting_id].append(item)
    return found


def agenda_rows(meeting: Meeting, entries: Sequence[AgendaEntry]) -> list[AgendaItem]:
    assert meeting.id is not None
    return [
        AgendaItem(
            meeting_id=meeting.id,
            position=position,
            title=entry.title,
            item_type=entry.item_type.value,
            notes=entry.notes,
        )
        for position, entry in enumerate(entries)
    ]


async def replace_agenda(
    session: AsyncSession,
    meeting: Meeting,
    org: Org,
    entries: Sequence[AgendaEntry],
    *,
    actor_user_id: int,
    at: datetime,
) -> list[AgendaItem]:
    require_scheduled(meeting)
    check_agenda(org, MeetingMode(meeting.mode), [entry.item_type for entry in entries])
    assert meeting.id is not None
    await session.execute(delete(AgendaItem).where(col(AgendaItem.meeting_id) == meeting.id))
    items = agenda_rows(meeting, entries)
    session.add_all(items)
    await session.flush()
    await append(
        session,
        at=at,
        actor_user_id=actor_user_id,
        org_id=meeting.org_id,
        action="agenda.replaced",
        target=f"meeting:{meeting.id}",
        data={"items": [{"title": i.title, "item_type": i.item_type} for i in items]},
    )
    return items
