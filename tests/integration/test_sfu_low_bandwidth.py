"""Issue 24, point 2 (the server's side): a member on low bandwidth moves a small mesh room to the SFU,
with a real Janus in its own network namespace; without an SFU configured the room stays a mesh; bad
input changes nothing."""

from __future__ import annotations

from typing import Any

from server.bench.janus_net import JanusNet
from tests.integration.room_client import RoomClient, joined, link_members, online_meeting, ticket
from tests.integration.sfu_server import janus, server
from tests.integration.world import World

__all__ = ["janus", "server"]  # the fixtures, shared with the SFU room tests


async def joined_saving_data(world: World, username: str, meeting_id: int) -> tuple[RoomClient, Any]:
    """A member whose page joins with its saved low-bandwidth choice."""
    client = RoomClient(str(world.server.url), auth={"token": await ticket(world, username, meeting_id)})
    await client.connect()
    ack = await client.call("join", {"meeting_id": meeting_id, "low_bandwidth": True}, timeout=10)
    assert ack["ok"] is True, ack
    return client, ack


async def test_a_member_saving_data_moves_a_small_room_to_the_sfu(
    janus: JanusNet,
    world: World,
    rooms: list[RoomClient],
) -> None:
    people = await link_members(world, "A", 3)  # the SFU's size is 6: by size alone, a mesh
    mid = await online_meeting(world, "A")
    for username, _ in people[:2]:
        client, ack = await joined(world, username, mid)
        rooms.append(client)
        assert ack["topology"]["mode"] == "mesh" and ack["topology"]["reason"] == "below_sfu_size"
    first = rooms[0]
    refused = await first.call("low-bandwidth", {"on": "yes"})
    assert (refused["ok"], refused["error"]["code"]) == (False, "validation_error")

    # The third joins with its saved choice: the room moves for it, and the others are told.
    saving, ack = await joined_saving_data(world, people[2][0], mid)
    rooms.append(saving)
    assert ack["media"]["mode"] == "sfu"
    assert ack["topology"] == {"mode": "sfu", "reason": "low_bandwidth", "sfu_min_peers": 6}
    pushed = await first.wait_for("media", timeout=10)
    assert (pushed["mode"], pushed["reason"]) == ("sfu", "low_bandwidth")
    # Off again: the room stays on the SFU (no back and forth for the others).
    back = await saving.call("low-bandwidth", {"on": False})
    assert back["ok"] is True and back["topology"]["mode"] == "sfu"
