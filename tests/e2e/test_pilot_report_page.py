"""Issue 30 part 4 in the browser: the approving body's page lists the periodic reports due from the unit
it approved (the last finished quarter, and the current one as in progress), and a link downloads one."""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable
from pathlib import Path

import openpyxl
import pytest
from playwright.async_api import expect

from tests.e2e.browser import Watched, log_in
from tests.integration.helpers import apply, decide, decision
from tests.integration.world import World

Watch = Callable[..., Awaitable[Watched]]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.mark.browser
async def test_the_approving_body_lists_the_reports_due_and_downloads_one(world: World, watch: Watch) -> None:
    # cell A's online pilot, approved by the committee from 1 September: due for Q3 and (running) Q4
    application = await apply(world, "sec_a", "A")
    decided = await decide(
        await world.as_user("approver_c"), application["id"], decision(valid_from="2026-09-01")
    )
    assert decided.status == 200, decided.body
    base, committee = str(world.server.url), world.orgs["C"]

    watched = await watch(accept_downloads=True)
    page = await watched.new_page()
    await log_in(page, base, "approver_c", f"/orgs/{committee}")
    section = page.get_by_role("region", name="Báo cáo định kỳ")
    items = section.get_by_role("listitem")
    await expect(items).to_have_count(2)
    await expect(items.nth(0)).to_contain_text("Chi bộ Tàu Biển Đông 01 — Quý 3/2026")
    await expect(items.nth(0)).not_to_contain_text("đang diễn ra")
    await expect(items.nth(1)).to_contain_text("Chi bộ Tàu Biển Đông 01 — Quý 4/2026 (đang diễn ra)")
    await expect(section).to_contain_text("không phải biểu mẫu chính thức")

    link = items.nth(0).get_by_role("link", name="XLSX")
    answer = await page.request.get(base + str(await link.get_attribute("href")))
    assert answer.status == 200 and answer.headers["content-type"] == XLSX
    async with page.expect_download() as started:
        await link.click()
    download = await started.value
    assert download.suggested_filename == f"bao-cao-dinh-ky-thi-diem-{world.orgs['A']}-2026-Q3.xlsx"
    # the saved download has no extension: openpyxl reads its bytes
    sheet = openpyxl.load_workbook(io.BytesIO(Path(await download.path()).read_bytes()))["Báo cáo"]
    assert str(sheet["A1"].value).endswith("— Chi bộ Tàu Biển Đông 01 — Quý 3/2026")
    await watched.assert_clean()
