"""The world fixture builds through the API on both databases."""

from __future__ import annotations

from tests.integration.world import World


async def test_world_builds_and_cell_a_qualifies(world: World) -> None:
    sec_a = await world.as_user("sec_a")
    reply = await sec_a.get(f"/api/v1/orgs/{world.orgs['A']}/eligibility")
    assert reply.status == 200
    assert reply.body["outcome"] is True
    assert reply.body["rule"] == "R-ELIG-2"
    assert reply.body["counts"]["register"] == 6
    assert reply.body["counts"]["cannot_meet_in_person"] == 4
