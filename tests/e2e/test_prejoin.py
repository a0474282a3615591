"""The pre-join check in a real Chromium: the fake microphone's sound goes to the server's aiortc echo peer
and back, and the member reads the round trip and the loss before joining."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from playwright.async_api import expect

from tests.e2e.browser import Watched, log_in
from tests.e2e.test_room import link_accounts
from tests.integration import harness
from tests.integration.harness import FakeClock, RunningServer
from tests.integration.test_meetings import approve_a, schedule
from tests.integration.world import World

Watch = Callable[..., Awaitable[Watched]]


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[RunningServer]:
    # The echo peer offers loopback only: the browser and the server never use another address.
    url = f"sqlite+aiosqlite:///{tmp_path / 'cellmeet.db'}"
    settings = harness.test_settings(tmp_path, url, media_host_addresses=("127.0.0.1",))
    running = await RunningServer.start(settings, FakeClock())
    yield running
    await running.stop()


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
