"""The one authorisation decision point: grants on an organisation's ancestors, checked by policy.

Deny by default. A caller who holds nothing on a unit gets 404 — the same answer as for a unit that
does not exist — so nobody learns what other units have; a caller who sees the unit but lacks the
right gets 403.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from meetings.enums import Role
from meetings.policy import Action, allowed
from server.api.errors import forbidden, not_found
from server.auth.identity import Actor
from server.db.tables import Grant, Member
from server.db.tree import ancestor_ids

# What a member linked to a user account may do in their own unit without any grant.
MEMBER_ACTIONS = frozenset({Action.ORG_READ, Action.ELIGIBILITY_READ, Action.MEETING_READ})
# An operator (is_admin) manages the structure and accounts, and reads no meeting content.
OPERATOR_ACTIONS = frozenset({Action.ORG_READ, Action.ORG_CREATE, Action.ORG_UPDATE, Action.GRANT_CREATE})


@dataclass(frozen=True)
class Access:
    """What the caller holds on one organisation."""

    org_id: int
    ancestors: list[int]
    roles: frozenset[Role]
    grant_orgs: dict[Role, frozenset[int]]
    is_member: bool


async def access_on(session: AsyncSession, actor: Actor, org_id: int) -> Access | None:
    """None when the organisation does not exist."""
    ancestors = await ancestor_ids(session, org_id)
    if not ancestors:
        return None
    grants = (
        await session.execute(
            select(Grant.role, Grant.org_id).where(
                Grant.user_id == actor.user_id, Grant.org_id.in_(ancestors)
            )  # type: ignore[attr-defined]
        )
    ).all()
    grant_orgs: dict[Role, set[int]] = {}
    for role, granted_org in grants:
        grant_orgs.setdefault(Role(role), set()).add(granted_org)
    member_org = (
        await session.execute(select(Member.org_id, Member.group_id).where(Member.user_id == actor.user_id))
    ).first()
    is_member = member_org is not None and org_id in (member_org[0], member_org[1])
    return Access(
        org_id=org_id,
        ancestors=ancestors,
        roles=frozenset(grant_orgs),
        grant_orgs={role: frozenset(orgs) for role, orgs in grant_orgs.items()},
        is_member=is_member,
    )


def permits(access: Access, actor: Actor, action: Action) -> bool:
    if allowed(action, access.roles):
        return True
    if access.is_member and action in MEMBER_ACTIONS:
        return True
    return actor.user.is_admin and action in OPERATOR_ACTIONS


def can_see(access: Access, actor: Actor) -> bool:
    return bool(access.roles) or access.is_member or actor.user.is_admin


async def authorize(session: AsyncSession, actor: Actor, action: Action, org_id: int) -> Access:
    """Raise 404 when the caller may not know the unit, 403 when they may not do this to it."""
    access = await access_on(session, actor, org_id)
    if access is None or not can_see(access, actor):
        raise not_found()
    if not permits(access, actor, action):
        raise forbidden()
    return access
