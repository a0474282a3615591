"""The chair enters a show of hands' counts on the meeting page (issue 30): an in-person meeting in session,
the form offers a show of hands first; counts larger than the officials present are refused in
Vietnamese and change nothing; the right ones close the vote and the page shows how it was taken and
its result."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from playwright.async_api import expect

from tests.e2e.browser import Watched, log_in
from tests.integration.helpers import schedule
from tests.integration.world import World

Watch = Callable[..., Awaitable[Watched]]


@pytest.mark.browser
async def test_the_chair_enters_the_counts_of_a_show_of_hands(world: World, watch: Watch) -> None:
    base = str(world.server.url)
    sec_a = await world.as_user("sec_a")
    created = await schedule(world, "sec_a", "A")
    assert created.status == 201, created.body
    mid = created.body["id"]
    for member in world.members["A"]:
        assert (await sec_a.post(f"/api/v1/meetings/{mid}/checkins", {"member_id": member})).status == 201
    opened = await sec_a.post(f"/api/v1/meetings/{mid}/open", {})
    assert opened.status == 200, opened.body
    officials = int(opened.body["quorum"]["counts"]["present_official"])

    chair = await watch()
    page = await chair.new_page()
    await log_in(page, base, "sec_a", f"/meetings/{mid}")
    await expect(page.locator("#votes-list")).to_have_attribute("aria-busy", "false")
    await expect(page.locator("#votes-empty")).to_be_visible()
    await expect(page.locator("#meeting-vote-mode")).to_have_value("show_of_hands")
    await page.locator("#meeting-vote-question").fill("Thông qua kế hoạch tháng 12")
    await page.locator("#meeting-vote-open").click()
    await expect(page.locator("#votes-status")).to_have_text("Đã mở biểu quyết.")
    form = page.locator("#meeting-counts-form")
    await expect(form).to_be_visible()
    await expect(page.locator("#votes-list li")).to_contain_text("biểu quyết bằng giơ tay, chủ trì đếm")

    await page.locator("#meeting-counts-for").fill(str(officials))
    await page.locator("#meeting-counts-against").fill("1")
    await page.locator("#meeting-counts-abstain").fill("0")
    await page.locator("#meeting-counts-save").click()
    await expect(page.locator("#votes-error")).to_contain_text(f"{officials} đảng viên chính thức có mặt")
    await expect(form).to_be_visible()
    assert (await sec_a.get(f"/api/v1/meetings/{mid}/votes")).body["votes"][0]["status"] == "open"

    await page.locator("#meeting-counts-for").fill(str(officials))
    await page.locator("#meeting-counts-against").fill("0")
    await page.locator("#meeting-counts-save").click()
    await expect(page.locator("#votes-status")).to_have_text("Đã ghi kết quả; biểu quyết đã kết thúc.")
    await expect(form).to_be_hidden()
    item = page.locator("#votes-list li").first
    await expect(item).to_have_attribute("data-status", "closed")
    await expect(item.locator(".explanation")).to_contain_text("Thông qua")
    assert await chair.csp_violations() == []
    assert chair.page_errors == []
