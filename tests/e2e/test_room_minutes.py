"""Votes and minutes in the room, in a real Chromium: a member votes by clicking and sees the result; the
minute-taker keeps typing while the chair closes the vote (the result appears in the facts, nothing typed
is lost, the server ends with exactly the typed text); two writers on different fields are both kept."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from playwright.async_api import Page, expect

from tests.e2e.browser import Watched, enter
from tests.integration.harness import ApiClient
from tests.integration.helpers import approve_a, schedule
from tests.integration.room_client import RoomClient, joined, link_members
from tests.integration.world import World

Watch = Callable[..., Awaitable[Watched]]
AGENDA = {"items": [{"title": "Thông qua chương trình"}, {"title": "Tình hình tháng 11"}]}


@pytest.fixture
async def rooms() -> AsyncIterator[list[RoomClient]]:
    opened: list[RoomClient] = []
    yield opened
    for client in opened:
        await client.close()


async def meeting_with_roles(world: World) -> tuple[int, list[tuple[str, int]]]:
    """Cell A's online meeting: Một (a_member_0) chairs, Hai (a_member_1) takes the minutes."""
    people = await link_members(world, "A", 5)
    await approve_a(world)
    created = await schedule(
        world, "sec_a", "A", mode="online", chair_id=people[0][1], minute_taker_id=people[1][1]
    )
    assert created.status == 201, created.body
    meeting_id = int(created.body["id"])
    put = await (await world.as_user("sec_a")).request("PUT", f"/api/v1/meetings/{meeting_id}/agenda", AGENDA)
    assert put.status == 200, put.body
    return meeting_id, people


async def minutes_field(chair: ApiClient, meeting_id: int, name: str, expected: str) -> dict[str, Any]:
    """The server's minutes once `name` holds `expected` (the page saves after its debounce)."""
    for _ in range(50):
        minutes = (await chair.get(f"/api/v1/meetings/{meeting_id}/minutes")).body
        if minutes["fields"].get(name) == expected:
            return dict(minutes)
        await asyncio.sleep(0.1)
    raise AssertionError(f"{name}: {minutes['fields'].get(name)!r} != {expected!r}")


def area(page: Page, name: str) -> Any:
    return page.locator(f'#minutes-fields textarea[data-field="{name}"]')


@pytest.mark.browser
async def test_vote_and_typing_while_the_vote_closes(
    world: World, watch: Watch, rooms: list[RoomClient]
) -> None:
    base = str(world.server.url)
    meeting_id, people = await meeting_with_roles(world)
    (mot, _), (hai, _), (ba, _), _, _ = people
    chair = await world.as_user(mot)

    # The chair from a script; the minute-taker and a member in the browser: three official members.
    chair_room, _ = await joined(world, mot, meeting_id)
    rooms.append(chair_room)
    taker_watch, taker = await enter(watch, base, hai, meeting_id)
    member_watch, member = await enter(watch, base, ba, meeting_id, viewport={"width": 360, "height": 740})
    assert (
        await (await world.as_user("sec_a")).post(f"/api/v1/meetings/{meeting_id}/open", {})
    ).status == 200

    # Only the chair gets the chair's controls; the minute-taker writes, a member reads.
    await expect(member.locator("#chair-panel")).to_be_hidden()
    await expect(taker.locator("#minutes-panel")).to_have_attribute("data-mode", "edit")
    await expect(member.locator("#minutes-panel")).to_have_attribute("data-mode", "read")
    await expect(member.get_by_label("Thảo luận mục 2: Tình hình tháng 11")).to_have_attribute("readonly", "")
    await expect(taker.locator("#minutes-status")).to_have_text("Dự thảo")

    # The chair moves to item 2 and gives Ba the floor: everyone sees both.
    assert (await chair.post(f"/api/v1/meetings/{meeting_id}/agenda/current", {"index": 1})).status == 200
    assert (
        await chair.post(f"/api/v1/meetings/{meeting_id}/floor", {"member_id": people[2][1]})
    ).status == 200
    for page in (taker, member):
        await expect(page.locator("#agenda li[aria-current=step]")).to_have_text("Tình hình tháng 11")
        await expect(page.locator("#floor")).to_have_text("Đồng chí Lê Văn Ba đang phát biểu.")

    opened = await chair.post(
        f"/api/v1/meetings/{meeting_id}/votes",
        {"question": "Thông qua đánh giá tháng 11", "kind": "ordinary"},
    )
    assert opened.status == 201, opened.body
    vote_id = opened.body["id"]
    assert (await chair.post(f"/api/v1/votes/{vote_id}/ballots", {"choice": "for"})).status == 201

    # A member sees the question and votes by clicking.
    panel = member.locator("#vote-panel")
    await expect(panel).to_have_attribute("data-state", "open")
    await expect(member.locator("#vote-question")).to_have_text("Thông qua đánh giá tháng 11")
    await member.get_by_role("button", name="Tán thành", exact=True).click()
    await expect(member.locator("#vote-message")).to_have_text("Biểu quyết của đồng chí đã được ghi nhận.")
    await expect(taker.locator("#vote-progress")).to_have_text("Số phiếu đã biểu quyết: 2")

    # The minute-taker types on while the chair closes the vote.
    field = area(taker, "item:1")
    await expect(field).to_have_accessible_name("Thảo luận mục 2: Tình hình tháng 11")
    await field.click()
    text = "Chi bộ đánh giá tình hình tháng 11. Đồng chí Ba phát biểu về công tác đảng viên. Thống nhất."
    typing = asyncio.create_task(taker.keyboard.type(text, delay=35))
    await asyncio.sleep(1.2)
    closed = await chair.post(f"/api/v1/votes/{vote_id}/close", {})
    assert closed.status == 200, closed.body
    assert closed.body["result"]["outcome"] == "failed"  # 2 for, of a voting base of 5
    fact = taker.locator(f'#minutes-facts li[data-vote-id="{vote_id}"]')
    await expect(fact).to_have_attribute("data-outcome", "failed")
    await expect(fact).to_contain_text(
        "Tán thành 2, không tán thành 0, không biểu quyết 0; tổng số tính 5, cần 3"
    )
    assert not typing.done(), "the result should appear while typing goes on"
    await typing
    await expect(field).to_have_value(text)
    saved = await minutes_field(chair, meeting_id, "item:1", text)
    await expect(taker.locator("#minutes-save")).to_have_attribute("data-kind", "saved")
    await expect(taker.locator("#minutes-save")).to_have_text(f"Đã lưu (phiên bản {saved['version']}).")
    await expect(field).to_have_value(text)

    # Everyone sees the decision; the member's read-only view follows the draft.
    result = member.locator("#vote-result")
    await expect(result).to_have_attribute("data-outcome", "failed")
    await expect(result).to_contain_text("R-VOTE-1")
    await expect(member.locator("#vote-panel")).to_have_attribute("data-state", "closed")
    await expect(area(member, "item:1")).to_have_value(text)
    assert await member.evaluate("document.documentElement.scrollWidth") <= 360

    for watched in (taker_watch, member_watch):
        await watched.assert_clean()


@pytest.mark.browser
async def test_two_writers_are_both_kept(world: World, watch: Watch) -> None:
    base = str(world.server.url)
    meeting_id, people = await meeting_with_roles(world)
    chair = await world.as_user(people[0][0])
    before = (await chair.get(f"/api/v1/meetings/{meeting_id}/minutes")).body

    taker_watch, taker = await enter(watch, base, people[1][0], meeting_id)
    opening = area(taker, "opening")
    await opening.click()
    typed = "Đồng chí Bí thư khai mạc lúc 14 giờ, nêu mục đích yêu cầu."
    typing = asyncio.create_task(taker.keyboard.type(typed, delay=30))
    await asyncio.sleep(0.8)
    # The chair writes the conclusions on the version read before anyone typed.
    conclusions = "Chi bộ hoàn thành nhiệm vụ tháng 11."
    put = await chair.put(
        f"/api/v1/meetings/{meeting_id}/minutes",
        {"version": before["version"], "fields": {"conclusions": conclusions}, "edit_id": "chair-1"},
    )
    assert put.status == 200, put.body
    await expect(area(taker, "conclusions")).to_have_value(conclusions)
    await typing
    await expect(opening).to_have_value(typed)
    saved = await minutes_field(chair, meeting_id, "opening", typed)
    assert saved["fields"]["conclusions"] == conclusions
    await expect(taker.locator("#minutes-save")).to_have_attribute("data-kind", "saved")

    # The chair now changes the same place on an old version: refused, the minute-taker's text stays.
    clash = await chair.put(
        f"/api/v1/meetings/{meeting_id}/minutes",
        {"version": before["version"], "fields": {"opening": "Một nội dung khác hẳn."}},
    )
    assert (clash.status, clash.error_code) == (409, "conflict")
    await expect(opening).to_have_value(typed)
    await taker_watch.assert_clean()
