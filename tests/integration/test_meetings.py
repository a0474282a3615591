"""Meetings: scheduling under R-ELIG-6, the agenda under R-CONTENT-1, excuses, the calendar invitation,
and who may see or change a meeting."""

from __future__ import annotations

from server.appkeys import DATABASE
from server.db.tables import AgendaItem, AuditEvent, Excuse, Meeting
from tests.integration.group_cells import make_a_group_cell
from tests.integration.helpers import approve_a, count, meeting_body, schedule
from tests.integration.world import World

PERSONNEL_AGENDA = {
    "items": [
        {"title": "Thông qua chương trình", "item_type": "ordinary", "notes": ""},
        {"title": "Giới thiệu nhân sự cấp ủy", "item_type": "personnel", "notes": "Dự kiến"},
    ]
}


async def test_scheduling_follows_the_online_approval(world: World) -> None:
    in_b = await schedule(world, "sec_b", "B")
    assert in_b.status == 201, in_b.body
    assert (in_b.body["status"], in_b.body["mode"], in_b.body["starts_at"]) == (
        "scheduled",
        "in_person",
        "2026-12-05T07:00:00Z",
    )
    assert in_b.body["starts_at_local"] == "2026-12-05T14:00:00+07:00"
    assert in_b.body["timezone"] == "Asia/Ho_Chi_Minh"

    meetings_before = await count(world, Meeting)
    audit_before = await count(world, AuditEvent)
    for mode in ("online", "hybrid"):
        refused = await schedule(world, "sec_b", "B", mode)
        assert (refused.status, refused.body["error"]["rule"]) == (409, "R-ELIG-6"), refused.body
        assert "R-ELIG-6" in refused.body["error"]["message"]
        assert "trực tuyến" in refused.body["error"]["message"]
    assert await count(world, Meeting) == meetings_before
    assert await count(world, AuditEvent) == audit_before

    # validation: naive time, duration bounds, chair outside the unit, template, group kind
    for bad in (
        {"starts_at": "2026-12-05T14:00:00"},
        {"duration_minutes": 10},
        {"duration_minutes": 601},
        {"chair_id": world.members["A"][0]},
        {"agenda_template_id": 999_999},
        {"kind": "group"},
        {"title": "x" * 201},
    ):
        reply = await schedule(world, "sec_b", "B", **bad)
        assert reply.status == 422, (bad, reply.body)
    group_in_cell = await schedule(world, "sec_a", "A1")
    assert (group_in_cell.status, group_in_cell.error_code) == (422, "invalid_org_kind")
    committee = await schedule(world, "sec_a", "G")
    assert committee.status == 404  # a cell secretary cannot see the committee above it

    await approve_a(world)
    online = await schedule(
        world,
        "sec_a",
        "A",
        "online",
        chair_id=world.members["A"][0],
        minute_taker_id=world.members["A"][1],
    )
    assert online.status == 201, online.body
    assert online.body["chair_id"] == world.members["A"][0]
    # a party group of an approved cell may meet online under its cell's approval, once the cell may meet
    # by party group at all (R-GROUP-2: 50 members and an approval; tests/integration/test_group_meetings)
    await make_a_group_cell(world)
    group = await schedule(world, "sec_a", "A1", "online", kind="group")
    assert group.status == 201, group.body
    assert await count(world, AuditEvent, action="meeting.scheduled") == 3

    listed = await (await world.as_user("sec_a")).get(f"/api/v1/orgs/{world.orgs['A']}/meetings")
    assert [m["id"] for m in listed.body["meetings"]] == [online.body["id"], group.body["id"]]
    got = await (await world.as_user("member_a")).get(f"/api/v1/meetings/{online.body['id']}")
    assert got.status == 200 and got.body["starts_at_local"].endswith("+07:00")


async def test_agenda_content_and_mode_changes(world: World) -> None:
    await approve_a(world)
    sec_a = await world.as_user("sec_a")
    online = await schedule(world, "sec_a", "A", "online")
    in_person = await schedule(world, "sec_a", "A")
    online_id, in_person_id = online.body["id"], in_person.body["id"]

    audit_before = await count(world, AuditEvent)
    refused = await sec_a.request("PUT", f"/api/v1/meetings/{online_id}/agenda", PERSONNEL_AGENDA)
    assert (refused.status, refused.body["error"]["rule"]) == (409, "R-CONTENT-1"), refused.body
    assert refused.body["error"]["details"]["barred_items"] == [{"index": 1, "item_type": "personnel"}]
    assert "R-CONTENT-1" in refused.body["error"]["message"]
    assert await count(world, AgendaItem) == 0
    assert await count(world, AuditEvent) == audit_before

    accepted = await sec_a.request("PUT", f"/api/v1/meetings/{in_person_id}/agenda", PERSONNEL_AGENDA)
    assert accepted.status == 200, accepted.body
    assert [i["item_type"] for i in accepted.body["items"]] == ["ordinary", "personnel"]
    got = await (await world.as_user("member_a")).get(f"/api/v1/meetings/{in_person_id}/agenda")
    assert got.status == 200 and [i["position"] for i in got.body["items"]] == [0, 1]
    # replacing is a replacement, not an addition
    again = await sec_a.request("PUT", f"/api/v1/meetings/{in_person_id}/agenda", PERSONNEL_AGENDA)
    assert again.status == 200
    assert await count(world, AgendaItem, meeting_id=in_person_id) == 2
    assert await count(world, AuditEvent, action="agenda.replaced") == 2

    too_many = {"items": [{"title": f"Mục {i}", "item_type": "ordinary"} for i in range(51)]}
    assert (await sec_a.request("PUT", f"/api/v1/meetings/{in_person_id}/agenda", too_many)).status == 422

    to_online = await sec_a.patch(f"/api/v1/meetings/{in_person_id}", {"mode": "online"})
    assert (to_online.status, to_online.body["error"]["rule"]) == (409, "R-CONTENT-1"), to_online.body
    assert (await sec_a.get(f"/api/v1/meetings/{in_person_id}")).body["mode"] == "in_person"

    changed = await sec_a.patch(
        f"/api/v1/meetings/{in_person_id}",
        {"title": "Sinh hoạt chuyên đề", "starts_at": "2026-12-06T01:30:00Z", "duration_minutes": 90},
    )
    assert changed.status == 200, changed.body
    assert (changed.body["title"], changed.body["starts_at"], changed.body["starts_at_local"]) == (
        "Sinh hoạt chuyên đề",
        "2026-12-06T01:30:00Z",
        "2026-12-06T08:30:00+07:00",
    )
    naive = await sec_a.patch(f"/api/v1/meetings/{in_person_id}", {"starts_at": "2026-12-06T08:30:00"})
    assert naive.status == 422
    assert await count(world, AuditEvent, action="meeting.updated") == 1

    # a unit without an approval cannot switch to online
    in_b = await schedule(world, "sec_b", "B")
    to_online_b = await (await world.as_user("sec_b")).patch(
        f"/api/v1/meetings/{in_b.body['id']}", {"mode": "hybrid"}
    )
    assert (to_online_b.status, to_online_b.body["error"]["rule"]) == (409, "R-ELIG-6")

    # only while scheduled
    async with world.server.app[DATABASE].write() as session:
        meeting = await session.get(Meeting, online_id)
        assert meeting is not None
        meeting.status = "closed"
        session.add(meeting)
    closed = await sec_a.patch(f"/api/v1/meetings/{online_id}", {"title": "Muộn"})
    assert (closed.status, closed.error_code) == (409, "meeting_not_scheduled")
    closed_agenda = await sec_a.request("PUT", f"/api/v1/meetings/{online_id}/agenda", {"items": []})
    assert (closed_agenda.status, closed_agenda.error_code) == (409, "meeting_not_scheduled")
    late_excuse = await (await world.as_user("member_a")).post(
        f"/api/v1/meetings/{online_id}/excuses", {"reason": "Đi biển"}
    )
    assert (late_excuse.status, late_excuse.error_code) == (409, "meeting_not_scheduled")


async def test_excuses(world: World) -> None:
    meeting = await schedule(world, "sec_a", "A")
    path = f"/api/v1/meetings/{meeting.body['id']}/excuses"
    member_a = await world.as_user("member_a")
    linked = world.members["A"][-1]

    first = await member_a.post(path, {"reason": "Đang đi biển, không có sóng."})
    assert first.status == 201, first.body
    assert (first.body["member_id"], first.body["submitted_by"]) == (linked, world.users["member_a"])
    updated = await member_a.post(path, {"reason": "Đang công tác nước ngoài."})
    assert updated.status == 200, updated.body
    assert updated.body["reason"] == "Đang công tác nước ngoài."
    assert await count(world, Excuse) == 1

    by_secretary = await (await world.as_user("sec_a")).post(
        path, {"member_id": world.members["A"][0], "reason": "Ốm, có giấy của bệnh viện."}
    )
    assert by_secretary.status == 201, by_secretary.body
    by_deputy = await (await world.as_user("deputy_a")).post(
        path, {"member_id": world.members["A"][1], "reason": "Việc gia đình."}
    )
    assert by_deputy.status == 201, by_deputy.body
    assert await count(world, AuditEvent, action="excuse.submitted") == 4

    # a member of another cell, the secretary without a member record, a member speaking for others
    outside = await (await world.as_user("sec_a")).post(
        path, {"member_id": world.members["B"][0], "reason": "Không phải đảng viên chi bộ này."}
    )
    assert outside.status == 422
    assert (await (await world.as_user("sec_a")).post(path, {"reason": "Tôi bận."})).status == 403
    for_other = await member_a.post(path, {"member_id": world.members["A"][2], "reason": "Hộ."})
    assert for_other.status == 403
    other_cell = await (await world.as_user("sec_b")).post(
        path, {"member_id": world.members["A"][3], "reason": "Vắng."}
    )
    assert other_cell.status == 404
    assert await count(world, Excuse) == 3


async def test_invitation_is_rfc5545(world: World) -> None:
    await approve_a(world)
    title = "Họp chi bộ; chuyên đề, học tập \\ làm theo gương Bác — một tiêu đề dài để gập dòng"
    meeting = await schedule(world, "sec_a", "A", "online", title=title)
    assert meeting.status == 201, meeting.body
    reply = await (await world.as_user("member_a")).get(f"/api/v1/meetings/{meeting.body['id']}/invite.ics")
    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("text/calendar")
    raw: bytes = reply.body
    assert raw.endswith(b"\r\n")
    physical = raw.split(b"\r\n")[:-1]
    assert all(b"\n" not in line and b"\r" not in line for line in physical)
    assert all(len(line) <= 75 for line in physical)
    text = raw.decode("utf-8")
    unfolded = text.replace("\r\n ", "").split("\r\n")[:-1]
    assert unfolded[0] == "BEGIN:VCALENDAR" and unfolded[-1] == "END:VCALENDAR"
    props = dict(line.split(":", 1) for line in unfolded)
    assert props["VERSION"] == "2.0"
    assert props["UID"].startswith(f"meeting-{meeting.body['id']}@")
    assert props["DTSTART"] == "20261205T070000Z"
    assert props["DTEND"] == "20261205T090000Z"
    assert props["DTSTAMP"] == "20261123T080000Z"
    assert props["SUMMARY"] == title.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    link = f"{world.server.url}/meetings/{meeting.body['id']}/room"
    assert link in props["DESCRIPTION"] and props["URL"] == link
    assert "\\n" in props["DESCRIPTION"]


async def test_other_units_and_read_only_roles(world: World) -> None:
    await approve_a(world)
    meeting = await schedule(world, "sec_a", "A", "online")
    mid = meeting.body["id"]
    sec_q = await world.as_user("sec_q")
    not_found = [
        await sec_q.get(f"/api/v1/meetings/{mid}"),
        await sec_q.patch(f"/api/v1/meetings/{mid}", {"title": "Đổi"}),
        await sec_q.get(f"/api/v1/meetings/{mid}/agenda"),
        await sec_q.request("PUT", f"/api/v1/meetings/{mid}/agenda", {"items": []}),
        await sec_q.post(f"/api/v1/meetings/{mid}/excuses", {"reason": "Vắng."}),
        await sec_q.post(
            f"/api/v1/meetings/{mid}/excuses", {"member_id": world.members["QA"][0], "reason": "X"}
        ),
        await sec_q.get(f"/api/v1/meetings/{mid}/invite.ics"),
        await sec_q.get(f"/api/v1/orgs/{world.orgs['A']}/meetings"),
        await sec_q.post(f"/api/v1/orgs/{world.orgs['A']}/meetings", meeting_body()),
        await sec_q.get("/api/v1/meetings/987654"),
    ]
    assert [r.status for r in not_found] == [404] * len(not_found)
    assert all(r.error_code == "not_found" for r in not_found)

    auditor = await world.as_user("auditor_p")
    assert (await auditor.get(f"/api/v1/meetings/{mid}")).status == 200
    assert (await auditor.get(f"/api/v1/meetings/{mid}/agenda")).status == 200
    assert (await auditor.get(f"/api/v1/meetings/{mid}/invite.ics")).status == 200
    assert (await auditor.get(f"/api/v1/orgs/{world.orgs['A']}/meetings")).status == 200
    denied = [
        await auditor.patch(f"/api/v1/meetings/{mid}", {"title": "Đổi"}),
        await auditor.request("PUT", f"/api/v1/meetings/{mid}/agenda", {"items": []}),
        await auditor.post(f"/api/v1/orgs/{world.orgs['A']}/meetings", meeting_body()),
        await (await world.as_user("member_a")).patch(f"/api/v1/meetings/{mid}", {"title": "Đổi"}),
        await (await world.as_user("approver_c")).post(
            f"/api/v1/orgs/{world.orgs['A']}/meetings", meeting_body()
        ),
    ]
    assert [r.status for r in denied] == [403] * len(denied)
    assert (await (await world.as_user("outsider")).get(f"/api/v1/meetings/{mid}")).status == 404
    assert (await (await world.as_user("sec_b")).get(f"/api/v1/meetings/{mid}")).status == 404
    assert (await auditor.get(f"/api/v1/meetings/{mid}")).body["title"] == meeting.body["title"]
