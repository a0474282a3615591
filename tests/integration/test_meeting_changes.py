"""Issue 18: a meeting is never scheduled in the past, warns when the approval ends before it, is cancelled
or moved with a reason (audited, the members told, the auditor sees it), and the secretary sends the
invitation to the summoned members' accounts."""

from __future__ import annotations

from typing import Any

from server.db.tables import AuditEvent, Meeting, Notice
from tests.integration.helpers import apply, audit_rows, count, decide, decision, meeting_body, schedule
from tests.integration.world import World


async def approve_a_until(world: World, valid_to: str) -> None:
    application = await apply(world, "sec_a", "A")
    reply = await decide(await world.as_user("approver_c"), application["id"], decision(valid_to=valid_to))
    assert reply.status == 200, reply.body


async def notices(world: World, username: str) -> list[dict[str, Any]]:
    reply = await (await world.as_user(username)).get("/api/v1/notices")
    assert reply.status == 200, reply.body
    return list(reply.body["notices"])


async def link_member_b(world: World) -> None:
    """An account for a member of cell B (another unit than A)."""
    user_id = await world.add_user("member_b")
    reply = await (await world.as_user("sec_b")).patch(
        f"/api/v1/members/{world.members['B'][0]}", {"user_id": user_id}
    )
    assert reply.status == 200, reply.body


async def test_a_start_in_the_past_is_refused_and_nothing_is_written(world: World) -> None:
    for lang in ("vi", "en"):
        await world.as_user("sec_a", lang)  # log in first: a login is an audit row too
    meetings_before, audit_before = await count(world, Meeting), await count(world, AuditEvent)
    for starts_at in ("2025-01-01T14:00:00+07:00", "2026-11-22T07:59:00Z"):  # the clock is 23/11 08:00Z
        for lang in ("vi", "en"):
            client = await world.as_user("sec_a", lang)
            reply = await client.post(
                f"/api/v1/orgs/{world.orgs['A']}/meetings", meeting_body(starts_at=starts_at)
            )
            assert (reply.status, reply.error_code) == (422, "starts_in_past"), reply.body
            assert reply.body["error"]["details"]["fields"] == {"starts_at": "in the past"}
            expected = "quá khứ" if lang == "vi" else "in the past"
            assert expected in reply.body["error"]["message"], reply.body
    assert await count(world, Meeting) == meetings_before
    assert await count(world, AuditEvent) == audit_before

    # five minutes go unremarked (a form filled in just before the hour) ...
    within_grace = await schedule(world, "sec_a", "A", starts_at="2026-11-23T07:56:00Z")
    assert within_grace.status == 201, within_grace.body
    assert within_grace.body["warnings"] == []
    # ... and a session held on site earlier today or last night may be entered after it, with a warning
    held_last_night = await schedule(world, "sec_a", "A", starts_at="2026-11-22T19:30:00+07:00")
    assert held_last_night.status == 201, held_last_night.body
    assert [w["code"] for w in held_last_night.body["warnings"]] == ["starts_in_past"]
    assert "đã qua" in held_last_night.body["warnings"][0]["message"]

    # moving a meeting into the past is refused the same way, by PATCH or by reschedule
    sec_a = await world.as_user("sec_a")
    mid = (await schedule(world, "sec_a", "A")).body["id"]
    audit_before = await count(world, AuditEvent)
    patched = await sec_a.patch(f"/api/v1/meetings/{mid}", {"starts_at": "2026-11-01T14:00:00+07:00"})
    assert (patched.status, patched.error_code) == (422, "starts_in_past"), patched.body
    moved = await sec_a.post(
        f"/api/v1/meetings/{mid}/reschedule", {"starts_at": "2026-11-01T14:00:00+07:00", "reason": "Lùi"}
    )
    assert (moved.status, moved.error_code) == (422, "starts_in_past"), moved.body
    assert await count(world, AuditEvent) == audit_before
    assert await count(world, Notice) == 0
    got = await sec_a.get(f"/api/v1/meetings/{mid}")
    assert got.body["starts_at"] == "2026-12-05T07:00:00Z"


async def test_a_meeting_after_the_approval_ends_is_warned_with_the_rule(world: World) -> None:
    await approve_a_until(world, "2026-12-31")
    inside = await schedule(world, "sec_a", "A", "online")
    assert inside.status == 201, inside.body
    assert inside.body["warnings"] == []

    after = await schedule(world, "sec_a", "A", "hybrid", starts_at="2027-01-10T14:00:00+07:00")
    assert after.status == 201, after.body
    assert after.body["status"] == "scheduled"
    [warning] = after.body["warnings"]
    assert (warning["code"], warning["rule"], warning["valid_to"]) == (
        "approval_ends_before_meeting",
        "R-ELIG-6",
        "2026-12-31",
    )
    assert "R-ELIG-6" in warning["message"] and "31/12/2026" in warning["message"]

    # the end counts too: 23:00 on the last day, for two hours, in the unit's zone
    late = await schedule(world, "sec_a", "A", "online", starts_at="2026-12-31T23:00:00+07:00")
    assert [w["code"] for w in late.body["warnings"]] == ["approval_ends_before_meeting"]
    english = await (await world.as_user("sec_a", "en")).post(
        f"/api/v1/orgs/{world.orgs['A']}/meetings",
        meeting_body("online", starts_at="2027-02-01T14:00:00+07:00"),
    )
    assert "2026-12-31" in english.body["warnings"][0]["message"]

    # an in-person meeting needs no approval: no warning
    in_person = await schedule(world, "sec_a", "A", starts_at="2027-01-10T14:00:00+07:00")
    assert in_person.body["warnings"] == []

    # moving the online meeting past the approval's end warns as well
    sec_a = await world.as_user("sec_a")
    moved = await sec_a.post(
        f"/api/v1/meetings/{inside.body['id']}/reschedule",
        {"starts_at": "2027-01-06T14:00:00+07:00", "reason": "Trùng lịch công tác"},
    )
    assert moved.status == 200, moved.body
    assert [w["rule"] for w in moved.body["warnings"]] == ["R-ELIG-6"]


async def test_cancel_is_audited_told_and_shown_to_the_auditor(world: World) -> None:
    await link_member_b(world)
    sec_a = await world.as_user("sec_a")
    mid = (await schedule(world, "sec_a", "A")).body["id"]
    path = f"/api/v1/meetings/{mid}/cancel"

    # reason required, 1..500; who may write the meeting only
    for bad in ({}, {"reason": ""}, {"reason": "x" * 501}):
        reply = await sec_a.post(path, bad)
        assert reply.status == 422, (bad, reply.body)
    assert (await (await world.as_user("member_a")).post(path, {"reason": "Thử"})).status == 403
    assert (await (await world.as_user("auditor_p")).post(path, {"reason": "Thử"})).status == 403
    assert (await (await world.as_user("sec_b")).post(path, {"reason": "Thử"})).status == 404
    assert await count(world, Notice) == 0

    reason = "Trùng lịch hội nghị của Đảng ủy cấp trên"
    cancelled = await sec_a.post(path, {"reason": reason})
    assert cancelled.status == 200, cancelled.body
    assert (cancelled.body["status"], cancelled.body["cancel_reason"], cancelled.body["notified"]) == (
        "cancelled",
        reason,
        1,
    )
    assert cancelled.body["cancelled_at"] == "2026-11-23T08:00:00Z"

    [row] = await audit_rows(world, "meeting.cancelled")
    assert (row["target"], row["data"]["reason"], row["data"]["starts_at"]) == (
        f"meeting:{mid}",
        reason,
        "2026-12-05T07:00:00Z",
    )

    # the summoned member with an account is told; another unit's member and the secretary are not
    [notice] = await notices(world, "member_a")
    assert (notice["kind"], notice["data"]["reason"], notice["ics_url"]) == ("cancelled", reason, None)
    assert notice["meeting"] == {
        "id": mid,
        "title": "Sinh hoạt chi bộ thường kỳ tháng 12",
        "starts_at": "2026-12-05T07:00:00Z",
        "status": "cancelled",
        "org_id": world.orgs["A"],
    }
    assert await notices(world, "member_b") == []
    assert await notices(world, "sec_a") == []

    # the auditor sees it as cancelled, with the reason, in the meetings and the month's record
    auditor = await world.as_user("auditor_p")
    listed = await auditor.get(f"/api/v1/orgs/{world.orgs['A']}/meetings")
    [entry] = [m for m in listed.body["meetings"] if m["id"] == mid]
    assert (entry["status"], entry["cancel_reason"]) == ("cancelled", reason)
    record = await auditor.get(f"/api/v1/orgs/{world.orgs['A']}/monthly-record?month=2026-12")
    assert record.status == 200, record.body
    [entry] = [m for m in record.body["meetings"] if m["id"] == mid]
    assert (entry["status"], entry["cancel_reason"]) == ("cancelled", reason)

    # it never opens; nobody checks in or joins; it is not cancelled or moved again
    audit_before = await count(world, AuditEvent)
    for url, body in (
        (f"/api/v1/meetings/{mid}/open", {"override_reason": "Vẫn họp"}),
        (f"/api/v1/meetings/{mid}/checkins", {"member_id": world.members["A"][0]}),
        (path, {"reason": "Lần nữa"}),
        (
            f"/api/v1/meetings/{mid}/reschedule",
            {"starts_at": "2026-12-12T14:00:00+07:00", "reason": "Họp lại"},
        ),
        (f"/api/v1/meetings/{mid}/invitations", {}),
        (f"/api/v1/meetings/{mid}/excuses", {"member_id": world.members["A"][0], "reason": "Ốm"}),
    ):
        reply = await sec_a.post(url, body)
        assert (reply.status, reply.error_code) == (409, "meeting_cancelled"), (url, reply.body)
    ticket = await (await world.as_user("member_a")).post(f"/api/v1/meetings/{mid}/join-ticket", {})
    assert (ticket.status, ticket.error_code) == (409, "meeting_cancelled"), ticket.body
    patched = await sec_a.patch(f"/api/v1/meetings/{mid}", {"title": "Đổi tên"})
    assert (patched.status, patched.error_code) == (409, "meeting_cancelled"), patched.body
    assert await count(world, AuditEvent) == audit_before


async def test_reschedule_is_audited_and_told_with_the_new_time(world: World) -> None:
    sec_a = await world.as_user("sec_a")
    mid = (await schedule(world, "sec_a", "A")).body["id"]
    path = f"/api/v1/meetings/{mid}/reschedule"
    for bad in (
        {"starts_at": "2026-12-12T14:00:00+07:00"},  # no reason
        {"starts_at": "2026-12-12T14:00:00", "reason": "Lùi"},  # no zone
        {"starts_at": "2026-12-12T14:00:00+07:00", "reason": "Lùi", "duration_minutes": 10},
    ):
        reply = await sec_a.post(path, bad)
        assert reply.status == 422, (bad, reply.body)
    assert (
        await (await world.as_user("member_a")).post(
            path, {"starts_at": "2026-12-12T14:00:00+07:00", "reason": "x"}
        )
    ).status == 403

    world.server.clock.advance(minutes=5)
    moved = await sec_a.post(
        path,
        {"starts_at": "2026-12-12T14:00:00+07:00", "duration_minutes": 150, "reason": "Bí thư đi công tác"},
    )
    assert moved.status == 200, moved.body
    assert (moved.body["status"], moved.body["starts_at"], moved.body["duration_minutes"]) == (
        "scheduled",
        "2026-12-12T07:00:00Z",
        150,
    )
    assert (moved.body["notified"], moved.body["warnings"]) == (1, [])

    [row] = await audit_rows(world, "meeting.rescheduled")
    assert row["data"]["reason"] == "Bí thư đi công tác"
    assert (row["data"]["old_starts_at"], row["data"]["starts_at"]) == (
        "2026-12-05T07:00:00Z",
        "2026-12-12T07:00:00Z",
    )
    assert (row["data"]["old_duration_minutes"], row["data"]["duration_minutes"]) == (120, 150)

    [notice] = await notices(world, "member_a")
    assert notice["kind"] == "rescheduled"
    assert (notice["data"]["old_starts_at"], notice["data"]["starts_at"], notice["data"]["ends_at"]) == (
        "2026-12-05T07:00:00Z",
        "2026-12-12T07:00:00Z",
        "2026-12-12T09:30:00Z",
    )
    assert notice["meeting"]["starts_at"] == "2026-12-12T07:00:00Z"
    assert notice["ics_url"] == f"/api/v1/meetings/{mid}/invite.ics"
    got = await (await world.as_user("member_a")).get(f"/api/v1/meetings/{mid}")
    assert got.body["starts_at_local"] == "2026-12-12T14:00:00+07:00"


async def test_invitations_reach_the_summoned_accounts_only(world: World) -> None:
    await link_member_b(world)
    sec_a = await world.as_user("sec_a")
    mid = (await schedule(world, "sec_a", "A")).body["id"]
    b_mid = (await schedule(world, "sec_b", "B")).body["id"]

    path = f"/api/v1/meetings/{mid}/invitations"
    assert (await (await world.as_user("member_a")).post(path, {})).status == 403
    assert (await (await world.as_user("sec_b")).post(path, {})).status == 404

    sent = await sec_a.post(path, {})
    assert sent.status == 200, sent.body
    assert sent.body == {"meeting_id": mid, "sent": 1, "again": False, "times_sent_before": 0}
    [invitation] = await notices(world, "member_a")
    assert invitation["kind"] == "invitation"
    assert invitation["ics_url"] == f"/api/v1/meetings/{mid}/invite.ics"
    assert (invitation["data"]["starts_at"], invitation["data"]["title"], invitation["data"]["mode"]) == (
        "2026-12-05T07:00:00Z",
        "Sinh hoạt chi bộ thường kỳ tháng 12",
        "in_person",
    )
    assert invitation["data"]["ics_url"] == f"/api/v1/meetings/{mid}/invite.ics"
    # only cell A's summoned accounts: B's member, the secretary and the auditor get nothing
    for username in ("member_b", "sec_a", "auditor_p"):
        assert await notices(world, username) == [], username

    # sending again sends again, and says so
    world.server.clock.advance(minutes=1)
    again = await sec_a.post(path, {})
    assert (again.body["sent"], again.body["again"], again.body["times_sent_before"]) == (1, True, 1)
    listed = await notices(world, "member_a")
    assert [n["kind"] for n in listed] == ["invitation", "invitation"]
    assert listed[0]["created_at"] > listed[1]["created_at"]  # newest first
    rows = await audit_rows(world, "meeting.invited")
    assert [(r["data"]["sent"], r["data"]["again"]) for r in rows] == [(1, False), (1, True)]

    # B's invitation reaches B's member only
    b_sent = await (await world.as_user("sec_b")).post(f"/api/v1/meetings/{b_mid}/invitations", {})
    assert b_sent.body["sent"] == 1
    [b_notice] = await notices(world, "member_b")
    assert b_notice["meeting"]["id"] == b_mid
    assert len(await notices(world, "member_a")) == 2

    # a cancellation after the invitation comes first in the list
    world.server.clock.advance(minutes=1)
    assert (await sec_a.post(f"/api/v1/meetings/{mid}/cancel", {"reason": "Mưa bão"})).status == 200
    listed = await notices(world, "member_a")
    assert [n["kind"] for n in listed] == ["cancelled", "invitation", "invitation"]
    assert all(n["meeting"]["status"] == "cancelled" and n["ics_url"] is None for n in listed)


async def test_notices_need_a_login(world: World) -> None:
    anonymous = world.make_client()
    reply = await anonymous.get("/api/v1/notices")
    assert (reply.status, reply.error_code) == (401, "unauthenticated")


async def test_an_agenda_from_a_template_carries_no_rule_ids(world: World) -> None:
    """The template cites its rules (the API keeps them); the meeting's agenda, read by the members and
    written into the record, carries the words only (issue 18 item 5)."""
    sec_a = await world.as_user("sec_a")
    templates = (await sec_a.get(f"/api/v1/agenda-templates?org={world.orgs['A']}")).body["templates"]
    regular = next(t for t in templates if t["code"] == "regular")
    assert any("R-AGENDA-2" in item["notes"]["vi"] for item in regular["items"])
    made = await schedule(world, "sec_a", "A", agenda_template_id=regular["id"])
    assert made.status == 201, made.body
    agenda = (await sec_a.get(f"/api/v1/meetings/{made.body['id']}/agenda")).body["items"]
    assert len(agenda) == len(regular["items"])
    assert [item["notes"] for item in agenda if "R-" in item["notes"]] == []
    assert agenda[0]["notes"] == "Phần mở đầu"
