"""Party groups of a cell (R-GROUP-1, R-GROUP-2): create, rename, leader and deputy, membership, dissolve,
and the register import's group columns.

Through the public API of a real server, on SQLite and PostgreSQL. A refusal is checked to change
nothing by what a user sees: the cell's groups listing before and after, and the audit log's length.
"""

from __future__ import annotations

from typing import Any

import aiohttp

from tests.integration.harness import ApiClient, Reply
from tests.integration.helpers import assert_error, audit_length, import_file, is_vietnamese, xlsx
from tests.integration.world import World

DECISION = {
    "approved": True,
    "decision_no": "21-QĐ/ĐUK",
    "decided_on": "2026-11-20",
    "valid_from": "2026-11-20",
    "valid_to": "2027-11-19",
}
GROUP_MEETING = {
    "kind": "group",
    "mode": "in_person",
    "title": "Sinh hoạt tổ đảng tháng 12",
    "starts_at": "2026-12-05T14:00:00+07:00",
    "duration_minutes": 90,
}


async def groups_of(client: ApiClient, cell: int) -> dict[str, Any]:
    reply = await client.get(f"/api/v1/orgs/{cell}/groups")
    assert reply.status == 200, reply.body
    body: dict[str, Any] = reply.body
    return body


def by_name(listing: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {group["name"]: group for group in listing["groups"]}


async def audit_since(world: World, seq: int) -> list[dict[str, Any]]:
    operator = await world.as_user("operator")
    entries: list[dict[str, Any]] = (await operator.get(f"/api/v1/audit/log?after={seq}")).body["entries"]
    return entries


def officer(member_id: int, full_name: str) -> dict[str, Any]:
    return {"member_id": member_id, "full_name": full_name}


async def import_with_groups(client: ApiClient, cell: int, content: bytes, filename: str) -> Reply:
    kind = "text/csv" if filename.endswith(".csv") else "application/octet-stream"
    return await client.post(
        f"/api/v1/orgs/{cell}/members/import?filename={filename}&create_groups=true",
        data=content,
        headers={"Content-Type": kind},
    )


def register_rows(start: int, count: int) -> bytes:
    lines = ["Họ và tên,Đảng viên"] + [f"Đảng Viên Thêm {n},chính thức" for n in range(start, start + count)]
    return "\n".join(lines).encode()


# --- the life of a group ---------------------------------------------------------------------


async def test_a_secretary_creates_staffs_moves_and_dissolves_party_groups(world: World) -> None:
    sec_a = await world.as_user("sec_a")
    a, a1 = world.orgs["A"], world.orgs["A1"]
    one, two, three, four, five, linked = world.members["A"]
    assert await groups_of(sec_a, a) == {
        "org_id": a,
        "groups": [
            {
                "id": a1,
                "org_id": a,
                "name": "Tổ đảng số 1",
                "leader": None,
                "deputy": None,
                "member_ids": [linked],
                "member_count": 1,
            }
        ],
        "unassigned_member_ids": [one, two, three, four, five],
    }
    deputy_a = await world.as_user("deputy_a")  # the deputy secretary keeps the groups too
    seq = await audit_length(world)

    # Created with its members, leader and deputy; the name is trimmed.
    body = {
        "name": "  Tổ đảng số 2 ",
        "member_ids": [one, two, three, two],
        "leader_id": one,
        "deputy_id": two,
    }
    created = await sec_a.post(f"/api/v1/orgs/{a}/groups", body)
    assert created.status == 201, created.body
    g2 = created.body["id"]
    assert created.body == {
        "id": g2,
        "org_id": a,
        "name": "Tổ đảng số 2",
        "leader": officer(one, "Nguyễn Văn Một"),
        "deputy": officer(two, "Trần Thị Hai"),
        "member_ids": [one, two, three],
        "member_count": 3,
    }
    assert (await sec_a.get(f"/api/v1/members/{one}")).body["group_id"] == g2
    # it is a party group of the cell in the tree, in the cell's time zone
    org = (await sec_a.get(f"/api/v1/orgs/{g2}")).body
    assert (org["kind"], org["parent_id"], org["timezone"]) == ("group", a, "Asia/Ho_Chi_Minh")

    # Renamed, and leader and deputy swapped, in one change.
    reply = await sec_a.patch(f"/api/v1/groups/{g2}", {"name": "Tổ Hai", "leader_id": two, "deputy_id": one})
    assert reply.status == 200, reply.body
    assert (reply.body["name"], reply.body["leader"], reply.body["deputy"]) == (
        "Tổ Hai",
        officer(two, "Trần Thị Hai"),
        officer(one, "Nguyễn Văn Một"),
    )
    reply = await deputy_a.patch(f"/api/v1/groups/{a1}", {"leader_id": linked})
    assert reply.body["leader"] == officer(linked, "Đảng Viên Có Tài Khoản"), reply.body

    # The deputy of Tổ Hai moves to group 1: the office stays behind, empty.
    reply = await sec_a.put(f"/api/v1/groups/{a1}/members", {"member_ids": [linked, one]})
    assert (reply.status, reply.body["member_ids"], reply.body["leader"]) == (
        200,
        [one, linked],
        officer(linked, "Đảng Viên Có Tài Khoản"),
    )
    listing = by_name(await groups_of(sec_a, a))
    assert (listing["Tổ Hai"]["deputy"], listing["Tổ Hai"]["member_ids"]) == (None, [two, three])

    # The leader leaves through their own record: the office goes with them.
    reply = await sec_a.patch(f"/api/v1/members/{two}", {"group_id": None})
    assert (reply.status, reply.body["group_id"]) == (200, None)
    assert by_name(await groups_of(sec_a, a))["Tổ Hai"]["leader"] is None

    # The whole membership at once: listed ones join, the others leave.
    reply = await sec_a.put(f"/api/v1/groups/{g2}/members", {"member_ids": [three, four]})
    assert reply.body["member_ids"] == [three, four]
    reply = await sec_a.patch(f"/api/v1/groups/{g2}", {"leader_id": four, "deputy_id": three})
    assert reply.status == 200, reply.body
    reply = await sec_a.put(f"/api/v1/groups/{g2}/members", {"member_ids": [four]})
    assert (reply.body["member_ids"], reply.body["deputy"]) == ([four], None)
    assert reply.body["leader"] == officer(four, "Phạm Thị Bốn")
    reply = await sec_a.patch(f"/api/v1/groups/{g2}", {"leader_id": None})
    assert reply.body["leader"] is None

    listing_body = await groups_of(sec_a, a)
    assert listing_body["unassigned_member_ids"] == [two, three, five]
    assert {g["name"]: g["member_count"] for g in listing_body["groups"]} == {"Tổ đảng số 1": 2, "Tổ Hai": 1}

    actions = [(e["action"], e["target"]) for e in await audit_since(world, seq)]
    assert actions == [
        ("group.create", f"group:{g2}"),
        ("group.update", f"group:{g2}"),
        ("group.update", f"group:{a1}"),
        ("group.officers_removed", f"group:{g2}"),
        ("group.members", f"group:{a1}"),
        ("member.updated", f"member:{two}"),
        ("group.officers_removed", f"group:{g2}"),
        ("group.members", f"group:{g2}"),
        ("group.update", f"group:{g2}"),
        ("group.officers_removed", f"group:{g2}"),
        ("group.members", f"group:{g2}"),
        ("group.update", f"group:{g2}"),
    ]
    entries = await audit_since(world, seq)
    assert entries[0]["data"] == {
        "name": "Tổ đảng số 2",
        "member_ids": [one, two, three],
        "moved": [],
        "leader_id": one,
        "deputy_id": two,
    }
    assert entries[1]["data"] == {
        "before": {"deputy_id": two, "leader_id": one, "name": "Tổ đảng số 2"},
        "after": {"deputy_id": one, "leader_id": two, "name": "Tổ Hai"},
    }
    assert entries[3]["data"] == {
        "reason": "left the group",
        "officers": [{"group_id": g2, "role": "deputy", "member_id": one}],
    }
    assert entries[4]["data"] == {
        "member_ids": [linked, one],
        "added": [one],
        "removed": [],
        "moved": [{"member_id": one, "from_group_id": g2}],
    }
    assert entries[6]["data"]["officers"] == [{"group_id": g2, "role": "leader", "member_id": two}]
    assert entries[10]["data"]["removed"] == [three]
    assert all(
        e["org"] == a and e["actor"] in (world.users["sec_a"], world.users["deputy_a"]) for e in entries
    )

    await _dissolving_keeps_the_group_out_of_everything_current(world, g2, four)


async def _dissolving_keeps_the_group_out_of_everything_current(world: World, g2: int, four: int) -> None:
    sec_a = await world.as_user("sec_a")
    a = world.orgs["A"]
    seq = await audit_length(world)
    reply = await sec_a.post(f"/api/v1/groups/{g2}/dissolve", {})
    assert reply.status == 200, reply.body
    assert (reply.body["id"], reply.body["name"]) == (g2, "Tổ Hai")
    assert reply.body["dissolved_at"].startswith("2026-11-23T08:00:00")
    [entry] = await audit_since(world, seq)
    assert (entry["action"], entry["target"], entry["data"]) == (
        "group.dissolve",
        f"group:{g2}",
        {"name": "Tổ Hai", "member_ids": [four], "leader_id": None, "deputy_id": None},
    )
    listing = await groups_of(sec_a, a)
    assert [g["name"] for g in listing["groups"]] == ["Tổ đảng số 1"]
    assert four in listing["unassigned_member_ids"]
    assert (await sec_a.get(f"/api/v1/members/{four}")).body["group_id"] is None

    # The record of the group stays readable; every change to it is 404, assignment to it 422.
    assert (await sec_a.get(f"/api/v1/orgs/{g2}")).status == 200
    seq = await audit_length(world)
    for method, path, body in (
        ("PATCH", f"/api/v1/groups/{g2}", {"name": "Tổ Hai Mới"}),
        ("PUT", f"/api/v1/groups/{g2}/members", {"member_ids": [four]}),
        ("POST", f"/api/v1/groups/{g2}/dissolve", {}),
    ):
        assert_error(await sec_a.request(method, path, body), 404, "not_found")
    assert_error(await sec_a.patch(f"/api/v1/members/{four}", {"group_id": g2}), 422, "invalid_group")
    row = {"full_name": "Vào Tổ Đã Giải Thể", "standing": "official", "group_id": g2}
    assert_error(await sec_a.post(f"/api/v1/orgs/{a}/members", row), 422, "invalid_group")
    assert_error(await sec_a.post(f"/api/v1/orgs/{g2}/meetings", GROUP_MEETING), 404, "not_found")
    assert await audit_length(world) == seq
    assert await groups_of(sec_a, a) == listing
    # its name may be used again
    again = await sec_a.post(f"/api/v1/orgs/{a}/groups", {"name": "tổ hai"})
    assert again.status == 201 and again.body["id"] != g2, again.body


# --- refusals ------------------------------------------------------------------------------


async def test_every_refusal_names_its_reason_and_changes_nothing(world: World) -> None:
    sec_a, sec_b = await world.as_user("sec_a"), await world.as_user("sec_b")
    a, a1, b = world.orgs["A"], world.orgs["A1"], world.orgs["B"]
    one, two, three, *_rest, linked = world.members["A"]
    created = await sec_a.post(
        f"/api/v1/orgs/{a}/groups", {"name": "Tổ Hai", "member_ids": [one, two], "leader_id": one}
    )
    assert created.status == 201, created.body
    g2 = created.body["id"]
    member_a, auditor_p = await world.as_user("member_a"), await world.as_user("auditor_p")
    admin_c, operator = await world.as_user("admin_c"), await world.as_user("operator")
    before = await groups_of(sec_a, a)
    seq = await audit_length(world)  # after the logins, which are audited
    groups, group = f"/api/v1/orgs/{a}/groups", f"/api/v1/groups/{g2}"
    long_name = "T" * 201
    cases: list[tuple[ApiClient, str, str, Any, int, str]] = [
        # the name: unique among the cell's groups whatever the case and spacing; 1..200 characters
        (sec_a, "POST", groups, {"name": " tổ đảng   SỐ 1 "}, 409, "group_name_taken"),
        (sec_a, "POST", groups, {"name": "   "}, 422, "validation_error"),
        (sec_a, "POST", groups, {"name": long_name}, 422, "validation_error"),
        (sec_a, "POST", groups, {}, 422, "validation_error"),
        (sec_a, "PATCH", group, {"name": "TỔ ĐẢNG SỐ 1"}, 409, "group_name_taken"),
        (sec_a, "PATCH", group, {"name": None}, 422, "validation_error"),
        (sec_a, "PATCH", group, {"colour": "đỏ"}, 422, "validation_error"),
        # only under a cell
        (sec_a, "POST", f"/api/v1/orgs/{a1}/groups", {"name": "Tổ con"}, 422, "invalid_org_kind"),
        (
            admin_c,
            "POST",
            f"/api/v1/orgs/{world.orgs['G']}/groups",
            {"name": "Tổ"},
            422,
            "invalid_org_kind",
        ),
        # members of the cell only; officers are members of the group, and two people
        (
            sec_a,
            "POST",
            groups,
            {"name": "Tổ Ba", "member_ids": [world.members["B"][0]]},
            422,
            "invalid_member",
        ),
        (sec_a, "POST", groups, {"name": "Tổ Ba", "member_ids": [987_654]}, 422, "invalid_member"),
        (
            sec_a,
            "POST",
            groups,
            {"name": "Tổ Ba", "member_ids": [three], "leader_id": one},
            422,
            "not_in_group",
        ),
        (
            sec_a,
            "POST",
            groups,
            {"name": "Tổ Ba", "member_ids": [three], "leader_id": three, "deputy_id": three},
            422,
            "same_officer",
        ),
        (sec_a, "PATCH", group, {"deputy_id": three}, 422, "not_in_group"),
        (sec_a, "PATCH", group, {"deputy_id": linked}, 422, "not_in_group"),
        (sec_a, "PATCH", group, {"deputy_id": one}, 422, "same_officer"),
        (sec_a, "PUT", f"{group}/members", {"member_ids": [world.members["B"][0]]}, 422, "invalid_member"),
        (sec_a, "PUT", f"{group}/members", {}, 422, "validation_error"),
        # rights: the register's readers and writers; another unit's group does not exist
        (member_a, "POST", groups, {"name": "Tổ Ba"}, 403, "forbidden"),
        (member_a, "GET", groups, None, 403, "forbidden"),
        (auditor_p, "PATCH", group, {"name": "Tổ Ba"}, 403, "forbidden"),
        (auditor_p, "POST", f"{group}/dissolve", {}, 403, "forbidden"),
        (operator, "POST", groups, {"name": "Tổ Ba"}, 403, "forbidden"),
        (sec_b, "GET", groups, None, 404, "not_found"),
        (sec_b, "PATCH", group, {"name": "Tổ Ba"}, 404, "not_found"),
        (sec_b, "PUT", f"{group}/members", {"member_ids": []}, 404, "not_found"),
        (sec_b, "POST", f"{group}/dissolve", {}, 404, "not_found"),
        (sec_a, "PATCH", f"/api/v1/groups/{a}", {"name": "Không phải tổ"}, 404, "not_found"),
        (sec_a, "PATCH", f"/api/v1/groups/{b}", {"name": "Không phải tổ"}, 404, "not_found"),
    ]
    for client, method, path, body, status, code in cases:
        reply = await client.request(method, path, body)
        error = assert_error(reply, status, code)
        assert is_vietnamese(error["message"]) or status in (403, 404), (path, body, error)
    assert await groups_of(sec_a, a) == before
    assert await audit_length(world) == seq
    # the caller's language, and the name that is taken
    english = await (await world.as_user("sec_a", "en")).post(groups, {"name": "tổ đảng số 1"})
    error = assert_error(english, 409, "group_name_taken")
    assert error["message"] == "The cell already has a party group named 'Tổ đảng số 1'."
    assert error["details"] == {"group_id": a1}
    error = assert_error(await sec_a.patch(group, {"deputy_id": three}), 422, "not_in_group")
    assert error["details"]["fields"] == {"deputy_id": "'deputy_id' must be a member assigned to this group."}


# --- R-GROUP-2 and dissolving a group that meets ------------------------------------------------


async def test_group_meetings_need_fifty_members_and_a_group_that_is_not_dissolved(world: World) -> None:
    sec_a, sec_b = await world.as_user("sec_a"), await world.as_user("sec_b")
    a, a1, b = world.orgs["A"], world.orgs["A1"], world.orgs["B"]

    async def decision(cell: int) -> tuple[bool, dict[str, int]]:
        body = (
            (await sec_a.get(f"/api/v1/orgs/{cell}/group-eligibility")).body
            if cell == a
            else (await sec_b.get(f"/api/v1/orgs/{cell}/group-eligibility")).body
        )
        assert body["rule"] == "R-GROUP-2", body
        return body["outcome"], body["counts"]

    # Cell B: 4 members and no group.
    assert (await import_file(sec_b, b, register_rows(1, 45), "x.csv")).status == 201
    assert await decision(b) == (False, {"members": 49, "groups": 0, "min_members": 50})
    created = await sec_b.post(f"/api/v1/orgs/{b}/groups", {"name": "Tổ Văn Phòng"})
    assert created.status == 201, created.body
    assert await decision(b) == (False, {"members": 49, "groups": 1, "min_members": 50})
    row = {"full_name": "Đảng Viên Thứ Năm Mươi", "standing": "official"}
    assert (await sec_b.post(f"/api/v1/orgs/{b}/members", row)).status == 201
    assert await decision(b) == (True, {"members": 50, "groups": 1, "min_members": 50})
    assert (await sec_b.post(f"/api/v1/groups/{created.body['id']}/dissolve", {})).status == 200
    assert await decision(b) == (False, {"members": 50, "groups": 0, "min_members": 50})

    # Cell A: 6 members in one group; 49, then 50 through the import.
    assert (await import_file(sec_a, a, register_rows(100, 43), "x.csv")).status == 201
    assert await decision(a) == (False, {"members": 49, "groups": 1, "min_members": 50})
    assert (await import_file(sec_a, a, register_rows(200, 1), "x.csv")).status == 201
    assert await decision(a) == (True, {"members": 50, "groups": 1, "min_members": 50})

    # The group meets (R-GROUP-2 approved): it cannot be dissolved until that meeting is over.
    application = await sec_a.post(f"/api/v1/orgs/{a}/pilot-applications", {"kind": "group"})
    assert application.status == 201, application.body
    approver = await world.as_user("approver_c")
    decided = await approver.post(f"/api/v1/pilot-applications/{application.body['id']}/decision", DECISION)
    assert decided.status == 200, decided.body
    meeting = await sec_a.post(f"/api/v1/orgs/{a1}/meetings", GROUP_MEETING)
    assert meeting.status == 201, meeting.body
    before, seq = await groups_of(sec_a, a), await audit_length(world)
    error = assert_error(await sec_a.post(f"/api/v1/groups/{a1}/dissolve", {}), 409, "group_has_meetings")
    assert error["details"] == {"meeting_ids": [meeting.body["id"]]}
    assert "sinh hoạt" in error["message"]
    assert await groups_of(sec_a, a) == before
    assert await audit_length(world) == seq
    mid = meeting.body["id"]
    opened = await sec_a.post(f"/api/v1/meetings/{mid}/open", {"override_reason": "Thử giải thể tổ"})
    assert opened.status == 200, opened.body
    assert_error(await sec_a.post(f"/api/v1/groups/{a1}/dissolve", {}), 409, "group_has_meetings")
    assert (await sec_a.post(f"/api/v1/meetings/{mid}/close", {})).status == 200

    reply = await sec_a.post(f"/api/v1/groups/{a1}/dissolve")
    assert reply.status == 200, reply.body
    # the meeting it held is history, kept; the cell no longer has groups; nothing new is scheduled by it
    kept = await sec_a.get(f"/api/v1/meetings/{mid}")
    assert (kept.status, kept.body["org_id"], kept.body["status"]) == (200, a1, "closed")
    assert await decision(a) == (False, {"members": 50, "groups": 0, "min_members": 50})
    assert_error(await sec_a.post(f"/api/v1/orgs/{a1}/meetings", GROUP_MEETING), 404, "not_found")


# --- the import ------------------------------------------------------------------------------


async def test_the_import_assigns_offices_and_creates_the_groups_it_names(world: World) -> None:
    sec_a = await world.as_user("sec_a")
    a, a1 = world.orgs["A"], world.orgs["A1"]
    content = (
        "Họ và tên,Đảng viên,Tổ đảng,Chức vụ trong tổ\n"
        "Hà Văn Trưởng,chính thức,Tổ đảng số 1,Tổ trưởng\n"
        "Hà Thị Phó,chính thức,Tổ Boong Tàu,tổ phó\n"
        "Hà Văn Thường,dự bị,tổ  boong tàu,\n"
    ).encode()
    before_members = (await sec_a.get(f"/api/v1/orgs/{a}/members")).body["members"]
    before, seq = await groups_of(sec_a, a), await audit_length(world)

    # Without create_groups an unknown group is each row's error, and nothing is written.
    error = assert_error(await import_file(sec_a, a, content, "x.csv"), 422, "import_invalid")
    assert [(e["line"], e["column"], e["code"]) for e in error["details"]["errors"]] == [
        (3, "group", "unknown_group"),
        (4, "group", "unknown_group"),
    ]
    assert await groups_of(sec_a, a) == before and await audit_length(world) == seq

    reply = await import_with_groups(sec_a, a, content, "x.csv")
    assert (reply.status, reply.body) == (201, {"imported": 3}), reply.body
    members = (await sec_a.get(f"/api/v1/orgs/{a}/members")).body["members"]
    added = {m["full_name"]: m["id"] for m in members if m not in before_members}
    listing = by_name(await groups_of(sec_a, a))
    assert set(listing) == {"Tổ đảng số 1", "Tổ Boong Tàu"}  # one group for both spellings
    deck = listing["Tổ Boong Tàu"]
    assert (deck["leader"], deck["deputy"]) == (None, officer(added["Hà Thị Phó"], "Hà Thị Phó"))
    assert deck["member_ids"] == [added["Hà Thị Phó"], added["Hà Văn Thường"]]
    assert listing["Tổ đảng số 1"]["leader"] == officer(added["Hà Văn Trưởng"], "Hà Văn Trưởng")
    entries = await audit_since(world, seq)
    assert [e["action"] for e in entries] == [
        "group.create",
        "group.update",
        "group.update",
        "members.imported",
    ]
    assert (entries[0]["data"]["name"], entries[0]["data"]["source"]) == ("Tổ Boong Tàu", "import")
    assert entries[1]["data"] == {
        "before": {"leader_id": None},
        "after": {"leader_id": added["Hà Văn Trưởng"]},
        "source": "import",
    }
    assert entries[3]["data"]["groups_created"] == [deck["id"]]

    # A later file's leader replaces the one in office (audited), as a multipart form with the option.
    form = aiohttp.FormData()
    form.add_field("create_groups", "on")
    form.add_field(
        "file",
        "Họ và tên,Đảng viên,Tổ đảng,group_role\nLò Văn Mới,chính thức,TỔ ĐẢNG SỐ 1,leader\n"
        "Lò Thị Bếp,chính thức,Tổ Bếp,deputy\n".encode(),
        filename="them.csv",
        content_type="text/csv",
    )
    seq = await audit_length(world)
    reply = await sec_a.post(f"/api/v1/orgs/{a}/members/import", data=form)
    assert (reply.status, reply.body) == (201, {"imported": 2}), reply.body
    listing = by_name(await groups_of(sec_a, a))
    assert listing["Tổ đảng số 1"]["leader"]["full_name"] == "Lò Văn Mới"
    assert listing["Tổ Bếp"]["deputy"]["full_name"] == "Lò Thị Bếp"
    replaced = [e for e in await audit_since(world, seq) if e["target"] == f"group:{a1}"]
    assert [e["data"]["before"] for e in replaced] == [{"leader_id": added["Hà Văn Trưởng"]}]

    # Offices the file gets wrong are its lines' errors; nothing is written.
    rows: list[list[Any]] = [
        ["Họ và tên", "Đảng viên", "Tổ đảng", "Chức vụ trong tổ đảng"],
        ["Ma Văn Một", "chính thức", "Tổ Bếp", "thư ký"],
        ["Ma Văn Hai", "chính thức", "Tổ Bếp", "Tổ trưởng"],
        ["Ma Văn Ba", "chính thức", "tổ bếp", "TO TRUONG"],
        ["Ma Văn Bốn", "chính thức", None, "tổ phó"],
    ]
    before, seq = await groups_of(sec_a, a), await audit_length(world)
    error = assert_error(await import_with_groups(sec_a, a, xlsx(rows), "x.xlsx"), 422, "import_invalid")
    problems = {e["line"]: e for e in error["details"]["errors"]}
    assert {line: (e["column"], e["code"]) for line, e in problems.items()} == {
        2: ("group_role", "invalid_value"),
        4: ("group_role", "duplicate"),
        5: ("group_role", "group_required"),
    }
    assert "tổ trưởng hoặc tổ phó" in problems[2]["message_vi"]
    assert problems[4]["message_vi"] == (
        "Dòng 4: tổ 'tổ bếp' đã có tổ trưởng ở dòng 3; mỗi tổ chỉ có một tổ trưởng."
    )
    assert problems[5]["message_en"].startswith("Line 5: column 'Chức vụ trong tổ đảng' names a deputy")
    assert await groups_of(sec_a, a) == before and await audit_length(world) == seq

    # A dissolved group's name is not matched any more.
    assert (await sec_a.post(f"/api/v1/groups/{listing['Tổ Bếp']['id']}/dissolve", {})).status == 200
    content = "Họ và tên,Đảng viên,Tổ đảng\nMa Văn Năm,chính thức,Tổ Bếp\n".encode()
    error = assert_error(await import_file(sec_a, a, content, "x.csv"), 422, "import_invalid")
    assert [e["code"] for e in error["details"]["errors"]] == ["unknown_group"]
