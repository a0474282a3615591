"""Issue 24, point 2: without an SFU configured, a member's low-bandwidth choice leaves the room a mesh
(there is nothing to move it to) and tells the page so."""

from __future__ import annotations

from tests.integration.room_client import joined, link_members, online_meeting
from tests.integration.world import World


async def test_without_an_sfu_low_bandwidth_leaves_the_mesh(world: World) -> None:
    people = await link_members(world, "A", 2)
    mid = await online_meeting(world, "A")
    client, ack = await joined(world, people[0][0], mid)
    reply = await client.call("low-bandwidth", {"on": True})
    assert reply["ok"] is True
    assert reply["topology"] == {"mode": "mesh", "reason": "sfu_not_configured", "sfu_min_peers": None}
    assert client.received("media") == []
    await client.close()
