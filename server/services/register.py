"""The Party register: members of a cell, their eligibility, and flags when a unit stops qualifying."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings.decision import Decision, Text
from meetings.eligibility import group_eligibility, unit_eligibility
from meetings.enums import Activity, ApplicationKind, ApplicationStatus, OrgKind, RemoteReason
from meetings.enums import Standing as MemberStanding
from meetings.orgtree import MEMBER_HOLDING_KINDS
from meetings.register import MemberFacts
from server.audit.log import append
from server.db.tables import EligibilityFlag, Member, Org, PilotApplication, User
from server.db.tree import ancestor_ids, subtree_ids
from server.errors import ApiError, conflict
from server.services.group_officers import release_offices
from server.services.groups import is_active_group_of
from server.services.rule_sets import rule_set_at

MEMBER_FIELDS = ("full_name", "standing", "activity", "remote_reason", "group_id", "user_id", "external_id")


def member_json(member: Member) -> dict[str, Any]:
    return {
        "id": member.id,
        "org_id": member.org_id,
        "full_name": member.full_name,
        "standing": member.standing,
        "activity": member.activity,
        "remote_reason": member.remote_reason,
        "group_id": member.group_id,
        "user_id": member.user_id,
        "external_id": member.external_id,
    }


def check_member_org(org: Org) -> None:
    if OrgKind(org.kind) not in MEMBER_HOLDING_KINDS:
        raise ApiError(
            422,
            "invalid_org_kind",
            Text(
                "Đảng viên chỉ được đăng ký trong một chi bộ (tổ đảng là một phần của chi bộ).",
                "Members are registered in a cell (a party group is part of its cell).",
            ),
            details={"org_kind": org.kind},
        )


async def check_member_links(
    session: AsyncSession, org: Org, values: dict[str, Any], member_id: int | None
) -> None:
    """A group must be an active party group of this cell; a user account links to one member only."""
    group_id = values.get("group_id")
    if group_id is not None:
        if not is_active_group_of(await session.get(Org, group_id), org.id):
            raise ApiError(
                422,
                "invalid_group",
                Text("Tổ đảng không thuộc chi bộ này.", "The party group is not part of this cell."),
                details={"fields": {"group_id": "not a group of this cell"}},
            )
    user_id = values.get("user_id")
    if user_id is not None:
        if await session.get(User, user_id) is None:
            raise ApiError(
                422,
                "unknown_user",
                Text(f"Không có người dùng số {user_id}.", f"There is no user {user_id}."),
                details={"fields": {"user_id": "unknown user"}},
            )
        # The other member may be in a unit the caller cannot see: say only that it exists.
        other = (await session.execute(select(col(Member.id)).where(col(Member.user_id) == user_id))).first()
        if other is not None and other[0] != member_id:
            raise conflict(
                "member_in_two_cells",
                Text(
                    "Tài khoản này đã gắn với một đảng viên khác; một đảng viên chỉ sinh hoạt ở một chi bộ.",
                    "This account is already linked to another member; a member belongs to one cell only.",
                ),
            )


async def add_member(
    session: AsyncSession,
    org: Org,
    values: dict[str, Any],
    *,
    actor_user_id: int | None,
    at: datetime,
    audit: bool = True,
) -> Member:
    check_member_org(org)
    await check_member_links(session, org, values, None)
    member = Member(org_id=org.id, created_at=at, updated_at=at, **values)  # type: ignore[arg-type]
    session.add(member)
    await session.flush()
    if audit:
        await append(
            session,
            at=at,
            actor_user_id=actor_user_id,
            org_id=org.id,
            action="member.created",
            target=f"member:{member.id}",
            data=member_json(member),
        )
    return member


async def change_member(
    session: AsyncSession,
    member: Member,
    org: Org,
    changes: dict[str, Any],
    *,
    actor_user_id: int,
    at: datetime,
) -> Member:
    await check_member_links(session, org, changes, member.id)
    before = member_json(member)
    for field, value in changes.items():
        setattr(member, field, value)
    member.updated_at = at
    session.add(member)
    await session.flush()
    await append(
        session,
        at=at,
        actor_user_id=actor_user_id,
        org_id=org.id,
        action="member.updated",
        target=f"member:{member.id}",
        data={"before": {k: before[k] for k in changes}, "after": changes},
    )
    left = before["group_id"]
    if left is not None and member.group_id != left:
        # A leader or deputy who leaves the group leaves the office (R-GROUP-1).
        await release_offices(
            session, org.id or 0, {member.id or 0: left}, actor_user_id=actor_user_id, at=at
        )
    return member


def _facts(member: Member) -> MemberFacts:
    assert member.id is not None
    return MemberFacts(
        member_id=member.id,
        standing=MemberStanding(member.standing),
        activity=Activity(member.activity),
        remote_reason=RemoteReason(member.remote_reason) if member.remote_reason else None,
    )


async def register_of(session: AsyncSession, org: Org) -> list[Member]:
    """R-ELIG-2: a cell's own members; a grassroots committee's whole subtree."""
    assert org.id is not None
    org_ids = [org.id] if org.kind == OrgKind.CELL else await subtree_ids(session, [org.id])
    query = select(Member).where(col(Member.org_id).in_(org_ids)).order_by(col(Member.id))
    return list((await session.execute(query)).scalars().all())


async def eligibility(session: AsyncSession, org: Org, at: datetime) -> Decision:
    """R-ELIG-1..4 under the set in force on the unit's day at `at` (issue 30)."""
    members = await register_of(session, org)
    rule_set = await rule_set_at(session, org, at)
    return unit_eligibility(OrgKind(org.kind), [_facts(m) for m in members], rule_set)


async def group_eligibility_of(session: AsyncSession, org: Org, at: datetime) -> Decision:
    """R-GROUP-1/2 under the set in force on the unit's day at `at` (a group meeting: its start)."""
    members = await register_of(session, org) if org.kind == OrgKind.CELL else []
    groups = (
        await session.execute(
            select(func.count())
            .select_from(Org)
            # A dissolved group is history: it no longer divides the cell.
            .where(
                col(Org.parent_id) == org.id, col(Org.kind) == OrgKind.GROUP, col(Org.dissolved_at).is_(None)
            )
        )
    ).scalar_one()
    rule_set = await rule_set_at(session, org, at)
    return group_eligibility(OrgKind(org.kind), [_facts(m) for m in members], int(groups), rule_set)


async def reevaluate_approved_units(
    session: AsyncSession, cell: Org, *, actor_user_id: int | None, at: datetime
) -> None:
    """R-ELIG-6: after a register change, flag approved units (the cell and the committees above it)
    that no longer qualify to their approver, and clear the flag when they qualify again."""
    assert cell.id is not None
    unit_ids = await ancestor_ids(session, cell.id)
    approved = (
        (
            await session.execute(
                select(PilotApplication).where(
                    col(PilotApplication.org_id).in_(unit_ids),
                    col(PilotApplication.kind) == ApplicationKind.ONLINE,
                    col(PilotApplication.status) == ApplicationStatus.APPROVED,
                )
            )
        )
        .scalars()
        .all()
    )
    for application in approved:
        unit = await session.get(Org, application.org_id)
        assert unit is not None
        decision = await eligibility(session, unit, at)
        open_flag = (
            await session.execute(
                select(EligibilityFlag).where(
                    col(EligibilityFlag.application_id) == application.id,
                    col(EligibilityFlag.cleared_at).is_(None),
                )
            )
        ).scalar_one_or_none()
        if not decision.outcome and open_flag is None:
            flag = EligibilityFlag(
                org_id=unit.id,  # type: ignore[arg-type]
                application_id=application.id,  # type: ignore[arg-type]
                approver_org_id=application.deciding_org_id,
                decision={lang: decision.to_json(lang) for lang in ("vi", "en")},
                raised_at=at,
            )
            session.add(flag)
            await session.flush()
            await append(
                session,
                at=at,
                actor_user_id=actor_user_id,
                org_id=unit.id,
                action="eligibility.flagged",
                target=f"org:{unit.id}",
                data={"rule": decision.rule, "counts": dict(decision.counts), "flag": flag.id},
            )
        elif decision.outcome and open_flag is not None:
            open_flag.cleared_at = at
            session.add(open_flag)
            await append(
                session,
                at=at,
                actor_user_id=actor_user_id,
                org_id=unit.id,
                action="eligibility.cleared",
                target=f"org:{unit.id}",
                data={"rule": decision.rule, "counts": dict(decision.counts), "flag": open_flag.id},
            )
