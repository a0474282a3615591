"""Issue 23, point 1: the audit log a person can read. The province's auditor finds who opened a given
meeting by filtering the log page; a cell's secretary sees their cell's log only, and the auditors'
reads of their cell in words."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from playwright.async_api import expect

from tests.e2e.browser import Watched, log_in, open_below_quorum_and_vote
from tests.integration.helpers import schedule
from tests.integration.world import World

Watch = Callable[..., Awaitable[Watched]]


@pytest.mark.browser
async def test_the_auditor_finds_who_opened_a_meeting_by_filtering(world: World, watch: Watch) -> None:
    meeting_id = await open_below_quorum_and_vote(world)  # cell B's secretary opened it
    other = await schedule(world, "sec_a", "A")  # noise in another cell
    assert other.status == 201, other.body
    base, province, cell_b = str(world.server.url), world.orgs["P"], world.orgs["B"]
    title = (await (await world.as_user("sec_b")).get(f"/api/v1/meetings/{meeting_id}")).body["title"]

    watched = await watch()
    page = await watched.new_page()
    await log_in(page, base, "auditor_p", f"/orgs/{province}")
    await page.get_by_role("link", name="Nhật ký kiểm tra").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Nhật ký kiểm tra: Tỉnh ủy Thử Nghiệm")
    await expect(page.locator("#chain")).to_have_attribute("data-ok", "true")
    await expect(page.locator("#chain-state")).to_contain_text("Nguyên vẹn")
    await expect(page.locator("#entries li[data-action='meeting.scheduled']")).not_to_have_count(0)

    await page.get_by_label("Đơn vị", exact=True).select_option(str(cell_b))
    await page.get_by_label("Loại hoạt động").select_option("meetings")
    await page.get_by_role("button", name="Xem").click()
    opened = page.locator("#entries li[data-action='meeting.opened']")
    await expect(opened).to_have_count(1)
    await expect(opened.locator(".audit-text")).to_have_text(
        f"Bí thư sec_b khai mạc buổi sinh hoạt «{title}» ngày 05/12/2026"
    )
    await expect(opened).to_contain_text("Chi bộ Văn phòng")
    # Only cell B's meeting rows are left: no vote, no presence row, nothing of cell A.
    units = await page.locator("#entries li").evaluate_all("(rows) => rows.map((r) => r.dataset.unitId)")
    assert set(units) == {str(cell_b)}, units
    actions = await page.locator("#entries li").evaluate_all("(rows) => rows.map((r) => r.dataset.action)")
    assert "vote.opened" not in actions and "meeting.closed" in actions, actions
    # The filter by person keeps the same answer; a day without entries shows none.
    person = page.get_by_label("Người thực hiện")
    await person.select_option(label="sec_b")
    await page.get_by_role("button", name="Xem").click()
    await expect(page.locator("#entries li[data-action='meeting.opened']")).to_have_count(1)
    await page.get_by_label("Từ ngày").fill("2027-01-01")
    await page.get_by_role("button", name="Xem").click()
    await expect(page.locator("#entries")).to_have_text("Không có mục nào phù hợp.")
    await watched.assert_clean()


@pytest.mark.browser
async def test_a_secretary_reads_their_own_cell_and_the_auditors_reads_in_words(
    world: World, watch: Watch
) -> None:
    meeting_id = await open_below_quorum_and_vote(world)  # cell B
    mine = await schedule(world, "sec_a", "A")
    assert mine.status == 201, mine.body
    auditor = await world.as_user("auditor_p")
    assert (await auditor.get(f"/api/v1/meetings/{meeting_id}/votes")).status == 200
    base = str(world.server.url)

    watched = await watch(viewport={"width": 360, "height": 740})
    page = await watched.new_page()
    await log_in(page, base, "sec_b", f"/orgs/{world.orgs['B']}/audit")
    entries = page.locator("#entries li")
    await expect(entries.first).to_be_visible()
    units = await entries.evaluate_all("(rows) => rows.map((r) => r.dataset.unitId)")
    assert set(units) == {str(world.orgs["B"])}, units
    read = page.locator("#entries li[data-action='access.read']")
    await expect(read.first).to_contain_text(
        "Cán bộ kiểm tra auditor_p xem các biểu quyết của buổi sinh hoạt «"
    )
    assert await page.evaluate("document.documentElement.scrollWidth") <= 360

    # The unit page's list of auditors' reads says the same in words.
    await page.goto(f"{base}/orgs/{world.orgs['B']}")
    await expect(page.locator("#access-log")).to_contain_text("các biểu quyết của buổi sinh hoạt «")
    # Another cell's log is not theirs.
    response = await page.goto(f"{base}/orgs/{world.orgs['A']}/audit")
    assert response is not None and response.status == 404
    await watched.assert_clean(expected_failures=1)  # the other cell's 404
