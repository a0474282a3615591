"""A member who joins the live room after the opening (issue 18, item 3): shown while the meeting runs as
the record will say it at the close (R-ATT-2), never "absent" while connected, in the room's pushes, the
attendance answer and the minutes' draft alike.

Cell A: members 0-2 (official) are in the room at the opening; member 3 (official) joins 2 minutes
after it, within the rule set's 15 minutes (present, not late); member 4 (probationary) joins 20
minutes after it (late). The meeting closes after 90 minutes.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.harness import ApiClient
from tests.integration.helpers import pass_time
from tests.integration.room_client import RoomClient, joined, link_members, online_meeting
from tests.integration.world import World

ABSENT = ("absent_excused", "absent_unexcused")


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"presence_confirm_seconds": 0.6}


def status_in(presence: dict[str, Any], member_id: int) -> tuple[bool, str]:
    person = next(p for p in presence["participants"] if p["member_id"] == member_id)
    return person["online"], person["status"]


async def statuses(client: ApiClient, meeting_id: int) -> dict[int, str]:
    reply = await client.get(f"/api/v1/meetings/{meeting_id}/attendance")
    assert reply.status == 200, reply.body
    return {m["member_id"]: m["status"] for m in reply.body["members"]}


async def full_names(client: ApiClient, meeting_id: int) -> dict[int, str]:
    reply = await client.get(f"/api/v1/meetings/{meeting_id}/attendance")
    assert reply.status == 200, reply.body
    return {m["member_id"]: m["full_name"] for m in reply.body["members"]}


async def minutes_document(client: ApiClient, meeting_id: int) -> dict[str, Any]:
    reply = await client.get(f"/api/v1/meetings/{meeting_id}/minutes")
    assert reply.status == 200, reply.body
    return dict(reply.body["document"])


async def test_a_member_joining_after_the_opening_is_never_absent_while_online(
    world: World, rooms: list[RoomClient]
) -> None:
    people = await link_members(world, "A", 5)
    ids = [member_id for _, member_id in people]
    mid = await online_meeting(world)
    names = await full_names(await world.as_user("sec_a"), mid)
    for username, _ in people[:3]:
        client, _ = await joined(world, username, mid)
        rooms.append(client)
    watcher = rooms[0]
    sec_a = await world.as_user("sec_a")
    opened = await sec_a.post(f"/api/v1/meetings/{mid}/open", {})
    assert opened.status == 200, opened.body  # 3 of the 5 official members: quorate

    # two minutes after the opening, member 3 comes in
    world.server.clock.advance(minutes=2)
    since = watcher.mark()
    late_client, ack = await joined(world, people[3][0], mid)
    rooms.append(late_client)
    assert status_in(ack["state"]["presence"], ids[3]) == (True, "present")
    pushed = await watcher.wait_for("presence", lambda p: status_in(p, ids[3])[0], since=since)
    assert status_in(pushed, ids[3]) == (True, "present")  # within the 15 minutes of R-ATT-2: not late
    quorum = await watcher.wait_for("quorum", lambda q: q["counts"]["present_official"] == 4, since=since)
    assert quorum["outcome"] is True
    assert (await statuses(sec_a, mid))[ids[3]] == "present"

    # a minute on, connected for 1 of the 3 minutes so far: still present, as the close will say
    await pass_time(world, 1)
    assert (await statuses(sec_a, mid))[ids[3]] == "present"
    draft = await minutes_document(sec_a, mid)
    assert names[ids[3]] in draft["present"]["names"]
    assert {"full_name": names[ids[3]]} not in draft["absent_unexcused"]
    assert draft["present"]["official"] == 4

    # 20 minutes after the opening, the probationary member comes in: late (R-ATT-2), not absent
    await pass_time(world, 17)
    since = watcher.mark()
    later_client, ack = await joined(world, people[4][0], mid)
    rooms.append(later_client)
    assert status_in(ack["state"]["presence"], ids[4]) == (True, "late")
    pushed = await watcher.wait_for("presence", lambda p: status_in(p, ids[4])[0], since=since)
    assert status_in(pushed, ids[4]) == (True, "late")
    assert status_in(pushed, ids[3]) == (True, "present")
    live = await statuses(sec_a, mid)
    assert (live[ids[3]], live[ids[4]]) == ("present", "late")
    assert all(live[m] == "present" for m in ids[:3])
    draft = await minutes_document(sec_a, mid)
    assert {names[ids[3]], names[ids[4]]} <= set(draft["present"]["names"])
    assert draft["present"]["probationary"] == 1
    absent_in_draft = {a["full_name"] for a in draft["absent_unexcused"]}
    assert not absent_in_draft & {names[m] for m in ids}

    # the close says the same
    await pass_time(world, 70)
    closed = await sec_a.post(f"/api/v1/meetings/{mid}/close", {})
    assert closed.status == 200, closed.body
    final = await statuses(sec_a, mid)
    assert {m: final[m] for m in ids} == {m: live[m] for m in ids}
    record = await minutes_document(sec_a, mid)
    assert record["present"] == draft["present"]
    assert record["absent_unexcused"] == draft["absent_unexcused"]


async def test_a_member_not_in_the_room_stays_absent(world: World, rooms: list[RoomClient]) -> None:
    """The projection is for the connected only: who never came, or left, is judged by their time."""
    people = await link_members(world, "A", 4)
    ids = [member_id for _, member_id in people]
    mid = await online_meeting(world)
    for username, _ in people[:3]:
        client, _ = await joined(world, username, mid)
        rooms.append(client)
    sec_a = await world.as_user("sec_a")
    assert (await sec_a.post(f"/api/v1/meetings/{mid}/open", {})).status == 200
    await pass_time(world, 2)
    brief, _ = await joined(world, people[3][0], mid)
    await pass_time(world, 1)
    assert (await brief.call("leave", {}))["ok"] is True
    await brief.close()
    await pass_time(world, 10)
    live = await statuses(sec_a, mid)
    assert live[ids[3]] == "absent_unexcused"  # 1 of 13 minutes, gone: absent
    assert all(live[m] == "present" for m in ids[:3])
    never = [m for m in world.members["A"] if m not in ids]
    assert never and all(live[m] in ABSENT for m in never)
