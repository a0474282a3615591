"""Group commit of the room's joins and leaves (issue 22): a burst shares its transactions, every write
is committed before its caller hears back, the rows and the audit chain keep arrival order and verify,
and one write that cannot be written fails alone."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from meetings.attendance import EventKind
from server.appkeys import DATABASE
from server.audit.verify import verify_database
from server.db.tables import AuditEvent, PresenceEvent
from server.services.presence_batch import PresenceBatcher, PresenceWrite
from tests.integration.room_client import joined, link_members, online_meeting
from tests.integration.world import World

BURST = 60


def writes(world: World, meeting_id: int, count: int) -> list[PresenceWrite]:
    members = world.members["A"]
    return [
        PresenceWrite(
            meeting_id=meeting_id,
            org_id=world.orgs["A"],
            member_id=members[i % len(members)],
            # each member joins, leaves, joins again ...
            kind=EventKind.JOIN if (i // len(members)) % 2 == 0 else EventKind.LEAVE,
            user_id=None,
            at=world.server.clock(),
            why="room",
        )
        for i in range(count)
    ]


async def stored(world: World, meeting_id: int) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    async with world.server.app[DATABASE].read() as session:
        events = await session.execute(
            select(PresenceEvent.member_id, PresenceEvent.kind)
            .where(PresenceEvent.meeting_id == meeting_id)
            .order_by(PresenceEvent.id)
        )
        audit = await session.execute(
            select(AuditEvent.data, AuditEvent.action)
            .where(AuditEvent.target == f"meeting:{meeting_id}", AuditEvent.action.startswith("presence."))
            .order_by(AuditEvent.seq)
        )
        rows = [(int(m), str(k)) for m, k in events.all()]
        chained = [(int(data["member_id"]), action.removeprefix("presence.")) for data, action in audit.all()]
    return rows, chained


async def test_a_burst_shares_its_commits_in_order(world: World) -> None:
    mid = await online_meeting(world, "A")
    batcher = PresenceBatcher(world.server.app[DATABASE])
    burst = writes(world, mid, BURST)
    await asyncio.gather(*(batcher.write(entry) for entry in burst))
    # the first write commits alone, everything that arrived meanwhile goes in the next transaction
    assert batcher.batches <= 3, batcher.batches
    expected = [(entry.member_id, entry.kind.value) for entry in burst]
    assert await stored(world, mid) == (expected, expected)
    verdict = await verify_database(world.server.app[DATABASE])
    assert verdict.ok, verdict


async def test_a_write_that_fails_fails_alone(world: World) -> None:
    mid = await online_meeting(world, "A")
    batcher = PresenceBatcher(world.server.app[DATABASE])
    good = writes(world, mid, 5)
    bad = PresenceWrite(mid, world.orgs["A"], 10**9, EventKind.JOIN, None, world.server.clock(), "room")
    # all six share a batch: the bad one fails it, and each is then written again on its own
    results = await asyncio.gather(
        *(batcher.write(entry) for entry in [good[0], good[1], bad, *good[2:]]), return_exceptions=True
    )
    assert [isinstance(r, Exception) for r in results] == [False, False, True, False, False, False]
    assert batcher.batches == 5  # the five good ones, each alone after the shared batch failed
    expected = [(entry.member_id, entry.kind.value) for entry in good]
    assert await stored(world, mid) == (expected, expected)
    assert (await verify_database(world.server.app[DATABASE])).ok


async def test_a_joined_member_was_committed_before_the_ack(world: World) -> None:
    """Through the room: the join ack comes after the batch with its presence row is committed."""
    people = await link_members(world, "A", 3)
    mid = await online_meeting(world, "A")
    clients = await asyncio.gather(*(joined(world, username, mid) for username, _ in people))
    try:
        rows, chained = await stored(world, mid)
        assert sorted(rows) == sorted((member_id, "join") for _, member_id in people)
        assert sorted(chained) == sorted(rows)
    finally:
        for client, _ in clients:
            await client.close()


def leave(world: World, meeting_id: int, member_id: int) -> PresenceWrite:
    return PresenceWrite(
        meeting_id, None, member_id, EventKind.LEAVE, None, world.server.clock(), "left", if_online=True
    )


async def test_leaves_share_the_batch_and_end_only_what_is_open(world: World) -> None:
    """A room's leave goes through the same group commit; whether there is a presence to end is decided
    in the writing transaction, with the joins written before it in the same batch."""
    mid = await online_meeting(world, "A")
    one, two, three = world.members["A"][:3]
    batcher = PresenceBatcher(world.server.app[DATABASE])
    join_one, join_two = writes(world, mid, 2)
    assert (join_one.member_id, join_two.member_id) == (one, two)
    answers = await asyncio.gather(
        batcher.write(join_one),
        batcher.write(join_two),
        batcher.write(leave(world, mid, one)),  # joined earlier in the same batch: ended
        batcher.write(leave(world, mid, one)),  # already ended by the one before
        batcher.write(leave(world, mid, three)),  # never joined
    )
    assert answers == [True, True, True, False, False]
    assert batcher.batches <= 2
    expected = [(one, "join"), (two, "join"), (one, "leave")]
    assert await stored(world, mid) == (expected, expected)
    # the audit row names the meeting's unit, which the conditional leave did not know
    async with world.server.app[DATABASE].read() as session:
        last = (
            await session.execute(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1))
        ).scalar_one()
    assert (last.action, last.org_id) == ("presence.leave", world.orgs["A"])


async def test_a_leave_after_the_close_writes_nothing(world: World) -> None:
    people = await link_members(world, "A", 1)
    mid = await online_meeting(world, "A")
    client, _ = await joined(world, people[0][0], mid)
    try:
        secretary = await world.as_user("sec_a")
        assert (
            await secretary.post(f"/api/v1/meetings/{mid}/open", {"override_reason": "thử"})
        ).status == 200
        assert (await secretary.post(f"/api/v1/meetings/{mid}/close", {})).status == 200
        rows_at_close = await stored(world, mid)
        batcher = PresenceBatcher(world.server.app[DATABASE])
        # the close ended the presence: a late leave of the room (its grace ran out) has nothing to end
        assert await batcher.write(leave(world, mid, people[0][1])) is False
        assert await stored(world, mid) == rows_at_close
    finally:
        await client.close()
