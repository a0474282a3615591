"""The secretary sends the invitation, moves and cancels a meeting from its page (issue 18); a member
sees each on their home page, with the calendar file while the meeting stands."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from playwright.async_api import Page, expect

from tests.e2e.browser import Watched, log_in
from tests.integration.helpers import schedule
from tests.integration.world import World

Watch = Callable[..., Awaitable[Watched]]


async def home_notices(page: Page, base: str) -> list[str]:
    await page.goto(base + "/")
    await expect(page.locator("#tree")).to_have_attribute("data-ready", "true")
    return await page.locator("#notices li").all_inner_texts()


@pytest.mark.browser
async def test_invitation_new_time_and_cancellation_reach_the_member(world: World, watch: Watch) -> None:
    base = str(world.server.url)
    made = await schedule(world, "sec_a", "A", starts_at="2026-11-25T19:30:00+07:00")
    assert made.status == 201, made.body
    mid = made.body["id"]

    member = await (await watch()).new_page()
    await log_in(member, base, "member_a")
    await expect(member.locator("#roles")).to_contain_text("Đảng viên — Chi bộ")
    await expect(member.locator("#my-meetings li")).to_contain_text([made.body["title"]])
    assert await home_notices(member, base) == []

    page = await (await watch()).new_page()
    await log_in(page, base, "sec_a", f"/meetings/{mid}")
    await expect(page.locator("#meeting")).to_have_attribute("data-ready", "true")
    await page.get_by_role("button", name="Gửi thư mời").click()
    await expect(page.locator("#changes-done")).to_contain_text("Đã gửi thư mời tới")
    notices = await home_notices(member, base)
    assert len(notices) == 1 and notices[0].startswith(f"Thư mời: “{made.body['title']}”"), notices
    calendar = member.locator("#notices li").first.get_by_role("link", name="Thêm vào lịch (ICS)")
    await expect(calendar).to_be_visible()

    # A new time in the past is refused and the date is marked; a good one is taken and told.
    form = page.locator("#reschedule-form")
    await form.get_by_label("Ngày", exact=True).fill("2026-11-01")
    await form.get_by_label("Giờ", exact=True).fill("19:30")
    await form.get_by_label("Lý do dời lịch").fill("Tàu cập cảng muộn")
    await form.get_by_role("button", name="Dời buổi sinh hoạt").click()
    await expect(page.locator("#changes-error")).not_to_have_text("")
    await expect(form.get_by_label("Ngày", exact=True)).to_have_attribute("aria-invalid", "true")
    await form.get_by_label("Ngày", exact=True).fill("2026-11-26")
    await form.get_by_label("Giờ", exact=True).fill("20:00")
    await form.get_by_label("Lý do dời lịch").fill("Tàu cập cảng muộn")
    await form.get_by_role("button", name="Dời buổi sinh hoạt").click()
    await expect(page.locator("#changes-done")).to_contain_text("Buổi sinh hoạt được dời sang")
    await expect(page.locator("#meeting-start")).to_contain_text("20:00 26/11/2026")
    notices = await home_notices(member, base)
    assert notices[0].startswith("Dời lịch:") and "Tàu cập cảng muộn" in notices[0], notices

    # Cancelling asks for the reason, then for a confirmation.
    await page.get_by_role("button", name="Hủy buổi sinh hoạt").click()
    await expect(page.locator("#changes-error")).to_have_text("Hãy nêu lý do.")
    await expect(page.get_by_label("Lý do hủy")).to_be_focused()
    await page.get_by_label("Lý do hủy").fill("Bão số 9, tàu phải tránh bão")
    await page.get_by_role("button", name="Hủy buổi sinh hoạt").click()
    await page.get_by_role("button", name="Đồng ý hủy").click()
    await expect(page.locator("#meeting-state")).to_have_text("đã hủy")
    told = "Đã hủy buổi sinh hoạt. Các đảng viên đã được báo."
    await expect(page.locator("#changes-done")).to_have_text(told)
    notices = await home_notices(member, base)
    assert notices[0] == f"Đã hủy: “{made.body['title']}” (Bão số 9, tàu phải tránh bão)", notices
    await expect(member.locator("#my-meetings li")).to_have_text(["Bạn chưa có buổi sinh hoạt nào sắp tới."])

    # The auditor sees it cancelled, with the reason, on the cell's page.
    auditor = await (await watch()).new_page()
    await log_in(auditor, base, "auditor_p", f"/orgs/{world.orgs['A']}")
    past = auditor.locator("#meetings-past li")
    await expect(past.first).to_contain_text("đã hủy")
    await expect(past.first).to_contain_text("Bão số 9")
