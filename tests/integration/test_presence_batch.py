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
