"""The shape of the organisation tree (tổ chức đảng): which kind may sit under which."""

from __future__ import annotations

from meetings.enums import OrgKind

# A province is a root; committees nest; a cell sits under a grassroots committee or, as a
# "chi bộ cơ sở", directly under a higher committee; party groups live inside a cell.
ALLOWED_PARENTS: dict[OrgKind, frozenset[OrgKind | None]] = {
    OrgKind.PROVINCE: frozenset({None}),
    OrgKind.COMMITTEE: frozenset({OrgKind.PROVINCE, OrgKind.COMMITTEE}),
    OrgKind.GRASSROOTS: frozenset({OrgKind.PROVINCE, OrgKind.COMMITTEE}),
    OrgKind.CELL: frozenset({OrgKind.GRASSROOTS, OrgKind.COMMITTEE}),
    OrgKind.GROUP: frozenset({OrgKind.CELL}),
}

# Members are registered in a cell; a grassroots committee's register is its cells' members.
MEMBER_HOLDING_KINDS = frozenset({OrgKind.CELL})


def parent_allowed(kind: OrgKind, parent_kind: OrgKind | None) -> bool:
    return parent_kind in ALLOWED_PARENTS[kind]
