"""A cell large enough to meet by party group (R-GROUP-2): members imported through the register import in
one request, the party groups created by the operator, and the cell's `group` approval."""

from __future__ import annotations

from typing import Any

from tests.integration.harness import Reply
from tests.integration.helpers import apply, decide, decision
from tests.integration.world import World

SEAFARER = "thuyền viên / giàn khoan / hải đảo"
# Valid through 2028: the group meetings of the tests run from December 2026 to January 2028.
GROUP_APPROVAL = decision(valid_from="2026-11-20", valid_to="2028-12-31", decision_no="41-QĐ/ĐUK")


async def add_group(world: World, key: str, name: str, cell: str = "A") -> int:
    """A party group of the cell, created by the operator (the tree is the operator's)."""
    operator = await world.as_user("operator")
    reply = await operator.post(
        "/api/v1/orgs", {"name": name, "kind": "group", "parent_id": world.orgs[cell]}
    )
    assert reply.status == 201, reply.body
    world.orgs[key] = int(reply.body["id"])
    return world.orgs[key]


async def import_members(world: World, rows: list[dict[str, str]], cell: str = "A") -> list[int]:
    """Register the rows (full_name, standing, reason, group) in one import; the new members' ids."""
    secretary = await world.as_user({"A": "sec_a", "B": "sec_b", "QA": "sec_q"}[cell])
    path = f"/api/v1/orgs/{world.orgs[cell]}/members"
    before = {m["id"] for m in (await secretary.get(path)).body["members"]}
    lines = ["Họ và tên,Đảng viên,Lý do,Tổ đảng"]
    lines += [f"{r['full_name']},{r['standing']},{r.get('reason', '')},{r.get('group', '')}" for r in rows]
    reply = await secretary.post(
        f"{path}/import?filename=dang-vien.csv",
        data="\n".join(lines).encode(),
        headers={"Content-Type": "text/csv"},
    )
    assert (reply.status, reply.body) == (201, {"imported": len(rows)}), reply.body
    members = (await secretary.get(path)).body["members"]
    added = [m["id"] for m in members if m["id"] not in before]
    world.members[cell].extend(added)
    return added


def seafarers(
    count: int, group: str = "", standing: str = "chính thức", start: int = 1
) -> list[dict[str, str]]:
    label = group.replace("Tổ đảng ", "tổ ") if group else "chi bộ"
    return [
        {
            "full_name": f"Thuyền Viên {label} {i:02d}",
            "standing": standing,
            "reason": SEAFARER,
            "group": group,
        }
        for i in range(start, start + count)
    ]


async def approve_groups(world: World, cell: str = "A") -> dict[str, Any]:
    """The cell applies for meeting by party group and the committee above approves it."""
    application = await apply(world, {"A": "sec_a"}[cell], cell, kind="group")
    reply = await decide(await world.as_user("approver_c"), application["id"], GROUP_APPROVAL)
    assert reply.status == 200, reply.body
    return dict(reply.body)


async def schedule_group_meeting(world: World, group: str, starts_at: str, **extra: Any) -> Reply:
    body = {
        "kind": "group",
        "mode": "in_person",
        "title": f"Sinh hoạt {group} ngày {starts_at[:10]}",
        "starts_at": starts_at,
        "duration_minutes": 90,
        **extra,
    }
    return await (await world.as_user("sec_a")).post(f"/api/v1/orgs/{world.orgs[group]}/meetings", body)


async def make_a_group_cell(world: World) -> None:
    """Cell A grows to 50 members (its 6, 44 seafarers imported into a second group) and is approved for
    meeting by party group; its first group, A1, keeps the world's linked member."""
    await add_group(world, "A2", "Tổ đảng số 2")
    await import_members(world, seafarers(44, "Tổ đảng số 2"))
    await approve_groups(world)
