"""The cell's party groups on the register page, in a real Chromium: the secretary creates a group, moves a
member into it, names its leader, and dissolves it after confirming."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from playwright.async_api import Locator, Page, expect

from tests.e2e.browser import Watched, log_in
from tests.integration.world import World

Watch = Callable[..., Awaitable[Watched]]


def group_card(page: Page, name: str) -> Locator:
    return page.locator("#groups article", has=page.get_by_role("heading", name=name, exact=True))


@pytest.mark.browser
async def test_a_secretary_keeps_the_party_groups_on_the_register_page(world: World, watch: Watch) -> None:
    base, cell = str(world.server.url), world.orgs["A"]
    watched = await watch()
    page = await watched.new_page()
    await log_in(page, base, "sec_a", f"/orgs/{cell}")
    await expect(page.locator("#unit")).to_have_attribute("data-ready", "true")
    cards = page.locator("#groups article")
    await expect(cards).to_have_count(1)
    await expect(group_card(page, "Tổ đảng số 1")).to_contain_text("Số đảng viên trong tổ1")

    # A new group, then a member moved into it from the register table.
    await page.get_by_label("Tên tổ đảng mới").fill("Tổ Máy")
    await page.get_by_role("button", name="Lập tổ đảng", exact=True).click()
    await expect(page.locator("#groups-status")).to_have_text("Đã lập Tổ Máy.")
    await expect(cards).to_have_count(2)
    machine = group_card(page, "Tổ Máy")
    await expect(machine).to_contain_text("Tổ trưởngChưa có")
    await page.get_by_label("Tổ đảng của Lê Văn Ba").select_option(label="Tổ Máy")
    await expect(page.locator("#members-status")).to_have_text("Lê Văn Ba đã được chuyển vào Tổ Máy.")
    await expect(machine).to_contain_text("Số đảng viên trong tổ1")

    # Its leader, named in the group's form.
    await machine.get_by_label("Tổ trưởng", exact=True).select_option(label="Lê Văn Ba")
    await machine.get_by_role("button", name="Lưu Tổ Máy", exact=True).click()
    await expect(page.locator("#groups-status")).to_have_text("Đã lưu Tổ Máy.")

    # What the page shows after a reload is what was stored.
    await page.reload()
    await expect(page.locator("#unit")).to_have_attribute("data-ready", "true")
    await expect(machine.locator("dl")).to_contain_text("Tổ trưởngLê Văn Ba")
    group_id = await machine.get_attribute("data-group-id")
    assert group_id is not None
    await expect(page.get_by_label("Tổ đảng của Lê Văn Ba")).to_have_value(group_id)
    await expect(machine.get_by_label("Tổ trưởng", exact=True)).to_have_value(
        str(world.members["A"][2])  # Lê Văn Ba
    )

    # Dissolving asks first; the member is then in no group.
    await machine.get_by_role("button", name="Giải thể Tổ Máy", exact=True).click()
    await expect(machine.get_by_role("group")).to_contain_text("các buổi sinh hoạt và biên bản trước đây")
    await machine.get_by_role("button", name="Đồng ý giải thể Tổ Máy").click()
    await expect(page.locator("#groups-status")).to_have_text("Đã giải thể Tổ Máy.")
    await expect(cards).to_have_count(1)
    await expect(page.get_by_label("Tổ đảng của Lê Văn Ba")).to_have_value("")
    await watched.assert_clean()
