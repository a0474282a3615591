"""CELLMEET_TURN_TTL_SECONDS reaches every place a TURN credential is minted (issue 21 point 1): the `join`
ack's `media.ice_servers` and `GET /api/v1/meetings/{id}/ice-servers`, whose answer also says the lifetime
(`ttl_seconds`) so the room page knows when to ask again. No coturn needed: the credentials are compared
with what server/media/turn.py computes for the same time."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from server.media.turn import mint_turn_credential
from server.settings import Secret
from tests.integration.harness import RunningServer
from tests.integration.room_client import joined, link_members, online_meeting
from tests.integration.world import World

SECRET = "cellmeet-ttl-test-secret"
TURN_URL = "turn:127.0.0.1:3478?transport=udp"
TTL = 42


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {
        "turn_secret": Secret(SECRET),
        "turn_ttl_seconds": TTL,
        "ice_servers": [{"urls": "stun:127.0.0.1:3478"}, {"urls": [TURN_URL]}],
    }


async def test_the_join_ack_and_the_ice_servers_route_mint_for_the_configured_lifetime(
    world: World, server: RunningServer
) -> None:
    ((username, member_id),) = await link_members(world, "A", 1)
    mid = await online_meeting(world)
    at = server.clock.now
    expected = mint_turn_credential(SECRET, member_id=member_id, meeting_id=mid, now=at, ttl_seconds=TTL)
    turn_entry = {"urls": [TURN_URL], "username": expected.username, "credential": expected.credential}
    assert expected.username == f"{int(at.timestamp()) + TTL}:m{member_id}-g{mid}"

    client, ack = await joined(world, username, mid)
    try:
        assert ack["media"]["ice_servers"] == [{"urls": ["stun:127.0.0.1:3478"]}, turn_entry]
    finally:
        await client.close()

    member = await world.as_user(username)
    reply = await member.get(f"/api/v1/meetings/{mid}/ice-servers")
    assert reply.status == 200, reply.body
    assert reply.body["ice_servers"] == [{"urls": ["stun:127.0.0.1:3478"]}, turn_entry]
    assert reply.body["ttl_seconds"] == TTL
    assert reply.body["expires_at"] == (at + timedelta(seconds=TTL)).isoformat().replace("+00:00", "Z")

    # A minute later the route mints a new credential, again for TTL seconds from then.
    server.clock.advance(minutes=1)
    later = await member.get(f"/api/v1/meetings/{mid}/ice-servers")
    assert later.status == 200, later.body
    assert later.body["ice_servers"][1]["username"] == f"{int(at.timestamp()) + 60 + TTL}:m{member_id}-g{mid}"
    assert later.body["ttl_seconds"] == TTL
