"""Issue 24, point 2, without an SFU: a member who saves data in a mesh stops receiving video (the others'
pages are offered the connection again with video off, so they send none) and keeps the sound."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from playwright.async_api import expect

from tests.e2e.browser import TRAFFIC, Watched, hears_everyone, join, online_meeting_of_three
from tests.integration.world import World

Watch = Callable[..., Awaitable[Watched]]


@pytest.mark.browser
async def test_saving_data_in_a_mesh_stops_the_video_it_receives(world: World, watch: Watch) -> None:
    meeting_id = await online_meeting_of_three(world)
    sender = await join(watch, world, "mot", meeting_id)
    saver = await join(watch, world, "hai", meeting_id)
    await sender.locator("#camera").click()
    await expect(saver.locator('#tiles figure[data-video="true"]')).to_have_count(1, timeout=15_000)
    flowing = await saver.evaluate(TRAFFIC)
    await asyncio.sleep(1.5)
    assert (await saver.evaluate(TRAFFIC))["videoBytesIn"] > flowing["videoBytesIn"]  # it did come

    await saver.get_by_role("button", name="Tiết kiệm dữ liệu").click()
    await expect(saver.locator("#low-bandwidth")).to_have_attribute("aria-pressed", "true")
    await expect(saver.locator("#room")).to_have_attribute("data-media", "mesh")  # no SFU to move to
    await expect(saver.locator('#tiles figure[data-video="true"]')).to_have_count(0)
    await asyncio.sleep(2)  # the offer with video off is answered; what was on its way arrives
    first = await saver.evaluate(TRAFFIC)
    await asyncio.sleep(3)
    later = await saver.evaluate(TRAFFIC)
    assert later["videoBytesIn"] == first["videoBytesIn"], (first, later)
    await hears_everyone(saver, {str(world.members["A"][0])})
    # The sender's camera stays on for everyone else; the saver's own camera cannot be turned on.
    await expect(sender.locator("#camera")).to_have_attribute("aria-pressed", "true")
    await expect(saver.locator("#camera")).to_be_disabled()
