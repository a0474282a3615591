"""The chair records a member at sea heard through another member's radio on the meeting page (issue 30
part 3, R-ATT-4): the form "Ghi nhận đảng viên tham dự qua chuyển tiếp" posts the relay with the CSRF
token, and the attendance list then shows her as taking part by radio, relayed by the member present."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from playwright.async_api import expect

from server.clock import iso
from tests.e2e.browser import Watched, log_in
from tests.integration.world import World

Watch = Callable[..., Awaitable[Watched]]


@pytest.mark.browser
async def test_the_chair_records_a_relayed_member(world: World, watch: Watch) -> None:
    base = str(world.server.url)
    sec_a = await world.as_user("sec_a")
    body = {
        "kind": "regular",
        "mode": "in_person",
        "title": "Sinh hoạt chi bộ có đảng viên trên biển",
        "starts_at": iso(world.server.clock()),
        "duration_minutes": 120,
    }
    created = await sec_a.post(f"/api/v1/orgs/{world.orgs['A']}/meetings", body)
    assert created.status == 201, created.body
    mid = created.body["id"]
    present, at_sea = world.members["A"][0], world.members["A"][1]
    for member in (present, world.members["A"][3]):
        assert (await sec_a.post(f"/api/v1/meetings/{mid}/checkins", {"member_id": member})).status == 201
    opened = await sec_a.post(f"/api/v1/meetings/{mid}/open", {"override_reason": "Đảng viên đi biển"})
    assert opened.status == 200, opened.body

    chair = await watch()
    page = await chair.new_page()
    await log_in(page, base, "sec_a", f"/meetings/{mid}")
    await expect(page.locator("#attendance-list")).to_have_attribute("aria-busy", "false")
    await expect(page.locator("#relay-title")).to_have_text("Ghi nhận đảng viên tham dự qua chuyển tiếp")
    await page.locator("#relay-member").select_option(str(at_sea))
    await page.locator("#relay-by").select_option(str(present))
    await page.locator("#relay-channel").select_option("radio")
    await page.locator("#relay-save").click()
    await expect(page.locator("#attendance-status")).to_have_text(
        "Đã ghi nhận đảng viên tham dự qua chuyển tiếp."
    )
    item = page.locator(f'#attendance-list li[data-member-id="{at_sea}"]')
    await expect(item).to_have_attribute("data-relayed", "true")
    await expect(item).to_contain_text("qua bộ đàm, do đ/c Nguyễn Văn Một chuyển tiếp")
    attendance = await sec_a.get(f"/api/v1/meetings/{mid}/attendance")
    entry = next(m for m in attendance.body["members"] if m["member_id"] == at_sea)
    assert entry["relayed"] is True and entry["relays"][0]["relayed_by"] == present
    assert await chair.csp_violations() == []
    assert chair.page_errors == []
