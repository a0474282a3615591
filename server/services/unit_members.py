"""The members a unit's meetings belong to (a cell's register, a committee's subtree, a party group's
members), and the chair and minute-taker checked among them.

- The chair and the minute-taker are members of the unit: a cell's own register, a grassroots
  committee's subtree, a party group's members (`group_id`); anyone else is 422.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings.decision import Text
from meetings.enums import OrgKind
from server.db.columns import key
from server.db.tables import Member, Org
from server.db.tree import subtree_ids
from server.errors import ApiError


def _invalid(field: str, vi: str, en: str, code: str = "validation_error") -> ApiError:
    return ApiError(422, code, Text(vi, en), details={"fields": {field: en}})


async def unit_member_ids(session: AsyncSession, org: Org) -> set[int]:
    """The members who belong to the unit's meetings."""
    assert org.id is not None
    return (await units_member_ids(session, [org]))[org.id]


async def units_member_ids(session: AsyncSession, orgs: Sequence[Org]) -> dict[int, set[int]]:
    """`unit_member_ids` of several units: cells and party groups in one query, a committee's
    subtree each on its own (the live rooms load their views together)."""
    found: dict[int, set[int]] = {org.id: set() for org in orgs if org.id is not None}
    cells = {org.id for org in orgs if org.kind == OrgKind.CELL}
    groups = {org.id for org in orgs if org.kind == OrgKind.GROUP and org.id is not None}
    if cells or groups:
        query = select(key(Member.id), col(Member.org_id), col(Member.group_id)).where(
            or_(col(Member.org_id).in_(cells), col(Member.group_id).in_(groups))
        )
        for member_id, org_id, group_id in (await session.execute(query)).all():
            if org_id in cells:
                found[org_id].add(member_id)
            if group_id in groups:
                found[group_id].add(member_id)
    for org in orgs:
        if org.id is not None and org.kind not in (OrgKind.CELL, OrgKind.GROUP):
            ids = await subtree_ids(session, [org.id])
            in_subtree = select(key(Member.id)).where(col(Member.org_id).in_(ids))
            found[org.id] = {row[0] for row in (await session.execute(in_subtree)).all()}
    return found


async def check_people(session: AsyncSession, org: Org, values: dict[str, Any]) -> None:
    wanted = {name: values[name] for name in ("chair_id", "minute_taker_id") if values.get(name) is not None}
    if not wanted:
        return
    members = await unit_member_ids(session, org)
    for name, member_id in wanted.items():
        if member_id not in members:
            raise _invalid(
                name,
                f"'{name}' phải là một đảng viên của đơn vị.",
                f"'{name}' must be a member of the unit.",
            )
