"""Breakout of a live meeting into groups (chia tổ thảo luận), and who may reach whom meanwhile.

The chair splits an open meeting into the cell's party groups (R-GROUP-1) or into groups named on the
spot, for a set time, then brings everyone back. Every summoned member belongs to exactly one group
for the whole split: members outside every named group (no party group, or not listed) make up the
"main room" group, so nobody is left in a room with no one to talk to and no one is in two rooms.
During the split the media mesh and its signalling stay inside each group; attendance is untouched,
because everyone is still in the meeting (only the server decides which peers meet).

Pure: plans are built from plain values, and the server stores and enforces them.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from meetings.decision import Text

MAIN_ROOM = Text("Phòng chung", "Main room")
MAX_GROUPS = 20
MIN_MINUTES = 1
MAX_MINUTES = 240
NAME_MAX = 100


class BreakoutError(ValueError):
    """A plan that cannot be carried out; `field` names the part of the request that is wrong."""

    def __init__(self, code: str, message: Text, field: str) -> None:
        super().__init__(message.en)
        self.code = code
        self.message = message
        self.field = field


@dataclass(frozen=True)
class PlannedGroup:
    name: str
    member_ids: tuple[int, ...]
    party_group_id: int | None = None  # the tổ đảng it stands for, in a split by party groups


@dataclass(frozen=True)
class Plan:
    groups: tuple[PlannedGroup, ...]

    def group_of(self) -> dict[int, int]:
        """member id -> index of their group."""
        return {member: index for index, group in enumerate(self.groups) for member in group.member_ids}


def by_party_groups(
    members: Mapping[int, int | None],
    party_groups: Sequence[tuple[int, str]],
    *,
    lang: str = "vi",
) -> Plan:
    """A split into the cell's party groups, in the order given: `members` maps each summoned member to
    their party group (or None); members of no listed group go to the main room.

    Refused when the cell has no party group with a summoned member: there is nothing to split into."""
    listed = {group_id for group_id, _ in party_groups}
    groups = [
        PlannedGroup(name, tuple(sorted(m for m, g in members.items() if g == group_id)), group_id)
        for group_id, name in party_groups
    ]
    groups = [group for group in groups if group.member_ids]
    if not groups:
        raise BreakoutError(
            "no_party_groups",
            Text(
                "Chi bộ chưa có tổ đảng nào có đảng viên được triệu tập; hãy chia nhóm theo danh sách.",
                "The cell has no party group with a summoned member; name the groups instead.",
            ),
            "groups",
        )
    rest = tuple(sorted(m for m, g in members.items() if g not in listed))
    if rest:
        groups.append(PlannedGroup(MAIN_ROOM.in_language(lang), rest))
    return Plan(tuple(groups))


def ad_hoc(
    requested: Sequence[tuple[str, Iterable[int]]],
    summoned: Collection[int],
    *,
    lang: str = "vi",
) -> Plan:
    """A split into groups named on the spot. Each member in at most one group, summoned members only,
    names distinct; members not listed go to the main room."""
    if not 1 <= len(requested) <= MAX_GROUPS:
        raise BreakoutError(
            "invalid_groups",
            Text(f"Cần từ 1 đến {MAX_GROUPS} nhóm.", f"Between 1 and {MAX_GROUPS} groups are needed."),
            "groups",
        )
    seen: dict[int, str] = {}
    names: set[str] = set()
    groups: list[PlannedGroup] = []
    for position, (raw_name, raw_members) in enumerate(requested):
        name = " ".join(raw_name.split())
        key = name.casefold()
        if not name or len(name) > NAME_MAX or key in names or key == MAIN_ROOM.in_language(lang).casefold():
            raise BreakoutError(
                "invalid_group_name",
                Text(
                    f"Tên nhóm thứ {position + 1} trống, quá dài hoặc trùng.",
                    f"The name of group {position + 1} is empty, too long or repeated.",
                ),
                f"groups[{position}].name",
            )
        names.add(key)
        member_ids = tuple(sorted(set(raw_members)))
        if not member_ids:
            raise BreakoutError(
                "empty_group",
                Text(f"Nhóm '{name}' chưa có ai.", f"Group '{name}' has nobody in it."),
                f"groups[{position}].member_ids",
            )
        for member_id in member_ids:
            if member_id not in summoned:
                raise BreakoutError(
                    "not_summoned",
                    Text(
                        f"Đảng viên {member_id} không được triệu tập dự buổi sinh hoạt này.",
                        f"Member {member_id} is not summoned to this meeting.",
                    ),
                    f"groups[{position}].member_ids",
                )
            if member_id in seen:
                raise BreakoutError(
                    "member_in_two_groups",
                    Text(
                        f"Đảng viên {member_id} đã ở nhóm '{seen[member_id]}'.",
                        f"Member {member_id} is already in group '{seen[member_id]}'.",
                    ),
                    f"groups[{position}].member_ids",
                )
            seen[member_id] = name
        groups.append(PlannedGroup(name, member_ids))
    rest = tuple(sorted(set(summoned) - set(seen)))
    if rest:
        groups.append(PlannedGroup(MAIN_ROOM.in_language(lang), rest))
    return Plan(tuple(groups))


def move(plan: Plan, member_id: int, to_index: int) -> Plan:
    """The chair moves one member (themself included, to visit a group) into another group."""
    if not 0 <= to_index < len(plan.groups):
        raise BreakoutError("invalid_group", Text("Không có nhóm này.", "No such group."), "group_index")
    if member_id not in plan.group_of():
        raise BreakoutError(
            "not_summoned",
            Text("Người này không tham gia buổi sinh hoạt.", "This member is not in the meeting."),
            "member_id",
        )
    groups = []
    for index, group in enumerate(plan.groups):
        kept = tuple(m for m in group.member_ids if m != member_id)
        if index == to_index:
            kept = tuple(sorted((*kept, member_id)))
        groups.append(PlannedGroup(group.name, kept, group.party_group_id))
    return Plan(tuple(groups))


def may_meet(group_of: Mapping[int, int] | None, a: int, b: int) -> bool:
    """Whether two members' devices may connect: always outside a split; within one group during it.
    A member outside the plan (registered after the split began) meets only others outside it."""
    if group_of is None:
        return True
    return group_of.get(a) == group_of.get(b)
