"""Numbered room events on the wire (quality.md R3; server.realtime.replay; docs/api.md "Resuming").

A connection whose join asked (`resume: true`) gets each event to the meeting with a last argument
`{"seq": n}`; one that did not gets the event exactly as before, one argument. A returning connection
gets what it missed in its join ack. Below, quality.md R3's fast tier: a member's link cut for 3 s
through a proxy while the others make 30 changes (tests/integration/partition.py; the full size, on the
real clock, in test_partition_resume.py).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.partition import MEMBERS, Run, check_and_record, cut_and_resume
from tests.integration.room_client import RoomClient, joined, link_members, online_meeting, ticket
from tests.integration.serve_process import wait_until
from tests.integration.world import World

RELIABILITY_ROW = "R3"  # the reliability test below: its line in docs/reliability.md even when it fails


class ArgumentsClient(RoomClient):
    """Keeps every argument each event came with."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.arguments: list[tuple[str, tuple[Any, ...]]] = []

    async def _record(self, event: str, *args: Any) -> None:
        self.arguments.append((event, args))
        await super()._record(event, args[0] if args else None)


async def test_numbers_go_only_to_connections_that_asked_and_a_return_gets_the_rest(
    world: World, rooms: list[RoomClient]
) -> None:
    people = await link_members(world, "A", 3)
    mid = await online_meeting(world)
    raiser, _ = await joined(world, people[0][0], mid)
    rooms.append(raiser)
    plain, _ = await joined(world, people[1][0], mid)
    rooms.append(plain)
    numbered = ArgumentsClient(str(world.server.url), auth={"token": await ticket(world, people[2][0], mid)})
    await numbered.connect()
    rooms.append(numbered)
    ack = await numbered.call("join", {"meeting_id": mid, "resume": True})
    assert ack["ok"] is True, ack
    epoch, first = ack["resume"]["epoch"], ack["resume"]["seq"]
    assert set(ack["resume"]) == {"epoch", "seq"}

    since = plain.mark()
    for count, raised in enumerate((True, False, True), start=1):
        assert (await raiser.call("hand", {"raised": raised}))["ok"] is True
        await wait_until(lambda n=count: len(numbered.received("hands")) == n, 5)
    await plain.wait_for("hands", lambda h: bool(h["hands"]), since=since)
    hands = [args for event, args in numbered.arguments if event == "hands"]
    assert len(hands) == 3 and all(len(args) == 2 for args in hands)
    seqs = [args[1]["seq"] for args in hands]
    assert seqs == sorted(seqs) and len(set(seqs)) == 3 and seqs[0] > first
    # the one that did not ask: its events as they always were
    assert plain.received("hands")[-1] == hands[-1][0]

    # Numbers of this process's life are trusted; a bad `resume` is refused and changes nothing.
    again = await numbered.call("join", {"meeting_id": mid, "resume": {"epoch": epoch, "last_seq": seqs[0]}})
    assert again["ok"] is True, again
    assert [e["seq"] for e in again["resume"]["replayed"] if e["event"] == "hands"] == seqs[1:]
    assert again["resume"]["replayed"][-1]["data"] == hands[-1][0]
    other = await numbered.call("join", {"meeting_id": mid, "resume": {"epoch": "elsewhere", "last_seq": 1}})
    assert other["resume"]["replayed"] is None and other["resume"]["reason"] == "other_epoch"
    bad = await numbered.call("join", {"meeting_id": mid, "resume": {"last_seq": -1}})
    assert bad["ok"] is False and bad["error"]["code"] == "validation_error", bad


@pytest.mark.reliability
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_member_cut_off_for_seconds_gets_what_was_missed(
    request: pytest.FixtureRequest, world: World, database_url: str
) -> None:
    people = await link_members(world, "A", MEMBERS)
    mid = await online_meeting(world)
    run = Run(cut_seconds=3, events=30)
    clock = world.server.clock
    await cut_and_resume(
        str(world.server.url), mid, people, run, None, advance=lambda s: clock.advance(seconds=s)
    )
    check_and_record(request, run, "fast")
