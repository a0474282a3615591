"""The pilot dashboard in Chromium (issue 5): a provincial auditor sees the figures, the charts drawn with
their data, the units, and drills down to a cell and one of its meetings; the report downloads."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Awaitable, Callable

import openpyxl
import pytest
from playwright.async_api import expect

from tests.e2e.browser import Watched, log_in
from tests.integration.helpers import approve_a, pass_time, schedule
from tests.integration.room_client import RoomClient, joined, link_members
from tests.integration.world import World

Watch = Callable[..., Awaitable[Watched]]
PERIOD = "from=2026-01-01&to=2026-12-31"


@pytest.fixture
async def rooms() -> AsyncIterator[list[RoomClient]]:
    opened: list[RoomClient] = []
    yield opened
    for client in opened:
        await client.close()


async def hold_two_meetings(world: World, rooms: list[RoomClient]) -> tuple[int, int]:
    """Cell A holds an online meeting (three members join), cell B one in person (all check in)."""
    people = await link_members(world, "A", 3)
    await approve_a(world)
    online = await schedule(world, "sec_a", "A", mode="online")
    in_person = await schedule(world, "sec_b", "B", mode="in_person")
    assert online.status == 201 and in_person.status == 201, (online.body, in_person.body)
    for username, _ in people:
        client, _ = await joined(world, username, online.body["id"])
        rooms.append(client)
    sec_a, sec_b = await world.as_user("sec_a"), await world.as_user("sec_b")
    for member_id in world.members["B"]:
        checked_in = await sec_b.post(
            f"/api/v1/meetings/{in_person.body['id']}/checkins", {"member_id": member_id}
        )
        assert checked_in.status == 201, checked_in.body
    assert (await sec_a.post(f"/api/v1/meetings/{online.body['id']}/open", {})).status == 200
    assert (await sec_b.post(f"/api/v1/meetings/{in_person.body['id']}/open", {})).status == 200
    await pass_time(world, 100)
    assert (await sec_a.post(f"/api/v1/meetings/{online.body['id']}/close", {})).status == 200
    assert (await sec_b.post(f"/api/v1/meetings/{in_person.body['id']}/close", {})).status == 200
    return int(online.body["id"]), int(in_person.body["id"])


@pytest.mark.browser
async def test_the_auditor_reads_the_dashboard_and_drills_down(
    world: World, watch: Watch, rooms: list[RoomClient]
) -> None:
    base = str(world.server.url)
    online_id, _ = await hold_two_meetings(world, rooms)
    province, cell_a = world.orgs["P"], world.orgs["A"]
    api = (await (await world.as_user("auditor_p")).get(f"/api/v1/audit/usage?org={province}&{PERIOD}")).body
    assert api["totals"]["meetings"]["total"] == 2, api["totals"]

    watched = await watch()
    page = await watched.new_page()
    await log_in(page, base, "auditor_p", f"/orgs/{province}/usage?{PERIOD}")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Tình hình thí điểm: Tỉnh ủy Thử Nghiệm")
    figures = page.locator("#figures")
    await expect(figures.locator("[data-figure=meetings] dd")).to_have_text("2")
    await expect(figures.locator("[data-figure=online] dd")).to_have_text("1")
    await expect(figures.locator("[data-figure=in-person] dd")).to_have_text("1")
    await expect(figures.locator("[data-figure=online-share] dd")).to_have_text("50%")

    # The charts are drawn, with the figures as their data.
    monthly = page.locator("svg[data-chart=monthly-modes]")
    await expect(monthly).to_be_visible()
    bars = monthly.locator("rect.bar")
    drawn = {
        (await bar.get_attribute("data-mode"), await bar.get_attribute("data-value"))
        for bar in await bars.all()
    }
    assert drawn == {("online", "1"), ("in_person", "1")}
    box = await bars.first.bounding_box()
    assert box is not None and box["height"] > 5 and box["width"] > 5  # really painted, not just in the DOM
    await expect(page.locator("svg[data-chart=attendance] circle.point")).to_have_count(1)
    share = page.locator("svg[data-chart=online-share] rect.bar")
    # one bar per unit that held a meeting (a unit without one has no share to draw)
    await expect(share).to_have_count(len([u for u in api["units"] if u["online_share_percent"] is not None]))

    # The table says the same as the API, unit by unit.
    for unit in api["units"]:
        row = page.locator(f'#units-table tr[data-unit-id="{unit["id"]}"]')
        await expect(row.locator("th")).to_contain_text(unit["name"])
        await expect(row.locator("td").nth(1)).to_have_text(str(unit["meetings"]["total"]))

    # Drill down: the cell, then its meeting's record.
    await page.locator(f'#units-table tr[data-unit-id="{cell_a}"] th a').click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "Tình hình thí điểm: Chi bộ Tàu Biển Đông 01"
    )
    meeting = page.locator(f'#meetings li[data-meeting-id="{online_id}"]')
    await expect(meeting).to_contain_text("Trực tuyến")
    await expect(meeting.get_by_role("link", name="Biên bản")).to_have_attribute(
        "href", f"/meetings/{online_id}/minutes"
    )

    # The report downloads as the XLSX the CLI writes, with the API's figures.
    link = page.get_by_role("link", name="Tải XLSX")
    response = await page.request.get(base + str(await link.get_attribute("href")))
    assert response.status == 200
    book = openpyxl.load_workbook(io.BytesIO(await response.body()))
    figures_sheet = {
        row[0]: row[1] for row in book["Tổng hợp"].iter_rows(min_row=4, values_only=True) if row[0]
    }
    assert figures_sheet["Tổng số buổi sinh hoạt"] == 1  # the cell's own report: one meeting
    await watched.assert_clean()


@pytest.mark.browser
async def test_the_dashboard_fits_a_phone_and_refuses_a_bad_period(world: World, watch: Watch) -> None:
    province = world.orgs["P"]
    watched = await watch(viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True)
    page = await watched.new_page()
    await log_in(
        page, str(world.server.url), "auditor_p", f"/orgs/{province}/usage?from=2026-12-31&to=2026-01-01"
    )
    await expect(page.locator("#period-error")).to_be_visible()
    await expect(page.locator("svg[data-chart=monthly-modes]")).to_be_visible()
    assert await page.evaluate("document.documentElement.scrollWidth") <= 360
    await watched.assert_clean()
