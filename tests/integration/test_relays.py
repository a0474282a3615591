"""Relayed attendance (issue 30 part 3, R-ATT-4) through the API on SQLite and PostgreSQL.

Cell A's secretary chairs an in-person meeting with two of its five official members checked in (opened
below quorum with a reason) and records a third, at sea, heard through a checked-in member's radio. Her
attendance entry is relayed and present; by default the quorum and a show of hands leave her out, and the
quorum's counts say so; under an imported rule set that allows it she counts for both. Bad relays are
refused with the rule and the reason, in Vietnamese (English when asked), and change nothing; a member
who is not the chair gets 403, another unit's secretary 404; a recorded relay is an audit entry.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from server.appkeys import DATABASE
from server.clock import iso
from server.db.tables import MeetingRelay
from server.services.rule_sets import import_rule_set
from tests.integration.helpers import assert_error, audit_rows, count, is_vietnamese, pass_time
from tests.integration.world import World

ALLOWING: dict[str, Any] = {
    "name": "relays-test",
    "title": {"vi": "Bộ quy tắc thử cho phép chuyển tiếp", "en": "A test set allowing relays"},
    "status": "in_force",
    "in_force_from": "2023-01-01",
    "in_force_to": None,
    "supersedes": "hd03-2022",
    "sources": ["Văn bản giả định cho kiểm thử"],
    "parameters": {"relayed_count_for_quorum": True, "relayed_may_vote": True},
}


async def _meeting(world: World) -> tuple[int, datetime]:
    """Cell A's in-person meeting starting now, members 0 and 3 checked in, opened with an override."""
    sec_a = await world.as_user("sec_a")
    opened_at = world.server.clock()
    body = {
        "kind": "regular",
        "mode": "in_person",
        "title": "Sinh hoạt chi bộ có đảng viên trên biển",
        "starts_at": iso(opened_at),
        "duration_minutes": 120,
    }
    created = await sec_a.post(f"/api/v1/orgs/{world.orgs['A']}/meetings", body)
    assert created.status == 201, created.body
    mid = created.body["id"]
    for index in (0, 3):
        checked = await sec_a.post(
            f"/api/v1/meetings/{mid}/checkins", {"member_id": world.members["A"][index]}
        )
        assert checked.status == 201, checked.body
    opened = await sec_a.post(f"/api/v1/meetings/{mid}/open", {"override_reason": "Đảng viên đi biển"})
    assert opened.status == 200, opened.body
    await pass_time(world, 10)
    return mid, opened_at


def _relay(world: World, start: datetime, **changes: Any) -> dict[str, Any]:
    return {
        "member_id": world.members["A"][1],  # Trần Thị Hai, at sea
        "relayed_by": world.members["A"][0],  # Nguyễn Văn Một, checked in
        "channel": "radio",
        "from": iso(start + timedelta(minutes=1)),
        "to": iso(start + timedelta(minutes=120)),
        **changes,
    }


async def _show_of_hands(world: World, mid: int, hands: int) -> Any:
    sec_a = await world.as_user("sec_a")
    vote = await sec_a.post(
        f"/api/v1/meetings/{mid}/votes",
        {"question": "Thông qua kế hoạch", "mode": "show_of_hands", "override_reason": "Đảng viên đi biển"},
    )
    assert vote.status == 201, vote.body
    return await sec_a.post(
        f"/api/v1/votes/{vote.body['id']}/counts", {"for": hands, "against": 0, "abstain": 0}
    )


async def test_a_relayed_member_attends_but_is_left_out_of_quorum_and_votes(world: World) -> None:
    sec_a = await world.as_user("sec_a")
    mid, opened_at = await _meeting(world)
    path = f"/api/v1/meetings/{mid}/relays"
    relayed = world.members["A"][1]

    recorded = await sec_a.post(path, _relay(world, opened_at))
    assert recorded.status == 201, recorded.body
    assert (recorded.body["member_id"], recorded.body["channel"]) == (relayed, "radio")
    assert recorded.body["attendance"]["relayed"] is True
    assert recorded.body["quorum"]["counts"]["relayed_left_out"] == 1

    attendance = await sec_a.get(f"/api/v1/meetings/{mid}/attendance")
    assert attendance.status == 200, attendance.body
    entries = {entry["member_id"]: entry for entry in attendance.body["members"]}
    assert entries[relayed]["relayed"] is True and entries[relayed]["status"] == "present"
    assert entries[relayed]["relays"] == [
        {
            "relayed_by": world.members["A"][0],
            "channel": "radio",
            "from": _relay(world, opened_at)["from"],
            "to": _relay(world, opened_at)["to"],
        }
    ]
    assert "relayed" not in entries[world.members["A"][0]]  # an entry without a relay reads as before
    assert attendance.body["counts"]["relayed"] == 1

    quorum = await sec_a.get(f"/api/v1/meetings/{mid}/quorum")
    assert quorum.body["outcome"] is False and quorum.body["rule"] == "R-QUOR-1"
    counts = quorum.body["counts"]
    assert (counts["present_official"], counts["relayed_official"], counts["relayed_left_out"]) == (2, 1, 1)
    assert "R-ATT-4" in quorum.body["explanation"] and is_vietnamese(quorum.body["explanation"])

    [entry] = await audit_rows(world, "attendance.relayed")
    assert entry["data"]["member_id"] == relayed and entry["data"]["rule"] == "R-ATT-4"

    # Bad relays: refused with the rule and the reason, and nothing written.
    rows = await count(world, MeetingRelay)
    other_unit_member = world.members["B"][0]
    cases: list[tuple[dict[str, Any], int, str, str | None]] = [
        (_relay(world, opened_at, relayed_by=relayed), 422, "validation_error", "same_member"),
        (_relay(world, opened_at, member_id=other_unit_member), 422, "validation_error", "not_summoned"),
        (
            _relay(world, opened_at, relayed_by=world.members["A"][2]),
            422,
            "validation_error",
            "relayer_absent",
        ),
        (_relay(world, opened_at - timedelta(minutes=5)), 422, "validation_error", "outside_meeting"),
        (_relay(world, opened_at, to=iso(opened_at)), 422, "validation_error", "order"),
        (_relay(world, opened_at, channel="pigeon"), 422, "validation_error", None),
        (_relay(world, opened_at, to="2026-11-23T10:00:00"), 422, "validation_error", None),
        (
            _relay(world, opened_at, **{"from": iso(opened_at + timedelta(minutes=5))}),
            409,
            "relay_overlap",
            None,
        ),
    ]
    for body, status, code, reason in cases:
        refused = await sec_a.post(path, body)
        error = assert_error(refused, status, code)
        assert is_vietnamese(error["message"]), error
        if reason is not None:
            assert (error["rule"], error["details"]["reason"]) == ("R-ATT-4", reason), error
    english = await (await world.as_user("sec_a", "en")).post(
        path, _relay(world, opened_at, relayed_by=relayed)
    )
    assert "another member" in assert_error(english, 422, "validation_error")["message"]
    assert_error(
        await (await world.as_user("member_a")).post(path, _relay(world, opened_at)), 403, "forbidden"
    )
    assert_error(await (await world.as_user("sec_b")).post(path, _relay(world, opened_at)), 404, "not_found")
    tomorrow = iso(opened_at + timedelta(days=1))
    scheduled = await sec_a.post(
        f"/api/v1/orgs/{world.orgs['A']}/meetings",
        {
            "kind": "regular",
            "mode": "in_person",
            "title": "Chưa khai mạc",
            "starts_at": tomorrow,
            "duration_minutes": 90,
        },
    )
    assert scheduled.status == 201, scheduled.body
    not_opened = await sec_a.post(f"/api/v1/meetings/{scheduled.body['id']}/relays", _relay(world, opened_at))
    assert assert_error(not_opened, 409, "meeting_not_opened")["rule"] == "R-ATT-4"
    assert await count(world, MeetingRelay) == rows
    assert len(await audit_rows(world, "attendance.relayed")) == 1

    # R-VOTE-2: three hands, but only the two officials present themselves may vote.
    hands = await _show_of_hands(world, mid, 3)
    assert assert_error(hands, 422, "validation_error")["rule"] == "R-VOTE-2"


async def test_a_rule_set_allowing_it_counts_the_relayed_member(world: World) -> None:
    async with world.server.app[DATABASE].write() as session:
        await import_rule_set(session, json.dumps(ALLOWING).encode(), at=world.server.clock())
    sec_a = await world.as_user("sec_a")
    mid, opened_at = await _meeting(world)
    before = await sec_a.get(f"/api/v1/meetings/{mid}/quorum")
    assert (before.body["outcome"], before.body["rule_set"]) == (False, "relays-test")

    recorded = await sec_a.post(f"/api/v1/meetings/{mid}/relays", _relay(world, opened_at, channel="phone"))
    assert recorded.status == 201, recorded.body
    quorum = await sec_a.get(f"/api/v1/meetings/{mid}/quorum")
    assert quorum.body["outcome"] is True
    counts = quorum.body["counts"]
    assert (counts["present_official"], counts["relayed_counted"], counts["officials_may_vote"]) == (3, 1, 3)

    hands = await _show_of_hands(world, mid, 3)
    assert hands.status == 200, hands.body
