"""A member abroad on a phone (issue 19): their next meeting on the home page in their own time zone,
named; an excuse sent from there; the room one tap away; the secretary sees the excuse."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from playwright.async_api import expect

from tests.e2e.browser import Watched, log_in
from tests.integration.helpers import approve_a, schedule
from tests.integration.world import World

Watch = Callable[..., Awaitable[Watched]]
PHONE = {"width": 360, "height": 740}
REASON = "Tàu đang ở Hamburg, ca trực đêm"


@pytest.mark.browser
async def test_a_member_in_berlin_sees_the_meeting_sends_an_excuse_and_finds_the_room(
    world: World, watch: Watch
) -> None:
    base = str(world.server.url)
    await approve_a(world)
    made = await schedule(world, "sec_a", "A", mode="online", starts_at="2026-11-24T19:30:00+07:00")
    assert made.status == 201, made.body
    mid = made.body["id"]

    member_browser = await watch(viewport=PHONE, timezone_id="Europe/Berlin", is_mobile=True, has_touch=True)
    member = await member_browser.new_page()
    await log_in(member, base, "member_a")
    await expect(member.locator("#tree")).to_have_attribute("data-ready", "true")
    await expect(member.locator("#roles")).to_contain_text("Đảng viên — Chi bộ Tàu Biển Đông 01")
    entry = member.locator(f'#my-meetings li[data-meeting-id="{mid}"]')
    # 19:30 in Hồ Chí Minh is 13:30 in Berlin, and the page says whose time it is.
    await expect(entry).to_contain_text("13:30 24/11/2026")
    await expect(entry).to_contain_text("Europe/Berlin")
    await expect(entry).to_contain_text("đã lên lịch")

    await entry.get_by_text("Xin vắng").click()
    await entry.get_by_role("button", name="Gửi lý do vắng").click()
    await expect(entry.get_by_role("alert")).to_have_text("Hãy viết lý do trước.")
    await entry.get_by_label("Lý do vắng mặt").fill(REASON)
    await entry.get_by_role("button", name="Gửi lý do vắng").click()
    await expect(entry.locator(".excuse-state")).to_contain_text(f"Đã xin vắng: {REASON}")
    await member.reload()
    entry = member.locator(f'#my-meetings li[data-meeting-id="{mid}"]')
    await expect(entry.locator(".excuse-state")).to_contain_text(f"Đã xin vắng: {REASON}")  # kept

    # The secretary's meeting page lists it.
    secretary = await (await watch()).new_page()
    await log_in(secretary, base, "sec_a", f"/meetings/{mid}")
    await expect(secretary.locator("#excuses-list li")).to_have_count(1)
    await expect(secretary.locator("#excuses-list li").first).to_contain_text(REASON)

    # The room is one tap from the home page.
    await entry.get_by_role("link", name="Vào phòng họp").click()
    await member.wait_for_url(f"{base}/meetings/{mid}/room")
    await expect(member.locator("#room")).to_have_attribute("data-ready", "true")
    await member.locator("#join").click()
    await expect(member.locator("#room")).to_have_attribute("data-state", "joined")
    assert member_browser.page_errors == []
