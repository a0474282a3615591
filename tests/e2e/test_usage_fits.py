"""Issue 23, point 4: the dashboard on a phone and a laptop — chart words readable at 360 px, the table
without a page-wide scroll on a laptop, flags dated as the rest of the page, a unit that never applied not
said to qualify "no longer"; the monthly record shows a meeting still to come as scheduled, not absent."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import pytest
from playwright.async_api import expect

from tests.e2e.browser import Watched, log_in, open_below_quorum_and_vote
from tests.integration.helpers import schedule
from tests.integration.world import World

Watch = Callable[..., Awaitable[Watched]]
PERIOD = "from=2026-01-01&to=2026-12-31"
SMALLEST_TEXT = """(selector) => Math.min(...[...document.querySelectorAll(selector)].map(
  (node) => node.getBoundingClientRect().height).filter((height) => height > 0))"""


@pytest.mark.browser
async def test_chart_words_are_readable_on_a_phone_and_the_table_fits_a_laptop(
    world: World, watch: Watch
) -> None:
    await open_below_quorum_and_vote(world)  # a flag dated by its day, in cell B
    base, province = str(world.server.url), world.orgs["P"]

    phone = await watch(viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True)
    page = await phone.new_page()
    await log_in(page, base, "auditor_p", f"/orgs/{province}/usage?{PERIOD}")
    await expect(page.locator("svg[data-chart=monthly-modes]")).to_be_visible()
    # A text box's height is about its font size: 11 CSS px at least, on every chart.
    assert await page.evaluate(SMALLEST_TEXT, "svg.chart text") >= 11
    assert await page.evaluate("document.documentElement.scrollWidth") <= 360
    periods = await page.locator("#flags li .period").all_inner_texts()
    assert periods and all(re.fullmatch(r"\d\d/\d\d/\d{4}|\d\d/\d{4}|Quý [IV]+/\d{4}", p) for p in periods), (
        periods
    )
    # Cell B never applied for the pilot: it does not qualify, it did not stop qualifying.
    office = page.locator(f'#units-table tr[data-unit-id="{world.orgs["B"]}"] .badge')
    await expect(office).to_have_text("chưa đủ điều kiện")
    await phone.assert_clean()

    laptop = await watch(viewport={"width": 1280, "height": 800})
    page = await laptop.new_page()
    await log_in(page, base, "auditor_p", f"/orgs/{province}/usage?{PERIOD}")
    box = page.locator("#units-table").locator("xpath=..")
    widths = await box.evaluate("(node) => [node.scrollWidth, node.clientWidth]")
    assert widths[0] <= widths[1], widths
    await laptop.assert_clean()


@pytest.mark.browser
async def test_the_monthly_record_shows_a_meeting_to_come_as_scheduled(world: World, watch: Watch) -> None:
    coming = await schedule(world, "sec_a", "A", starts_at="2026-12-20T14:00:00+07:00")
    assert coming.status == 201, coming.body
    watched = await watch(viewport={"width": 360, "height": 740})
    page = await watched.new_page()
    await log_in(page, str(world.server.url), "sec_a", f"/orgs/{world.orgs['A']}/record?month=2026-12")
    card = page.locator(f'article[data-meeting-id="{coming.body["id"]}"]')
    await expect(card).to_contain_text("đã lên lịch, chưa khai mạc")
    await expect(card.locator("[data-scheduled=true]")).to_contain_text("Chưa họp")
    await expect(card.locator('dd[data-count="absent_unexcused"]')).to_have_count(0)
    await expect(card.locator("dd[data-minutes]")).to_have_count(0)
    await expect(card.locator('dd[data-count="summoned"]')).to_have_text(re.compile(r"^\s*[1-9]\d*\s*$"))
    await watched.assert_clean()
