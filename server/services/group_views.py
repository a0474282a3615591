"""What a cell's party groups look like to a reader: each active group with its leader, deputy and
members, and the members in no group (GET /api/v1/orgs/{id}/groups)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings.enums import GroupRole
from server.clock import as_utc
from server.db.tables import Member, Org
from server.services.group_officers import officers_of
from server.services.groups import active_groups, check_cell


async def _cell_members(session: AsyncSession, cell_id: int) -> list[Member]:
    query = select(Member).where(col(Member.org_id) == cell_id).order_by(col(Member.id))
    return list((await session.execute(query)).scalars().all())


def _group_json(
    group: Org, members: Sequence[Member], officers: Mapping[GroupRole, int], names: Mapping[int, str]
) -> dict[str, Any]:
    def officer(role: GroupRole) -> dict[str, Any] | None:
        member_id = officers.get(role)
        return None if member_id is None else {"member_id": member_id, "full_name": names.get(member_id, "")}

    ids = [m.id for m in members if m.group_id == group.id]
    return {
        "id": group.id,
        "org_id": group.parent_id,
        "name": group.name,
        "leader": officer(GroupRole.LEADER),
        "deputy": officer(GroupRole.DEPUTY),
        "member_ids": ids,
        "member_count": len(ids),
    }


async def group_view(session: AsyncSession, group: Org) -> dict[str, Any]:
    assert group.id is not None and group.parent_id is not None
    members = await _cell_members(session, group.parent_id)
    names = {m.id: m.full_name for m in members if m.id is not None}
    officers = (await officers_of(session, [group.id])).get(group.id, {})
    return _group_json(group, members, officers, names)


async def groups_of(session: AsyncSession, cell: Org) -> dict[str, Any]:
    """The cell's active groups with their officers and members, and the members in no group."""
    check_cell(cell)
    assert cell.id is not None
    groups = await active_groups(session, cell.id)
    members = await _cell_members(session, cell.id)
    names = {m.id: m.full_name for m in members if m.id is not None}
    officers = await officers_of(session, [g.id for g in groups if g.id is not None])
    active = {g.id for g in groups}
    return {
        "org_id": cell.id,
        "groups": [_group_json(g, members, officers.get(g.id or 0, {}), names) for g in groups],
        "unassigned_member_ids": [m.id for m in members if m.group_id not in active],
    }


def dissolved_json(group: Org) -> dict[str, Any]:
    assert group.dissolved_at is not None
    return {
        "id": group.id,
        "org_id": group.parent_id,
        "name": group.name,
        "dissolved_at": as_utc(group.dissolved_at),
    }
