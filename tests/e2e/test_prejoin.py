"""The pre-join check in a real Chromium: the fake microphone's sound goes to the server's aiortc echo peer
and back, and the member reads the round trip and the loss before joining."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from playwright.async_api import expect

from tests.e2e.browser import Watched, link_accounts, log_in
from tests.integration.helpers import approve_a, schedule
from tests.integration.world import World

Watch = Callable[..., Awaitable[Watched]]


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    # The echo peer offers loopback only: the browser and the server never use another address.
    return {"media_host_addresses": ("127.0.0.1",)}


@pytest.mark.browser
async def test_the_network_check_reports_round_trip_and_loss(world: World, watch: Watch) -> None:
    await link_accounts(world, ["mot"])
    await approve_a(world)
    created = await schedule(world, "sec_a", "A", mode="online")
    assert created.status == 201, created.body
    watched = await watch()
    page = await watched.new_page()
    await log_in(page, str(world.server.url), "mot", f"/meetings/{created.body['id']}/room")
    await page.get_by_role("button", name="Kiểm tra mạng").click()
    result = page.locator("#network-result")
    await expect(result).to_have_class("message success", timeout=20_000)
    await expect(result).to_contain_text("ms")
    await expect(result).to_contain_text("Mạng đủ tốt: độ trễ khứ hồi")
    await watched.assert_clean()
