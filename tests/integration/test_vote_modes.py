"""How each vote was taken (issue 30, R-VOTE-4), through the API on SQLite and PostgreSQL.

In person, cell A's secretary checks every member in and chairs three votes: a show of hands whose
counts the chair enters (bad counts refused in Vietnamese with the rule, changing nothing; ballots and
the plain close refused for it), a paper ballot entered with its counting committee's names, and a vote
opened without a mode, which stays the electronic ballot it always was (the chair records each member's
ballot on site; counts entered by hand are refused for it). The minutes, their DOCX and PDF say how each
vote was taken. Online, the room's `vote-opened` and `vote-closed` carry the mode, a paper ballot is
refused (nobody hands in a paper) and an election item is refused citing Quyết định 190-QĐ/TW.
"""

from __future__ import annotations

from typing import Any

import pytest

from server.db.tables import AuditEvent, Ballot
from tests.documents import docx_text, norm, pdf_pages
from tests.integration.helpers import count, is_vietnamese, schedule
from tests.integration.room_client import RoomClient, joined, scheduled_from_template
from tests.integration.world import World

COUNTERS = ["Lê Văn Ba", "Phạm Thị Bốn"]
HANDS_VI = "biểu quyết bằng giơ tay, chủ trì đếm"
PAPER_VI = "bỏ phiếu bằng phiếu giấy, kết quả do ban kiểm phiếu báo cáo"
ELECTRONIC_VI = "biểu quyết điện tử, ghi danh từng phiếu trong phòng họp"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"presence_confirm_seconds": 0.6}  # as in the minutes flow


async def _in_person_meeting(world: World) -> tuple[int, int]:
    """Cell A's in-person meeting, every member checked in and the meeting open: (id, officials present)."""
    sec_a = await world.as_user("sec_a")
    created = await schedule(world, "sec_a", "A")
    assert created.status == 201, created.body
    mid = created.body["id"]
    for member in world.members["A"]:
        checked = await sec_a.post(f"/api/v1/meetings/{mid}/checkins", {"member_id": member})
        assert checked.status == 201, checked.body
    opened = await sec_a.post(f"/api/v1/meetings/{mid}/open", {})
    assert opened.status == 200, opened.body
    return mid, int(opened.body["quorum"]["counts"]["present_official"])


async def test_one_vote_of_each_mode_in_person(world: World) -> None:
    sec_a = await world.as_user("sec_a")
    mid, officials = await _in_person_meeting(world)
    assert officials >= 3

    # the meeting page offers the unit's leaders a show of hands first in person, and the counts' form
    page = await sec_a.get(f"/meetings/{mid}")
    assert page.status == 200
    html = page.body.decode()
    assert 'id="meeting-counts-form"' in html and 'id="meeting-vote-form"' in html
    assert '<option value="show_of_hands" selected>' in html

    # -- a show of hands, counted by the chair
    hands = await sec_a.post(
        f"/api/v1/meetings/{mid}/votes", {"question": "Thông qua kế hoạch tháng", "mode": "show_of_hands"}
    )
    assert hands.status == 201, hands.body
    assert (hands.body["mode"], hands.body["mode_text"], hands.body["method"]) == (
        "show_of_hands",
        HANDS_VI,
        "open",
    )
    hands_id = hands.body["id"]
    ballot = await sec_a.post(
        f"/api/v1/votes/{hands_id}/ballots", {"choice": "for", "member_id": world.members["A"][0]}
    )
    assert (ballot.status, ballot.error_code) == (409, "wrong_mode"), ballot.body
    closing = await sec_a.post(f"/api/v1/votes/{hands_id}/close", {})
    assert (closing.status, closing.error_code) == (409, "counts_required"), closing.body
    assert is_vietnamese(closing.body["error"]["message"])
    member = await (await world.as_user("member_a")).post(
        f"/api/v1/votes/{hands_id}/counts", {"for": 1, "against": 0, "abstain": 0}
    )
    assert member.status == 403, member.body

    sec_a_en = await world.as_user("sec_a", "en")  # logged in now: a login is an audit row of its own
    before = (await sec_a.get(f"/api/v1/votes/{hands_id}")).body
    audit_before = await count(world, AuditEvent)
    bad = [
        (
            {"for": officials, "against": 1, "abstain": 0},
            "R-VOTE-2",
            "for",
            f"{officials} đảng viên chính thức có mặt",
        ),
        ({"for": -1, "against": 0, "abstain": 0}, "R-VOTE-4", "for", "không được âm"),
        ({"for": 1, "against": 0, "abstain": -2}, "R-VOTE-4", "abstain", "không được âm"),
        ({"for": 1, "against": 0, "abstain": 0, "counted_by": ["  "]}, "R-VOTE-4", "counted_by", "họ tên"),
    ]
    for body, rule, field, words in bad:
        reply = await sec_a.post(f"/api/v1/votes/{hands_id}/counts", body)
        assert (reply.status, reply.error_code) == (422, "validation_error"), (body, reply.body)
        error = reply.body["error"]
        assert error["rule"] == rule and field in error["details"]["fields"], error
        assert is_vietnamese(error["message"]) and words in error["message"], error["message"]
    english = await sec_a_en.post(f"/api/v1/votes/{hands_id}/counts", {"for": -1, "against": 0, "abstain": 0})
    assert english.status == 422 and "may not be negative" in english.body["error"]["message"], english.body
    assert (await sec_a.get(f"/api/v1/votes/{hands_id}")).body == before  # nothing changed
    assert await count(world, AuditEvent) == audit_before

    counted = await sec_a.post(
        f"/api/v1/votes/{hands_id}/counts", {"for": officials - 1, "against": 1, "abstain": 0}
    )
    assert counted.status == 200, counted.body
    assert counted.body["status"] == "closed" and counted.body["mode"] == "show_of_hands"
    assert counted.body["counts"] == {"for": officials - 1, "against": 1, "abstain": 0, "ballots": officials}
    result = counted.body["result"]
    assert result["rule"] == "R-VOTE-1" and result["counts"]["for"] == officials - 1
    assert result["outcome"] == (
        "passed" if officials - 1 > result["counts"]["voting_base"] / 2 else "failed"
    )
    again = await sec_a.post(f"/api/v1/votes/{hands_id}/counts", {"for": 1, "against": 0, "abstain": 0})
    assert (again.status, again.error_code) == (409, "vote_closed"), again.body
    in_english = (await sec_a_en.get(f"/api/v1/votes/{hands_id}")).body
    assert in_english["mode_text"] == "show of hands, counted by the chair"

    # -- a paper ballot, entered afterwards with the counting committee's names
    paper = await sec_a.post(
        f"/api/v1/meetings/{mid}/votes", {"question": "Bầu tổ kiểm tra nội bộ", "mode": "paper_ballot"}
    )
    assert paper.status == 201 and paper.body["mode"] == "paper_ballot", paper.body
    paper_id = paper.body["id"]
    unnamed = await sec_a.post(f"/api/v1/votes/{paper_id}/counts", {"for": 1, "against": 1, "abstain": 0})
    assert (unnamed.status, unnamed.error_code) == (422, "validation_error"), unnamed.body
    assert "ban kiểm phiếu" in unnamed.body["error"]["message"]
    assert (await sec_a.get(f"/api/v1/votes/{paper_id}")).body["status"] == "open"
    entered = await sec_a.post(
        f"/api/v1/votes/{paper_id}/counts", {"for": 1, "against": 1, "abstain": 1, "counted_by": COUNTERS}
    )
    assert entered.status == 200, entered.body
    assert entered.body["counted_by"] == COUNTERS and entered.body["result"]["outcome"] == "failed"

    # -- no mode named: electronic ballots, the chair recording each member's on site, as before issue 30
    plain = await sec_a.post(f"/api/v1/meetings/{mid}/votes", {"question": "Thông qua nghị quyết"})
    assert plain.status == 201 and plain.body["mode"] == "electronic", plain.body
    assert plain.body["mode_text"] == ELECTRONIC_VI
    plain_id = plain.body["id"]
    by_hand = await sec_a.post(f"/api/v1/votes/{plain_id}/counts", {"for": 1, "against": 0, "abstain": 0})
    assert (by_hand.status, by_hand.error_code) == (409, "wrong_mode"), by_hand.body
    accepted = 0
    for member_id in world.members["A"]:
        cast = await sec_a.post(
            f"/api/v1/votes/{plain_id}/ballots", {"choice": "for", "member_id": member_id}
        )
        if cast.status == 201:
            accepted += 1
        else:  # the probationary member's (R-VOTE-2)
            assert cast.body["error"]["details"] == {"reason": "probationary"}, cast.body
    assert accepted == officials
    closed = await sec_a.post(f"/api/v1/votes/{plain_id}/close", {})
    assert closed.status == 200 and closed.body["result"]["outcome"] == "passed", closed.body
    assert closed.body["counts"]["ballots"] == officials
    assert await count(world, Ballot) == officials  # the show of hands and the paper ballot left none

    listed = (await sec_a.get(f"/api/v1/meetings/{mid}/votes")).body["votes"]
    assert [v["mode"] for v in listed] == ["show_of_hands", "paper_ballot", "electronic"]

    # -- the minutes say how each vote was taken
    minutes = await sec_a.get(f"/api/v1/meetings/{mid}/minutes")
    assert minutes.status == 200, minutes.body
    rows = minutes.body["document"]["votes"]
    assert [(r["mode"], r["mode_text"], r["counted_by"]) for r in rows] == [
        ("show_of_hands", HANDS_VI, []),
        ("paper_ballot", PAPER_VI, COUNTERS),
        ("electronic", ELECTRONIC_VI, []),
    ]
    docx_reply = await sec_a.get(f"/api/v1/meetings/{mid}/minutes.docx")
    pdf_reply = await sec_a.get(f"/api/v1/meetings/{mid}/minutes.pdf")
    assert (docx_reply.status, pdf_reply.status) == (200, 200)
    body, _ = docx_text(docx_reply.body)
    pdf = norm(" ".join(pdf_pages(pdf_reply.body, "-raw")))
    for text in (norm(body), pdf):
        for mode_text in (HANDS_VI, PAPER_VI, ELECTRONIC_VI):
            assert f"Cách biểu quyết: {mode_text}." in text
        assert f"Ban kiểm phiếu: {', '.join(COUNTERS)}." in text


async def test_online_the_room_hears_the_mode_and_paper_and_elections_are_refused(
    world: World, rooms: list[RoomClient]
) -> None:
    mid, people = await scheduled_from_template(world)
    chair = await world.as_user(people[0][0])
    for username, _ in people[:3]:
        client, _ = await joined(world, username, mid)
        rooms.append(client)
    opened = await (await world.as_user("sec_a")).post(f"/api/v1/meetings/{mid}/open", {})
    assert opened.status == 200, opened.body
    listener = rooms[1]

    paper = await chair.post(
        f"/api/v1/meetings/{mid}/votes", {"question": "Phiếu giấy?", "mode": "paper_ballot"}
    )
    assert (paper.status, paper.error_code) == (409, "rule_refused"), paper.body
    assert paper.body["error"]["rule"] == "R-VOTE-4" and is_vietnamese(paper.body["error"]["message"])
    assert (await chair.get(f"/api/v1/meetings/{mid}/votes")).body["votes"] == []

    mark = listener.mark()
    hands = await chair.post(
        f"/api/v1/meetings/{mid}/votes", {"question": "Giơ tay", "mode": "show_of_hands"}
    )
    assert hands.status == 201, hands.body
    pushed = await listener.wait_for("vote-opened", lambda v: v["id"] == hands.body["id"], since=mark)
    assert pushed["mode"] == "show_of_hands" and pushed["mode_text"] == HANDS_VI
    counted = await chair.post(
        f"/api/v1/votes/{hands.body['id']}/counts", {"for": 3, "against": 0, "abstain": 0}
    )
    assert counted.status == 200, counted.body
    closed = await listener.wait_for("vote-closed", lambda v: v["id"] == hands.body["id"], since=mark)
    assert (
        closed["mode"] == "show_of_hands" and closed["result"]["outcome"] == counted.body["result"]["outcome"]
    )

    electronic = await chair.post(f"/api/v1/meetings/{mid}/votes", {"question": "Điện tử"})
    assert electronic.status == 201 and electronic.body["mode"] == "electronic", electronic.body

    # an election needs a secret ballot (Quyết định 190-QĐ/TW): never on an online meeting's agenda
    other = await schedule(world, "sec_a", "A", "online")
    assert other.status == 201, other.body
    election = {
        "items": [
            {"title": "Thông qua chương trình", "item_type": "ordinary", "notes": ""},
            {"title": "Bầu bí thư chi bộ", "item_type": "election", "notes": ""},
        ]
    }
    refused = await (await world.as_user("sec_a")).request(
        "PUT", f"/api/v1/meetings/{other.body['id']}/agenda", election
    )
    assert (refused.status, refused.body["error"]["rule"]) == (409, "R-CONTENT-1"), refused.body
    assert refused.body["error"]["details"]["sources"] == ["Quyết định 190-QĐ/TW (10/10/2024)"]
    assert (
        "190-QĐ/TW" in refused.body["error"]["message"] and "bỏ phiếu kín" in refused.body["error"]["message"]
    )
