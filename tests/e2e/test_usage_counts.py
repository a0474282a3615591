"""Issue 23, point 3: a meeting opened below quorum and a vote opened below quorum count once each — on the
dashboard, in the XLSX, the CSV and the PDF — and every file says how each figure is counted."""

from __future__ import annotations

import csv
import io
from collections.abc import Awaitable, Callable

import openpyxl
import pytest
from playwright.async_api import expect

from tests.documents import norm, pdf_pages
from tests.e2e.browser import Watched, log_in, open_below_quorum_and_vote
from tests.integration.world import World

Watch = Callable[..., Awaitable[Watched]]
PERIOD = "from=2026-01-01&to=2026-12-31"


@pytest.mark.browser
async def test_a_meeting_and_a_vote_below_quorum_count_one_each_everywhere(
    world: World, watch: Watch
) -> None:
    await open_below_quorum_and_vote(world)
    base, province, cell_b = str(world.server.url), world.orgs["P"], world.orgs["B"]
    auditor = await world.as_user("auditor_p")
    usage = (await auditor.get(f"/api/v1/audit/usage?org={province}&{PERIOD}")).body
    assert usage["below_quorum"]["meetings"] == 1 and usage["below_quorum"]["votes"] == 1
    assert {"id": cell_b, "meetings": 1, "votes": 1} in usage["below_quorum"]["units"]
    assert usage["totals"]["meetings"]["total"] == 1

    # The screen: two tiles, each with how it is counted.
    watched = await watch()
    page = await watched.new_page()
    await log_in(page, base, "auditor_p", f"/orgs/{province}/usage?{PERIOD}")
    figures = page.locator("#figures")
    await expect(figures.locator("[data-figure=meetings] dd")).to_have_text("1")
    meetings_tile = figures.locator("[data-figure=meetings-below-quorum]")
    votes_tile = figures.locator("[data-figure=votes-below-quorum]")
    await expect(meetings_tile.locator("dd").first).to_have_text("1")
    await expect(votes_tile.locator("dd").first).to_have_text("1")
    await expect(meetings_tile.locator("dd.definition")).to_contain_text("Mỗi buổi tính một lần")
    await expect(votes_tile.locator("dd.definition")).to_contain_text("không cộng vào số buổi")
    await watched.assert_clean()

    report = f"/api/v1/audit/usage/report?org={province}&{PERIOD}&format="
    xlsx = await auditor.request("GET", report + "xlsx")
    assert xlsx.status == 200
    book = openpyxl.load_workbook(io.BytesIO(xlsx.body))
    overview = {row[0]: row[1:3] for row in book["Tổng hợp"].iter_rows(min_row=4, values_only=True) if row[0]}
    assert overview["Tổng số buổi sinh hoạt"][0] == 1
    assert overview["Khai mạc khi chưa đủ số lượng (có lý do)"][0] == 1
    assert overview["Biểu quyết mở khi chưa đủ số lượng (có lý do)"][0] == 1
    assert "không cộng vào số buổi" in str(overview["Biểu quyết mở khi chưa đủ số lượng (có lý do)"][1])
    units = book["Theo đơn vị"]
    headings = [cell.value for cell in units[1]]
    rows = {
        row[0]: dict(zip(headings, row, strict=True)) for row in units.iter_rows(min_row=2, values_only=True)
    }
    office = rows["Chi bộ Văn phòng"]
    assert (office["Khai mạc khi chưa đủ số lượng"], office["Biểu quyết khi chưa đủ số lượng"]) == (1, 1)

    csv_file = await auditor.request("GET", report + "csv")
    lines = list(csv.reader(io.StringIO(csv_file.body.decode("utf-8-sig"))))
    total = dict(zip(lines[0], lines[-1], strict=True))
    assert (total["Khai mạc khi chưa đủ số lượng"], total["Biểu quyết khi chưa đủ số lượng"]) == ("1", "1")
    assert total["Tổng số buổi"] == "1"

    pdf = await auditor.request("GET", report + "pdf")
    text = norm(" ".join(pdf_pages(pdf.body, "-raw")))
    assert norm("Các đơn vị đã tổ chức 1 buổi sinh hoạt") in text
    assert norm("Có 1 buổi khai mạc và 1 lần mở biểu quyết khi chưa đủ số lượng") in text
    assert "Cách tính" in text and norm("không cộng vào số buổi") in text
