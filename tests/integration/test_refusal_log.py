"""Refused access leaves a trace with the user, the unit and the route (issue 31, part 6; ASVS 7.1.3,
7.2.2): another unit's 404s as well as one's own 403s."""

from __future__ import annotations

import logging

import pytest
import socketio

from tests.integration.room_client import RoomClient
from tests.integration.world import World


async def test_probing_another_unit_and_a_forbidden_write_are_logged_with_the_user(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="cellmeet.security")
    sec_b = await world.as_user("sec_b")
    member_id = world.members["A"][0]
    probed = await sec_b.get(f"/api/v1/members/{member_id}")
    assert probed.status == 404  # indistinguishable from an absent record, for the caller
    member_a = await world.as_user("member_a")
    forbidden = await member_a.patch(f"/api/v1/members/{member_id}", {"activity": "suspended"})
    assert forbidden.status == 403

    lines = [r.getMessage() for r in caplog.records if r.name == "cellmeet.security"]
    unit_a = world.orgs["A"]
    assert any(
        "status=404" in line
        and "route=/api/v1/members/{id}" in line
        and f"user={world.users['sec_b']} (sec_b)" in line
        and f"unit={unit_a}" in line
        for line in lines
    ), lines
    assert any(
        "status=403" in line
        and f"user={world.users['member_a']} (member_a)" in line
        and f"unit={unit_a}" in line
        for line in lines
    ), lines


async def test_a_refused_room_connection_is_logged_with_its_address_and_reason(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="cellmeet.realtime")
    for _ in range(3):
        anonymous = RoomClient(str(world.server.url))
        with pytest.raises(socketio.exceptions.ConnectionError):
            await anonymous.connect()
    lines = [r.getMessage() for r in caplog.records if "room connection refused" in r.getMessage()]
    once = "room connection refused: unauthenticated from 127.0.0.1 (further ones within 60 s are not logged)"
    assert lines == [once]
