"""The room's client manager sends an event to a room's connections in the emitting task (issue 22):
the same events reach the same connections in the same order as with python-socketio's own manager,
the skipped ones get nothing, and a connection that cannot take its packet does not stop the others."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from server.appkeys import HUB
from server.realtime.hub import room_name
from server.realtime.room_manager import RoomManager
from tests.integration.room_client import RoomClient, joined, link_members, online_meeting
from tests.integration.world import World


async def three_in_a_room(world: World) -> tuple[int, list[RoomClient]]:
    people = await link_members(world, "A", 3)
    mid = await online_meeting(world, "A")
    clients = [(await joined(world, username, mid))[0] for username, _ in people]
    return mid, clients


def got(client: RoomClient, event: str) -> list[Any]:
    return client.received(event)


async def settle(clients: list[RoomClient], event: str, counts: list[int]) -> None:
    for _ in range(100):
        if [len(got(c, event)) for c in clients] == counts:
            return
        await asyncio.sleep(0.02)
    raise AssertionError([len(got(c, event)) for c in clients])


async def test_the_room_uses_its_manager_and_every_connection_gets_events_in_order(world: World) -> None:
    hub = world.server.app[HUB]
    assert isinstance(hub.sio.manager, RoomManager)
    mid, clients = await three_in_a_room(world)
    try:
        skipped = clients[0].sio.get_sid("/room")
        for n in range(20):
            await hub.emit("probe", {"n": n}, to=room_name(mid), skip_sid=skipped if n % 2 else None)
        # straight through the server, as python-socketio's callers do
        await hub.sio.emit("probe", {"n": "a"}, to=room_name(mid), namespace="/room")
        await settle(clients, "probe", [11, 21, 21])
        assert [p["n"] for p in got(clients[1], "probe")] == [*range(20), "a"]
        assert [p["n"] for p in got(clients[0], "probe")] == [*range(0, 20, 2), "a"]
    finally:
        for client in clients:
            await client.close()


async def test_a_connection_that_cannot_take_its_packet_does_not_stop_the_others(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = world.server.app[HUB]
    mid, clients = await three_in_a_room(world)
    try:
        broken = hub.sio.manager.eio_sid_from_sid(clients[1].sio.get_sid("/room"), "/room")
        send = hub.sio._send_eio_packet

        async def failing(eio_sid: str, frame: Any) -> None:
            if eio_sid == broken:
                raise RuntimeError("socket closed")
            await send(eio_sid, frame)

        monkeypatch.setattr(hub.sio, "_send_eio_packet", failing)
        await hub.emit("probe", {"n": 1}, to=room_name(mid))
        await settle([clients[0], clients[2]], "probe", [1, 1])
        assert got(clients[1], "probe") == []
    finally:
        for client in clients:
            await client.close()
