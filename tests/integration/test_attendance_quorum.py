"""On-site check-ins, quorum (R-QUOR-1, R-BASE-2..4), opening with or without an override, closing and
attendance statuses (R-ATT-1, R-ATT-2), and who may do what, on both databases."""

from __future__ import annotations

from server.db.tables import AuditEvent, PresenceEvent
from tests.integration.helpers import approve_a, audit_entries, count, pass_time, schedule
from tests.integration.world import World


def path(meeting_id: int, tail: str) -> str:
    return f"/api/v1/meetings/{meeting_id}/{tail}"


async def test_quorum_opening_and_attendance_in_person(world: World) -> None:
    sec_b = await world.as_user("sec_b")
    probationary = await sec_b.post(
        f"/api/v1/orgs/{world.orgs['B']}/members",
        {"full_name": "Lý Văn Mười Một", "standing": "probationary"},
    )
    assert probationary.status == 201, probationary.body
    prob_id = probationary.body["id"]
    b0, b1, b2, b3 = world.members["B"]
    created = await schedule(world, "sec_b", "B")
    assert created.status == 201, created.body
    mid = created.body["id"]
    assert (created.body["opened_at"], created.body["closed_at"]) == (None, None)

    excused = await sec_b.post(path(mid, "excuses"), {"member_id": b3, "reason": "Đi công tác."})
    assert excused.status == 201, excused.body

    # nobody present: not quorate, nothing written
    audit_before = await count(world, AuditEvent)
    refused = await sec_b.post(path(mid, "open"), {})
    assert (refused.status, refused.error_code, refused.body["error"]["rule"]) == (
        409,
        "not_quorate",
        "R-QUOR-1",
    )
    assert refused.body["error"]["details"]["counts"]["voting_base"] == 4
    assert refused.body["error"]["details"]["counts"]["present_official"] == 0
    assert "R-QUOR-1" in refused.body["error"]["message"]
    assert await count(world, AuditEvent) == audit_before
    assert (await sec_b.get(f"/api/v1/meetings/{mid}")).body["status"] == "scheduled"

    # a probationary member present does not count (R-BASE-4)
    checkin = await sec_b.post(path(mid, "checkins"), {"member_id": prob_id})
    assert checkin.status == 201, checkin.body
    assert checkin.body["recorded"] is True
    quorum = await sec_b.get(path(mid, "quorum"))
    assert quorum.status == 200, quorum.body
    assert quorum.body["outcome"] is False and quorum.body["rule"] == "R-QUOR-1"
    assert quorum.body["counts"]["voting_base"] == 4  # the excused member stays in (R-BASE-3)
    assert (quorum.body["counts"]["present_official"], quorum.body["counts"]["present"]) == (0, 1)
    assert quorum.body["counts"]["present_probationary"] == 1
    # before the opening, attendance describes the moment
    moment = await sec_b.get(path(mid, "attendance"))
    assert moment.status == 200, moment.body
    statuses = {m["member_id"]: m["status"] for m in moment.body["members"]}
    assert statuses[prob_id] == "present"
    assert (statuses[b3], statuses[b0]) == ("absent_excused", "absent_unexcused")
    checkout = await sec_b.post(path(mid, "checkouts"), {"member_id": prob_id})
    assert checkout.status == 201, checkout.body
    again_out = await sec_b.post(path(mid, "checkouts"), {"member_id": prob_id})
    assert (again_out.status, again_out.body["recorded"]) == (200, False)

    # two of four is exactly half: not quorate
    for member_id in (b0, b1):
        assert (await sec_b.post(path(mid, "checkins"), {"member_id": member_id})).status == 201
    repeat = await sec_b.post(path(mid, "checkins"), {"member_id": b0})
    assert (repeat.status, repeat.body["recorded"]) == (200, False)
    assert await count(world, PresenceEvent, meeting_id=mid) == 4
    half = await (await world.as_user("sec_b", "en")).get(path(mid, "quorum"))
    assert half.body["outcome"] is False
    assert (half.body["counts"]["present_official"], half.body["counts"]["needed"]) == (2, 3)
    assert half.body["explanation"].startswith("Not quorate")
    assert (await sec_b.post(path(mid, "open"), {})).error_code == "not_quorate"

    outsider = await sec_b.post(path(mid, "checkins"), {"member_id": world.members["A"][0]})
    assert outsider.status == 422

    third = await sec_b.post(path(mid, "checkins"), {"member_id": b2})
    assert third.status == 201 and third.body["quorum"]["outcome"] is True
    quorate = await sec_b.get(path(mid, "quorum"))
    assert quorate.body["outcome"] is True
    assert quorate.body["counts"]["present_official"] == 3

    await pass_time(world, 5)
    opened = await sec_b.post(path(mid, "open"), {})
    assert opened.status == 200, opened.body
    assert opened.body["status"] == "open"
    assert opened.body["opened_at"] == "2026-11-23T08:05:00Z"
    assert opened.body["quorum_override_reason"] is None
    assert opened.body["quorum"]["outcome"] is True
    [entry] = await audit_entries(world, "meeting.opened")
    assert entry["data"]["quorate"] is True and entry["data"]["override"] is False
    assert entry["data"]["counts"]["present_official"] == 3
    assert (await sec_b.post(path(mid, "open"), {})).error_code == "meeting_not_scheduled"

    # b1 leaves after 20 minutes; the meeting closes after 100
    await pass_time(world, 20)
    assert (await sec_b.post(path(mid, "checkouts"), {"member_id": b1})).status == 201
    await pass_time(world, 80)
    closed = await sec_b.post(path(mid, "close"))
    assert closed.status == 200, closed.body
    assert closed.body["status"] == "closed"
    assert closed.body["closed_at"] == "2026-11-23T09:45:00Z"
    assert await count(world, PresenceEvent, meeting_id=mid, kind="checkout") == 4  # b1, prob, b0, b2

    attendance = await (await world.as_user("auditor_p")).get(path(mid, "attendance"))
    assert attendance.status == 200, attendance.body
    members = {m["member_id"]: m for m in attendance.body["members"]}
    assert {k: m["status"] for k, m in members.items()} == {
        b0: "present",
        b1: "left_early",
        b2: "present",
        b3: "absent_excused",
        prob_id: "absent_unexcused",
    }
    assert members[b0]["intervals"] == [{"start": "2026-11-23T08:05:00Z", "end": "2026-11-23T09:45:00Z"}]
    assert members[b1]["intervals"] == [{"start": "2026-11-23T08:05:00Z", "end": "2026-11-23T08:25:00Z"}]
    assert members[b3]["intervals"] == [] and members[b0]["full_name"] == "Đỗ Văn Sáu"
    assert all(i["end"] is not None for m in members.values() for i in m["intervals"])
    counts = attendance.body["counts"]
    assert (
        counts["present"],
        counts["left_early"],
        counts["absent_excused"],
        counts["absent_unexcused"],
    ) == (
        2,
        1,
        1,
        1,
    )
    assert counts["present_total"] == 3
    assert closed.body["attendance"]["counts"] == counts
    [closing] = await audit_entries(world, "meeting.closed")
    assert closing["data"]["counts"]["present_total"] == 3
    assert len(await audit_entries(world, "presence.checkin")) == 4
    assert len(await audit_entries(world, "presence.checkout")) == 2  # recorded by hand; closing is one row

    late = await sec_b.post(path(mid, "checkins"), {"member_id": b3})
    assert (late.status, late.error_code) == (409, "meeting_closed")
    assert (await sec_b.post(path(mid, "close"))).error_code == "meeting_not_open"
    after = await sec_b.get(path(mid, "quorum"))
    assert after.body["outcome"] is False and after.body["counts"]["present"] == 0


async def test_override_hybrid_and_online(world: World) -> None:
    await approve_a(world)
    sec_a = await world.as_user("sec_a")
    online = await schedule(world, "sec_a", "A", "online")
    hybrid = await schedule(world, "sec_a", "A", "hybrid")
    assert online.status == 201 and hybrid.status == 201, (online.body, hybrid.body)
    oid, hid = online.body["id"], hybrid.body["id"]

    not_on_site = await sec_a.post(path(oid, "checkins"), {"member_id": world.members["A"][0]})
    assert (not_on_site.status, not_on_site.error_code) == (409, "not_on_site")
    assert (await sec_a.post(path(oid, "checkouts"), {"member_id": world.members["A"][0]})).status == 409
    assert await count(world, PresenceEvent) == 0

    # the probationary member on site: present, but the base of 5 officials has nobody present
    probationary = world.members["A"][4]
    assert (await sec_a.post(path(hid, "checkins"), {"member_id": probationary})).status == 201
    quorum = await sec_a.get(path(hid, "quorum"))
    assert quorum.body["outcome"] is False
    assert (quorum.body["counts"]["voting_base"], quorum.body["counts"]["present_official"]) == (5, 0)

    for bad in (
        {"override_reason": ""},
        {"override_reason": "   "},
        {"override_reason": "x" * 1001},
        {"x": 1},
    ):
        reply = await sec_a.post(path(hid, "open"), bad)
        assert reply.status == 422, (bad, reply.body)
    refused = await sec_a.post(path(hid, "open"))
    assert (refused.status, refused.error_code) == (409, "not_quorate")
    assert await count(world, AuditEvent, action="meeting.opened") == 0

    reason = "Bão số 9, nhiều đảng viên trên tàu mất sóng; chi ủy thống nhất khai mạc."
    await pass_time(world, 1)
    opened = await sec_a.post(path(hid, "open"), {"override_reason": reason})
    assert opened.status == 200, opened.body
    assert (opened.body["status"], opened.body["quorum_override_reason"]) == ("open", reason)
    assert opened.body["quorum"]["outcome"] is False
    [entry] = await audit_entries(world, "meeting.opened")
    assert entry["data"]["override"] is True and entry["data"]["override_reason"] == reason
    assert entry["data"]["counts"]["voting_base"] == 5
    assert entry["data"]["counts"]["present_official"] == 0
    assert entry["target"] == f"meeting:{hid}" and entry["org"] == world.orgs["A"]

    # a check-in during the meeting is fine; the linked member reads the results
    await pass_time(world, 10)
    assert (await sec_a.post(path(hid, "checkins"), {"member_id": world.members["A"][0]})).status == 201
    member_a = await world.as_user("member_a")
    live = await member_a.get(path(hid, "attendance"))
    assert live.status == 200, live.body
    assert (await member_a.get(path(hid, "quorum"))).body["counts"]["present_official"] == 1
    await pass_time(world, 50)
    assert (await sec_a.post(path(hid, "close"))).status == 200
    final = await member_a.get(path(hid, "attendance"))
    statuses = {m["member_id"]: m["status"] for m in final.body["members"]}
    assert statuses[world.members["A"][0]] == "present"  # 50 of 60 minutes, 10 minutes late is not late
    assert statuses[probationary] == "present"
    assert statuses[world.members["A"][-1]] == "absent_unexcused"


async def test_other_units_and_read_only_roles(world: World) -> None:
    created = await schedule(world, "sec_b", "B")
    mid = created.body["id"]
    member = world.members["B"][0]
    sec_q = await world.as_user("sec_q")
    not_found = [
        await sec_q.post(path(mid, "checkins"), {"member_id": member}),
        await sec_q.post(path(mid, "checkouts"), {"member_id": member}),
        await sec_q.get(path(mid, "quorum")),
        await sec_q.post(path(mid, "open"), {"override_reason": "Thử."}),
        await sec_q.post(path(mid, "close")),
        await sec_q.get(path(mid, "attendance")),
        await sec_q.get(path(987654, "quorum")),
        await sec_q.post(path(987654, "open")),
    ]
    assert [r.status for r in not_found] == [404] * len(not_found)
    assert all(r.error_code == "not_found" for r in not_found)

    auditor = await world.as_user("auditor_p")
    assert (await auditor.get(path(mid, "quorum"))).status == 200
    assert (await auditor.get(path(mid, "attendance"))).status == 200
    denied = [
        await auditor.post(path(mid, "checkins"), {"member_id": member}),
        await auditor.post(path(mid, "checkouts"), {"member_id": member}),
        await auditor.post(path(mid, "open"), {"override_reason": "Thử."}),
        await auditor.post(path(mid, "close")),
        await (await world.as_user("approver_c")).post(path(mid, "open"), {"override_reason": "Thử."}),
    ]
    assert [r.status for r in denied] == [403] * len(denied)
    assert (await (await world.as_user("sec_a")).get(path(mid, "quorum"))).status == 404
    assert (await (await world.as_user("member_a")).get(path(mid, "attendance"))).status == 404
    assert await count(world, PresenceEvent) == 0
    meeting_status = (await (await world.as_user("sec_b")).get(f"/api/v1/meetings/{mid}")).body["status"]
    assert meeting_status == "scheduled"
