"""The organisation tree and grants: create, rename, move within rules, list what a caller sees."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import available_timezones

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings.decision import Text
from meetings.enums import OrgKind, Role
from meetings.orgtree import ALLOWED_PARENTS, parent_allowed
from meetings.rulesets import BUILT_IN
from server.audit.log import append
from server.db.columns import key
from server.db.tables import Grant, Member, Org, User
from server.db.tree import subtree_ids
from server.errors import ApiError, conflict, not_found

DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
_ZONES = available_timezones()


def org_json(org: Org) -> dict[str, Any]:
    return {
        "id": org.id,
        "name": org.name,
        "kind": org.kind,
        "parent_id": org.parent_id,
        "timezone": org.timezone,
        "rule_set": org.rule_set,
    }


def check_timezone(name: str) -> str:
    if name not in _ZONES:
        raise ApiError(
            422,
            "invalid_timezone",
            Text(f"Múi giờ '{name}' không hợp lệ (ví dụ: Asia/Ho_Chi_Minh).", f"Unknown time zone '{name}'."),
            details={"fields": {"timezone": "unknown time zone"}},
        )
    return name


def check_rule_set(name: str) -> str:
    if name not in BUILT_IN:
        raise ApiError(
            422,
            "unknown_rule_set",
            Text(f"Bộ quy tắc '{name}' không tồn tại.", f"Unknown rule set '{name}'."),
        )
    return name


async def get_org(session: AsyncSession, org_id: int) -> Org:
    org = await session.get(Org, org_id)
    if org is None:
        raise not_found()
    return org


def check_parent(kind: OrgKind, parent: Org | None) -> None:
    parent_kind = OrgKind(parent.kind) if parent else None
    if not parent_allowed(kind, parent_kind):
        allowed_vi = ", ".join(sorted(k.value if k else "(gốc)" for k in ALLOWED_PARENTS[kind]))
        allowed_en = ", ".join(sorted(k.value if k else "(root)" for k in ALLOWED_PARENTS[kind]))
        raise ApiError(
            422,
            "invalid_parent",
            Text(
                f"Tổ chức loại '{kind.value}' không thể trực thuộc "
                f"{'tổ chức loại ' + parent_kind.value if parent_kind else 'gốc cây'}; "
                f"cấp trên hợp lệ: {allowed_vi}.",
                f"An organisation of kind '{kind.value}' cannot sit under "
                f"{parent_kind.value if parent_kind else 'the root'}; allowed parents: {allowed_en}.",
            ),
            details={"kind": kind.value, "parent_kind": parent_kind.value if parent_kind else None},
        )


async def create_org(
    session: AsyncSession,
    *,
    name: str,
    kind: OrgKind,
    parent: Org | None,
    timezone: str | None,
    rule_set: str | None,
    actor_user_id: int | None,
    at: datetime,
) -> Org:
    check_parent(kind, parent)
    org = Org(
        name=name,
        kind=kind.value,
        parent_id=parent.id if parent else None,
        timezone=check_timezone(timezone or (parent.timezone if parent else DEFAULT_TIMEZONE)),
        rule_set=check_rule_set(rule_set or (parent.rule_set if parent else "hd03-2022")),
        created_at=at,
    )
    session.add(org)
    await session.flush()
    await append(
        session,
        at=at,
        actor_user_id=actor_user_id,
        org_id=org.id,
        action="org.created",
        target=f"org:{org.id}",
        data=org_json(org),
    )
    return org


async def update_org(
    session: AsyncSession, org: Org, changes: dict[str, Any], *, actor_user_id: int, at: datetime
) -> Org:
    if "timezone" in changes:
        check_timezone(changes["timezone"])
    if "rule_set" in changes:
        check_rule_set(changes["rule_set"])
    before = org_json(org)
    for field, value in changes.items():
        setattr(org, field, value)
    session.add(org)
    await session.flush()
    await append(
        session,
        at=at,
        actor_user_id=actor_user_id,
        org_id=org.id,
        action="org.updated",
        target=f"org:{org.id}",
        data={"before": {k: before[k] for k in changes}, "after": changes},
    )
    return org


async def visible_org_ids(session: AsyncSession, user: User) -> list[int]:
    """What a user may list: subtrees of their grants, their own cell and group, all for an operator."""
    if user.is_admin:
        return sorted(row[0] for row in (await session.execute(select(key(Org.id)))).all())
    roots = [
        row[0]
        for row in (
            await session.execute(select(col(Grant.org_id)).where(col(Grant.user_id) == user.id))
        ).all()
    ]
    ids = set(await subtree_ids(session, roots))
    member = (
        await session.execute(
            select(col(Member.org_id), col(Member.group_id)).where(col(Member.user_id) == user.id)
        )
    ).first()
    if member:
        ids.update(x for x in member if x is not None)
    return sorted(ids)


async def add_grant(
    session: AsyncSession, *, org: Org, user_id: int, role: Role, actor_user_id: int, at: datetime
) -> Grant:
    if await session.get(User, user_id) is None:
        raise ApiError(
            422,
            "unknown_user",
            Text(f"Không có người dùng số {user_id}.", f"There is no user {user_id}."),
            details={"fields": {"user_id": "unknown user"}},
        )
    existing = (
        await session.execute(
            select(col(Grant.id)).where(
                col(Grant.user_id) == user_id, col(Grant.org_id) == org.id, col(Grant.role) == role.value
            )
        )
    ).first()
    if existing:
        raise conflict("grant_exists", Text("Quyền này đã được cấp.", "This grant already exists."))
    grant = Grant(user_id=user_id, org_id=org.id, role=role.value, created_at=at)  # type: ignore[arg-type]
    session.add(grant)
    await session.flush()
    await append(
        session,
        at=at,
        actor_user_id=actor_user_id,
        org_id=org.id,
        action="grant.created",
        target=f"grant:{grant.id}",
        data={"user_id": user_id, "role": role.value},
    )
    return grant
