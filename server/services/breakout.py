"""Breakout of an open meeting into groups: start, broadcast, move, notes, return (meetings.breakout).

The chair (server.services.meeting_roles) runs it; each group's members (and the chair and the
minute-taker) write the group's notes, which go into the minutes under the agenda item that was
current when the split began. Everything is in the database, so a restart or a reconnect finds the
split as it was; the room (server.realtime) only enforces it on the live connections.
Attendance is not touched: during a split every member is still in the meeting.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings import breakout as bo
from meetings.decision import Text
from meetings.enums import OrgKind
from server.audit.log import append
from server.clock import as_utc, iso
from server.db.columns import key
from server.db.tables import Breakout, BreakoutGroup, Meeting, Member, Org
from server.errors import ApiError, conflict
from server.services.running import require_open
from server.services.unit_members import unit_member_ids

PARTY_GROUPS = "party_groups"
AD_HOC = "ad_hoc"
MESSAGES_MAX = 50
NOTES_MAX = 20000


def _invalid(error: bo.BreakoutError) -> ApiError:
    return ApiError(422, error.code, error.message, details={"fields": {error.field: error.code}})


def no_breakout() -> ApiError:
    return conflict(
        "no_breakout", Text("Buổi sinh hoạt không đang chia nhóm.", "The meeting is not split into groups.")
    )


async def current(session: AsyncSession, meeting_id: int) -> tuple[Breakout, list[BreakoutGroup]] | None:
    """The split that lasts now, with its groups in order, or None."""
    found = (
        await session.execute(
            select(Breakout).where(col(Breakout.meeting_id) == meeting_id, col(Breakout.ended_at).is_(None))
        )
    ).scalar_one_or_none()
    if found is None:
        return None
    return found, await _groups(session, found)


async def _groups(session: AsyncSession, breakout: Breakout) -> list[BreakoutGroup]:
    query = (
        select(BreakoutGroup)
        .where(col(BreakoutGroup.breakout_id) == breakout.id)
        .order_by(col(BreakoutGroup.position))
    )
    return list((await session.execute(query)).scalars().all())


def group_of(groups: Sequence[BreakoutGroup]) -> dict[int, int]:
    """member id -> position of their group."""
    return {member: group.position for group in groups for member in group.member_ids}


def breakout_json(breakout: Breakout, groups: Sequence[BreakoutGroup], at: datetime) -> dict[str, Any]:
    ends_at = as_utc(breakout.ends_at)
    return {
        "id": breakout.id,
        "active": breakout.ended_at is None,
        "source": breakout.source,
        "agenda_index": breakout.agenda_position,
        "started_at": iso(as_utc(breakout.started_at)),
        "ends_at": iso(ends_at),
        "ended_at": iso(as_utc(breakout.ended_at)) if breakout.ended_at else None,
        "remaining_seconds": max(0, int((ends_at - at).total_seconds())) if breakout.ended_at is None else 0,
        "messages": list(breakout.messages or []),
        "groups": [
            {
                "index": group.position,
                "name": group.name,
                "party_group_id": group.party_group_id,
                "member_ids": list(group.member_ids),
                "notes": group.notes,
                "notes_version": group.notes_version,
            }
            for group in groups
        ],
    }


async def _plan(
    session: AsyncSession,
    meeting: Meeting,
    org: Org,
    source: str,
    requested: Sequence[tuple[str, Sequence[int]]] | None,
    lang: str,
) -> bo.Plan:
    summoned = await unit_member_ids(session, org)
    try:
        if source == AD_HOC:
            return bo.ad_hoc(requested or [], summoned, lang=lang)
        if org.kind != OrgKind.CELL:
            raise bo.BreakoutError(
                "no_party_groups",
                Text(
                    "Chỉ chi bộ mới chia theo tổ đảng; hãy chia nhóm theo danh sách.",
                    "Only a cell splits into party groups; name the groups instead.",
                ),
                "source",
            )
        party_groups = (
            await session.execute(
                select(key(Org.id), col(Org.name))
                .where(
                    col(Org.parent_id) == org.id,
                    col(Org.kind) == OrgKind.GROUP,
                    col(Org.dissolved_at).is_(None),
                )
                .order_by(col(Org.id))
            )
        ).all()
        assignment = dict(
            (
                await session.execute(
                    select(key(Member.id), col(Member.group_id)).where(col(Member.id).in_(summoned))
                )
            ).all()
        )
        return bo.by_party_groups(assignment, [(g, n) for g, n in party_groups], lang=lang)
    except bo.BreakoutError as error:
        raise _invalid(error) from None


async def start(
    session: AsyncSession,
    meeting: Meeting,
    org: Org,
    *,
    source: str,
    requested: Sequence[tuple[str, Sequence[int]]] | None,
    minutes: int,
    actor_user_id: int,
    at: datetime,
    lang: str,
) -> tuple[Breakout, list[BreakoutGroup]]:
    """Split the open meeting (the meeting row locked by the caller); one split at a time."""
    require_open(meeting)
    if await current(session, meeting.id) is not None:  # type: ignore[arg-type]
        raise conflict(
            "breakout_active",
            Text("Buổi sinh hoạt đang chia nhóm.", "The meeting is already split into groups."),
        )
    if meeting.current_item is None:
        # The groups' notes belong to an agenda item in the minutes (R-MIN-4): it must be known.
        raise conflict(
            "no_current_item",
            Text(
                "Hãy chọn mục chương trình đang thảo luận trước khi chia nhóm.",
                "Take up the agenda item under discussion before splitting into groups.",
            ),
        )
    plan = await _plan(session, meeting, org, source, requested, lang)
    breakout = Breakout(
        meeting_id=meeting.id,  # type: ignore[arg-type]
        agenda_position=meeting.current_item,
        source=source,
        started_at=at,
        ends_at=at + timedelta(minutes=minutes),
        started_by=actor_user_id,
        messages=[],
    )
    session.add(breakout)
    await session.flush()
    groups = [
        BreakoutGroup(
            breakout_id=breakout.id,  # type: ignore[arg-type]
            position=position,
            name=planned.name,
            party_group_id=planned.party_group_id,
            member_ids=list(planned.member_ids),
        )
        for position, planned in enumerate(plan.groups)
    ]
    session.add_all(groups)
    await session.flush()
    await append(
        session,
        at=at,
        actor_user_id=actor_user_id,
        org_id=meeting.org_id,
        action="breakout.started",
        target=f"meeting:{meeting.id}",
        data={
            "breakout_id": breakout.id,
            "source": source,
            "minutes": minutes,
            "agenda_index": meeting.current_item,
            "groups": [{"name": g.name, "member_ids": list(g.member_ids)} for g in groups],
        },
    )
    return breakout, groups


async def _active(session: AsyncSession, meeting: Meeting) -> tuple[Breakout, list[BreakoutGroup]]:
    found = await current(session, meeting.id)  # type: ignore[arg-type]
    if found is None:
        raise no_breakout()
    return found


async def end(
    session: AsyncSession, meeting: Meeting, *, actor_user_id: int | None, at: datetime, why: str
) -> tuple[Breakout, list[BreakoutGroup]] | None:
    """Everyone back in one room (the chair, or the meeting's close); None when not split."""
    found = await current(session, meeting.id)  # type: ignore[arg-type]
    if found is None:
        return None
    breakout, groups = found
    breakout.ended_at = at
    session.add(breakout)
    await session.flush()
    await append(
        session,
        at=at,
        actor_user_id=actor_user_id,
        org_id=meeting.org_id,
        action="breakout.ended",
        target=f"meeting:{meeting.id}",
        data={"breakout_id": breakout.id, "why": why, "notes_versions": [g.notes_version for g in groups]},
    )
    return breakout, groups


async def broadcast(
    session: AsyncSession, meeting: Meeting, text: str, *, actor_user_id: int, at: datetime
) -> tuple[Breakout, list[BreakoutGroup], dict[str, Any]]:
    """A message from the chair to every group; kept with the split (the last MESSAGES_MAX)."""
    breakout, groups = await _active(session, meeting)
    message = {"text": text, "at": iso(at)}
    breakout.messages = [*(breakout.messages or []), message][-MESSAGES_MAX:]
    session.add(breakout)
    await session.flush()
    await append(
        session,
        at=at,
        actor_user_id=actor_user_id,
        org_id=meeting.org_id,
        action="breakout.broadcast",
        target=f"meeting:{meeting.id}",
        data={"breakout_id": breakout.id, "text": text},
    )
    return breakout, groups, message


async def move(
    session: AsyncSession,
    meeting: Meeting,
    member_id: int,
    to_index: int,
    *,
    actor_user_id: int,
    at: datetime,
) -> tuple[Breakout, list[BreakoutGroup]]:
    """The chair moves a member (themself included, to visit a group) into another group."""
    breakout, groups = await _active(session, meeting)
    plan = bo.Plan(tuple(bo.PlannedGroup(g.name, tuple(g.member_ids), g.party_group_id) for g in groups))
    try:
        moved = bo.move(plan, member_id, to_index)
    except bo.BreakoutError as error:
        raise _invalid(error) from None
    for group, planned in zip(groups, moved.groups, strict=True):
        if list(planned.member_ids) != list(group.member_ids):
            group.member_ids = list(planned.member_ids)
            session.add(group)
    await session.flush()
    await append(
        session,
        at=at,
        actor_user_id=actor_user_id,
        org_id=meeting.org_id,
        action="breakout.moved",
        target=f"meeting:{meeting.id}",
        data={"breakout_id": breakout.id, "member_id": member_id, "group_index": to_index},
    )
    return breakout, groups


async def save_notes(
    session: AsyncSession,
    meeting: Meeting,
    index: int,
    text: str,
    version: int,
    *,
    member_id: int | None,
    writes_minutes: bool,
    actor_user_id: int,
    at: datetime,
) -> BreakoutGroup:
    """A group's notes, written by its members (or the chair and the minute-taker). The edit names the
    version it was made on: an edit on an older version is refused with the current text, so a
    writer never overwrites what another member saved meanwhile without seeing it."""
    _, groups = await _active(session, meeting)
    group = next((g for g in groups if g.position == index), None)
    if group is None:
        raise ApiError(404, "not_found", Text("Không có nhóm này.", "No such group."))
    if not writes_minutes and (member_id is None or member_id not in group.member_ids):
        raise ApiError(
            403,
            "not_in_group",
            Text("Chỉ thành viên của nhóm ghi chép của nhóm.", "Only the group's members write its notes."),
        )
    if version != group.notes_version:
        raise ApiError(
            409,
            "notes_conflict",
            Text(
                "Ghi chép của nhóm vừa được người khác sửa; hãy xem bản mới rồi sửa lại.",
                "Someone else has just changed the group's notes; see the new text and edit again.",
            ),
            details={"version": group.notes_version, "notes": group.notes},
        )
    if text != group.notes:
        group.notes = text
        group.notes_version += 1
        group.notes_updated_at = at
        session.add(group)
        await session.flush()
        await append(
            session,
            at=at,
            actor_user_id=actor_user_id,
            org_id=meeting.org_id,
            action="breakout.notes",
            target=f"meeting:{meeting.id}",
            data={"breakout_group_id": group.id, "version": group.notes_version, "length": len(text)},
        )
    return group


async def notes_for_minutes(session: AsyncSession, meeting_id: int) -> dict[int | None, list[dict[str, Any]]]:
    """Every split's groups with their members and notes, by the agenda item they belong to."""
    breakouts = (
        (
            await session.execute(
                select(Breakout).where(col(Breakout.meeting_id) == meeting_id).order_by(col(Breakout.id))
            )
        )
        .scalars()
        .all()
    )
    found: dict[int | None, list[dict[str, Any]]] = {}
    if not breakouts:
        return found
    names: dict[int, str] = {}
    for breakout in breakouts:
        for group in await _groups(session, breakout):
            missing = [m for m in group.member_ids if m not in names]
            if missing:
                rows = await session.execute(
                    select(key(Member.id), col(Member.full_name)).where(col(Member.id).in_(missing))
                )
                names.update(dict(rows.all()))
            found.setdefault(breakout.agenda_position, []).append(
                {
                    "group": group.name,
                    "members": [names.get(m, "") for m in group.member_ids],
                    "notes": group.notes,
                }
            )
    return found
