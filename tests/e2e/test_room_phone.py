"""The room on a 360×740 phone (issue 19): the first screen is the stage and fits the screen; mute, hand
and leave stay in view however far the page scrolls; the member is told when the chair gives them the
floor; the vote's confirmation names the choice; a reload in the room joins again without a click, and
after leaving it does not.

"The first screen" is the page right after joining, no panel open: the header, the meeting's title and
status, what is happening (item, floor, quorum badge), the own tile, the row of panel tabs and the bar.
Its whole document (document.scrollingElement.scrollHeight) must fit 740 px."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from playwright.async_api import Page, expect

from tests.e2e.browser import Watched, enter, link_accounts
from tests.integration.helpers import approve_a, schedule
from tests.integration.world import World

Watch = Callable[..., Awaitable[Watched]]
PHONE = {
    "viewport": {"width": 360, "height": 740},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}
AGENDA = {"items": [{"title": "Thông qua chương trình"}, {"title": "Tình hình tháng 11"}]}


async def bar_in_view(page: Page) -> None:
    """Mute, hand and leave are visible and wholly inside the 360×740 viewport."""
    for name in ("mute", "hand", "leave"):
        button = page.locator(f"#{name}")
        await expect(button).to_be_visible()
        box = await button.bounding_box()
        assert box is not None, name
        assert box["x"] >= 0 and box["x"] + box["width"] <= 360, (name, box)
        assert box["y"] >= 0 and box["y"] + box["height"] <= 740, (name, box)


@pytest.mark.browser
async def test_the_room_on_a_phone(world: World, watch: Watch) -> None:
    base = str(world.server.url)
    await link_accounts(world, ["mot"])
    mot_id = world.members["A"][0]
    await approve_a(world)
    created = await schedule(world, "sec_a", "A", mode="online")
    assert created.status == 201, created.body
    meeting_id = created.body["id"]
    sec_a = await world.as_user("sec_a")
    assert (await sec_a.put(f"/api/v1/meetings/{meeting_id}/agenda", AGENDA)).status == 200

    watched, page = await enter(watch, base, "mot", meeting_id, **PHONE)

    # The first screen: the stage, no panel open, fits the phone; the quorum is a quiet badge before
    # the opening, and a phone is not offered screen sharing.
    await expect(page.locator("#in-room")).to_have_attribute("data-pane", "")
    await expect(page.locator("#agenda-current")).to_be_visible()
    await expect(page.locator("#quorum-banner")).to_have_attribute("data-outcome", "false")
    assert await page.evaluate("document.scrollingElement.scrollHeight") <= 740
    assert await page.evaluate("document.documentElement.scrollWidth") <= 360
    await expect(page.locator("#share")).to_be_hidden()
    await bar_in_view(page)

    # The chair (the secretary, from the API) opens the meeting, starts item 2 and gives Một the floor.
    reason = {"override_reason": "Thử trên điện thoại"}
    opened = await sec_a.post(f"/api/v1/meetings/{meeting_id}/open", reason)
    assert opened.status == 200, opened.body
    assert (await sec_a.post(f"/api/v1/meetings/{meeting_id}/agenda/current", {"index": 1})).status == 200
    floor = await sec_a.post(f"/api/v1/meetings/{meeting_id}/floor", {"member_id": mot_id})
    assert floor.status == 200, floor.body
    await expect(page.locator("#floor-you")).to_be_visible()
    await expect(page.locator("#floor-you")).to_have_text("Đồng chí đang được mời phát biểu")
    await expect(page.locator("#agenda-current")).to_have_text("Tình hình tháng 11")
    # Open and not quorate: now the badge is red.
    badge = page.locator("#quorum-banner")
    assert await badge.evaluate("(node) => getComputedStyle(node).borderColor") == "rgb(138, 20, 20)"

    # A panel one tap away, then a long one: the page scrolls, the bar stays in view.
    await page.get_by_role("tab", name="Người tham dự").click()
    await expect(page.locator("#participants li[data-online=true]")).to_have_count(1)
    await expect(page.locator("#participants")).to_be_visible()
    await page.get_by_role("tab", name="Biên bản").click()
    await expect(page.locator("#minutes-panel")).to_be_visible()
    await expect(page.locator("#participants")).to_be_hidden()
    assert await page.evaluate("document.scrollingElement.scrollHeight") > 740
    await page.evaluate("window.scrollTo(0, document.scrollingElement.scrollHeight)")
    assert await page.evaluate("window.scrollY") > 0
    await bar_in_view(page)
    await page.evaluate("window.scrollTo(0, 300)")
    await bar_in_view(page)

    # A vote opens: its panel opens by itself; the confirmation names the choice, the button stays pressed.
    vote = await sec_a.post(
        f"/api/v1/meetings/{meeting_id}/votes",
        {"question": "Thông qua đánh giá tháng 11", "kind": "ordinary", "override_reason": "Thử"},
    )
    assert vote.status == 201, vote.body
    await expect(page.locator("#in-room")).to_have_attribute("data-pane", "vote")
    await page.get_by_role("button", name="Tán thành", exact=True).click()
    await expect(page.locator("#vote-message")).to_have_text("Biểu quyết của đồng chí đã được ghi nhận.")
    await expect(page.locator("#vote-mine")).to_have_text("Đồng chí đã biểu quyết: Tán thành")
    await expect(page.locator('[data-choice="for"]')).to_have_attribute("aria-pressed", "true")
    await expect(page.locator('[data-choice="against"]')).to_have_attribute("aria-pressed", "false")

    # A reload joins again by itself, and still knows the floor and the ballot.
    await page.reload()
    await expect(page.locator("#room")).to_have_attribute("data-state", "joined")
    await expect(page.locator("#floor-you")).to_be_visible()
    await expect(page.locator("#vote-mine")).to_have_text("Đồng chí đã biểu quyết: Tán thành")
    await bar_in_view(page)

    # After leaving, a reload waits for the click again.
    await page.locator("#leave").click()
    await expect(page.locator("#left")).to_be_visible()
    await page.reload()
    await expect(page.locator("#room")).to_have_attribute("data-ready", "true")
    await expect(page.locator("#room")).to_have_attribute("data-state", "prejoin")
    await expect(page.locator("#prejoin-when")).to_contain_text("Đang họp, khai mạc lúc")
    await expect(page.locator("#prejoin-here")).to_have_text("Chưa có ai trong phòng họp.")
    await watched.assert_clean()
