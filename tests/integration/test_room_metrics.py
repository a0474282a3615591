"""The live room in /metrics (issue 23, point 5): rooms open, members connected, joins, the join latency
and the ICE failures the pages report, read from a real server's /metrics while real socket.io clients
join and leave; and promtool's verdict on the whole real output."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import Callable
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.room_client import RoomClient, joined, link_members, online_meeting, ticket
from tests.integration.world import World

PROMTOOL_HINT = "promtool is missing: apt-get install prometheus (it is in .ci/run's apt-get install line)"


async def scrape(world: World) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of the server's /metrics, by name and labels."""
    reply = await world.make_client().get("/metrics")
    assert reply.status == 200
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(reply.body.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


LIVE = {
    "rooms": ("cellmeet_rooms_open", {}),
    "members": ("cellmeet_room_members_connected", {}),
    "joins": ("cellmeet_room_joins_total", {"outcome": "ok"}),
    "refused": ("cellmeet_room_joins_total", {"outcome": "refused"}),
    "timed": ("cellmeet_room_join_seconds_count", {}),
    "ice_mesh": ("cellmeet_room_ice_failures_total", {"mode": "mesh"}),
    "ice_sfu": ("cellmeet_room_ice_failures_total", {"mode": "sfu"}),
}


async def live(world: World) -> dict[str, float]:
    samples = await scrape(world)
    return {key: value(samples, name, **labels) for key, (name, labels) in LIVE.items()}


async def settles(world: World, expected: Callable[[dict[str, float]], bool]) -> dict[str, float]:
    """The live numbers once they match (a disconnect reaches the server a moment after the client's)."""
    for _ in range(50):
        now = await live(world)
        if expected(now):
            return now
        await asyncio.sleep(0.1)
    raise AssertionError(f"/metrics never matched; last: {now}")


def moved(now: dict[str, float], before: dict[str, float], **deltas: float) -> bool:
    """Each named number moved by its delta from `before`, every other one stayed."""
    return all(now[key] - before[key] == deltas.get(key, 0) for key in LIVE)


async def test_live_room_numbers_move_as_members_join_and_leave(
    world: World, rooms: list[RoomClient]
) -> None:
    people = await link_members(world, "A", 3)
    mid = await online_meeting(world)
    # Numbers of the whole process: this test looks at how they move from here.
    before = await live(world)

    first, _ = await joined(world, people[0][0], mid)
    rooms.append(first)
    after_one = await live(world)
    assert moved(after_one, before, rooms=1, members=1, joins=1, timed=1), (after_one, before)

    second, _ = await joined(world, people[1][0], mid)
    # The same member on a second device: one more join, not one more member.
    second_device, _ = await joined(world, people[1][0], mid)
    rooms += [second, second_device]
    assert moved(await live(world), before, rooms=1, members=2, joins=3, timed=3)

    # A refused join (another unit's meeting, or none: the same answer) is counted, never timed.
    other = RoomClient(str(world.server.url), auth={"token": await ticket(world, people[2][0], mid)})
    rooms.append(other)
    await other.connect()
    refused = await other.join(mid + 1000)
    assert refused["ok"] is False, refused
    assert moved(await live(world), before, rooms=1, members=2, joins=3, timed=3, refused=1)

    # The page's report of a failed peer connection: counted for a joined connection only, by mode.
    not_joined = await other.call("ice-failed", {})
    assert not_joined["ok"] is False and not_joined["error"]["code"] == "not_joined"
    assert await first.call("ice-failed", {}) == {"ok": True}
    assert await second.call("ice-failed") == {"ok": True}
    malformed = await second.call("ice-failed", {"meeting_id": mid})
    assert malformed["error"]["code"] == "validation_error"
    assert moved(await live(world), before, rooms=1, members=2, joins=3, timed=3, refused=1, ice_mesh=2)

    # The member on two devices closes one: still connected. An explicit leave, then a drop.
    await second_device.close()
    await settles(
        world, lambda n: moved(n, before, rooms=1, members=2, joins=3, timed=3, refused=1, ice_mesh=2)
    )
    assert await second.call("leave") == {"ok": True}
    await settles(
        world, lambda n: moved(n, before, rooms=1, members=1, joins=3, timed=3, refused=1, ice_mesh=2)
    )
    await first.close()
    last = await settles(
        world, lambda n: moved(n, before, rooms=0, members=0, joins=3, timed=3, refused=1, ice_mesh=2)
    )
    # The join latency is a histogram of real durations: each bucket at most the next, all in +Inf.
    samples = await scrape(world)
    buckets = sorted(
        (float(dict(labels)["le"]), count)
        for (name, labels), count in samples.items()
        if name == "cellmeet_room_join_seconds_bucket"
    )
    assert [count for _, count in buckets] == sorted(count for _, count in buckets)
    assert buckets[-1] == (float("inf"), last["timed"])
    assert value(samples, "cellmeet_room_join_seconds_sum") > 0
    # No meeting, member or user in any label of the room's metrics.
    room_labels = {
        key
        for (name, labels) in samples
        if name.startswith(("cellmeet_room", "cellmeet_rooms"))
        for key, _ in labels
    }
    assert room_labels <= {"outcome", "mode", "le"}, room_labels


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.fail(PROMTOOL_HINT)
    return found


async def test_promtool_accepts_the_real_metrics(world: World, rooms: list[RoomClient]) -> None:
    binary = promtool()
    people = await link_members(world, "A", 2)
    mid = await online_meeting(world)
    for username, _ in people:
        client, _ = await joined(world, username, mid)
        rooms.append(client)
    assert await rooms[0].call("ice-failed", {}) == {"ok": True}
    reply = await world.make_client().get("/metrics")
    assert reply.status == 200
    text: Any = reply.body
    for name in (
        "cellmeet_rooms_open",
        "cellmeet_room_join_seconds_bucket",
        "cellmeet_room_ice_failures_total",
    ):
        assert name.encode() in text
    checked = subprocess.run(
        [binary, "check", "metrics"], input=text, capture_output=True, timeout=60, check=False
    )
    # promtool prints one line per problem (and exits 1); nothing at all when the text is clean.
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.strip() == b"" and checked.stderr.strip() == b"", checked.stdout + checked.stderr
