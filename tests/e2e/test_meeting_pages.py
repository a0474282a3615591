"""The meeting page (agenda editor under R-CONTENT-1) and the minutes page (the signed record) in Chromium."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from playwright.async_api import Page, expect

from tests.e2e.browser import Watched, log_in
from tests.integration.helpers import approve_a, pass_time, regular_template, schedule
from tests.integration.room_client import RoomClient, joined, scheduled_from_template
from tests.integration.world import World

Watch = Callable[..., Awaitable[Watched]]


@pytest.fixture
async def rooms() -> AsyncIterator[list[RoomClient]]:
    opened: list[RoomClient] = []
    yield opened
    for client in opened:
        await client.close()


async def open_meeting_page(page: Page, base: str, path: str) -> None:
    await page.goto(base + path)
    await expect(page.locator("[data-ready=true]")).to_have_count(1)


async def stored_agenda(world: World, meeting_id: int) -> list[dict[str, Any]]:
    reply = await (await world.as_user("sec_a")).get(f"/api/v1/meetings/{meeting_id}/agenda")
    assert reply.status == 200, reply.body
    return [{k: item[k] for k in ("title", "item_type", "notes")} for item in reply.body["items"]]


@pytest.mark.browser
async def test_a_secretary_builds_the_agenda_of_an_online_meeting(world: World, watch: Watch) -> None:
    base = str(world.server.url)
    await approve_a(world)
    created = await schedule(world, "sec_a", "A", mode="online")
    assert created.status == 201, created.body
    mid = created.body["id"]
    template = await regular_template(world)

    watched = await watch()
    page = await watched.new_page()
    await log_in(page, base, "sec_a", f"/meetings/{mid}")
    await expect(page.locator("#meeting")).to_have_attribute("data-ready", "true")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Sinh hoạt chi bộ thường kỳ tháng 12")
    await expect(page.locator("#meeting-mode")).to_have_text("trực tuyến")
    await expect(page.locator("#meeting-kind")).to_have_text("sinh hoạt thường kỳ")
    await expect(page.locator("#meeting-start")).to_have_text("14:00 05/12/2026 (giờ Asia/Ho_Chi_Minh)")
    await expect(page.get_by_role("link", name="Vào phòng họp")).to_have_attribute(
        "href", f"/meetings/{mid}/room"
    )
    await expect(page.get_by_role("link", name="Biên bản")).to_have_attribute(
        "href", f"/meetings/{mid}/minutes"
    )

    # The regular template, named in Vietnamese and marked as built in, fills the agenda.
    chooser = page.get_by_label("Chương trình sinh hoạt mẫu")
    await expect(chooser.locator(f"option[value='{template['id']}']")).to_have_text(
        f"{template['name']['vi']} (mẫu có sẵn)"
    )
    await chooser.select_option(str(template["id"]))
    await page.get_by_role("button", name="Áp dụng mẫu").click()
    count = len(template["items"])
    await expect(page.locator("#agenda-status")).to_have_text(
        f"Đã áp dụng chương trình mẫu: chương trình sinh hoạt có {count} nội dung."
    )
    rows = page.locator("#agenda-items > li")
    await expect(rows).to_have_count(count)
    await expect(rows.first.get_by_label("Tiêu đề")).to_have_value(template["items"][0]["title"]["vi"])
    applied = await stored_agenda(world, mid)
    assert [item["title"] for item in applied] == [item["title"]["vi"] for item in template["items"]]

    # A discipline item is barred online (R-CONTENT-1): refused, shown, nothing stored.
    await page.get_by_role("button", name="Thêm nội dung").click()
    await expect(rows).to_have_count(count + 1)
    added = rows.nth(count)
    await expect(added.get_by_label("Tiêu đề")).to_be_focused()
    await added.get_by_label("Tiêu đề").fill("Xem xét kỷ luật đảng viên")
    await added.get_by_label("Loại nội dung").select_option("discipline")
    await page.get_by_role("button", name="Lưu chương trình sinh hoạt").click()
    error = page.locator("#agenda-error")
    await expect(error).to_contain_text("R-CONTENT-1")
    await expect(error).to_contain_text(f"Nội dung {count + 1} (kỷ luật)")
    await expect(added).to_have_class(re.compile(r"\bbarred\b"))
    assert await stored_agenda(world, mid) == applied

    # Remove it (by keyboard), rename the first item, move it down, and save.
    await page.get_by_role("button", name=f"Xóa nội dung {count + 1}").focus()
    await page.keyboard.press("Enter")
    await expect(rows).to_have_count(count)
    await rows.first.get_by_label("Tiêu đề").fill("Khai mạc, thông qua chương trình")
    await page.get_by_role("button", name="Chuyển nội dung 1 xuống dưới").click()
    await expect(rows.nth(1).get_by_label("Tiêu đề")).to_have_value("Khai mạc, thông qua chương trình")
    await page.get_by_role("button", name="Lưu chương trình sinh hoạt").click()
    await expect(page.locator("#agenda-status")).to_have_text(
        f"Đã lưu chương trình sinh hoạt: {count} nội dung."
    )
    await expect(error).to_have_text("")
    expected = list(applied)
    expected[0], expected[1] = expected[1], {**expected[0], "title": "Khai mạc, thông qua chương trình"}
    assert await stored_agenda(world, mid) == expected

    # The refused save is the only failed load.
    await watched.assert_clean(expected_failures=1)


async def signed_minutes(world: World, rooms: list[RoomClient]) -> tuple[int, str]:
    """An online meeting from the regular template, held, voted, closed, adopted and signed by the API."""
    mid, people = await scheduled_from_template(world, linked=3)  # Một (chair), Hai (minute-taker), Ba
    (mot, _), (hai, _), (ba, _) = people
    sec_a = await world.as_user("sec_a")
    excuse = {"member_id": world.members["A"][5], "reason": "Đi công tác xa"}
    assert (await sec_a.post(f"/api/v1/meetings/{mid}/excuses", excuse)).status == 201
    for username in (mot, hai, ba):
        client, _ = await joined(world, username, mid)
        rooms.append(client)
    assert (await sec_a.post(f"/api/v1/meetings/{mid}/open", {})).status == 200
    chair, taker = await world.as_user(mot), await world.as_user(hai)

    async def vote(question: str, kind: str, choices: dict[str, str]) -> int:
        opened = await chair.post(f"/api/v1/meetings/{mid}/votes", {"question": question, "kind": kind})
        assert opened.status == 201, opened.body
        for username, choice in choices.items():
            cast = await (await world.as_user(username)).post(
                f"/api/v1/votes/{opened.body['id']}/ballots", {"choice": choice}
            )
            assert cast.status == 201, cast.body
        return int(opened.body["id"])

    first = await vote("Thông qua kết luận của chi bộ", "ordinary", {mot: "for", hai: "for", ba: "against"})
    opinion = {"opinion": "Đề nghị bổ sung chỉ tiêu"}
    assert (
        await (await world.as_user(ba)).post(f"/api/v1/votes/{first}/reserved-opinions", opinion)
    ).status == 201
    assert (await chair.post(f"/api/v1/votes/{first}/close", {})).status == 200
    adoption = await vote("Thông qua biên bản", "minutes_adoption", {mot: "for", hai: "for", ba: "for"})
    closed_vote = await chair.post(f"/api/v1/votes/{adoption}/close", {})
    assert closed_vote.body["result"]["outcome"] == "passed", closed_vote.body
    minutes = (await taker.get(f"/api/v1/meetings/{mid}/minutes")).body
    edit = {"version": minutes["version"], "fields": {"conclusions": "Chi bộ hoàn thành nhiệm vụ tháng."}}
    assert (await taker.put(f"/api/v1/meetings/{mid}/minutes", edit)).status == 200
    await pass_time(world, 90)  # present for the whole meeting (R-ATT-2)
    assert (await sec_a.post(f"/api/v1/meetings/{mid}/close", {})).status == 200
    adopted = await chair.post(f"/api/v1/meetings/{mid}/minutes/adopt", {"vote_id": adoption})
    assert adopted.status == 200, adopted.body
    assert (await chair.post(f"/api/v1/meetings/{mid}/minutes/sign", {})).status == 200
    locked = await taker.post(f"/api/v1/meetings/{mid}/minutes/sign", {})
    assert locked.status == 200 and locked.body["status"] == "locked", locked.body
    return mid, str(locked.body["hash"])


@pytest.mark.browser
async def test_the_signed_minutes_read_like_the_document(
    world: World, watch: Watch, rooms: list[RoomClient]
) -> None:
    base = str(world.server.url)
    mid, digest = await signed_minutes(world, rooms)
    watched = await watch()
    page = await watched.new_page()
    await log_in(page, base, "a_member_1", f"/meetings/{mid}/minutes")  # the minute-taker
    await expect(page.locator("#minutes-page")).to_have_attribute("data-ready", "true")

    status = page.locator("#minutes-status")
    await expect(status).to_have_attribute("data-status", "locked")
    await expect(status).to_contain_text("Đã thông qua, đã ký và khóa lúc")
    await expect(page.locator("#minutes-hash-value")).to_have_text(digest)
    await expect(page.locator("#draft-mark")).to_be_hidden()

    document = page.locator("#minutes-document")
    await expect(document).to_contain_text("ĐẢNG CỘNG SẢN VIỆT NAM")
    await expect(document.locator("#doc-number")).to_have_text("Số 01-BB/CB")
    await expect(document.locator("#doc-date-line")).to_contain_text("Trực tuyến, ngày")
    await expect(page.get_by_role("heading", level=1)).to_contain_text("BIÊN BẢN")
    facts = document.locator("#doc-facts")
    await expect(facts).to_contain_text("6 đảng viên: 5 chính thức, 1 dự bị")
    await expect(document.locator("#doc-present-count")).to_have_text("3 (3 chính thức, 0 dự bị)")
    for name in ("Nguyễn Văn Một", "Trần Thị Hai", "Lê Văn Ba"):
        await expect(facts.locator(".names li", has_text=name)).to_have_count(1)
    await expect(facts).to_contain_text("Đảng Viên Có Tài Khoản: Đi công tác xa")
    await expect(facts).to_contain_text("Phạm Thị Bốn")
    votes = document.locator("#doc-votes > li")
    await expect(votes).to_have_count(2)
    await expect(votes.first).to_contain_text("Tán thành 2, không tán thành 1, không biểu quyết 0")
    await expect(votes.first).to_contain_text("được triệu tập 5, cần 3")
    await expect(votes.first).to_contain_text("✗ Không được thông qua")
    await expect(votes.first).to_contain_text("Lê Văn Ba: Đề nghị bổ sung chỉ tiêu")
    await expect(votes.nth(1)).to_contain_text("✓ Được thông qua")
    await expect(document).to_contain_text("Chi bộ hoàn thành nhiệm vụ tháng.")
    signatures = document.locator("#doc-signatures")
    await expect(signatures).to_contain_text("Nguyễn Văn Một đã ký lúc")
    await expect(signatures).to_contain_text("Trần Thị Hai đã ký lúc")

    # The downloads are the server's DOCX and PDF.
    for name, content_type in (
        ("Tải DOCX", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ("Tải PDF", "application/pdf"),
    ):
        link = page.get_by_role("link", name=name)
        response = await page.request.get(base + str(await link.get_attribute("href")))
        assert response.status == 200
        assert response.headers["content-type"].startswith(content_type)
        async with page.expect_download() as info:
            await link.click()
        download = await info.value
        assert download.suggested_filename.startswith(f"bien-ban-{mid}.")

    # Locked: no signing, but the minute-taker may add a signed addendum.
    await expect(page.locator("#sign-section")).to_be_hidden()
    await page.get_by_label("Nội dung phụ lục").fill("Đính chính: đồng chí Ba phát biểu ở mục 6.")
    await page.get_by_role("button", name="Thêm phụ lục").click()
    await expect(page.locator("#action-status")).to_have_text("Đã thêm và ký phụ lục đính chính.")
    await expect(document.locator("#doc-addenda li")).to_contain_text(
        "Đính chính: đồng chí Ba phát biểu ở mục 6."
    )
    await expect(page.locator("#minutes-hash-value")).to_have_text(digest)
    await watched.assert_clean()


async def test_meeting_pages_need_a_session_and_hide_other_units(world: World) -> None:
    await approve_a(world)
    created = await schedule(world, "sec_a", "A", mode="online")
    mid = created.body["id"]
    anonymous = world.make_client()
    for path in (f"/meetings/{mid}", f"/meetings/{mid}/minutes"):
        reply = await anonymous.request("GET", path, headers={"Accept": "text/html"})
        assert reply.status == 200 and f'data-next="{path}"'.encode() in reply.body  # the login form
        for username, status in (("sec_b", 404), ("sec_a", 200), ("member_a", 200)):
            page = await (await world.as_user(username)).get(path)
            assert page.status == status, (username, path)
        assert (await (await world.as_user("sec_a")).get(path.replace(str(mid), "999999"))).status == 404
    # A plain member reads the agenda but gets no editor.
    member_view = (await (await world.as_user("member_a")).get(f"/meetings/{mid}")).body.decode()
    assert "data-can-edit-agenda" not in member_view and 'id="agenda-view"' in member_view
    leader_view = (await (await world.as_user("sec_a")).get(f"/meetings/{mid}")).body.decode()
    assert "data-can-edit-agenda" in leader_view


@pytest.mark.browser
async def test_the_meeting_page_fits_a_phone(world: World, watch: Watch) -> None:
    await approve_a(world)
    created = await schedule(world, "sec_a", "A", mode="online")
    mid = created.body["id"]
    watched = await watch(viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True)
    page = await watched.new_page()
    await log_in(page, str(world.server.url), "sec_a", f"/meetings/{mid}")
    await expect(page.locator("#meeting")).to_have_attribute("data-ready", "true")
    await page.get_by_role("button", name="Thêm nội dung").click()
    assert await page.evaluate("document.documentElement.scrollWidth") <= 360
    await page.goto(f"{world.server.url}/meetings/{mid}/minutes")
    await expect(page.locator("#minutes-page")).to_have_attribute("data-ready", "true")
    await expect(page.locator("#minutes-status")).to_have_attribute("data-status", "draft")
    await expect(page.locator("#minutes-status")).to_contain_text("Dự thảo")
    await expect(page.locator("#draft-mark")).to_be_visible()
    assert await page.evaluate("document.documentElement.scrollWidth") <= 360
    await watched.assert_clean()
