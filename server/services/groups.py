"""Party groups (tổ đảng) of a cell: create, rename, leader and deputy, membership, dissolve (R-GROUP-1).

Decisions this module makes (documented in docs/api.md, "Party groups"):

- A group is an `orgs` row of kind `group` under its cell. Dissolving sets `dissolved_at` and keeps
  the row, so its past meetings and minutes stay where they were; from then on the group is left out
  of everything current: the listing, R-GROUP-2's count of groups, member assignment (422
  `invalid_group`), the import's name matching, scheduling (404), and the group routes (404).
- Names are unique among the cell's active groups, compared with inner spaces collapsed and case
  folded (409 `group_name_taken`); a dissolved group's name may be used again.
- The leader (tổ trưởng) and the deputy (tổ phó) are members assigned to the group (422
  `not_in_group`) and two different people (422 `same_officer`). A member who leaves a group, by any
  route, loses the office held there, and a `group.officers_removed` audit row says so.
- Dissolving is refused while the group has a scheduled or open meeting (409 `group_has_meetings`):
  such a meeting would lose everyone it summons.
- Every change appends one audit row (`group.create`, `group.update`, `group.members`,
  `group.dissolve`) on the cell, targeting `group:{id}`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings.decision import Text
from meetings.enums import GroupRole, MeetingStatus, OrgKind
from server.audit.log import append
from server.auth.authz import NO_UNIT, absent
from server.auth.identity import Actor
from server.db.tables import GroupOfficer, Meeting, Member, Org
from server.errors import ApiError, conflict, not_found
from server.services.group_officers import (
    OFFICER_FIELDS,
    check_in_group,
    check_two_people,
    officers_of,
    release_offices,
    set_officer,
)


def name_key(name: str) -> str:
    """How two group names are compared: inner spaces collapsed, case folded."""
    return " ".join(name.split()).casefold()


def check_cell(org: Org) -> None:
    if org.kind != OrgKind.CELL:
        raise ApiError(
            422,
            "invalid_org_kind",
            Text("Tổ đảng chỉ được lập trong một chi bộ.", "Party groups exist inside a cell only."),
            details={"org_kind": org.kind},
        )


def is_active_group_of(group: Org | None, cell_id: int | None) -> bool:
    return (
        group is not None
        and group.kind == OrgKind.GROUP
        and group.parent_id == cell_id
        and group.dissolved_at is None
    )


async def active_groups(session: AsyncSession, cell_id: int) -> list[Org]:
    query = (
        select(Org)
        .where(col(Org.parent_id) == cell_id, col(Org.kind) == OrgKind.GROUP, col(Org.dissolved_at).is_(None))
        .order_by(col(Org.id))
    )
    return list((await session.execute(query)).scalars().all())


async def group_and_cell(session: AsyncSession, caller: Actor, group_id: int) -> tuple[Org, Org]:
    """A party group and its cell; 404 when it is not a group (authorise on the cell before anything
    else is said about it). No group answers after the same queries as another unit's group, whose
    404 comes from authorising on its cell (quality.md S1: the time must not tell it exists)."""
    group = await session.get(Org, group_id)
    is_group = group is not None and group.kind == OrgKind.GROUP and group.parent_id is not None
    cell = await session.get(Org, group.parent_id if group is not None and is_group else NO_UNIT)
    if group is None or not is_group or cell is None:
        raise await absent(session, caller)
    return group, cell


def require_active(group: Org) -> None:
    if group.dissolved_at is not None:
        raise not_found()


async def _lock_cell(session: AsyncSession, cell: Org) -> None:
    """One change to a cell's groups at a time (PostgreSQL; SQLite writes are serialised anyway), so two
    groups cannot take one name and two leaders cannot race for one office."""
    await session.execute(select(col(Org.id)).where(col(Org.id) == cell.id).with_for_update())


# --- checks ------------------------------------------------------------------------------------


async def check_name_free(session: AsyncSession, cell: Org, name: str, *, except_id: int | None) -> None:
    assert cell.id is not None
    wanted = name_key(name)
    for group in await active_groups(session, cell.id):
        if group.id != except_id and name_key(group.name) == wanted:
            raise conflict(
                "group_name_taken",
                Text(
                    f"Chi bộ đã có tổ đảng tên '{group.name}'.",
                    f"The cell already has a party group named '{group.name}'.",
                ),
                group_id=group.id,
            )


async def _members_of_cell(session: AsyncSession, cell: Org, member_ids: Sequence[int]) -> list[Member]:
    if not member_ids:
        return []
    query = select(Member).where(col(Member.id).in_(list(member_ids)), col(Member.org_id) == cell.id)
    found = list((await session.execute(query)).scalars().all())
    missing = sorted(set(member_ids) - {m.id for m in found})
    if missing:
        # Said alike for a member of another cell and one that does not exist.
        raise ApiError(
            422,
            "invalid_member",
            Text(
                f"Không phải đảng viên của chi bộ: {', '.join(map(str, missing))}.",
                f"Not members of this cell: {', '.join(map(str, missing))}.",
            ),
            details={"fields": {"member_ids": "not members of this cell"}, "member_ids": missing},
        )
    return found


# --- changing --------------------------------------------------------------------------------


async def _assign(
    session: AsyncSession,
    group: Org,
    members: Iterable[Member],
    *,
    actor_user_id: int | None,
    at: datetime,
) -> list[dict[str, int]]:
    """Put members into the group; those moved from another group lose their office there."""
    assert group.id is not None and group.parent_id is not None
    moved: list[dict[str, int]] = []
    for member in members:
        if member.group_id == group.id:
            continue
        if member.group_id is not None:
            moved.append({"member_id": member.id or 0, "from_group_id": member.group_id})
        member.group_id, member.updated_at = group.id, at
        session.add(member)
    await session.flush()
    departures = {m["member_id"]: m["from_group_id"] for m in moved}
    await release_offices(session, group.parent_id, departures, actor_user_id=actor_user_id, at=at)
    return moved


async def create_group(
    session: AsyncSession,
    cell: Org,
    *,
    name: str,
    officers: Mapping[GroupRole, int | None],
    member_ids: Sequence[int],
    actor_user_id: int | None,
    at: datetime,
    source: str | None = None,
) -> Org:
    check_cell(cell)
    await _lock_cell(session, cell)
    await check_name_free(session, cell, name, except_id=None)
    wanted = list(dict.fromkeys(member_ids))
    members = await _members_of_cell(session, cell, wanted)
    check_in_group(officers, wanted)
    check_two_people(officers)
    group = Org(
        name=name,
        kind=OrgKind.GROUP.value,
        parent_id=cell.id,
        timezone=cell.timezone,
        rule_set=cell.rule_set,
        created_at=at,
    )
    session.add(group)
    await session.flush()
    assert group.id is not None
    moved = await _assign(session, group, members, actor_user_id=actor_user_id, at=at)
    for role, member_id in officers.items():
        await set_officer(session, group.id, role, member_id, at)
    data: dict[str, Any] = {
        "name": group.name,
        "member_ids": wanted,
        "moved": moved,
        **{OFFICER_FIELDS[role]: officers.get(role) for role in GroupRole},
    }
    if source:
        data["source"] = source
    await append(
        session,
        at=at,
        actor_user_id=actor_user_id,
        org_id=cell.id,
        action="group.create",
        target=f"group:{group.id}",
        data=data,
    )
    return group


async def update_group(
    session: AsyncSession,
    group: Org,
    cell: Org,
    changes: Mapping[str, Any],
    *,
    actor_user_id: int | None,
    at: datetime,
    source: str | None = None,
) -> Org:
    """`changes`: `name`, `leader_id`, `deputy_id` (None clears an office)."""
    assert group.id is not None
    require_active(group)
    await _lock_cell(session, cell)
    before: dict[str, Any] = {"name": group.name}
    current = (await officers_of(session, [group.id])).get(group.id, {})
    for role, field in OFFICER_FIELDS.items():
        before[field] = current.get(role)
    if "name" in changes:
        await check_name_free(session, cell, changes["name"], except_id=group.id)
    wanted = {role: changes.get(field, before[field]) for role, field in OFFICER_FIELDS.items()}
    query = select(col(Member.id)).where(col(Member.group_id) == group.id)
    in_group = [member_id for member_id in (await session.execute(query)).scalars() if member_id is not None]
    # Only a newly named officer is checked: the office holders leave it when they leave the group.
    check_in_group(
        {role: wanted[role] for role, field in OFFICER_FIELDS.items() if field in changes}, in_group
    )
    check_two_people(wanted)
    after = {**before, **{k: v for k, v in changes.items() if k in before}}
    changed = {k for k in before if after[k] != before[k]}
    if not changed:
        return group
    if "name" in changed:
        group.name = after["name"]
        session.add(group)
    for role, field in OFFICER_FIELDS.items():
        if field in changed:
            await set_officer(session, group.id, role, after[field], at)
    data: dict[str, Any] = {
        "before": {k: before[k] for k in sorted(changed)},
        "after": {k: after[k] for k in sorted(changed)},
    }
    if source:
        data["source"] = source
    await append(
        session,
        at=at,
        actor_user_id=actor_user_id,
        org_id=cell.id,
        action="group.update",
        target=f"group:{group.id}",
        data=data,
    )
    return group


async def set_group_members(
    session: AsyncSession,
    group: Org,
    cell: Org,
    member_ids: Sequence[int],
    *,
    actor_user_id: int | None,
    at: datetime,
) -> Org:
    """The group's whole membership: members not listed leave it, listed ones join it."""
    assert group.id is not None and cell.id is not None
    require_active(group)
    await _lock_cell(session, cell)
    wanted = list(dict.fromkeys(member_ids))
    members = await _members_of_cell(session, cell, wanted)
    current = (await session.execute(select(Member).where(col(Member.group_id) == group.id))).scalars().all()
    leaving = [m for m in current if m.id not in set(wanted)]
    for member in leaving:
        member.group_id, member.updated_at = None, at
        session.add(member)
    await session.flush()
    departures = {m.id: group.id for m in leaving if m.id is not None}
    await release_offices(session, cell.id, departures, actor_user_id=actor_user_id, at=at)
    joined = [m.id for m in members if m.group_id != group.id]
    moved = await _assign(session, group, members, actor_user_id=actor_user_id, at=at)
    await append(
        session,
        at=at,
        actor_user_id=actor_user_id,
        org_id=cell.id,
        action="group.members",
        target=f"group:{group.id}",
        data={
            "member_ids": wanted,
            "added": joined,
            "removed": sorted(departures),
            "moved": moved,
        },
    )
    return group


async def dissolve_group(
    session: AsyncSession, group: Org, cell: Org, *, actor_user_id: int | None, at: datetime
) -> Org:
    assert group.id is not None
    require_active(group)
    await _lock_cell(session, cell)
    pending = (
        (
            await session.execute(
                select(col(Meeting.id))
                .where(
                    col(Meeting.org_id) == group.id,
                    col(Meeting.status).in_([MeetingStatus.SCHEDULED.value, MeetingStatus.OPEN.value]),
                )
                .order_by(col(Meeting.id))
            )
        )
        .scalars()
        .all()
    )
    if pending:
        raise conflict(
            "group_has_meetings",
            Text(
                "Chưa thể giải thể: tổ đảng còn buổi sinh hoạt đã lên lịch hoặc đang diễn ra "
                f"(số {', '.join(map(str, pending))}).",
                "The party group cannot be dissolved while it has a scheduled or open meeting "
                f"(no. {', '.join(map(str, pending))}).",
            ),
            meeting_ids=list(pending),
        )
    query = select(Member).where(col(Member.group_id) == group.id)
    members = list((await session.execute(query)).scalars().all())
    for member in members:
        member.group_id, member.updated_at = None, at
        session.add(member)
    officers = (await officers_of(session, [group.id])).get(group.id, {})
    await session.execute(delete(GroupOfficer).where(col(GroupOfficer.group_id) == group.id))
    group.dissolved_at = at
    session.add(group)
    await session.flush()
    await append(
        session,
        at=at,
        actor_user_id=actor_user_id,
        org_id=cell.id,
        action="group.dissolve",
        target=f"group:{group.id}",
        data={
            "name": group.name,
            "member_ids": [m.id for m in members],
            **{OFFICER_FIELDS[role]: officers.get(role) for role in GroupRole},
        },
    )
    return group
