"""The rooms' views read together (issue 22): several meetings' views from one set of queries are each
the view that meeting has alone, and rooms that ask at once share their reads."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import pytest

from server.appkeys import DATABASE, HUB
from server.db.tables import Org
from server.services.meetings import online_approved
from server.services.presence import Snapshot, load_snapshot, load_snapshots
from tests.integration.helpers import schedule
from tests.integration.room_client import joined, link_members, online_meeting
from tests.integration.world import World


def seen(view: Snapshot | None) -> Any:
    """What a room uses of its view."""
    if view is None:
        return None
    return (
        view.meeting.id,
        view.org.id,
        [m.id for m in view.situation.members],
        view.situation.facts,
        view.situation.events,
        view.situation.excused,
        view.situation.rule_set.name,
        view.online_allowed,
        view.agenda,
    )


async def test_views_read_together_are_each_meetings_own_view(world: World) -> None:
    people = await link_members(world, "A", 2)
    online_a = await online_meeting(world, "A")
    room, _ = await joined(world, people[0][0], online_a)
    try:
        secretary = await world.as_user("sec_a")
        excused = await secretary.post(
            f"/api/v1/meetings/{online_a}/excuses", {"member_id": people[1][1], "reason": "Ốm."}
        )
        assert excused.status == 201, excused.body
        in_person_a = (await schedule(world, "sec_a", "A")).body["id"]
        in_person_b = (await schedule(world, "sec_b", "B")).body["id"]
        missing = 10**6
        ids = [online_a, in_person_a, in_person_b, missing]
        at = world.server.clock()
        async with world.server.app[DATABASE].read() as session:
            together = await load_snapshots(session, ids, at)
            alone = {mid: await load_snapshot(session, mid, at) for mid in ids}
    finally:
        await room.close()
    assert missing not in together and alone[missing] is None
    assert {mid: seen(view) for mid, view in together.items()} == {
        mid: seen(view) for mid, view in alone.items() if view is not None
    }
    # and what each holds is that meeting's, not a neighbour's
    online = together[online_a]
    assert [m.id for m in online.situation.members] == world.members["A"]
    assert [(e.member_id, e.kind.value) for e in online.situation.events] == [(people[0][1], "join")]
    assert online.situation.excused == {people[1][1]}
    assert online.online_allowed
    assert [m.id for m in together[in_person_b].situation.members] == world.members["B"]
    assert together[in_person_b].situation.events == [] and together[in_person_b].situation.excused == set()
    assert together[in_person_b].online_allowed  # in person: R-ELIG-6 does not apply


async def test_a_party_group_is_approved_through_its_cell(world: World) -> None:
    await online_meeting(world, "A")  # approves cell A
    async with world.server.app[DATABASE].read() as session:
        orgs = [await session.get(Org, world.orgs[key]) for key in ("A", "A1", "B")]
        known = [org for org in orgs if org is not None]
        approved = await online_approved(session, known, world.server.clock())
    assert approved == {world.orgs["A"], world.orgs["A1"]}


@pytest.mark.parametrize("rooms", [12])
async def test_rooms_asking_at_once_share_their_reads(world: World, rooms: int) -> None:
    ids = [(await schedule(world, "sec_a", "A")).body["id"] for _ in range(rooms)]
    views = world.server.app[HUB].views
    before = views.reads
    loaded = await asyncio.gather(*(views.load(mid) for mid in ids))
    assert [view.meeting.id if view else None for view in loaded] == ids
    assert views.reads - before == 1  # asked in the same instant: one read for all twelve
    # one that fails fails its whole read, and the next read is not affected
    views_read = views.read

    async def broken(*args: Any) -> Any:
        raise RuntimeError("database gone")

    views.read = broken
    with pytest.raises(RuntimeError):
        await views.load(ids[0])
    views.read = views_read
    assert (await views.load(ids[0])) is not None


async def test_an_old_view_is_read_again_outside_the_lock_and_keeps_the_joins_made_meanwhile(
    world: World,
) -> None:
    """The periodic re-read of a room's view no longer holds the room: a member joins while it is read,
    and the view put in place afterwards shows them online, their join once."""
    people = await link_members(world, "A", 2)
    mid = await online_meeting(world, "A")
    first, _ = await joined(world, people[0][0], mid)
    hub = world.server.app[HUB]
    room = hub.room(mid)
    reading, release = asyncio.Event(), asyncio.Event()
    plain_read = hub.views.read

    async def held_read(*args: Any) -> Any:
        views = await plain_read(*args)
        if not release.is_set():
            reading.set()
            await release.wait()
        return views

    hub.views.read = held_read
    room.snapshot_at = -math.inf  # older than its maximum age: the next push reads it again
    hub.request_push(mid)
    second = None
    try:
        await asyncio.wait_for(reading.wait(), 10)  # the old view's re-read has begun
        second, _ = await asyncio.wait_for(joined(world, people[1][0], mid), 10)  # the lock is free
        old_view = room.snapshot
        release.set()
        presence = await first.wait_for(
            "presence",
            lambda p: (
                {x["member_id"] for x in p["participants"] if x["online"]}
                == {
                    people[0][1],
                    people[1][1],
                }
            ),
        )
        assert presence["counts"]["summoned"] == len(world.members["A"])
        for _ in range(100):
            if room.snapshot is not old_view:
                break
            await asyncio.sleep(0.02)
        view = room.snapshot
        assert view is not None and view is not old_view  # the re-read view is in place
        joins = [e.member_id for e in view.situation.events if e.kind.value == "join"]
        assert sorted(joins) == sorted([people[0][1], people[1][1]])  # each join once
        assert view.online(people[1][1])
    finally:
        release.set()
        hub.views.read = plain_read
        await first.close()
        if second is not None:
            await second.close()


async def test_the_joiner_is_not_sent_back_the_state_its_ack_carried(world: World) -> None:
    """The state of a join is computed once, for the ack and for the push that tells the others; the
    joiner, whose ack carried it, is not sent it again (issue 22: pushes were half the join's cost)."""
    people = await link_members(world, "A", 2)
    mid = await online_meeting(world, "A")
    first, _ = await joined(world, people[0][0], mid)
    second = None
    try:
        mark = first.mark()
        second, ack = await joined(world, people[1][0], mid)
        online = {p["member_id"] for p in ack["state"]["presence"]["participants"] if p["online"]}
        assert online == {people[0][1], people[1][1]}
        both = await first.wait_for(
            "presence",
            lambda p: {x["member_id"] for x in p["participants"] if x["online"]} == online,
            since=mark,
        )
        await first.wait_for("quorum", lambda q: True, since=mark)
        await asyncio.sleep(0.5)  # well past the push that reached the first member
        assert second.received("presence") == [] and second.received("quorum") == []
        assert both["counts"] == ack["state"]["presence"]["counts"]
    finally:
        await first.close()
        if second is not None:
            await second.close()
