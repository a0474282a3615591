"""The cell's monthly record in Chromium on a phone (issue 6): from the cell's page to the month's record,
the party group's conclusions on screen, on to the meeting's minutes; 360 px wide, nothing external."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from playwright.async_api import expect

from tests.e2e.browser import Watched, log_in
from tests.integration.group_cells import make_a_group_cell, schedule_group_meeting
from tests.integration.helpers import pass_time
from tests.integration.world import World

Watch = Callable[..., Awaitable[Watched]]
CONCLUSION = "Tổ 1 đề nghị chi bộ bố trí sinh hoạt trực tuyến cho đảng viên đang đi biển dài ngày."


async def a_group_meeting_held_and_adopted(world: World) -> int:
    """Group A1 (its one member, with an account) meets now, concludes, and adopts its minutes."""
    await make_a_group_cell(world)
    sec_a = await world.as_user("sec_a")
    created = await schedule_group_meeting(world, "A1", "2026-11-23T15:00:00+07:00")
    assert created.status == 201, created.body
    mid = int(created.body["id"])
    member = world.members["A"][5]
    assert (await sec_a.post(f"/api/v1/meetings/{mid}/checkins", {"member_id": member})).status == 201
    assert (await sec_a.post(f"/api/v1/meetings/{mid}/open", {})).status == 200
    vote = await sec_a.post(
        f"/api/v1/meetings/{mid}/votes", {"question": "Thông qua biên bản", "kind": "minutes_adoption"}
    )
    assert vote.status == 201, vote.body
    ballot = await sec_a.post(
        f"/api/v1/votes/{vote.body['id']}/ballots", {"member_id": member, "choice": "for"}
    )
    assert ballot.status == 201, ballot.body
    assert (await sec_a.post(f"/api/v1/votes/{vote.body['id']}/close", {})).status == 200
    written = await sec_a.put(
        f"/api/v1/meetings/{mid}/minutes", {"version": 0, "fields": {"item:3": CONCLUSION}}
    )
    assert written.status == 200, written.body
    await pass_time(world, 90)
    assert (await sec_a.post(f"/api/v1/meetings/{mid}/close", {})).status == 200
    adopted = await sec_a.post(f"/api/v1/meetings/{mid}/minutes/adopt", {"vote_id": vote.body["id"]})
    assert adopted.status == 200, adopted.body
    return mid


@pytest.mark.browser
async def test_the_monthly_record_on_a_phone(world: World, watch: Watch) -> None:
    mid = await a_group_meeting_held_and_adopted(world)
    base, cell = str(world.server.url), world.orgs["A"]
    watched = await watch(viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True)
    page = await watched.new_page()
    await log_in(page, base, "sec_a", f"/orgs/{cell}")
    await page.get_by_role("link", name="Sổ sinh hoạt hằng tháng").click()
    await page.wait_for_url(f"{base}/orgs/{cell}/record")
    await expect(page.get_by_role("heading", level=1)).to_contain_text("11/2026")
    await expect(page.locator("#held-by-groups")).to_have_attribute("data-held", "true")
    card = page.locator(f'article[data-meeting-id="{mid}"]')
    await expect(card).to_contain_text(CONCLUSION)
    await expect(card).to_contain_text("Tổ đảng số 1")
    await expect(card.locator('dd[data-count="present"]')).to_have_text("1")
    assert await page.evaluate("document.documentElement.scrollWidth") <= 360

    await page.get_by_role("link", name="Tháng trước").click()
    await expect(page.locator("#meetings")).to_contain_text("Không có buổi sinh hoạt nào trong tháng.")
    await page.get_by_label("Tháng", exact=True).fill("2026-11")
    await page.get_by_role("button", name="Xem").click()
    await card.get_by_role("link", name="Đã thông qua").click()
    await page.wait_for_url(f"{base}/meetings/{mid}/minutes")
    assert await page.evaluate("document.documentElement.scrollWidth") <= 360
    await watched.assert_clean()
