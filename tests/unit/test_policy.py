"""The permission table: each role's actions, deny by default, and an auditor who never writes."""

from __future__ import annotations

import pytest

from meetings.enums import Role
from meetings.policy import PERMISSIONS, READ_ACTIONS, Action, actions_for, allowed, is_write

A = Action
READS = {A.ORG_READ, A.MEMBER_READ, A.ELIGIBILITY_READ, A.APPLICATION_READ, A.AUDIT_READ, A.MEETING_READ}

# Written out by hand from the brief, independently of meetings/policy.py, so a slip in either shows.
EXPECTED: dict[Role, set[Action]] = {
    Role.ADMIN: READS | {A.ORG_CREATE, A.ORG_UPDATE, A.GRANT_CREATE, A.MEMBER_WRITE, A.MEMBER_IMPORT},
    Role.SECRETARY: READS | {A.MEMBER_WRITE, A.MEMBER_IMPORT, A.APPLICATION_CREATE, A.MEETING_WRITE},
    Role.DEPUTY_SECRETARY: READS | {A.MEMBER_WRITE, A.MEMBER_IMPORT, A.APPLICATION_CREATE, A.MEETING_WRITE},
    Role.APPROVER: READS | {A.APPLICATION_DECIDE, A.APPLICATION_REVOKE},
    Role.AUDITOR: set(READS),
}


def _matrix() -> list[object]:
    return [
        pytest.param(
            role,
            action,
            action in EXPECTED[role],
            id=f"policy {role} {'may' if action in EXPECTED[role] else 'may not'} {action}",
        )
        for role in Role
        for action in Action
    ]


@pytest.mark.parametrize(("role", "action", "expected"), _matrix())
def test_permission_matrix(role: Role, action: Action, expected: bool) -> None:
    assert allowed(action, [role]) is expected


def test_every_action_is_in_the_table() -> None:
    assert set(PERMISSIONS) == set(Action)


@pytest.mark.parametrize("action", [a for a in Action if is_write(a)], ids=lambda a: f"auditor never {a}")
def test_the_auditor_never_writes(action: Action) -> None:
    assert not allowed(action, [Role.AUDITOR])
    assert Role.AUDITOR not in PERMISSIONS[action]


def test_read_actions_are_exactly_the_reads() -> None:
    assert READ_ACTIONS == READS
    assert all(action.value.endswith(".read") for action in READ_ACTIONS)
    assert not any(is_write(action) for action in READS)
    assert is_write(Action.APPLICATION_DECIDE)


@pytest.mark.parametrize(
    ("action", "roles"),
    [
        pytest.param(Action.MEETING_READ, [], id="deny by default: no role"),
        pytest.param("meeting.delete", list(Role), id="deny by default: unknown action"),
        pytest.param(Action.MEETING_READ, ["operator"], id="deny by default: unknown role"),
        pytest.param(
            Action.APPLICATION_DECIDE, [Role.SECRETARY, Role.ADMIN], id="no self-approval for leaders"
        ),
    ],
)
def test_deny_by_default(action: Action | str, roles: list[Role | str]) -> None:
    assert not allowed(action, roles)


def test_roles_combine_and_accept_wire_values() -> None:
    assert allowed("application.decide", ["auditor", "approver"])
    assert actions_for([Role.AUDITOR, Role.APPROVER]) == READS | {A.APPLICATION_DECIDE, A.APPLICATION_REVOKE}
    assert actions_for([]) == frozenset()
