"""The room's door (issue 19): who is not summoned is told so before any microphone is asked for, a
closed meeting's room link opens its minutes, and a mistyped address gets the site's own page."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from playwright.async_api import expect

from tests.e2e.browser import Watched, log_in
from tests.integration.helpers import approve_a, schedule
from tests.integration.world import World

Watch = Callable[..., Awaitable[Watched]]
PHONE = {"width": 360, "height": 740}
# Counts every request for a microphone or camera the page makes.
COUNT_DEVICE_REQUESTS = """
(() => {
  window.__deviceRequests = 0;
  const devices = navigator.mediaDevices;
  if (!devices) return;
  const ask = devices.getUserMedia.bind(devices);
  devices.getUserMedia = (constraints) => {
    window.__deviceRequests += 1;
    return ask(constraints);
  };
})();
"""


@pytest.mark.browser
async def test_the_room_refuses_before_asking_for_devices_and_sends_a_closed_meeting_to_its_minutes(
    world: World, watch: Watch
) -> None:
    base = str(world.server.url)
    await approve_a(world)
    made = await schedule(world, "sec_a", "A", mode="online")
    assert made.status == 201, made.body
    mid = made.body["id"]

    # The province's auditor may read the meeting but is not summoned to it.
    auditor = await watch(viewport=PHONE)
    await auditor.context.add_init_script(COUNT_DEVICE_REQUESTS)
    page = await auditor.new_page()
    await log_in(page, base, "auditor_p", f"/meetings/{mid}/room")
    await expect(page.locator("#room-refused")).to_contain_text(
        "Bạn không thuộc danh sách đảng viên được triệu tập dự buổi sinh hoạt này."
    )
    await expect(page.locator("#prejoin")).to_have_count(0)
    assert await page.evaluate("window.__deviceRequests") == 0

    # A mistyped address: the site's page, in Vietnamese, not aiohttp's plain text.
    await page.goto(f"{base}/meetingz/{mid}")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Không tìm thấy")
    assert await page.evaluate("document.documentElement.lang") == "vi"

    # Closed: the room's link goes to the minutes.
    sec_a = await world.as_user("sec_a")
    assert (await sec_a.post(f"/api/v1/meetings/{mid}/open", {"override_reason": "Thử"})).status == 200
    assert (await sec_a.post(f"/api/v1/meetings/{mid}/close", {})).status == 200
    secretary = await (await watch(viewport=PHONE)).new_page()
    await log_in(secretary, base, "sec_a", f"/meetings/{mid}")
    await secretary.goto(f"{base}/meetings/{mid}/room")
    await secretary.wait_for_url(f"{base}/meetings/{mid}/minutes")
    await expect(secretary.locator("#minutes-page")).to_have_attribute("data-ready", "true")
