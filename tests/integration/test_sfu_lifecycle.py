"""The SFU in the server's life (issue 20, step 2a), against a real Janus: a meeting's room goes when
the meeting closes or is cancelled, a restarted server sweeps its orphan rooms (and keeps the live
meetings'), the join ack says why the room is a mesh, and a server whose Janus is unreachable starts,
lets members join in mesh and logs the failure once."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from server.appkeys import SETTINGS
from server.bench.janus_net import JanusNet, available, janus_in_namespace
from server.media.sfu import JanusClient
from server.media.sfu_lifecycle import SFU, SFU_WATCH, SWEEP, sfu_listeners
from server.media.sfu_watch import SfuState
from server.realtime.sfu_recovery import SfuRecovery
from tests.integration import harness
from tests.integration.harness import ApiClient, FakeClock, RunningServer
from tests.integration.room_client import RoomClient, joined, link_members, online_meeting
from tests.integration.world import World, build_world


@pytest.fixture
async def janus(tmp_path: Path) -> AsyncIterator[JanusNet]:
    missing = available()
    assert missing is None, missing  # never skipped: CI installs janus and runs as root
    async with janus_in_namespace(tmp_path) as net:
        yield net


@pytest.fixture
def settings_overrides(janus: JanusNet) -> dict[str, Any]:
    return {"sfu_url": janus.api_url, "sfu_min_peers": 6}


def janus_of(world: World) -> JanusClient:
    return world.server.app[SFU]


async def test_closing_or_cancelling_a_meeting_destroys_its_room(
    world: World, rooms: list[RoomClient]
) -> None:
    await world.server.app[SWEEP]
    people = await link_members(world, "A", 1)
    mid = await online_meeting(world, "A")
    cancelled = await online_meeting(world, "A")
    sfu = janus_of(world)
    await sfu.create_room(mid, publishers=10)  # as the switch to the SFU will (step 2b)
    await sfu.create_room(cancelled, publishers=10)
    assert sorted(await sfu.own_rooms()) == sorted([mid, cancelled])

    client, ack = await joined(world, people[0][0], mid)
    rooms.append(client)
    assert ack["topology"] == {"mode": "mesh", "reason": "below_sfu_size", "sfu_min_peers": 6}
    sec_a = await world.as_user("sec_a")
    assert (await sec_a.post(f"/api/v1/meetings/{mid}/open", {"override_reason": "Thử"})).status == 200
    assert (await sec_a.post(f"/api/v1/meetings/{mid}/close", {})).status == 200
    cancel = await sec_a.post(f"/api/v1/meetings/{cancelled}/cancel", {"reason": "Bão"})
    assert cancel.status == 200, cancel.body
    assert await sfu.own_rooms() == {}


async def test_a_restarted_server_sweeps_its_orphan_rooms(
    world: World, database_url: str, tmp_path: Path, janus: JanusNet
) -> None:
    await world.server.app[SWEEP]
    live = await online_meeting(world, "A")
    ended = await online_meeting(world, "A")
    sec_a = await world.as_user("sec_a")
    sfu = janus_of(world)
    for meeting_id in (live, ended):
        await sfu.create_room(meeting_id, publishers=10)
    assert (await sec_a.post(f"/api/v1/meetings/{ended}/cancel", {"reason": "Bão"})).status == 200
    await sfu.create_room(ended, publishers=10)  # as if the destroy had failed: an orphan
    settings = world.server.app[SETTINGS]
    await world.server.stop()

    again = await RunningServer.start(settings, FakeClock())
    try:
        await asyncio.wait_for(again.app[SWEEP], 10)
        assert list(await again.app[SFU].own_rooms()) == [live]
    finally:
        await again.stop()


async def test_a_restarted_server_reclaims_the_room_of_a_live_meeting(
    world: World, database_url: str, tmp_path: Path, janus: JanusNet
) -> None:
    """Issue 27: cellmeet restarted during an SFU meeting; Janus still holds the meeting's room, so
    the meeting is on the SFU from its first join again (not a mesh moving later)."""
    await world.server.app[SWEEP]
    live = await online_meeting(world, "A")
    other = await online_meeting(world, "A")
    await janus_of(world).create_room(live, publishers=50)  # as the switch to the SFU did
    settings = world.server.app[SETTINGS]
    await world.server.stop()

    again = await RunningServer.start(settings, FakeClock())
    try:
        watch = again.app[SFU_WATCH]
        for _ in range(100):
            if watch.state is SfuState.REACHABLE:
                break
            await asyncio.sleep(0.05)
        (recovery,) = sfu_listeners(again.app)
        assert isinstance(recovery, SfuRecovery)
        assert recovery.relay.topology_json(live) == {
            "mode": "sfu",
            "reason": "room_size",
            "sfu_min_peers": 6,
        }
        assert recovery.relay.topology_json(other)["mode"] == "mesh"
    finally:
        await again.stop()


async def test_an_unreachable_janus_leaves_the_room_a_mesh(
    database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="cellmeet.sfu")
    settings = harness.test_settings(tmp_path, database_url, sfu_url="http://127.0.0.1:9/janus")
    running = await RunningServer.start(settings, FakeClock())
    clients: list[ApiClient] = []

    def make(lang: str = "vi") -> ApiClient:
        client = ApiClient(running.url, lang=lang)
        clients.append(client)
        return client

    try:
        await asyncio.wait_for(running.app[SWEEP], 6)  # gives up within the deadline
        world = await build_world(running, make)
        people = await link_members(world, "A", 1)
        mid = await online_meeting(world, "A")
        client, ack = await asyncio.wait_for(joined(world, people[0][0], mid), 5)
        await client.close()
        assert ack["media"]["mode"] == "mesh"
        failures = [r for r in caplog.records if "orphan" in r.getMessage()]
        assert len(failures) == 1, [r.getMessage() for r in caplog.records]
    finally:
        for client in clients:
            await client.close()
        await running.stop()
