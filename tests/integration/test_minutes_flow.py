"""From a template to signed minutes, over the API and `/room` (issue 4's end-to-end acceptance).

Cell A: Một, Hai, Ba, Bốn (official), Năm (probationary), and an official member with an account who
sends an excuse. Một chairs, Hai takes the minutes; Bốn has an account but never comes.
"""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

import pytest

from tests.documents import docx_text, norm, pdf_pages
from tests.integration.helpers import approve_a, audit_entries, pass_time, regular_template, schedule
from tests.integration.room_client import RoomClient, joined, link_members, scheduled_from_template
from tests.integration.world import World


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"presence_confirm_seconds": 0.6}


async def test_from_the_regular_template_to_signed_minutes(world: World, rooms: list[RoomClient]) -> None:
    mid, people = await scheduled_from_template(world)
    (mot, mot_id), (hai, _), (ba, ba_id), (bon, _), (nam, _) = people
    template = await regular_template(world)
    sec_a = await world.as_user("sec_a")
    agenda = await sec_a.get(f"/api/v1/meetings/{mid}/agenda")
    assert [i["title"] for i in agenda.body["items"]] == [i["title"]["vi"] for i in template["items"]]
    excused_id = world.members["A"][5]
    assert (
        await sec_a.post(
            f"/api/v1/meetings/{mid}/excuses", {"member_id": excused_id, "reason": "Đi công tác xa"}
        )
    ).status == 201

    clients: dict[str, RoomClient] = {}
    for username in (mot, hai, ba, nam):
        clients[username], _ = await joined(world, username, mid)
        rooms.append(clients[username])
    chair, taker = await world.as_user(mot), await world.as_user(hai)

    # a member is not the chair; the chair cannot start a vote before the opening
    assert (
        await (await world.as_user(ba)).post(f"/api/v1/meetings/{mid}/agenda/current", {"index": 0})
    ).status == 403
    early = await chair.post(f"/api/v1/meetings/{mid}/votes", {"question": "Sớm quá", "kind": "ordinary"})
    assert (early.status, early.error_code) == (409, "meeting_not_open")

    opened = await sec_a.post(f"/api/v1/meetings/{mid}/open", {})
    assert opened.status == 200, opened.body
    assert opened.body["quorum"]["outcome"] is True
    # an agenda is fixed once the meeting opened
    assert (await sec_a.put(f"/api/v1/meetings/{mid}/agenda", {"items": []})).status == 409

    # the chair moves through the agenda; everyone sees the current item; speeches are recorded
    items = agenda.body["items"]
    for index in range(len(items)):
        mark = clients[ba].mark()
        moved = await chair.post(f"/api/v1/meetings/{mid}/agenda/current", {"index": index})
        assert moved.status == 200, moved.body
        seen = await clients[ba].wait_for("agenda", lambda a, i=index: a["current"] == i, since=mark)
        assert seen["items"][index]["started_at"] is not None
        if index == 5:
            assert (await clients[ba].call("hand", {"raised": True}))["ok"]
            floor = await chair.post(f"/api/v1/meetings/{mid}/floor", {"member_id": ba_id})
            assert floor.status == 200 and floor.body["full_name"] == "Lê Văn Ba"
            await clients[ba].wait_for("hands", lambda h: h["hands"] == [])
            await pass_time(world, 3)
            assert (await chair.post(f"/api/v1/meetings/{mid}/floor", {"member_id": None})).status == 200
        if index == 9:  # the conclusion is voted (R-AGENDA-4)
            break
    conclusion_item = index

    vote = await chair.post(
        f"/api/v1/meetings/{mid}/votes", {"question": "Thông qua kết luận của chi bộ", "kind": "ordinary"}
    )
    assert vote.status == 201, vote.body
    vote_id = vote.body["id"]
    assert vote.body["agenda_item_index"] == conclusion_item
    opened_push = await clients[nam].wait_for("vote-opened")
    assert opened_push["id"] == vote_id and opened_push["question"] == "Thông qua kết luận của chi bộ"
    second_open = await chair.post(
        f"/api/v1/meetings/{mid}/votes", {"question": "Song song", "kind": "ordinary"}
    )
    assert (second_open.status, second_open.error_code) == (409, "vote_open")

    assert (await chair.post(f"/api/v1/votes/{vote_id}/ballots", {"choice": "for"})).status == 201
    by_socket = await clients[hai].call("ballot", {"vote_id": vote_id, "choice": "for"})
    assert by_socket["ok"] is True, by_socket
    assert (await clients[ba].call("ballot", {"vote_id": vote_id, "choice": "against"}))["ok"] is True
    probationary = await clients[nam].call("ballot", {"vote_id": vote_id, "choice": "for"})
    assert probationary["ok"] is False
    assert (probationary["error"]["rule"], probationary["error"]["details"]["reason"]) == (
        "R-VOTE-2",
        "probationary",
    )
    again = await (await world.as_user(ba)).post(f"/api/v1/votes/{vote_id}/ballots", {"choice": "for"})
    assert (again.status, again.body["error"]["rule"], again.body["error"]["details"]["reason"]) == (
        409,
        "R-VOTE-2",
        "already_voted",
    )
    absent = await (await world.as_user(bon)).post(f"/api/v1/votes/{vote_id}/ballots", {"choice": "for"})
    assert (absent.status, absent.body["error"]["details"]["reason"]) == (409, "not_present")
    progress = await clients[mot].wait_for("vote-progress", lambda v: v["counts"]["ballots"] == 3)
    assert progress["voted"] == sorted([mot_id, people[1][1], ba_id])
    reserved = await (await world.as_user(ba)).post(
        f"/api/v1/votes/{vote_id}/reserved-opinions",
        {"opinion": "Đề nghị bổ sung chỉ tiêu kết nạp đảng viên"},
    )
    assert reserved.status == 201, reserved.body

    closed = await chair.post(f"/api/v1/votes/{vote_id}/close", {})
    assert closed.status == 200, closed.body
    result = closed.body["result"]
    # 2 of the 3 official members present voted for: a majority of those present, but the voting base
    # is the 5 official members (R-BASE-2: the absent, excused or not, still count), so it fails
    assert result["counts"] == {"for": 2, "against": 1, "abstain": 0, "voting_base": 5, "needed": 3}
    assert (result["outcome"], result["rule"]) == ("failed", "R-VOTE-1")
    pushed = await clients[ba].wait_for("vote-closed")
    assert pushed["result"]["outcome"] == "failed"

    # the minute-taker and the chair write at once, on the same version: both kept
    current = (await taker.get(f"/api/v1/meetings/{mid}/minutes")).body
    base = current["version"]
    substance = f"item:{conclusion_item}"
    first = await taker.put(
        f"/api/v1/meetings/{mid}/minutes",
        {"version": base, "fields": {substance: "Chi bộ thảo luận dự thảo kết luận."}, "edit_id": "hai-1"},
    )
    assert first.status == 200, first.body
    second = await chair.put(
        f"/api/v1/meetings/{mid}/minutes",
        {"version": base, "fields": {"conclusions": "Chủ trì kết luận: hoàn thành nhiệm vụ tháng."}},
    )
    assert second.status == 200, second.body
    assert second.body["fields"][substance] == "Chi bộ thảo luận dự thảo kết luận."
    assert second.body["version"] == base + 2
    retried = await taker.put(
        f"/api/v1/meetings/{mid}/minutes",
        {"version": base, "fields": {substance: "Chi bộ thảo luận dự thảo kết luận."}, "edit_id": "hai-1"},
    )
    assert retried.status == 200 and retried.body["version"] == base + 2  # not applied twice
    clash = await chair.put(
        f"/api/v1/meetings/{mid}/minutes", {"version": base, "fields": {substance: "Một nội dung khác hẳn."}}
    )
    assert (clash.status, clash.error_code) == (409, "conflict")
    assert clash.body["error"]["details"]["fields"][substance] == "Chi bộ thảo luận dự thảo kết luận."
    assert (
        await (await world.as_user(ba)).put(f"/api/v1/meetings/{mid}/minutes", {"version": 0, "fields": {}})
    ).status in (403, 422)

    adoption = await chair.post(
        f"/api/v1/meetings/{mid}/votes", {"question": "Thông qua biên bản", "kind": "minutes_adoption"}
    )
    assert adoption.status == 201, adoption.body
    for username in (mot, hai, ba):
        assert (
            await (await world.as_user(username)).post(
                f"/api/v1/votes/{adoption.body['id']}/ballots", {"choice": "for"}
            )
        ).status == 201
    adopted_vote = await chair.post(f"/api/v1/votes/{adoption.body['id']}/close", {})
    assert adopted_vote.body["result"]["outcome"] == "passed", adopted_vote.body
    await pass_time(world, 90)
    assert (await sec_a.post(f"/api/v1/meetings/{mid}/close", {})).status == 200

    minutes = (await taker.get(f"/api/v1/meetings/{mid}/minutes")).body
    document = minutes["document"]
    assert minutes["status"] == "draft"
    assert document["place"] == "Trực tuyến"
    assert document["number"] == "Số 01-BB/CB"
    assert document["chair"]["full_name"] == "Nguyễn Văn Một"
    assert document["minute_taker"]["full_name"] == "Trần Thị Hai"
    assert document["totals"] == {"members": 6, "official": 5, "probationary": 1}
    assert document["present"]["official"] == 3 and document["present"]["probationary"] == 1
    assert sorted(document["present"]["names"]) == sorted(
        ["Nguyễn Văn Một", "Trần Thị Hai", "Lê Văn Ba", "Hoàng Văn Năm"]
    )
    assert document["absent_excused"] == [{"full_name": "Đảng Viên Có Tài Khoản", "reason": "Đi công tác xa"}]
    assert document["absent_unexcused"] == [{"full_name": "Phạm Thị Bốn"}]
    spoke = next(i for i in document["agenda"] if i["index"] == 5)["speakers"]
    assert spoke == [{"full_name": "Lê Văn Ba", "seconds": 180}]
    conclusion_vote, adoption_vote = document["votes"]
    assert conclusion_vote["counts"]["voting_base"] == 5 and conclusion_vote["outcome"] == "failed"
    assert conclusion_vote["method"] == "biểu quyết công khai"
    assert conclusion_vote["reserved_opinions"] == [
        {"full_name": "Lê Văn Ba", "opinion": "Đề nghị bổ sung chỉ tiêu kết nạp đảng viên"}
    ]
    assert adoption_vote["outcome"] == "passed"
    assert minutes["fields"]["conclusions"] == "Chủ trì kết luận: hoàn thành nhiệm vụ tháng."

    # adoption needs the passed adoption vote; then the texts are final
    wrong = await chair.post(f"/api/v1/meetings/{mid}/minutes/adopt", {"vote_id": vote_id})
    assert (wrong.status, wrong.error_code) == (409, "vote_not_passed")
    auditor = await world.as_user("auditor_p")  # the province's auditor reads adopted minutes only
    for suffix in ("", ".pdf"):
        draft = await auditor.get(f"/api/v1/meetings/{mid}/minutes{suffix}")
        assert (draft.status, draft.error_code) == (403, "minutes_not_adopted")
    adopted = await chair.post(f"/api/v1/meetings/{mid}/minutes/adopt", {"vote_id": adoption.body["id"]})
    assert adopted.status == 200 and adopted.body["status"] == "adopted", adopted.body
    read = await auditor.get(f"/api/v1/meetings/{mid}/minutes")
    assert read.status == 200 and read.body["fields"]["conclusions"] == minutes["fields"]["conclusions"]
    late_edit = await taker.put(
        f"/api/v1/meetings/{mid}/minutes",
        {"version": adopted.body["version"], "fields": {"opening": "Sửa muộn"}},
    )
    assert (late_edit.status, late_edit.error_code) == (409, "minutes_locked")

    # signatures: a member who is neither chair nor minute-taker cannot sign; both sign and lock
    assert (await (await world.as_user(ba)).post(f"/api/v1/meetings/{mid}/minutes/sign", {})).status == 403
    signed_once = await chair.post(f"/api/v1/meetings/{mid}/minutes/sign", {})
    assert signed_once.status == 200 and signed_once.body["status"] == "adopted"
    locked = await taker.post(f"/api/v1/meetings/{mid}/minutes/sign", {})
    assert locked.status == 200 and locked.body["status"] == "locked", locked.body
    digest = locked.body["hash"]
    assert len(digest) == 64
    assert [e["data"]["hash"] for e in await audit_entries(world, "minutes.locked")] == [digest]
    assert {s["role"] for s in locked.body["signatures"]} == {"chair", "minute_taker"}

    after = await taker.put(
        f"/api/v1/meetings/{mid}/minutes", {"version": locked.body["version"], "fields": {"opening": "x"}}
    )
    assert (after.status, after.error_code) == (409, "minutes_locked")
    text = "Đính chính: đồng chí Lê Văn Ba phát biểu ở mục 6, không phải mục 5."
    addendum = await taker.post(f"/api/v1/meetings/{mid}/minutes/addenda", {"text": text})
    assert addendum.status == 201, addendum.body
    assert addendum.body["hash"] == digest  # the original stays as it was
    (added,) = addendum.body["addenda"]
    assert added["hash"] == hashlib.sha256(f"{digest}\n{text}".encode()).hexdigest()
    assert added["full_name"] == "Trần Thị Hai"

    # both documents say what the record says: header, counts, names, vote results, the addendum
    docx_reply = await taker.get(f"/api/v1/meetings/{mid}/minutes.docx")
    pdf_reply = await taker.get(f"/api/v1/meetings/{mid}/minutes.pdf")
    assert (docx_reply.status, pdf_reply.status) == (200, 200)
    assert docx_reply.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    assert pdf_reply.headers["Content-Type"] == "application/pdf"
    body, header = docx_text(docx_reply.body)
    pdf = norm(" ".join(pdf_pages(pdf_reply.body, "-raw")))
    expected = [
        "ĐẢNG CỘNG SẢN VIỆT NAM",
        "BIÊN BẢN",
        "Số 01-BB/CB",
        "Tổng số đảng viên của chi bộ: 6 đồng chí (5 đảng viên chính thức, 1 đảng viên dự bị).",
        "Có mặt: 4 đồng chí (3 đảng viên chính thức, 1 đảng viên dự bị)",
        "Vắng có lý do: 1 đồng chí: Đảng Viên Có Tài Khoản (lý do: Đi công tác xa).",
        "Vắng không có lý do: 1 đồng chí: Phạm Thị Bốn.",
        "Đồng chí Lê Văn Ba (3 phút).",
        "2 tán thành, 1 không tán thành, 0 không biểu quyết; số đảng viên có quyền biểu quyết: 5",
        "Kết quả biểu quyết: Không thông qua (quy tắc R-VOTE-1).",
        "Kết quả biểu quyết: Thông qua (quy tắc R-VOTE-1).",
        "Chủ trì kết luận: hoàn thành nhiệm vụ tháng.",
        "PHỤ LỤC ĐÍNH CHÍNH",
        f"Mã băm SHA-256: {added['hash']}",  # the addendum's, chained to the original
    ]
    for phrase in expected:
        assert norm(phrase) in body, phrase
        assert norm(phrase) in pdf, phrase
    assert "DỰ THẢO" not in header  # locked minutes are not a draft
    assert norm(f"Mã băm SHA-256: {digest}") in pdf  # the locked document's hash, in its footer


async def test_votes_refused_by_the_rules(world: World, rooms: list[RoomClient]) -> None:
    mid, people = await scheduled_from_template(world)
    chair = await world.as_user(people[0][0])
    first, _ = await joined(world, people[0][0], mid)
    rooms.append(first)
    sec_a = await world.as_user("sec_a")
    assert (await sec_a.post(f"/api/v1/meetings/{mid}/open", {"override_reason": "Thử"})).status == 200
    below = await chair.post(f"/api/v1/meetings/{mid}/votes", {"question": "Q", "kind": "ordinary"})
    assert (below.status, below.error_code, below.body["error"]["rule"]) == (409, "not_quorate", "R-QUOR-1")
    admission = await chair.post(
        f"/api/v1/meetings/{mid}/votes", {"question": "Kết nạp", "kind": "admission", "override_reason": "x"}
    )
    assert (admission.status, admission.body["error"]["rule"]) == (409, "R-CONTENT-1")
    overridden = await chair.post(
        f"/api/v1/meetings/{mid}/votes",
        {"question": "Q", "kind": "ordinary", "override_reason": "Thiếu người"},
    )
    assert overridden.status == 201 and overridden.body["override_reason"] == "Thiếu người"
    # another unit's vote does not exist for cell B's secretary, nor for a joined socket of another meeting
    assert (await (await world.as_user("sec_b")).get(f"/api/v1/votes/{overridden.body['id']}")).status == 404
    assert (await first.call("ballot", {"vote_id": 999_999, "choice": "for"}))["error"][
        "code"
    ] == "vote_not_found"


async def test_the_chair_records_ballots_of_members_on_site(world: World, rooms: list[RoomClient]) -> None:
    """Hybrid meeting: the chair records the ballot of a member checked in on site, and only of one."""
    people = await link_members(world, "A", 2)  # Một chairs online, Hai has an account but stays away
    await approve_a(world)
    created = await schedule(world, "sec_a", "A", mode="hybrid", chair_id=people[0][1])
    assert created.status == 201, created.body
    mid = created.body["id"]
    online, _ = await joined(world, people[0][0], mid)
    rooms.append(online)
    sec_a = await world.as_user("sec_a")
    bon, nam, sau = world.members["A"][3], world.members["A"][4], world.members["A"][5]
    for member_id in (bon, nam, sau):  # two official members and the probationary one on site
        assert (await sec_a.post(f"/api/v1/meetings/{mid}/checkins", {"member_id": member_id})).status == 201
    assert (await sec_a.post(f"/api/v1/meetings/{mid}/open", {})).status == 200  # 3 of 5 officials
    chair = await world.as_user(people[0][0])
    vote = await chair.post(
        f"/api/v1/meetings/{mid}/votes", {"question": "Tán thành kế hoạch", "kind": "ordinary"}
    )
    assert vote.status == 201, vote.body
    ballots = f"/api/v1/votes/{vote.body['id']}/ballots"

    assert (await chair.post(ballots, {"member_id": bon, "choice": "for"})).status == 201
    probationary = await chair.post(ballots, {"member_id": nam, "choice": "for"})
    assert (probationary.status, probationary.body["error"]["rule"]) == (409, "R-VOTE-2")
    away = await chair.post(ballots, {"member_id": people[1][1], "choice": "for"})
    assert (away.status, away.error_code) == (409, "not_on_site")
    not_chair = await (await world.as_user(people[1][0])).post(ballots, {"member_id": sau, "choice": "for"})
    assert not_chair.status == 403
    assert (await chair.post(ballots, {"member_id": sau, "choice": "for"})).status == 201
    twice = await chair.post(ballots, {"member_id": sau, "choice": "against"})
    assert (twice.status, twice.body["error"]["details"]["reason"]) == (409, "already_voted")
    assert (await chair.post(ballots, {"choice": "against"})).status == 201  # the chair's own ballot

    closed = await chair.post(f"/api/v1/votes/{vote.body['id']}/close", {})
    assert closed.status == 200, closed.body
    assert closed.body["voted"] == sorted([people[0][1], bon, sau])
    assert (closed.body["counts"]["for"], closed.body["counts"]["against"]) == (2, 1)
    assert closed.body["result"]["outcome"] == "failed"  # 2 for is not more than half of 5 (R-VOTE-1)
    cast = {e["data"]["member_id"]: e["data"]["on_site"] for e in await audit_entries(world, "ballot.cast")}
    assert cast == {bon: True, sau: True, people[0][1]: False}


async def test_one_ballot_however_many_are_sent_at_once(world: World, rooms: list[RoomClient]) -> None:
    """S14: 30 ballots of one member racing over two connections and REST count once."""
    mid, people = await scheduled_from_template(world)
    for username, _ in people[:3]:
        client, _ = await joined(world, username, mid)
        rooms.append(client)
    second, _ = await joined(world, people[0][0], mid)
    rooms.append(second)
    sec_a = await world.as_user("sec_a")
    assert (await sec_a.post(f"/api/v1/meetings/{mid}/open", {})).status == 200
    vote = await sec_a.post(f"/api/v1/meetings/{mid}/votes", {"question": "Một phiếu", "kind": "ordinary"})
    assert vote.status == 201, vote.body
    voter = await world.as_user(people[0][0])
    ballot = {"vote_id": vote.body["id"], "choice": "for"}
    answers = await asyncio.gather(
        *(rooms[0].call("ballot", ballot) for _ in range(10)),
        *(second.call("ballot", ballot) for _ in range(10)),
        *(voter.post(f"/api/v1/votes/{vote.body['id']}/ballots", {"choice": "for"}) for _ in range(10)),
    )
    accepted = [a for a in answers[:20] if a["ok"]] + [a for a in answers[20:] if a.status == 201]
    assert len(accepted) == 1
    refusals = [a["error"] for a in answers[:20] if not a["ok"]] + [
        a.body["error"] for a in answers[20:] if a.status != 201
    ]
    assert {(e["rule"], e["details"]["reason"]) for e in refusals} == {("R-VOTE-2", "already_voted")}
    closed = await sec_a.post(f"/api/v1/votes/{vote.body['id']}/close", {})
    assert closed.body["result"]["counts"]["for"] == 1


async def test_other_units_and_auditors_change_nothing(world: World, rooms: list[RoomClient]) -> None:
    mid, people = await scheduled_from_template(world)
    client, _ = await joined(world, people[0][0], mid)
    rooms.append(client)
    sec_a = await world.as_user("sec_a")
    assert (await sec_a.post(f"/api/v1/meetings/{mid}/open", {"override_reason": "Thử"})).status == 200
    vote = await sec_a.post(
        f"/api/v1/meetings/{mid}/votes", {"question": "Q", "kind": "ordinary", "override_reason": "Thử"}
    )
    vid = vote.body["id"]
    writes = [
        ("post", f"/api/v1/meetings/{mid}/agenda/current", {"index": 0}),
        ("post", f"/api/v1/meetings/{mid}/floor", {"member_id": None}),
        ("post", f"/api/v1/meetings/{mid}/votes", {"question": "Q", "kind": "ordinary"}),
        ("post", f"/api/v1/votes/{vid}/ballots", {"choice": "for"}),
        ("post", f"/api/v1/votes/{vid}/reserved-opinions", {"opinion": "x"}),
        ("post", f"/api/v1/votes/{vid}/close", {}),
        ("put", f"/api/v1/meetings/{mid}/minutes", {"version": 0, "fields": {"opening": "x"}}),
        ("post", f"/api/v1/meetings/{mid}/minutes/adopt", {"vote_id": vid}),
        ("post", f"/api/v1/meetings/{mid}/minutes/sign", {}),
        ("post", f"/api/v1/meetings/{mid}/minutes/addenda", {"text": "x"}),
    ]
    reads = [
        f"/api/v1/meetings/{mid}/minutes",
        f"/api/v1/votes/{vid}",
        f"/api/v1/meetings/{mid}/minutes.docx",
    ]
    sec_b, auditor = await world.as_user("sec_b"), await world.as_user("auditor_p")
    for method, path, body in writes:
        assert (await getattr(sec_b, method)(path, body)).status == 404, path
        assert (await getattr(auditor, method)(path, body)).status in (403, 409), path
    for path in reads:
        assert (await sec_b.get(path)).status == 404, path
    # nothing changed: the vote is open without ballots, the minutes untouched
    after = (await sec_a.get(f"/api/v1/votes/{vid}")).body
    assert (after["status"], after["counts"]["ballots"]) == ("open", 0)
    assert (await sec_a.get(f"/api/v1/meetings/{mid}/minutes")).body["version"] == 0
