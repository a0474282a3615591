"""The one authorisation decision point: grants on an organisation's ancestors, checked by policy.

Deny by default. A caller who holds nothing on a unit gets 404 — the same answer as for a unit that
does not exist — so nobody learns what other units have; a caller who sees the unit but lacks the
right gets 403.

The decision point also notes, for the access log (issue 5: every auditor's read of a unit is logged and
visible to that unit's secretary), each unit that the current request reaches through an auditor grant
only; server.api.access_log appends one `access.read` audit row per such unit for a successful read, so
no handler has to remember it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings.enums import Role
from meetings.policy import Action, allowed
from server.auth.identity import Actor
from server.db.tables import Grant, Member
from server.db.tree import ancestor_ids
from server.errors import ApiError, forbidden, not_found

# What a member linked to a user account may do in their own unit without any grant.
MEMBER_ACTIONS = frozenset({Action.ORG_READ, Action.ELIGIBILITY_READ, Action.MEETING_READ})
# An operator (is_admin) manages the structure and accounts, and reads no meeting content.
OPERATOR_ACTIONS = frozenset({Action.ORG_READ, Action.ORG_CREATE, Action.ORG_UPDATE, Action.GRANT_CREATE})

# The units the current request reached under an auditor-only grant. None outside a request that keeps
# the access log (the CLI, socket events, writes): then nothing is noted.
_AUDITOR_READS: ContextVar[set[int] | None] = ContextVar("auditor_reads", default=None)
# The unit of the last refusal in this request's context, for its log line (ASVS 7.2.2). Set only where
# the decision point refuses: a 404 with it set hides another unit's record, one without is an absent
# record (server.audit.refusals audits the first, not the second).
REFUSED_UNIT: ContextVar[int | None] = ContextVar("refused_unit", default=None)
# The unit the request's last decision was about, for a refusal decided after it (a chair's action
# refused to a member: 403 with the meeting's unit).
DECIDED_UNIT: ContextVar[int | None] = ContextVar("decided_unit", default=None)


# No organisation has this id (ids start at 1): the unit `absent` decides about.
NO_UNIT = 0


@dataclass(frozen=True)
class Access:
    """What the caller holds on one organisation."""

    org_id: int
    ancestors: list[int]
    roles: frozenset[Role]
    grant_orgs: dict[Role, frozenset[int]]
    is_member: bool


async def access_on(session: AsyncSession, actor: Actor, org_id: int) -> Access | None:
    """None when the organisation does not exist, after the same queries as for one that does (a
    denial's time must not tell whether a unit or a record exists: quality.md S1)."""
    ancestors = await ancestor_ids(session, org_id)
    grants = (
        await session.execute(
            select(col(Grant.role), col(Grant.org_id)).where(
                col(Grant.user_id) == actor.user_id, col(Grant.org_id).in_(ancestors)
            )
        )
    ).all()
    grant_orgs: dict[Role, set[int]] = {}
    for role, granted_org in grants:
        grant_orgs.setdefault(Role(role), set()).add(granted_org)
    member_org = (
        await session.execute(
            select(col(Member.org_id), col(Member.group_id)).where(col(Member.user_id) == actor.user_id)
        )
    ).first()
    if not ancestors:
        return None
    DECIDED_UNIT.set(org_id)
    is_member = member_org is not None and org_id in (member_org[0], member_org[1])
    access = Access(
        org_id=org_id,
        ancestors=ancestors,
        roles=frozenset(grant_orgs),
        grant_orgs={role: frozenset(orgs) for role, orgs in grant_orgs.items()},
        is_member=is_member,
    )
    if by_auditor_grant_only(access):
        reads = _AUDITOR_READS.get()
        if reads is not None:
            reads.add(org_id)
    return access


def by_auditor_grant_only(access: Access) -> bool:
    """The caller reaches the unit through an auditor grant and no other grant (secretary, deputy,
    approver, admin): what such a caller reads of the unit goes into its access log. Membership does
    not exempt: an auditor who is also a member of the cell is logged there too (the safe side)."""
    return access.roles == {Role.AUDITOR}


@contextmanager
def noting_auditor_reads() -> Iterator[set[int]]:
    """While open, `access_on` adds to the yielded set every unit reached by an auditor grant only."""
    reads: set[int] = set()
    token = _AUDITOR_READS.set(reads)
    try:
        yield reads
    finally:
        _AUDITOR_READS.reset(token)


def not_an_access_read(org_id: int) -> None:
    """Drop a unit from the current request's noted reads: reading the access log itself is not logged,
    or every look at the log would add to it (docs/decisions.md)."""
    reads = _AUDITOR_READS.get()
    if reads is not None:
        reads.discard(org_id)


def permits(access: Access, actor: Actor, action: Action) -> bool:
    if allowed(action, access.roles):
        return True
    if access.is_member and action in MEMBER_ACTIONS:
        return True
    return actor.user.is_admin and action in OPERATOR_ACTIONS


def can_see(access: Access, actor: Actor) -> bool:
    return bool(access.roles) or access.is_member or actor.user.is_admin


def hidden(org_id: int) -> ApiError:
    """The 404 for a unit the caller may not know: not_found() to the caller, a refusal about the unit
    for the refusal log."""
    REFUSED_UNIT.set(org_id)
    return not_found()


async def absent(session: AsyncSession, actor: Actor) -> ApiError:
    """The 404 for a record that does not exist, given after the decision work a record of a unit the
    caller may not know costs (quality.md S1: a missing record and another unit's answer alike, in
    their time too; measured in tests/integration/test_authz_matrix.py)."""
    await access_on(session, actor, NO_UNIT)
    return not_found()


async def authorize(session: AsyncSession, actor: Actor, action: Action, org_id: int) -> Access:
    """Raise 404 when the caller may not know the unit, 403 when they may not do this to it."""
    access = await access_on(session, actor, org_id)
    if access is None:
        raise not_found()
    if not can_see(access, actor):
        raise hidden(org_id)
    if not permits(access, actor, action):
        REFUSED_UNIT.set(org_id)
        raise forbidden()
    return access
