"""A secretary runs a meeting from the pages (issue 18): schedules it on the cell page in the cell's own
time, opens it without a quorum giving the reason, and closes it after the confirmation; the page
follows the meeting's state."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from playwright.async_api import expect

from tests.e2e.browser import Watched, log_in
from tests.integration.world import World

Watch = Callable[..., Awaitable[Watched]]


@pytest.mark.browser
async def test_a_secretary_schedules_opens_and_closes_an_in_person_meeting(
    world: World, watch: Watch
) -> None:
    base = str(world.server.url)
    cell = world.orgs["A"]
    # The secretary lives in Berlin; the cell's clock is Hồ Chí Minh's: the form speaks the cell's time.
    secretary = await watch(timezone_id="Europe/Berlin")
    page = await secretary.new_page()
    await log_in(page, base, "sec_a", f"/orgs/{cell}")
    await expect(page.locator("#unit")).to_have_attribute("data-ready", "true")
    section = page.locator("#meetings-section")
    await expect(section.locator("#meetings-upcoming")).to_have_text(
        "Chưa có buổi sinh hoạt nào được lên lịch."
    )

    form = page.locator("#schedule-form")
    await form.get_by_label("Hình thức").select_option("in_person")
    await form.get_by_role("button", name="Lên lịch").click()
    await expect(page.locator("#schedule-error")).to_have_text("Nhập tên buổi sinh hoạt.")
    await expect(form.get_by_label("Tiêu đề")).to_be_focused()
    await form.get_by_label("Tiêu đề").fill("Sinh hoạt chi bộ thường kỳ tháng 11")
    await form.get_by_label("Ngày", exact=True).fill("2026-11-24")
    await form.get_by_label("Giờ", exact=True).fill("19:30")
    chair = await form.get_by_label("Chủ trì").locator("option").nth(1).text_content()
    await form.get_by_label("Chủ trì").select_option(index=1)
    await form.get_by_role("button", name="Lên lịch").click()
    done = page.locator("#schedule-done")
    await expect(done).to_contain_text("Đã lên lịch “Sinh hoạt chi bộ thường kỳ tháng 11”")
    await expect(done).to_contain_text("19:30")
    await expect(done).to_contain_text("Asia/Ho_Chi_Minh")
    upcoming = section.locator("#meetings-upcoming li")
    await expect(upcoming).to_have_count(1)
    await expect(upcoming.first).to_contain_text("24/11/2026")
    await expect(upcoming.first).to_contain_text("trực tiếp")

    # The meeting page: the secretary opens it; nobody is present, so the reason is asked for.
    await upcoming.first.get_by_role("link").click()
    await expect(page.locator("#meeting")).to_have_attribute("data-ready", "true")
    await expect(page.locator("#meeting-chair")).to_have_text(chair or "")
    # An empty agenda item is refused by the API and named as the editor names it, marked and focused.
    await page.get_by_role("button", name="Thêm nội dung").click()
    await page.get_by_role("button", name="Lưu chương trình sinh hoạt").click()
    await expect(page.locator("#agenda-error")).to_have_text("Kiểm tra lại: Nội dung 1 — Tiêu đề: quá ngắn.")
    first_title = page.locator("#agenda-items li").first.get_by_label("Tiêu đề")
    await expect(first_title).to_be_focused()
    await expect(first_title).to_have_attribute("aria-invalid", "true")
    await first_title.fill("Thông qua chương trình")
    await page.get_by_role("button", name="Lưu chương trình sinh hoạt").click()
    await expect(page.locator("#agenda-status")).to_have_text("Đã lưu chương trình sinh hoạt: 1 nội dung.")

    await page.get_by_role("button", name="Khai mạc cuộc họp").click()
    reason = page.get_by_label("Lý do khai mạc khi chưa đủ số lượng (ghi vào biên bản)")
    await expect(reason).to_be_focused()
    await page.get_by_role("button", name="Khai mạc khi chưa đủ số lượng").click()
    await expect(page.locator("#session-error")).to_have_text("Hãy nêu lý do khai mạc khi chưa đủ số lượng.")
    await reason.fill("Tàu đang ở vùng biển xa, đồng chí thứ tư mất liên lạc")
    await page.get_by_role("button", name="Khai mạc khi chưa đủ số lượng").click()
    await expect(page.locator("#session-message")).to_have_text("Cuộc họp đã khai mạc.")
    await expect(page.locator("#meeting-state")).to_have_text("đang họp")

    # Closing asks first, and says what becomes final.
    await page.get_by_role("button", name="Bế mạc cuộc họp").click()
    await expect(page.locator("#close-confirm")).to_contain_text("điểm danh trở thành chính thức")
    await page.get_by_role("button", name="Chưa bế mạc").click()
    await expect(page.locator("#meeting-state")).to_have_text("đang họp")
    await page.get_by_role("button", name="Bế mạc cuộc họp").click()
    await page.get_by_role("button", name="Đồng ý bế mạc").click()
    await expect(page.locator("#meeting-state")).to_have_text("đã bế mạc")
    await expect(page.locator("#session-message")).to_contain_text("Cuộc họp đã bế mạc.")

    operator = await world.as_user("operator")
    actions = [e["action"] for e in (await operator.get("/api/v1/audit/log")).body["entries"]]
    assert {"meeting.scheduled", "meeting.opened", "meeting.closed"} <= set(actions)
    assert await secretary.csp_violations() == []
    assert secretary.page_errors == []
