"""A member who voted against records a reserved opinion (bảo lưu ý kiến, R-VOTE-4) on the minutes page in
Chromium, before the minutes are adopted; the page and the PDF show it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from playwright.async_api import expect

from tests.documents import norm, pdf_pages
from tests.e2e.browser import Watched, log_in
from tests.integration.room_client import RoomClient, joined, scheduled_from_template
from tests.integration.world import World

Watch = Callable[..., Awaitable[Watched]]
OPINION = "Đề nghị bổ sung chỉ tiêu kết nạp đảng viên trong quý I"


@pytest.fixture
async def rooms() -> AsyncIterator[list[RoomClient]]:
    opened: list[RoomClient] = []
    yield opened
    for client in opened:
        await client.close()


@pytest.mark.browser
async def test_a_member_who_voted_against_reserves_an_opinion(
    world: World, watch: Watch, rooms: list[RoomClient]
) -> None:
    mid, people = await scheduled_from_template(world, linked=3)  # Một (chair), Hai (minute-taker), Ba
    (mot, _), (hai, _), (ba, _) = people
    sec_a = await world.as_user("sec_a")
    for username in (mot, hai, ba):
        client, _ = await joined(world, username, mid)
        rooms.append(client)
    assert (await sec_a.post(f"/api/v1/meetings/{mid}/open", {})).status == 200
    chair = await world.as_user(mot)
    opened = await chair.post(
        f"/api/v1/meetings/{mid}/votes", {"question": "Thông qua kết luận của chi bộ", "kind": "ordinary"}
    )
    assert opened.status == 201, opened.body
    vote_id = opened.body["id"]
    for username, choice in ((mot, "for"), (hai, "for"), (ba, "against")):
        cast = await (await world.as_user(username)).post(
            f"/api/v1/votes/{vote_id}/ballots", {"choice": choice}
        )
        assert cast.status == 201, cast.body
    assert (await chair.post(f"/api/v1/votes/{vote_id}/close", {})).status == 200

    base = str(world.server.url)
    watched = await watch(viewport={"width": 1366, "height": 768})
    page = await watched.new_page()
    await log_in(page, base, ba, f"/meetings/{mid}/minutes")
    await expect(page.locator("#minutes-page")).to_have_attribute("data-ready", "true")
    section = page.locator("#reserve-section")
    await expect(section).to_be_visible()
    await expect(section.get_by_role("heading", level=2)).to_have_text("Bảo lưu ý kiến")
    field = section.get_by_label("Ý kiến bảo lưu của đồng chí về: Thông qua kết luận của chi bộ")
    button = section.get_by_role("button", name="Ghi ý kiến bảo lưu")

    await button.click()  # nothing written: the page asks for the text first
    await expect(section.get_by_role("alert")).to_have_text("Hãy viết ý kiến bảo lưu trước.")
    await expect(field).to_be_focused()

    await field.fill(OPINION)
    await button.click()
    await expect(page.locator("#action-status")).to_have_text(
        "Ý kiến bảo lưu của đồng chí đã được ghi vào biên bản."
    )
    vote = page.locator(f'#doc-votes > li[data-vote-id="{vote_id}"]')
    await expect(vote).to_contain_text(f"Lê Văn Ba: {OPINION}")
    await expect(field).to_have_value(OPINION)  # recorded: the form shows it, to be changed if need be

    # The PDF the page offers prints it under the vote.
    href = await page.get_by_role("link", name="Tải PDF").get_attribute("href")
    response = await page.request.get(base + str(href))
    assert response.status == 200
    pdf = norm(" ".join(pdf_pages(await response.body(), "-raw")))
    assert norm(f"Ý kiến bảo lưu: Đồng chí Lê Văn Ba: {OPINION}") in pdf, pdf

    # A member who voted for sees the form too (nobody's choice is shown); the server refuses in words.
    watched_for = await watch(viewport={"width": 1366, "height": 768})
    other = await watched_for.new_page()
    await log_in(other, base, hai, f"/meetings/{mid}/minutes")
    await expect(other.locator("#minutes-page")).to_have_attribute("data-ready", "true")
    mine = other.locator("#reserve-section")
    await mine.get_by_label("Ý kiến bảo lưu của đồng chí về: Thông qua kết luận của chi bộ").fill(
        "Không đồng ý"
    )
    await mine.get_by_role("button", name="Ghi ý kiến bảo lưu").click()
    await expect(mine.get_by_role("alert")).to_contain_text(
        "Chỉ đảng viên không tán thành hoặc không biểu quyết"
    )
    await watched_for.assert_clean(expected_failures=1)  # the refused opinion

    # Adopted minutes take no more reserved opinions: the section is gone.
    adoption = await chair.post(
        f"/api/v1/meetings/{mid}/votes", {"question": "Thông qua biên bản", "kind": "minutes_adoption"}
    )
    for username in (mot, hai, ba):
        cast = await (await world.as_user(username)).post(
            f"/api/v1/votes/{adoption.body['id']}/ballots", {"choice": "for"}
        )
        assert cast.status == 201, cast.body
    assert (await chair.post(f"/api/v1/votes/{adoption.body['id']}/close", {})).status == 200
    adopted = await chair.post(f"/api/v1/meetings/{mid}/minutes/adopt", {"vote_id": adoption.body["id"]})
    assert adopted.status == 200, adopted.body
    await page.reload()
    await expect(page.locator("#minutes-status")).to_have_attribute("data-status", "adopted")
    await expect(section).to_be_hidden()
    await watched.assert_clean()
