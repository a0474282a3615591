"""The online pilot: applications, decisions by an approver above the unit, validity, revocation, and
the flag raised when an approved unit stops qualifying (R-ELIG-1, -2, -5, -6)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.integration.harness import ApiClient
from tests.integration.helpers import apply, decide, decision
from tests.integration.world import World

NOT_FOUND: dict[str, Any] = {
    "error": {"code": "not_found", "message": "Không tìm thấy.", "rule": None, "details": {}}
}
TODAY = "2026-11-23"  # the FakeClock's date, in UTC and in Asia/Ho_Chi_Minh


async def pilot(client: ApiClient, org_id: int) -> dict[str, Any]:
    reply = await client.get(f"/api/v1/orgs/{org_id}")
    assert reply.status == 200, reply.body
    return dict(reply.body["pilot"])


async def status_of(client: ApiClient, application_id: int) -> str:
    reply = await client.get(f"/api/v1/pilot-applications/{application_id}")
    assert reply.status == 200, reply.body
    return str(reply.body["status"])


async def test_a_cell_applies_and_only_the_approver_above_it_decides(world: World) -> None:
    sec_a, approver_c = await world.as_user("sec_a"), await world.as_user("approver_c")
    a = world.orgs["A"]
    application = await apply(world, "sec_a", "A")
    assert application["status"] == "pending" and application["org_id"] == a
    eligibility = application["eligibility"]
    assert (eligibility["outcome"], eligibility["rule"]) == (True, "R-ELIG-2")
    assert (eligibility["counts"]["register"], eligibility["counts"]["cannot_meet_in_person"]) == (6, 4)
    assert eligibility["explanation"].startswith("Đủ điều kiện")
    english = await (await world.as_user("sec_a", "en")).get(
        f"/api/v1/pilot-applications/{application['id']}"
    )
    assert english.body["eligibility"]["explanation"].startswith("Eligible")
    again = await sec_a.post(f"/api/v1/orgs/{a}/pilot-applications", {"kind": "online"})
    assert (again.status, again.error_code) == (409, "application_pending")
    assert (await pilot(sec_a, a))["online"] == {"approved": False}

    # nobody but an approver above the unit decides
    app_id = application["id"]
    other_province = await decide(await world.as_user("approver_q"), app_id, decision())
    assert (other_province.status, other_province.body) == (404, NOT_FOUND)
    for username in ("sec_a", "deputy_a", "auditor_p", "admin_c", "operator"):
        reply = await decide(await world.as_user(username), app_id, decision())
        assert (reply.status, reply.error_code) == (403, "forbidden"), (username, reply.body)

    # an approval names its validity period, in order
    missing = await decide(approver_c, app_id, decision(valid_from=None, valid_to=None))
    assert (missing.status, missing.error_code) == (422, "validation_error")
    assert set(missing.body["error"]["details"]["fields"]) == {"valid_from", "valid_to"}
    backwards = await decide(approver_c, app_id, decision(valid_from="2027-01-01", valid_to="2026-12-31"))
    assert (backwards.status, backwards.error_code) == (422, "validation_error")
    assert "valid_to" in backwards.body["error"]["details"]["fields"]
    bad_date = await decide(approver_c, app_id, decision(valid_to="31/12/2027"))
    assert (bad_date.status, bad_date.error_code) == (422, "validation_error")
    assert await status_of(sec_a, app_id) == "pending"

    approved = await decide(approver_c, app_id, decision())
    assert approved.status == 200, approved.body
    assert {
        k: approved.body[k] for k in ("status", "decision_no", "decided_on", "valid_from", "valid_to")
    } == {
        "status": "approved",
        "decision_no": "27-QĐ/ĐUK",
        "decided_on": "2026-11-20",
        "valid_from": "2026-11-20",
        "valid_to": "2027-11-19",
    }
    assert approved.body["deciding_org_id"] == world.orgs["C"]
    online = (await pilot(sec_a, a))["online"]
    assert online == {
        "approved": True,
        "application_id": app_id,
        "decision_no": "27-QĐ/ĐUK",
        "valid_to": "2027-11-19",
    }
    assert (await pilot(await world.as_user("member_a"), a))["online"]["approved"] is True

    for body in (decision(), {**decision(), "approved": False}):
        twice = await decide(approver_c, app_id, body)
        assert (twice.status, twice.error_code) == (409, "already_decided")
    assert await status_of(sec_a, app_id) == "approved"

    # revocation: by the approver only
    revoke_path = f"/api/v1/pilot-applications/{app_id}/revoke"
    reason = {"reason": "Đơn vị đề nghị dừng thí điểm."}
    assert (await (await world.as_user("approver_q")).post(revoke_path, reason)).status == 404
    assert (await sec_a.post(revoke_path, reason)).status == 403
    assert (await (await world.as_user("auditor_p")).post(revoke_path, reason)).status == 403
    revoked = await approver_c.post(revoke_path, reason)
    assert revoked.status == 200, revoked.body
    assert (revoked.body["status"], revoked.body["revoke_reason"]) == ("revoked", reason["reason"])
    assert revoked.body["revoked_at"] is not None
    assert (await pilot(sec_a, a))["online"] == {"approved": False}
    twice = await approver_c.post(revoke_path, reason)
    assert (twice.status, twice.error_code) == (409, "not_approved")

    # every step is in the audit log the province auditor reads
    log = (await (await world.as_user("auditor_p")).get("/api/v1/audit/log")).body["entries"]
    steps = [e["action"] for e in log if e["target"] == f"application:{app_id}"]
    assert steps == ["pilot.applied", "pilot.decided", "pilot.revoked"]


async def test_only_qualifying_cells_and_grassroots_committees_are_approved(world: World) -> None:
    operator, approver_c = await world.as_user("operator"), await world.as_user("approver_c")
    sec_p = await world.add_user("sec_p")
    reply = await operator.post(
        f"/api/v1/orgs/{world.orgs['P']}/grants", {"user_id": sec_p, "role": "secretary"}
    )
    assert reply.status == 201
    secretary = await world.as_user("sec_p")

    # R-ELIG-1: a province, a committee above the grassroots or a party group cannot even apply
    for unit in ("P", "C", "A1"):
        refused = await secretary.post(
            f"/api/v1/orgs/{world.orgs[unit]}/pilot-applications", {"kind": "online"}
        )
        assert (refused.status, refused.error_code, refused.body["error"]["rule"]) == (
            409,
            "rule_refused",
            "R-ELIG-1",
        )
        assert "R-ELIG-1" in refused.body["error"]["message"] and "chi bộ" in refused.body["error"]["message"]
    listed = await (await world.as_user("auditor_p")).get(
        f"/api/v1/orgs/{world.orgs['P']}/pilot-applications"
    )
    assert listed.body["applications"] == []

    # R-ELIG-2: a cell or grassroots committee may apply, but is approved only while it qualifies
    b_application = await apply(world, "sec_b", "B")
    assert (
        b_application["eligibility"]["outcome"],
        b_application["eligibility"]["counts"]["cannot_meet_in_person"],
    ) == (
        False,
        1,
    )
    g_application = await apply(world, "sec_p", "G")
    assert (g_application["eligibility"]["counts"]["register"], g_application["eligibility"]["outcome"]) == (
        10,
        False,
    )
    for application, unit in ((b_application, "B"), (g_application, "G")):
        refused = await decide(approver_c, application["id"], decision())
        assert (refused.status, refused.body["error"]["rule"]) == (409, "R-ELIG-2"), refused.body
        assert refused.body["error"]["message"].startswith("Không thể phê duyệt: đơn vị chưa đủ điều kiện.")
        assert await status_of(approver_c, application["id"]) == "pending"
        assert (await pilot(approver_c, world.orgs[unit]))["online"] == {"approved": False}

    # rejecting needs no validity period
    rejected = await decide(approver_c, b_application["id"], {**decision(None, None), "approved": False})
    assert rejected.status == 200, rejected.body
    assert (rejected.body["status"], rejected.body["valid_from"], rejected.body["valid_to"]) == (
        "rejected",
        None,
        None,
    )

    # R-GROUP-2: the party-group pilot needs groups and 50 members; cell A has a group but 6 members
    group_application = await apply(world, "sec_a", "A", kind="group")
    assert (group_application["eligibility"]["rule"], group_application["eligibility"]["outcome"]) == (
        "R-GROUP-2",
        False,
    )
    refused = await decide(approver_c, group_application["id"], decision())
    assert (refused.status, refused.body["error"]["rule"]) == (409, "R-GROUP-2")
    assert (await pilot(approver_c, world.orgs["A"]))["group"] == {"approved": False}


async def test_an_approval_allows_online_meetings_only_within_its_validity_dates(world: World) -> None:
    approver_c = await world.as_user("approver_c")
    a = world.orgs["A"]
    # an approval that has already run out is refused, and the application waits for a proper one
    application = await apply(world, "sec_a", "A")
    expired = await decide(approver_c, application["id"], decision("2025-01-01", "2025-12-31"))
    assert (expired.status, expired.error_code) == (422, "validation_error"), expired.body
    assert expired.body["error"]["details"]["fields"] == {"valid_to": "in the past"}
    assert await status_of(approver_c, application["id"]) == "pending"
    # one that has not begun yet is approved, but allows nothing today
    future = await decide(approver_c, application["id"], decision("2026-12-01", "2027-11-30"))
    assert (future.status, future.body["status"]) == (200, "approved"), future.body
    assert (await pilot(approver_c, a))["online"] == {"approved": False}
    # one for today only allows online meetings today
    application = await apply(world, "sec_a", "A")
    assert (await decide(approver_c, application["id"], decision(TODAY, TODAY))).status == 200
    online = (await pilot(approver_c, a))["online"]
    assert (online["approved"], online["application_id"]) == (True, application["id"])
    today_only = online["application_id"]

    # validity dates are calendar days in the unit's time zone (UTC+7)
    async def approved_at(moment: datetime) -> bool:
        world.server.clock.now = moment
        world.clients.pop("approver_c:vi")  # hours later the session has expired: log in again
        return bool((await pilot(await world.as_user("approver_c"), a))["online"]["approved"])

    assert await approved_at(datetime(2026, 11, 23, 16, 30, tzinfo=UTC))  # 23:30 on the 23rd in Hà Nội
    assert not await approved_at(datetime(2026, 11, 23, 17, 30, tzinfo=UTC))  # 00:30 on the 24th
    assert not await approved_at(datetime(2026, 11, 30, 16, 59, tzinfo=UTC))  # 23:59 on the 30th: not yet
    assert await approved_at(datetime(2026, 11, 30, 17, 0, tzinfo=UTC))  # 00:00 on 1 December: begun
    assert (await pilot(await world.as_user("approver_c"), a))["online"]["application_id"] != today_only


async def test_a_unit_that_stops_qualifying_is_flagged_to_its_approver_and_stays_approved(
    world: World,
) -> None:
    sec_a, approver_c = await world.as_user("sec_a"), await world.as_user("approver_c")
    a, c = world.orgs["A"], world.orgs["C"]
    flags_path = f"/api/v1/orgs/{c}/eligibility-flags"
    application = await apply(world, "sec_a", "A")
    assert (await decide(approver_c, application["id"], decision())).status == 200
    assert (await approver_c.get(flags_path)).body == {"flags": []}

    # 4 of 6 cannot meet in person; one of them now can: 3 of 6, exactly half
    one, two = world.members["A"][0], world.members["A"][1]
    assert (await sec_a.patch(f"/api/v1/members/{one}", {"remote_reason": None})).status == 200
    [flag] = (await approver_c.get(flags_path)).body["flags"]
    assert (flag["org_id"], flag["application_id"], flag["approver_org_id"]) == (a, application["id"], c)
    assert (flag["decision"]["outcome"], flag["decision"]["rule"]) == (False, "R-ELIG-2")
    assert (flag["decision"]["counts"]["cannot_meet_in_person"], flag["decision"]["counts"]["register"]) == (
        3,
        6,
    )
    status = await pilot(sec_a, a)
    assert [f["id"] for f in status["flags"]] == [flag["id"]]
    # flagged, not silently revoked
    assert status["online"]["approved"] is True
    assert await status_of(approver_c, application["id"]) == "approved"
    # a further change keeps the one open flag
    assert (await sec_a.patch(f"/api/v1/members/{two}", {"remote_reason": None})).status == 200
    assert [f["id"] for f in (await approver_c.get(flags_path)).body["flags"]] == [flag["id"]]
    # the approver's province sees it too; the other province's approver does not know the committee
    auditor_view = await (await world.as_user("auditor_p")).get(
        f"/api/v1/orgs/{world.orgs['P']}/eligibility-flags"
    )
    assert [f["id"] for f in auditor_view.body["flags"]] == [flag["id"]]
    hidden = await (await world.as_user("approver_q")).get(flags_path)
    assert (hidden.status, hidden.body) == (404, NOT_FOUND)

    # restoring the register clears the flag
    for member, reason in ((one, "seafarer_offshore_island"), (two, "seafarer_offshore_island")):
        assert (await sec_a.patch(f"/api/v1/members/{member}", {"remote_reason": reason})).status == 200
    assert (await approver_c.get(flags_path)).body == {"flags": []}
    assert (await pilot(sec_a, a))["flags"] == []

    # an import that dilutes the register flags it again (4 of 9)
    rows = (
        "Họ và tên,Đảng viên\nNgười Thứ Bảy,chính thức\nNgười Thứ Tám,chính thức\nNgười Thứ Chín,chính thức\n"
    )
    imported = await sec_a.post(
        f"/api/v1/orgs/{a}/members/import?filename=x.csv",
        data=rows.encode(),
        headers={"Content-Type": "text/csv"},
    )
    assert imported.status == 201
    [again] = (await approver_c.get(flags_path)).body["flags"]
    assert again["id"] != flag["id"] and again["decision"]["counts"]["register"] == 9
    assert await status_of(approver_c, application["id"]) == "approved"

    log = (await approver_c.get("/api/v1/audit/log")).body["entries"]  # an approver is no auditor: nothing
    assert log == []
    actions = [
        e["action"]
        for e in (await (await world.as_user("auditor_p")).get("/api/v1/audit/log")).body["entries"]
    ]
    assert (actions.count("eligibility.flagged"), actions.count("eligibility.cleared")) == (2, 1)


async def test_a_flag_speaks_the_callers_language_and_revoking_answers_it(world: World) -> None:
    sec_a, approver_c = await world.as_user("sec_a"), await world.as_user("approver_c")
    approver_en = await world.as_user("approver_c", lang="en")
    flags_path = f"/api/v1/orgs/{world.orgs['C']}/eligibility-flags"
    application = await apply(world, "sec_a", "A")
    assert (await decide(approver_c, application["id"], decision())).status == 200
    member = world.members["A"][0]
    assert (await sec_a.patch(f"/api/v1/members/{member}", {"remote_reason": None})).status == 200
    [flag_vi] = (await approver_c.get(flags_path)).body["flags"]
    [flag_en] = (await approver_en.get(flags_path)).body["flags"]
    assert "3/6" in flag_vi["decision"]["explanation"] and "đảng viên" in flag_vi["decision"]["explanation"]
    assert "member" in flag_en["decision"]["explanation"]
    assert flag_en["decision"]["explanation"] != flag_vi["decision"]["explanation"]

    revoked = await approver_c.post(
        f"/api/v1/pilot-applications/{application['id']}/revoke", {"reason": "Không còn đủ điều kiện"}
    )
    assert revoked.status == 200 and revoked.body["status"] == "revoked"
    # the approver acted on it: no open flag against an approval that no longer exists
    assert (await approver_c.get(flags_path)).body == {"flags": []}
    status = await pilot(sec_a, world.orgs["A"])
    assert status["online"]["approved"] is False and status["flags"] == []
