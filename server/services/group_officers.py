"""The officers of a party group: its leader (tổ trưởng) and deputy (tổ phó), R-GROUP-1.

An officer is a member assigned to the group; one per role and group (a unique constraint). Whoever leaves
a group, by whatever route (the member's own change, the group's membership, a move to another group),
leaves its office too: `release_offices` removes it and appends one `group.officers_removed` audit row.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings.decision import Text
from meetings.enums import GroupRole
from server.audit.log import append
from server.db.tables import GroupOfficer
from server.errors import ApiError

OFFICER_FIELDS: Mapping[GroupRole, str] = {GroupRole.LEADER: "leader_id", GroupRole.DEPUTY: "deputy_id"}


def _invalid(code: str, field: str, vi: str, en: str) -> ApiError:
    return ApiError(422, code, Text(vi, en), details={"fields": {field: en}})


async def officers_of(session: AsyncSession, group_ids: Sequence[int]) -> dict[int, dict[GroupRole, int]]:
    rows = (
        await session.execute(
            select(col(GroupOfficer.group_id), col(GroupOfficer.role), col(GroupOfficer.member_id)).where(
                col(GroupOfficer.group_id).in_(list(group_ids))
            )
        )
    ).all()
    found: dict[int, dict[GroupRole, int]] = {}
    for group_id, role, member_id in rows:
        found.setdefault(group_id, {})[GroupRole(role)] = member_id
    return found


def check_in_group(officers: Mapping[GroupRole, int | None], in_group: Iterable[int]) -> None:
    members = set(in_group)
    for role, member_id in officers.items():
        if member_id is not None and member_id not in members:
            field = OFFICER_FIELDS[role]
            raise _invalid(
                "not_in_group",
                field,
                "Tổ trưởng và tổ phó phải là đảng viên đang thuộc tổ này.",
                f"'{field}' must be a member assigned to this group.",
            )


def check_two_people(officers: Mapping[GroupRole, int | None]) -> None:
    leader, deputy = officers.get(GroupRole.LEADER), officers.get(GroupRole.DEPUTY)
    if leader is not None and leader == deputy:
        raise _invalid(
            "same_officer",
            "deputy_id",
            "Tổ trưởng và tổ phó phải là hai người khác nhau.",
            "The leader and the deputy must be two different people.",
        )


async def release_offices(
    session: AsyncSession,
    cell_id: int,
    departures: Mapping[int, int],
    *,
    actor_user_id: int | None,
    at: datetime,
) -> list[dict[str, Any]]:
    """Members who left a group (member id -> the group left) lose the office they held there."""
    removed: list[dict[str, Any]] = []
    for member_id, group_id in sorted(departures.items()):
        query = select(GroupOfficer).where(
            col(GroupOfficer.group_id) == group_id, col(GroupOfficer.member_id) == member_id
        )
        rows = (await session.execute(query)).scalars().all()
        for row in rows:
            removed.append({"group_id": group_id, "role": row.role, "member_id": member_id})
            await session.delete(row)
    if removed:
        await session.flush()
        await append(
            session,
            at=at,
            actor_user_id=actor_user_id,
            org_id=cell_id,
            action="group.officers_removed",
            target=f"group:{removed[0]['group_id']}",
            data={"reason": "left the group", "officers": removed},
        )
    return removed


async def set_officer(
    session: AsyncSession, group_id: int, role: GroupRole, member_id: int | None, at: datetime
) -> None:
    query = select(GroupOfficer).where(
        col(GroupOfficer.group_id) == group_id, col(GroupOfficer.role) == role.value
    )
    row = (await session.execute(query)).scalar_one_or_none()
    if member_id is None:
        if row is not None:
            await session.delete(row)
    elif row is None:
        session.add(GroupOfficer(group_id=group_id, role=role.value, member_id=member_id, assigned_at=at))
    elif row.member_id != member_id:
        row.member_id, row.assigned_at = member_id, at
        session.add(row)
    await session.flush()
