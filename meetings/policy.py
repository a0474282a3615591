"""The permission table (phân quyền): which roles may take which action, the one authorisation truth.

A role holds for the granted organisation's whole subtree; the server resolves the subtree and
asks `allowed`. Anything not in the table is denied.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from types import MappingProxyType

from meetings.enums import Role


class Action(StrEnum):
    """Something a user asks to do; `.read` actions change nothing."""

    ORG_READ = "org.read"
    ORG_CREATE = "org.create"
    ORG_UPDATE = "org.update"
    GRANT_CREATE = "grant.create"
    MEMBER_READ = "member.read"
    MEMBER_WRITE = "member.write"
    MEMBER_IMPORT = "member.import"
    ELIGIBILITY_READ = "eligibility.read"
    APPLICATION_READ = "application.read"
    APPLICATION_CREATE = "application.create"
    APPLICATION_DECIDE = "application.decide"
    APPLICATION_REVOKE = "application.revoke"
    AUDIT_READ = "audit.read"
    MEETING_READ = "meeting.read"
    MEETING_WRITE = "meeting.write"


READ_ACTIONS = frozenset(
    {
        Action.ORG_READ,
        Action.MEMBER_READ,
        Action.ELIGIBILITY_READ,
        Action.APPLICATION_READ,
        Action.AUDIT_READ,
        Action.MEETING_READ,
    }
)

_EVERY_ROLE = frozenset(Role)
_LEADERS = frozenset({Role.SECRETARY, Role.DEPUTY_SECRETARY})

# Every role reads its own subtree. Writes are split so that no single role both runs a unit and
# approves it (the approver decides only for a unit strictly below its grant, checked by the
# server), and the auditor, who must be able to say the record is untouched, writes nothing.
PERMISSIONS: Mapping[Action, frozenset[Role]] = MappingProxyType(
    {
        **{action: _EVERY_ROLE for action in READ_ACTIONS},
        Action.ORG_CREATE: frozenset({Role.ADMIN}),
        Action.ORG_UPDATE: frozenset({Role.ADMIN}),
        Action.GRANT_CREATE: frozenset({Role.ADMIN}),
        Action.MEMBER_WRITE: frozenset({Role.ADMIN}) | _LEADERS,
        Action.MEMBER_IMPORT: frozenset({Role.ADMIN}) | _LEADERS,
        Action.APPLICATION_CREATE: _LEADERS,
        Action.APPLICATION_DECIDE: frozenset({Role.APPROVER}),
        Action.APPLICATION_REVOKE: frozenset({Role.APPROVER}),
        Action.MEETING_WRITE: _LEADERS,
    }
)


def allowed(action: Action | str, roles: Iterable[Role | str]) -> bool:
    """True when one of `roles` may take `action`; an unknown action or role is denied."""
    try:
        permitted = PERMISSIONS[Action(action)]
    except (ValueError, KeyError):
        return False
    return any(role in permitted for role in roles)


def is_write(action: Action) -> bool:
    return action not in READ_ACTIONS


def actions_for(roles: Iterable[Role]) -> frozenset[Action]:
    """Every action the roles allow together, e.g. to show or hide buttons."""
    held = frozenset(roles)
    return frozenset(action for action, permitted in PERMISSIONS.items() if held & permitted)
