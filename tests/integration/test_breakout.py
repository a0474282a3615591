"""Issue 6's breakout acceptance over `/room`: nine members of cell A in three party groups split, talk
(signal) only inside their group, write notes that land in the minutes, come back into one room, and
nobody's attendance breaks. Then the refusals, named groups, moving a member and a close mid-split.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.documents import docx_text, norm
from tests.integration.helpers import approve_a, audit_entries, pass_time, schedule
from tests.integration.room_client import RoomClient, joined, link_members
from tests.integration.world import World

AGENDA = {"items": [{"title": "Thông qua chương trình"}, {"title": "Thảo luận nghị quyết quý IV"}]}


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"presence_confirm_seconds": 0.6}


async def nine_members_in_three_groups(world: World) -> tuple[list[tuple[str, int]], list[list[int]]]:
    """Cell A grows to nine members with accounts, in party groups A1, "Tổ 2" and "Tổ 3" of three each."""
    sec_a, operator = await world.as_user("sec_a"), await world.as_user("operator")
    for name in ("Đinh Văn Mười Một", "Mai Thị Mười Hai", "Tạ Văn Mười Ba"):
        reply = await sec_a.post(
            f"/api/v1/orgs/{world.orgs['A']}/members",
            {"full_name": name, "standing": "official", "remote_reason": "abroad"},
        )
        assert reply.status == 201, reply.body
        world.members["A"].append(reply.body["id"])
    group_ids = [world.orgs["A1"]]
    for name in ("Tổ 2", "Tổ 3"):
        reply = await operator.post(
            "/api/v1/orgs", {"name": name, "kind": "group", "parent_id": world.orgs["A"]}
        )
        assert reply.status == 201, reply.body
        group_ids.append(reply.body["id"])
    people = await link_members(world, "A", 5)
    people.append(("member_a", world.members["A"][5]))
    for index, member_id in enumerate(world.members["A"][6:9]):
        username = f"a_member_{6 + index}"
        await world.add_user(username)
        reply = await sec_a.patch(f"/api/v1/members/{member_id}", {"user_id": world.users[username]})
        assert reply.status == 200, reply.body
        people.append((username, member_id))
    # people[i] is the i-th member of A; members 0,1,5 | 2,3,6 | 4,7,8
    layout = [[0, 1, 5], [2, 3, 6], [4, 7, 8]]
    for group_id, indexes in zip(group_ids, layout, strict=True):
        for index in indexes:
            reply = await sec_a.patch(f"/api/v1/members/{people[index][1]}", {"group_id": group_id})
            assert reply.status == 200, reply.body
    groups = [sorted(people[i][1] for i in indexes) for indexes in layout]
    return people, groups


async def open_meeting(world: World, chair_id: int, minute_taker_id: int) -> int:
    await approve_a(world)
    created = await schedule(
        world, "sec_a", "A", mode="online", chair_id=chair_id, minute_taker_id=minute_taker_id
    )
    assert created.status == 201, created.body
    meeting_id = int(created.body["id"])
    sec_a = await world.as_user("sec_a")
    assert (await sec_a.put(f"/api/v1/meetings/{meeting_id}/agenda", AGENDA)).status == 200
    return meeting_id


def signals_from(client: RoomClient, since: int) -> set[str]:
    return {data["from"] for name, data in client.events[since:] if name == "signal"}


async def signal_everyone(
    clients: dict[int, RoomClient], peer_of: dict[int, str]
) -> dict[tuple[int, int], Any]:
    """Every member sends an offer-like description to every other member's connection."""
    acks: dict[tuple[int, int], Any] = {}
    for sender, client in clients.items():
        for target, peer_id in peer_of.items():
            if target != sender:
                acks[sender, target] = await client.call(
                    "signal",
                    {"to": peer_id, "description": {"type": "offer", "sdp": f"v=0 {sender}->{target}"}},
                )
    return acks


async def test_nine_members_split_into_three_groups_and_return(world: World, rooms: list[RoomClient]) -> None:
    people, groups = await nine_members_in_three_groups(world)
    group_of = {member: index for index, members in enumerate(groups) for member in members}
    member_ids = [member_id for _, member_id in people]
    chair_name, chair_id = people[0]
    meeting_id = await open_meeting(world, chair_id, people[1][1])
    sec_a = await world.as_user("sec_a")
    clients: dict[int, RoomClient] = {}
    peer_of: dict[int, str] = {}
    for username, member_id in people:
        client, ack = await joined(world, username, meeting_id)
        rooms.append(client)
        clients[member_id] = client
        peer_of[member_id] = ack["self"]["peer_id"]
        assert ack["state"]["breakout"] is None
    assert (await sec_a.post(f"/api/v1/meetings/{meeting_id}/open", {})).status == 200
    chair = await world.as_user(chair_name)
    base = f"/api/v1/meetings/{meeting_id}/breakout"

    # the split needs the agenda item under discussion; only the chair splits
    early = await chair.post(base, {"source": "party_groups", "minutes": 15})
    assert (early.status, early.error_code) == (409, "no_current_item")
    assert (await chair.post(f"/api/v1/meetings/{meeting_id}/agenda/current", {"index": 1})).status == 200
    member = await world.as_user(people[2][0])
    assert (await member.post(base, {"source": "party_groups", "minutes": 15})).status == 403
    assert (await chair.post(base, {"source": "party_groups", "minutes": 0})).status == 422

    marks = {member_id: client.mark() for member_id, client in clients.items()}
    started = await chair.post(base, {"source": "party_groups", "minutes": 15})
    assert started.status == 201, started.body
    assert [g["name"] for g in started.body["groups"]] == ["Tổ đảng số 1", "Tổ 2", "Tổ 3"]
    assert [g["member_ids"] for g in started.body["groups"]] == groups
    assert started.body["agenda_index"] == 1 and started.body["remaining_seconds"] == 15 * 60
    again = await chair.post(base, {"source": "party_groups", "minutes": 15})
    assert (again.status, again.error_code) == (409, "breakout_active")

    # each connection is told its own group and the peers it now meets: its group only
    for member_id, client in clients.items():
        view = await client.wait_for("breakout", lambda b: b.get("active") is True, since=marks[member_id])
        assert view["mine"] == group_of[member_id]
        expected = {peer_of[m] for m in groups[group_of[member_id]] if m != member_id}
        assert {p["peer_id"] for p in view["peers"]} == expected

    await pass_time(world, 10)  # the groups talk for a while

    # signalling goes through inside a group only, and each member receives it only from its group
    marks = {member_id: client.mark() for member_id, client in clients.items()}
    acks = await signal_everyone(clients, peer_of)
    for (sender, target), ack in acks.items():
        if group_of[sender] == group_of[target]:
            assert ack == {"ok": True}, (sender, target, ack)
        else:
            assert ack["ok"] is False and ack["error"]["code"] == "other_group", (sender, target, ack)
    for member_id, client in clients.items():
        expected = {peer_of[m] for m in groups[group_of[member_id]] if m != member_id}
        for _ in range(50):
            if signals_from(client, marks[member_id]) == expected:
                break
            await asyncio.sleep(0.02)
        assert signals_from(client, marks[member_id]) == expected

    # a member of group 3 drops and comes back: only group 3 hears of it, and it meets only group 3
    returning_id = groups[2][1]
    returning_name = next(name for name, mid in people if mid == returning_id)
    await clients[returning_id].close()
    marks = {member_id: client.mark() for member_id, client in clients.items()}
    client, ack = await joined(world, returning_name, meeting_id)
    rooms.append(client)
    clients[returning_id], peer_of[returning_id] = client, ack["self"]["peer_id"]
    assert ack["state"]["breakout"]["mine"] == 2
    assert {p["member_id"] for p in ack["peers"]} == set(groups[2]) - {returning_id}
    for member_id in groups[2]:
        if member_id != returning_id:
            await clients[member_id].wait_for("peer-joined", since=marks[member_id])
    await asyncio.sleep(0.2)
    for member_id in groups[0] + groups[1]:
        assert not [
            e for e in clients[member_id].events[marks[member_id] :] if e[0] in ("peer-joined", "peer-left")
        ], member_id

    # each group writes its notes; a member writes only its own group's; an edit on an old version is refused
    notes = ["Tổ 1 thống nhất với dự thảo.", "Tổ 2 đề nghị bổ sung chỉ tiêu.", "Tổ 3 không có ý kiến khác."]
    for index, members in enumerate(groups):
        writer_name = next(name for name, mid in people if mid == members[-1])
        writer = await world.as_user(writer_name)
        saved = await writer.put(f"{base}/groups/{index}/notes", {"text": notes[index], "version": 0})
        assert saved.status == 200, saved.body
        assert saved.body == {"index": index, "notes": notes[index], "notes_version": 1}
    outsider = await world.as_user(next(name for name, mid in people if mid == groups[1][0]))
    foreign = await outsider.put(f"{base}/groups/0/notes", {"text": "xen vào", "version": 1})
    assert (foreign.status, foreign.error_code) == (403, "not_in_group")
    stale_writer = await world.as_user(next(name for name, mid in people if mid == groups[2][0]))
    stale = await stale_writer.put(f"{base}/groups/2/notes", {"text": "bản cũ", "version": 0})
    assert (stale.status, stale.error_code) == (409, "notes_conflict")
    assert stale.body["error"]["details"] == {"version": 1, "notes": notes[2]}
    await clients[groups[2][0]].wait_for("breakout-notes", lambda n: n["index"] == 2)

    # the chair's broadcast reaches every group
    said = await chair.post(f"{base}/broadcast", {"text": "Còn 2 phút, các tổ chuẩn bị kết luận."})
    assert said.status == 200, said.body
    for client in clients.values():
        await client.wait_for("breakout-message", lambda m: m["text"].startswith("Còn 2 phút"))

    # everyone back: each connection meets all the others again, and signalling crosses the old groups
    marks = {member_id: client.mark() for member_id, client in clients.items()}
    ended = await chair.post(f"{base}/end", {})
    assert ended.status == 200, ended.body
    assert ended.body["active"] is False
    for member_id, client in clients.items():
        view = await client.wait_for("breakout", lambda b: b.get("active") is False, since=marks[member_id])
        assert {p["peer_id"] for p in view["peers"]} == {peer_of[m] for m in member_ids if m != member_id}
    marks = {member_id: client.mark() for member_id, client in clients.items()}
    acks = await signal_everyone(clients, peer_of)
    assert all(ack == {"ok": True} for ack in acks.values()), acks
    for member_id, client in clients.items():
        everyone_else = {peer_of[m] for m in member_ids if m != member_id}
        for _ in range(50):
            if signals_from(client, marks[member_id]) == everyone_else:
                break
            await asyncio.sleep(0.02)
        assert signals_from(client, marks[member_id]) == everyone_else
    assert (await chair.get(base)).body == {"breakout": None}

    # attendance never broke: every member present, in one unbroken interval
    attendance = await sec_a.get(f"/api/v1/meetings/{meeting_id}/attendance")
    assert attendance.status == 200, attendance.body
    by_member = {row["member_id"]: row for row in attendance.body["members"]}
    for member_id in member_ids:
        assert by_member[member_id]["status"] == "present", by_member[member_id]
        assert len(by_member[member_id]["intervals"]) == 1, by_member[member_id]
        assert by_member[member_id]["present_seconds"] == 10 * 60, by_member[member_id]

    # the notes are in the minutes, under the item that was being discussed
    minutes = await chair.get(f"/api/v1/meetings/{meeting_id}/minutes")
    item = minutes.body["document"]["agenda"][1]
    assert [(b["group"], b["notes"]) for b in item["breakouts"]] == list(
        zip(["Tổ đảng số 1", "Tổ 2", "Tổ 3"], notes, strict=True)
    )
    assert minutes.body["document"]["agenda"][0]["breakouts"] == []
    document = await chair.get(f"/api/v1/meetings/{meeting_id}/minutes.docx")
    assert document.status == 200
    text = norm(docx_text(document.body)[0])
    for name, note in zip(["Tổ đảng số 1", "Tổ 2", "Tổ 3"], notes, strict=True):
        assert norm(f"Thảo luận tổ: {name}") in text and norm(note) in text

    log = await (await world.as_user("operator")).get("/api/v1/audit/log")
    actions = [e["action"] for e in log.body["entries"] if e["action"].startswith("breakout.")]
    assert actions == [
        "breakout.started",
        "breakout.notes",
        "breakout.notes",
        "breakout.notes",
        "breakout.broadcast",
        "breakout.ended",
    ]


async def test_named_groups_moving_a_member_and_a_close_mid_split(
    world: World, rooms: list[RoomClient]
) -> None:
    people = await link_members(world, "A", 4)
    (mot, mot_id), (hai, hai_id), (ba, ba_id), (bon, bon_id) = people
    meeting_id = await open_meeting(world, mot_id, hai_id)
    sec_a = await world.as_user("sec_a")
    clients = {}
    for username, member_id in people:
        clients[member_id], _ = await joined(world, username, meeting_id)
        rooms.append(clients[member_id])
    assert (await sec_a.post(f"/api/v1/meetings/{meeting_id}/open", {})).status == 200
    chair = await world.as_user(mot)
    base = f"/api/v1/meetings/{meeting_id}/breakout"
    assert (await chair.post(f"/api/v1/meetings/{meeting_id}/agenda/current", {"index": 0})).status == 200

    # a bad plan is refused with the field named, and nothing starts
    for groups, code in (
        (
            [{"name": "Nhóm 1", "member_ids": [mot_id, ba_id]}, {"name": "Nhóm 2", "member_ids": [ba_id]}],
            "member_in_two_groups",
        ),
        ([{"name": "Nhóm 1", "member_ids": [mot_id, 999999]}], "not_summoned"),
        (
            [{"name": "Nhóm", "member_ids": [mot_id]}, {"name": " nhóm ", "member_ids": [ba_id]}],
            "invalid_group_name",
        ),
    ):
        refused = await chair.post(base, {"source": "ad_hoc", "groups": groups, "minutes": 10})
        assert (refused.status, refused.error_code) == (422, code), refused.body
    assert (await chair.get(base)).body == {"breakout": None}
    # named groups: Một and Ba; Hai and Bốn; everyone else in the main room
    started = await chair.post(
        base,
        {
            "source": "ad_hoc",
            "groups": [
                {"name": "Nhóm Một", "member_ids": [mot_id, ba_id]},
                {"name": "Nhóm Hai", "member_ids": [hai_id, bon_id]},
            ],
            "minutes": 10,
        },
    )
    assert started.status == 201, started.body
    names = [g["name"] for g in started.body["groups"]]
    assert names == ["Nhóm Một", "Nhóm Hai", "Phòng chung"]
    assert started.body["groups"][2]["member_ids"] == sorted(
        set(world.members["A"]) - {mot_id, ba_id, hai_id, bon_id}
    )
    views = {
        mid: await clients[mid].wait_for("breakout", lambda b: b.get("active") is True) for mid in clients
    }
    assert {p["member_id"] for p in views[mot_id]["peers"]} == {ba_id}

    # the chair visits group 2: it now meets Hai and Bốn, and no longer Ba
    mark = clients[mot_id].mark()
    moved = await chair.post(f"{base}/move", {"member_id": mot_id, "group_index": 1})
    assert moved.status == 200, moved.body
    assert moved.body["groups"][1]["member_ids"] == sorted([mot_id, hai_id, bon_id])
    view = await clients[mot_id].wait_for("breakout", lambda b: b.get("mine") == 1, since=mark)
    assert {p["member_id"] for p in view["peers"]} == {hai_id, bon_id}
    bad_move = await chair.post(f"{base}/move", {"member_id": mot_id, "group_index": 7})
    assert (bad_move.status, bad_move.error_code) == (422, "invalid_group")

    # the auditor sees none of the live split; the minute-taker writes any group's notes
    assert (await (await world.as_user("auditor_p")).get(base)).status == 403
    taker = await world.as_user(hai)
    assert (
        await taker.put(f"{base}/groups/0/notes", {"text": "Ghi hộ nhóm Một", "version": 0})
    ).status == 200

    # closing the meeting mid-split ends the split with it; its notes stay in the minutes
    closed = await sec_a.post(f"/api/v1/meetings/{meeting_id}/close", {})
    assert closed.status == 200, closed.body
    assert (await chair.get(base)).body == {"breakout": None}
    reasons = [e["data"].get("why") for e in await audit_entries(world, "breakout.ended")]
    assert reasons == ["meeting_closed"]
    minutes = await chair.get(f"/api/v1/meetings/{meeting_id}/minutes")
    groups = minutes.body["document"]["agenda"][0]["breakouts"]
    assert [g["group"] for g in groups] == ["Nhóm Một", "Nhóm Hai", "Phòng chung"]
    assert groups[0]["notes"] == "Ghi hộ nhóm Một"
    after = await chair.post(
        base, {"source": "ad_hoc", "groups": [{"name": "X", "member_ids": [mot_id]}], "minutes": 5}
    )
    assert (after.status, after.error_code) == (409, "meeting_not_open")
