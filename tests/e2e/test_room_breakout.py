"""Issue 6's browser acceptance: two members of different party groups hear each other in the room,
not while the chair has split the meeting into groups, and again once everyone is back."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from playwright.async_api import Page, expect

from tests.e2e.browser import HEARS_SOMEONE, Watched, link_accounts, log_in
from tests.integration.helpers import approve_a, schedule
from tests.integration.world import World

Watch = Callable[..., Awaitable[Watched]]


async def enter(
    watch: Watch, base: str, username: str, meeting_id: int, **options: object
) -> tuple[Watched, Page]:
    watched = await watch(**options)
    page = await watched.new_page()
    await log_in(page, base, username, f"/meetings/{meeting_id}/room")
    await page.get_by_role("button", name="Vào phòng họp").click()
    await expect(page.locator("#room")).to_have_attribute("data-state", "joined")
    return watched, page


@pytest.mark.browser
async def test_members_of_different_groups_hear_each_other_only_outside_the_split(
    world: World, watch: Watch
) -> None:
    base = str(world.server.url)
    await link_accounts(world, ["mot", "hai"])
    mot_id, hai_id = world.members["A"][:2]
    operator, sec_a = await world.as_user("operator"), await world.as_user("sec_a")
    second = await operator.post(
        "/api/v1/orgs", {"name": "Tổ 2", "kind": "group", "parent_id": world.orgs["A"]}
    )
    assert second.status == 201, second.body
    for member_id, group_id in ((mot_id, world.orgs["A1"]), (hai_id, second.body["id"])):
        assert (await sec_a.patch(f"/api/v1/members/{member_id}", {"group_id": group_id})).status == 200
    await approve_a(world)
    created = await schedule(world, "sec_a", "A", mode="online", chair_id=mot_id, minute_taker_id=hai_id)
    assert created.status == 201, created.body
    meeting_id = created.body["id"]
    agenda = {"items": [{"title": "Thông qua chương trình"}, {"title": "Thảo luận nghị quyết"}]}
    assert (await sec_a.put(f"/api/v1/meetings/{meeting_id}/agenda", agenda)).status == 200

    one_watch, one = await enter(watch, base, "mot", meeting_id)
    phone = {"viewport": {"width": 360, "height": 740}, "device_scale_factor": 2, "is_mobile": True}
    two_watch, two = await enter(watch, base, "hai", meeting_id, **phone)
    pages = (one, two)
    for page in pages:
        await page.wait_for_function(HEARS_SOMEONE, polling=250, timeout=10_000)
    opened = await sec_a.post(
        f"/api/v1/meetings/{meeting_id}/open", {"override_reason": "Thử nghiệm chia tổ thảo luận"}
    )
    assert opened.status == 200, opened.body
    chair = await world.as_user("mot")
    assert (await chair.post(f"/api/v1/meetings/{meeting_id}/agenda/current", {"index": 1})).status == 200

    # The chair splits the meeting from the room: each page shows its own group, and the audio between
    # the two groups stops (no connection, no audio element).
    await one.get_by_label("Số phút thảo luận").fill("10")
    await one.get_by_role("button", name="Chia nhóm thảo luận").click()
    await expect(one.locator("#breakout-group")).to_have_text("Bạn đang ở nhóm: Tổ đảng số 1")
    await expect(two.locator("#breakout-group")).to_have_text("Bạn đang ở nhóm: Tổ 2")
    await expect(two.locator("#breakout-timer")).to_contain_text("Thời gian còn lại: 9:")
    for page in pages:
        await expect(page.locator("#audio-sinks audio")).to_have_count(0)
        await expect(page.locator("#room")).to_have_attribute("data-peers", "0")
    await asyncio.sleep(1.5)  # and it stays so: nothing reconnects behind the split
    for page in pages:
        assert not await page.evaluate(HEARS_SOMEONE)
        await expect(page.locator("#audio-sinks audio")).to_have_count(0)

    # The chair's message reaches the other group; that group writes its notes.
    await one.get_by_label("Thông báo tới các nhóm").fill("Còn 5 phút")
    await one.get_by_role("button", name="Gửi tới tất cả các nhóm").click()
    await expect(two.locator("#breakout-messages li")).to_have_text(["Còn 5 phút"])
    await two.get_by_label("Ghi chép của nhóm (được đưa vào biên bản)").fill("Tổ 2 thống nhất dự thảo.")
    await two.get_by_role("button", name="Lưu ghi chép").click()
    await expect(two.locator("#breakout-notes-status")).to_have_text("Đã lưu (phiên bản 1).")
    assert await two.evaluate("document.documentElement.scrollWidth") <= 360

    # Everyone back: the two members hear each other again over new connections.
    await one.get_by_role("button", name="Đưa mọi người trở lại phòng chung").click()
    for page in pages:
        await expect(page.locator("#breakout-panel")).to_be_hidden()
        await expect(page.locator("#breakout-announce")).to_have_text("Mọi người đã trở lại phòng chung.")
        await page.wait_for_function(HEARS_SOMEONE, polling=250, timeout=10_000)

    # Groups of about the same size, for a cell whose party groups do not suit the discussion: the
    # members connected are dealt first, so each group has someone in it.
    await one.get_by_label("Chia theo").select_option("ad_hoc")
    await one.get_by_label("Số nhóm").fill("2")
    await one.get_by_role("button", name="Chia nhóm thảo luận").click()
    await expect(one.locator("#breakout-group")).to_have_text("Bạn đang ở nhóm: Nhóm 1")
    await expect(two.locator("#breakout-group")).to_have_text("Bạn đang ở nhóm: Nhóm 2")
    for page in pages:
        await expect(page.locator("#audio-sinks audio")).to_have_count(0)
    await one.get_by_role("button", name="Đưa mọi người trở lại phòng chung").click()
    for page in pages:
        await page.wait_for_function(HEARS_SOMEONE, polling=250, timeout=10_000)

    minutes = await chair.get(f"/api/v1/meetings/{meeting_id}/minutes")
    groups = minutes.body["document"]["agenda"][1]["breakouts"]
    assert [g["group"] for g in groups] == ["Tổ đảng số 1", "Tổ 2", "Phòng chung", "Nhóm 1", "Nhóm 2"]
    assert groups[1]["notes"] == "Tổ 2 thống nhất dự thảo."
    for watched in (one_watch, two_watch):
        await watched.assert_clean()
