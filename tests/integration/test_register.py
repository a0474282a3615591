"""The organisation tree, the register of members, its import (CSV/XLSX), eligibility (R-ELIG, R-GROUP-2).

Everything through the public API of a real server, on SQLite and PostgreSQL; "nothing written" is
checked by what a user would see: the lists before and after, and the audit log's length.
"""

from __future__ import annotations

from typing import Any

from tests.integration.harness import ApiClient
from tests.integration.helpers import assert_error, audit_length, import_file, is_vietnamese, member_ids, xlsx
from tests.integration.world import World


async def org_ids(client: ApiClient) -> list[int]:
    reply = await client.get("/api/v1/orgs")
    assert reply.status == 200
    return [org["id"] for org in reply.body["orgs"]]


# --- the organisation tree -----------------------------------------------------------------


async def test_the_org_tree_accepts_valid_places_and_refuses_wrong_parents_and_time_zones(
    world: World,
) -> None:
    await _orgs_of_every_kind_in_valid_places(world)
    await _wrong_parents_create_nothing(world)
    await _unknown_time_zones_are_refused(world)


async def _orgs_of_every_kind_in_valid_places(world: World) -> None:
    operator = await world.as_user("operator")
    created: dict[str, dict[str, Any]] = {}
    plan = [
        ("province", "province", None, {"timezone": "Asia/Bangkok"}),
        ("committee", "committee", "province", {}),
        ("nested committee", "committee", "committee", {}),
        ("grassroots under province", "grassroots", "province", {}),
        ("grassroots", "grassroots", "nested committee", {}),
        ("cell", "cell", "grassroots", {}),
        ("cell under committee", "cell", "committee", {"timezone": "Asia/Ho_Chi_Minh"}),
        ("group", "group", "cell", {}),
    ]
    for key, kind, parent, extra in plan:
        body = {
            "name": f"Tổ chức {key}",
            "kind": kind,
            "parent_id": created[parent]["id"] if parent else None,
            **extra,
        }
        reply = await operator.post("/api/v1/orgs", body)
        assert reply.status == 201, (key, reply.body)
        assert (reply.body["kind"], reply.body["name"]) == (kind, f"Tổ chức {key}")
        created[key] = reply.body
    # a unit inherits its parent's time zone unless it names one
    assert created["group"]["timezone"] == "Asia/Bangkok"
    assert created["cell under committee"]["timezone"] == "Asia/Ho_Chi_Minh"
    assert created["province"]["parent_id"] is None
    listed = {org["id"]: org for org in (await operator.get("/api/v1/orgs")).body["orgs"]}
    for key, org in created.items():
        assert listed[org["id"]] == org, key
    # a province auditor elsewhere does not see the new province
    assert not {org["id"] for org in created.values()} & set(await org_ids(await world.as_user("auditor_p")))


async def _wrong_parents_create_nothing(world: World) -> None:
    operator = await world.as_user("operator")
    operator_en = await world.as_user("operator", "en")
    before = await org_ids(operator)
    seq = await audit_length(world)
    o = world.orgs
    cases = [
        ("cell under province", "cell", o["P"]),
        ("group under grassroots", "group", o["G"]),
        ("province with a parent", "province", o["P"]),
        ("grassroots under a cell", "grassroots", o["A"]),
        ("committee under grassroots", "committee", o["G"]),
        ("group under a group", "group", o["A1"]),
        ("cell at the root", "cell", None),
        ("group at the root", "group", None),
    ]
    for name, kind, parent in cases:
        body = {"name": f"Sai cấp: {name}", "kind": kind, "parent_id": parent}
        error = assert_error(await operator.post("/api/v1/orgs", body), 422, "invalid_parent")
        assert is_vietnamese(error["message"]), (name, error)
        assert f"'{kind}'" in error["message"]
        assert error["details"]["kind"] == kind
        english = assert_error(await operator_en.post("/api/v1/orgs", body), 422, "invalid_parent")
        assert not is_vietnamese(english["message"]) and "cannot sit under" in english["message"], english
        assert english["details"] == error["details"]
    assert await org_ids(operator) == before
    assert await audit_length(world) == seq  # no org, no audit row


async def _unknown_time_zones_are_refused(world: World) -> None:
    operator = await world.as_user("operator")
    before = await org_ids(operator)
    body = {
        "name": "Chi bộ Sao Hỏa",
        "kind": "cell",
        "parent_id": world.orgs["G"],
        "timezone": "Mars/Olympus",
    }
    error = assert_error(await operator.post("/api/v1/orgs", body), 422, "invalid_timezone")
    assert "Mars/Olympus" in error["message"] and is_vietnamese(error["message"])
    assert "timezone" in error["details"]["fields"]
    error = assert_error(
        await operator.patch(f"/api/v1/orgs/{world.orgs['A']}", {"timezone": "Asia/Hanoi"}),
        422,
        "invalid_timezone",
    )
    assert await org_ids(operator) == before
    assert (await operator.get(f"/api/v1/orgs/{world.orgs['A']}")).body["timezone"] == "Asia/Ho_Chi_Minh"
    # a real one is accepted
    reply = await operator.patch(f"/api/v1/orgs/{world.orgs['QA']}", {"timezone": "Asia/Bangkok"})
    assert (reply.status, reply.body["timezone"]) == (200, "Asia/Bangkok")


async def test_bad_input_is_refused_naming_the_field_in_the_callers_language_and_writes_nothing(
    world: World,
) -> None:
    await _wrong_enum_values(world)
    await _missing_fields(world)
    await _errors_in_the_callers_language(world)


async def _wrong_enum_values(world: World) -> None:
    operator, sec_a = await world.as_user("operator"), await world.as_user("sec_a")
    a = world.orgs["A"]
    orgs_before, members_before = await org_ids(operator), await member_ids(sec_a, a)
    grants_before = (await operator.get(f"/api/v1/orgs/{a}/grants")).body
    seq = await audit_length(world)
    good_member = {"full_name": "Đảng Viên Mới", "standing": "official"}
    cases: list[tuple[str, str, str, dict[str, Any]]] = [
        (
            "kind",
            "POST",
            "/api/v1/orgs",
            {"name": "Chi bộ X", "kind": "chi_bo", "parent_id": world.orgs["G"]},
        ),
        ("standing", "POST", f"/api/v1/orgs/{a}/members", {**good_member, "standing": "chinh_thuc"}),
        ("activity", "POST", f"/api/v1/orgs/{a}/members", {**good_member, "activity": "retired"}),
        ("remote_reason", "POST", f"/api/v1/orgs/{a}/members", {**good_member, "remote_reason": "lazy"}),
        ("role", "POST", f"/api/v1/orgs/{a}/grants", {"user_id": world.users["outsider"], "role": "owner"}),
        ("standing", "PATCH", f"/api/v1/members/{world.members['A'][0]}", {"standing": "OFFICIAL"}),
        ("remote_reason", "PATCH", f"/api/v1/members/{world.members['A'][0]}", {"remote_reason": "none"}),
    ]
    for field, method, path, body in cases:
        client = operator if field in ("kind", "role") else sec_a
        error = assert_error(await client.request(method, path, body), 422, "validation_error")
        assert field in error["details"]["fields"], (field, error)
        assert error["details"]["fields"][field]["type"] == "enum"
        assert f"'{field}'" in error["message"] and "không thuộc danh sách cho phép" in error["message"], (
            error
        )
    assert await org_ids(operator) == orgs_before
    assert await member_ids(sec_a, a) == members_before
    assert (await operator.get(f"/api/v1/orgs/{a}/grants")).body == grants_before
    first = (await sec_a.get(f"/api/v1/members/{world.members['A'][0]}")).body
    assert (first["standing"], first["remote_reason"]) == ("official", "seafarer_offshore_island")
    assert await audit_length(world) == seq


async def _missing_fields(world: World) -> None:
    operator, sec_a = await world.as_user("operator"), await world.as_user("sec_a")
    a = world.orgs["A"]
    members_before = await member_ids(sec_a, a)
    cases: list[tuple[ApiClient, str, dict[str, Any], set[str]]] = [
        (operator, "/api/v1/orgs", {"kind": "cell", "parent_id": world.orgs["G"]}, {"name"}),
        (operator, "/api/v1/orgs", {"name": "Chi bộ thiếu loại", "parent_id": world.orgs["G"]}, {"kind"}),
        (sec_a, f"/api/v1/orgs/{a}/members", {"standing": "official"}, {"full_name"}),
        (sec_a, f"/api/v1/orgs/{a}/members", {"full_name": "Thiếu Loại Đảng Viên"}, {"standing"}),
        (sec_a, f"/api/v1/orgs/{a}/members", {}, {"full_name", "standing"}),
        (operator, f"/api/v1/orgs/{a}/grants", {"user_id": world.users["outsider"]}, {"role"}),
    ]
    for client, path, body, fields in cases:
        error = assert_error(await client.post(path, body), 422, "validation_error")
        assert set(error["details"]["fields"]) == fields, error
        assert all(f["type"] == "missing" for f in error["details"]["fields"].values())
        assert "thiếu trường bắt buộc" in error["message"]
    # a required field cannot be cleared either
    reply = await sec_a.patch(f"/api/v1/members/{members_before[0]}", {"standing": None})
    assert "standing" in assert_error(reply, 422, "validation_error")["details"]["fields"]
    assert await member_ids(sec_a, a) == members_before


async def _errors_in_the_callers_language(world: World) -> None:
    """Every error has a code and a message: Vietnamese by default, English on Accept-Language: en."""
    a = world.orgs["A"]
    attempts: list[tuple[str, str, str, Any, int, str]] = [
        ("sec_a", "POST", f"/api/v1/orgs/{a}/members", {"standing": "official"}, 422, "validation_error"),
        (
            "operator",
            "POST",
            "/api/v1/orgs",
            {"name": "X", "kind": "cell", "parent_id": world.orgs["P"]},
            422,
            "invalid_parent",
        ),
        (
            "sec_b",
            "POST",
            f"/api/v1/orgs/{world.orgs['B']}/members",
            {"full_name": "Trùng", "standing": "official", "user_id": world.users["member_a"]},
            409,
            "member_in_two_cells",
        ),
        ("sec_q", "GET", f"/api/v1/orgs/{a}", None, 404, "not_found"),
        (
            "auditor_p",
            "PATCH",
            f"/api/v1/members/{world.members['A'][0]}",
            {"activity": "exempt"},
            403,
            "forbidden",
        ),
        (
            "sec_a",
            "POST",
            f"/api/v1/orgs/{world.orgs['P']}/pilot-applications",
            {"kind": "online"},
            404,
            "not_found",
        ),
    ]
    for username, method, path, body, status, code in attempts:
        vi = await world.as_user(username)
        en = await world.as_user(username, "en")
        default = await vi.request(method, path, body, headers={"Accept-Language": ""})
        english = await en.request(method, path, body)
        for reply in (default, english):
            assert (reply.status, reply.error_code) == (status, code), (path, reply.body)
        assert is_vietnamese(default.body["error"]["message"]), default.body
        assert not is_vietnamese(english.body["error"]["message"]), english.body
        assert default.body["error"]["details"] == english.body["error"]["details"]


# --- the register --------------------------------------------------------------------------


async def test_the_register_keeps_members_in_one_cell_and_its_groups(world: World) -> None:
    await _member_in_two_cells(world)
    await _members_in_cells_only(world)
    await _group_of_another_cell(world)
    await _patch_changes_standing(world)


async def _member_in_two_cells(world: World) -> None:
    sec_a, sec_b = await world.as_user("sec_a"), await world.as_user("sec_b")
    user_id = await world.add_user("dang_vien_chuyen_den")
    row = {"full_name": "Đảng Viên Chuyển Đến", "standing": "official", "user_id": user_id}
    first = await sec_a.post(f"/api/v1/orgs/{world.orgs['A']}/members", row)
    assert first.status == 201 and first.body["user_id"] == user_id
    b_before = await member_ids(sec_b, world.orgs["B"])
    seq = await audit_length(world)
    error = assert_error(
        await sec_b.post(f"/api/v1/orgs/{world.orgs['B']}/members", row), 409, "member_in_two_cells"
    )
    assert is_vietnamese(error["message"]) and "một chi bộ" in error["message"]
    # cell B's secretary learns that the person is registered elsewhere, nothing of cell A's records
    assert str(first.body["id"]) not in str(error)
    # linking an existing member of B to the same account is the same conflict
    reply = await sec_b.patch(f"/api/v1/members/{b_before[0]}", {"user_id": user_id})
    assert_error(reply, 409, "member_in_two_cells")
    assert await member_ids(sec_b, world.orgs["B"]) == b_before
    assert (await sec_b.get(f"/api/v1/members/{b_before[0]}")).body["user_id"] is None
    assert await audit_length(world) == seq
    # the member's own cell may re-save the same link
    again = await sec_a.patch(f"/api/v1/members/{first.body['id']}", {"user_id": user_id})
    assert again.status == 200


async def _members_in_cells_only(world: World) -> None:
    admin_c, sec_a = await world.as_user("admin_c"), await world.as_user("sec_a")
    before = await member_ids(admin_c, world.orgs["G"])
    row = {"full_name": "Đặt Nhầm Chỗ", "standing": "official"}
    for client, org in ((admin_c, "G"), (admin_c, "C"), (sec_a, "A1")):
        error = assert_error(
            await client.post(f"/api/v1/orgs/{world.orgs[org]}/members", row), 422, "invalid_org_kind"
        )
        assert "chi bộ" in error["message"], error
    assert await member_ids(admin_c, world.orgs["G"]) == before


async def _group_of_another_cell(world: World) -> None:
    sec_b, sec_a = await world.as_user("sec_b"), await world.as_user("sec_a")
    before = await member_ids(sec_b, world.orgs["B"])
    row = {"full_name": "Nhầm Tổ Đảng", "standing": "official"}
    for group in ("A1", "A", "G"):  # a group of cell A, a cell, a committee
        reply = await sec_b.post(
            f"/api/v1/orgs/{world.orgs['B']}/members", {**row, "group_id": world.orgs[group]}
        )
        error = assert_error(reply, 422, "invalid_group")
        assert error["details"]["fields"] == {"group_id": "not a group of this cell"}
    reply = await sec_b.patch(f"/api/v1/members/{before[0]}", {"group_id": world.orgs["A1"]})
    assert_error(reply, 422, "invalid_group")
    assert await member_ids(sec_b, world.orgs["B"]) == before
    # A's own group is fine for A's member
    reply = await sec_a.patch(f"/api/v1/members/{world.members['A'][0]}", {"group_id": world.orgs["A1"]})
    assert (reply.status, reply.body["group_id"]) == (200, world.orgs["A1"])


async def _patch_changes_standing(world: World) -> None:
    sec_a = await world.as_user("sec_a")
    probationary = world.members["A"][4]  # Hoàng Văn Năm
    assert (await sec_a.get(f"/api/v1/members/{probationary}")).body["standing"] == "probationary"
    reply = await sec_a.patch(f"/api/v1/members/{probationary}", {"standing": "official"})
    assert reply.status == 200
    assert (reply.body["standing"], reply.body["full_name"]) == ("official", "Hoàng Văn Năm")
    listed = {
        m["id"]: m for m in (await sec_a.get(f"/api/v1/orgs/{world.orgs['A']}/members")).body["members"]
    }
    assert listed[probationary]["standing"] == "official"
    assert listed[probationary]["activity"] == "active"


# --- importing the register ----------------------------------------------------------------


async def test_an_import_with_a_bad_row_imports_nothing_and_names_its_line(world: World) -> None:
    await _csv_import(world)
    await _xlsx_import(world)
    await _unknown_group_in_import(world)


async def _csv_import(world: World) -> None:
    sec_a = await world.as_user("sec_a")
    a = world.orgs["A"]
    before = await member_ids(sec_a, a)
    content = (
        "Họ và tên,Đảng viên,Lý do\n"
        "Nguyễn Thị Nhập,chính thức,ở nước ngoài\n"
        "Trần Văn Nhập,dự bị,\n"
        "Lê Thị Sai,đảng viên lâu năm,\n"
        "Phạm Văn Nhập,chính thức,thuyền viên / giàn khoan / hải đảo\n"
    ).encode()
    error = assert_error(await import_file(sec_a, a, content, "x.csv"), 422, "import_invalid")
    assert "dòng 4" in error["message"] and "không có đảng viên nào được nhập" in error["message"]
    [bad] = error["details"]["errors"]
    assert (bad["line"], bad["column"], bad["code"]) == (4, "standing", "invalid_value")
    assert bad["message_vi"].startswith("Dòng 4:") and "đảng viên lâu năm" in bad["message_vi"]
    assert await member_ids(sec_a, a) == before
    # fixed, the same file imports every row
    good = content.replace("đảng viên lâu năm".encode(), "chính thức".encode())
    reply = await import_file(sec_a, a, good, "x.csv")
    assert (reply.status, reply.body) == (201, {"imported": 4})
    members = (await sec_a.get(f"/api/v1/orgs/{a}/members")).body["members"]
    added = {m["full_name"]: m for m in members if m["id"] not in before}
    assert set(added) == {"Nguyễn Thị Nhập", "Trần Văn Nhập", "Lê Thị Sai", "Phạm Văn Nhập"}
    assert (added["Nguyễn Thị Nhập"]["standing"], added["Nguyễn Thị Nhập"]["remote_reason"]) == (
        "official",
        "abroad",
    )
    assert (added["Trần Văn Nhập"]["standing"], added["Trần Văn Nhập"]["remote_reason"]) == (
        "probationary",
        None,
    )
    assert added["Phạm Văn Nhập"]["remote_reason"] == "seafarer_offshore_island"
    assert all(m["activity"] == "active" and m["org_id"] == a for m in added.values())


async def _xlsx_import(world: World) -> None:
    sec_b = await world.as_user("sec_b", "en")
    b = world.orgs["B"]
    before = await member_ids(sec_b, b)
    rows: list[list[Any]] = [
        ["DANH SÁCH ĐẢNG VIÊN CHI BỘ VĂN PHÒNG"],
        ["STT", "Họ và tên", "Đảng viên", "Lý do"],
        [1, "Đinh Văn Một", "chính thức", "làm việc xa nơi cư trú"],
        [2, "Lý Thị Hai", "dự bị", None],
        [3, None, "chính thức", "y tế"],
    ]
    error = assert_error(await import_file(sec_b, b, xlsx(rows), "x.xlsx"), 422, "import_invalid")
    assert "5" in error["message"] and "nothing was imported" in error["message"], error
    [bad] = error["details"]["errors"]
    assert (bad["line"], bad["column"], bad["code"]) == (5, "full_name", "required")  # the row Excel shows
    assert bad["message_vi"].startswith("Dòng 5:") and bad["message_en"].startswith("Line 5:")
    assert await member_ids(sec_b, b) == before
    rows[4][1] = "Mai Văn Ba"
    reply = await import_file(sec_b, b, xlsx(rows), "x.xlsx")
    assert (reply.status, reply.body) == (201, {"imported": 3})
    members = (await sec_b.get(f"/api/v1/orgs/{b}/members")).body["members"]
    added = {m["full_name"]: (m["standing"], m["remote_reason"]) for m in members if m["id"] not in before}
    assert added == {
        "Đinh Văn Một": ("official", "far_from_home"),
        "Lý Thị Hai": ("probationary", None),
        "Mai Văn Ba": ("official", "health"),
    }


async def _unknown_group_in_import(world: World) -> None:
    sec_a = await world.as_user("sec_a")
    a = world.orgs["A"]
    before = await member_ids(sec_a, a)
    content = (
        "Họ và tên,Đảng viên,Lý do,Tổ đảng\nHà Văn Tổ,chính thức,,tổ đảng số 1\nVõ Thị Tổ,chính thức,,Tổ 9\n"
    )
    error = assert_error(await import_file(sec_a, a, content.encode(), "x.csv"), 422, "import_invalid")
    [bad] = error["details"]["errors"]
    assert (bad["line"], bad["column"], bad["code"]) == (3, "group", "unknown_group")
    assert "Tổ 9" in bad["message_vi"]
    assert await member_ids(sec_a, a) == before
    reply = await import_file(sec_a, a, content.replace("Tổ 9", "Tổ đảng số 1").encode(), "x.csv")
    assert reply.status == 201
    members = (await sec_a.get(f"/api/v1/orgs/{a}/members")).body["members"]
    assert {m["full_name"]: m["group_id"] for m in members if m["id"] not in before} == {
        "Hà Văn Tổ": world.orgs["A1"],
        "Võ Thị Tổ": world.orgs["A1"],
    }


# --- eligibility ---------------------------------------------------------------------------


async def test_a_cell_qualifies_when_more_than_half_of_its_active_register_cannot_meet(world: World) -> None:
    await _decision_in_the_callers_language(world)
    await _exactly_half_does_not_qualify(world)
    await _exempt_and_suspended_leave_the_register(world)


async def _decision_in_the_callers_language(world: World) -> None:
    path = f"/api/v1/orgs/{world.orgs['A']}/eligibility"
    vi = await (await world.as_user("member_a")).get(path)
    en = await (await world.as_user("member_a", "en")).get(path)
    for reply in (vi, en):
        assert reply.status == 200
        assert {"outcome", "rule", "counts", "explanation"} <= set(reply.body)
        assert (reply.body["outcome"], reply.body["rule"]) == (True, "R-ELIG-2")
        assert (reply.body["counts"]["register"], reply.body["counts"]["cannot_meet_in_person"]) == (6, 4)
    assert vi.body["explanation"].startswith("Đủ điều kiện: 4/6")
    assert en.body["explanation"].startswith("Eligible: 4/6") and not is_vietnamese(en.body["explanation"])


async def _exactly_half_does_not_qualify(world: World) -> None:
    sec_b = await world.as_user("sec_b")
    path = f"/api/v1/orgs/{world.orgs['B']}/eligibility"
    first = await sec_b.get(path)
    assert (
        first.body["outcome"],
        first.body["counts"]["cannot_meet_in_person"],
        first.body["counts"]["register"],
    ) == (
        False,
        1,
        4,
    )
    await sec_b.patch(f"/api/v1/members/{world.members['B'][1]}", {"remote_reason": "health"})
    half = await sec_b.get(path)
    assert (half.body["outcome"], half.body["rule"]) == (False, "R-ELIG-2")
    assert (half.body["counts"]["cannot_meet_in_person"], half.body["counts"]["register"]) == (2, 4)
    assert "đúng" in half.body["explanation"] and "chưa hơn" in half.body["explanation"], half.body
    await sec_b.patch(f"/api/v1/members/{world.members['B'][2]}", {"remote_reason": "disaster"})
    more = await sec_b.get(path)
    assert (more.body["outcome"], more.body["counts"]["cannot_meet_in_person"]) == (True, 3)


async def _exempt_and_suspended_leave_the_register(world: World) -> None:
    sec_a = await world.as_user("sec_a")
    path = f"/api/v1/orgs/{world.orgs['A']}/eligibility"
    one, two, _, four, *_ = world.members["A"]  # one, two: remote; four: in person
    await sec_a.patch(f"/api/v1/members/{one}", {"activity": "suspended"})
    await sec_a.patch(f"/api/v1/members/{two}", {"activity": "suspended"})
    half = (await sec_a.get(path)).body
    assert (half["outcome"], half["counts"]["register"], half["counts"]["cannot_meet_in_person"]) == (
        False,
        4,
        2,
    )
    assert half["counts"]["suspended"] == 2
    assert "đình chỉ" in half["explanation"]
    await sec_a.patch(f"/api/v1/members/{four}", {"activity": "exempt"})
    more = (await sec_a.get(path)).body
    assert (more["outcome"], more["counts"]["register"], more["counts"]["cannot_meet_in_person"]) == (
        True,
        3,
        2,
    )
    assert more["counts"]["exempt"] == 1
    # the register itself still lists them: they left the count, not the cell
    assert len(await member_ids(sec_a, world.orgs["A"])) == 6


async def test_committees_count_their_subtree_provinces_never_qualify_and_groups_need_fifty(
    world: World,
) -> None:
    await _grassroots_register_is_its_subtree(world)
    await _province_is_not_a_pilot_unit(world)
    await _group_eligibility(world)


async def _grassroots_register_is_its_subtree(world: World) -> None:
    admin_c = await world.as_user("admin_c")
    g = world.orgs["G"]
    decision = (await admin_c.get(f"/api/v1/orgs/{g}/eligibility")).body
    # A: 4 of 6, B: 1 of 4 -> 5 of 10, exactly half
    assert (decision["outcome"], decision["rule"]) == (False, "R-ELIG-2")
    assert (decision["counts"]["register"], decision["counts"]["cannot_meet_in_person"]) == (10, 5)
    assert set(await member_ids(admin_c, g)) == set(world.members["A"]) | set(world.members["B"])
    await admin_c.patch(f"/api/v1/members/{world.members['B'][3]}", {"remote_reason": "epidemic"})
    decision = (await admin_c.get(f"/api/v1/orgs/{g}/eligibility")).body
    assert (decision["outcome"], decision["counts"]["cannot_meet_in_person"]) == (True, 6)


async def _province_is_not_a_pilot_unit(world: World) -> None:
    auditor_p = await world.as_user("auditor_p")
    auditor_en = await world.as_user("auditor_p", "en")
    for unit in ("P", "C"):
        decision = (await auditor_p.get(f"/api/v1/orgs/{world.orgs[unit]}/eligibility")).body
        assert (decision["outcome"], decision["rule"]) == (False, "R-ELIG-1"), decision
        assert decision["explanation"].startswith("Không thuộc diện thí điểm")
        # the counts are still reported: the whole subtree (A and B)
        assert decision["counts"]["register"] == 10
    english = (await auditor_en.get(f"/api/v1/orgs/{world.orgs['P']}/eligibility")).body
    assert english["explanation"].startswith("Not a pilot unit (R-ELIG-1)")


async def _group_eligibility(world: World) -> None:
    sec_a, sec_b = await world.as_user("sec_a"), await world.as_user("sec_b")
    a_path = f"/api/v1/orgs/{world.orgs['A']}/group-eligibility"
    decision = (await sec_a.get(a_path)).body
    assert (decision["outcome"], decision["rule"]) == (False, "R-GROUP-2")
    assert decision["counts"] == {"members": 6, "groups": 1, "min_members": 50}
    assert "50" in decision["explanation"]
    no_groups = (await sec_b.get(f"/api/v1/orgs/{world.orgs['B']}/group-eligibility")).body
    assert (no_groups["outcome"], no_groups["counts"]["groups"]) == (False, 0)
    assert "chưa chia tổ đảng" in no_groups["explanation"]

    def rows(start: int, count: int) -> bytes:
        lines = ["Họ và tên,Đảng viên,Lý do"] + [
            f"Đảng Viên Số {n},chính thức," for n in range(start, start + count)
        ]
        return "\n".join(lines).encode()

    assert (await import_file(sec_a, world.orgs["A"], rows(1, 43), "x.csv")).status == 201
    decision = (await sec_a.get(a_path)).body
    assert (decision["outcome"], decision["counts"]["members"]) == (False, 49)
    assert (await import_file(sec_a, world.orgs["A"], rows(44, 1), "x.csv")).status == 201
    decision = (await sec_a.get(a_path)).body
    assert (decision["outcome"], decision["counts"]["members"]) == (True, 50)
    assert decision["explanation"].startswith("Đủ điều kiện sinh hoạt theo tổ đảng")
