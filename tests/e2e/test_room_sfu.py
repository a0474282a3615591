"""The room page on the SFU (issue 24), in Debian's Chromium with fake devices, against a real Janus alone
in a network namespace the test makes (tech-notes.md "Janus — verified recipe"): three pages of one
meeting hear each other through Janus, one upload each; a page on low bandwidth sends one audio stream
and receives no video; a mesh of two moves to the SFU in place when a third joins, hand still raised."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from playwright.async_api import expect

from server.bench.janus_net import JanusNet, available, janus_in_namespace
from server.realtime.attach import LIVE_HUB
from tests.e2e.browser import (
    TRAFFIC,
    Watched,
    hears_everyone,
    join,
    log_in,
    online_meeting_of_three,
)
from tests.integration import harness
from tests.integration.harness import FakeClock, RunningServer
from tests.integration.world import World

Watch = Callable[..., Awaitable[Watched]]


@pytest.fixture
async def janus(tmp_path: Path) -> AsyncIterator[JanusNet]:
    missing = available()
    assert missing is None, missing  # never skipped: CI installs janus and runs as root
    async with janus_in_namespace(tmp_path) as net:
        yield net


# Overrides tests/e2e/conftest.py's server: its `world` and `watch` are built on this one (Janus behind it).
@pytest.fixture
async def server(
    request: pytest.FixtureRequest, tmp_path: Path, janus: JanusNet
) -> AsyncIterator[RunningServer]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cellmeet.db'}"
    settings = harness.test_settings(tmp_path, url, sfu_url=janus.ws_url, sfu_min_peers=request.param)
    running = await RunningServer.start(settings, FakeClock())
    yield running
    await running.stop()


async def member_ids(world: World) -> dict[str, str]:
    return {name: str(world.members["A"][index]) for index, name in enumerate(["mot", "hai", "ba"])}


@pytest.mark.browser
@pytest.mark.timeout(240)
@pytest.mark.parametrize("server", [2], indirect=True)
async def test_three_pages_hear_each_other_through_janus_and_one_saves_data(
    world: World, watch: Watch
) -> None:
    meeting_id = await online_meeting_of_three(world)
    ids = await member_ids(world)
    pages = {name: await join(watch, world, name, meeting_id) for name in ("mot", "hai", "ba")}
    for page in pages.values():
        await expect(page.locator("#room")).to_have_attribute("data-media", "sfu", timeout=15_000)
        await expect(page.locator("#media-mode")).to_contain_text("máy chủ của đơn vị")
    for name, page in pages.items():
        await hears_everyone(page, {ids[other] for other in pages if other != name})
    # One upload each: one connection to publish, one to hear everyone, whatever the room's size.
    for page in pages.values():
        traffic = await page.evaluate(TRAFFIC)
        assert traffic["connections"] == 2 and traffic["audioOut"] == 1, traffic

    # Two cameras on; then "ba" saves data: its camera goes, it sends audio only and receives no video.
    for name in ("mot", "ba"):
        await pages[name].locator("#camera").click()
        await expect(pages[name].locator("#camera")).to_have_attribute("aria-pressed", "true")
    await expect(pages["hai"].locator('#tiles figure[data-video="true"]')).to_have_count(2, timeout=20_000)
    saver = pages["ba"]
    await saver.get_by_role("button", name="Tiết kiệm dữ liệu").click()
    await expect(saver.locator("#low-bandwidth")).to_have_attribute("aria-pressed", "true")
    await expect(saver.locator("#low-bandwidth-hint")).to_be_visible()
    await expect(saver.locator("#camera")).to_be_disabled()
    await asyncio.sleep(2)  # what was on its way arrives
    first = await saver.evaluate(TRAFFIC)
    await asyncio.sleep(3)
    later = await saver.evaluate(TRAFFIC)
    assert later["audioOut"] == 1, later
    assert later["videoBytesOut"] == first["videoBytesOut"], (first, later)  # no video sent
    assert later["videoBytesIn"] == first["videoBytesIn"], (first, later)  # none received
    await expect(saver.locator('#tiles figure[data-video="true"]:not([data-key="self"])')).to_have_count(0)
    await hears_everyone(saver, {ids["mot"], ids["hai"]})  # sound goes on
    # The others still see "mot"'s camera: only the saver's streams are held.
    still = await pages["hai"].evaluate(TRAFFIC)
    await asyncio.sleep(2)
    assert (await pages["hai"].evaluate(TRAFFIC))["videoBytesIn"] > still["videoBytesIn"]
    # Remembered for this member on this device: after a reload it is still on.
    await saver.reload()
    await expect(saver.locator("#room")).to_have_attribute("data-state", "joined", timeout=20_000)
    await expect(saver.locator("#low-bandwidth")).to_have_attribute("aria-pressed", "true")


@pytest.mark.browser
@pytest.mark.timeout(240)
@pytest.mark.parametrize("server", [3], indirect=True)
async def test_a_mesh_moves_to_the_sfu_in_place_with_the_hand_still_raised(
    world: World, watch: Watch
) -> None:
    meeting_id = await online_meeting_of_three(world)
    ids = await member_ids(world)
    first = await join(watch, world, "mot", meeting_id)
    second = await join(watch, world, "hai", meeting_id)
    for page in (first, second):
        await expect(page.locator("#room")).to_have_attribute("data-media", "mesh")
        await page.evaluate("window.__notReloaded = true")
    await hears_everyone(first, {ids["hai"]})
    await first.locator("#hand").click()
    await expect(first.locator("#hand")).to_have_attribute("aria-pressed", "true")
    await first.locator("#mute").click()
    await expect(first.locator("#mute")).to_have_attribute("aria-pressed", "true")

    third = await join(watch, world, "ba", meeting_id)
    for page in (first, second, third):
        await expect(page.locator("#room")).to_have_attribute("data-media", "sfu", timeout=15_000)
        await expect(page.locator("#media-mode")).to_be_visible()
    for page in (first, second):
        assert await page.evaluate("window.__notReloaded === true")  # moved in place, no reload
    await expect(first.locator("#hand")).to_have_attribute("aria-pressed", "true")
    await expect(first.locator("#mute")).to_have_attribute("aria-pressed", "true")
    await expect(third.locator(f'#hands li[data-member-id="{ids["mot"]}"]')).to_be_visible()
    await hears_everyone(third, {ids["hai"]})
    await hears_everyone(second, {ids["ba"]})
    # Who is speaking and how each link is: words beside each member, on the SFU too.
    await expect(second.locator(".quality-mark").first).to_be_visible(timeout=15_000)
    await expect(second.locator("#my-link")).to_contain_text("Kết nối của bạn")


@pytest.mark.browser
@pytest.mark.timeout(120)
@pytest.mark.parametrize("server", [6], indirect=True)
async def test_the_pre_join_check_also_tries_the_path_to_the_sfu(world: World, watch: Watch) -> None:
    meeting_id = await online_meeting_of_three(world)
    watched = await watch()
    page = await watched.new_page()
    await log_in(page, str(world.server.url), "mot", f"/meetings/{meeting_id}/room")
    await expect(page.locator("#room")).to_have_attribute("data-ready", "true")
    await page.get_by_role("button", name="Kiểm tra mạng").click()
    await expect(page.locator("#network-result")).to_contain_text("Mạng đủ tốt", timeout=30_000)
    sfu = page.locator("#network-sfu-result")
    await expect(sfu).to_be_visible(timeout=30_000)
    await expect(sfu).to_have_attribute("data-outcome", "ok")
    await expect(sfu).to_contain_text("Đường tới máy chủ truyền thông của đơn vị")
    await watched.assert_clean()


@pytest.mark.browser
@pytest.mark.timeout(240)
@pytest.mark.parametrize("server", [3], indirect=True)
async def test_pages_told_when_janus_is_lost_hear_each_other_when_it_returns_and_a_small_room_meshes(
    world: World, watch: Watch, janus: JanusNet
) -> None:
    """Issue 27: Janus killed mid-meeting and started again, as members see it in their pages."""
    meeting_id = await online_meeting_of_three(world)
    ids = await member_ids(world)
    pages = {name: await join(watch, world, name, meeting_id) for name in ("mot", "hai", "ba")}
    for page in pages.values():
        await expect(page.locator("#room")).to_have_attribute("data-media", "sfu", timeout=15_000)
        await page.evaluate("window.__notReloaded = true")
    await hears_everyone(pages["mot"], {ids["hai"], ids["ba"]})

    await janus.kill()
    for page in pages.values():  # told within 5 s, in Vietnamese; still in the meeting
        notice = page.locator("#media-notice")
        await expect(notice).to_be_visible(timeout=5_000)
        await expect(notice).to_contain_text("Mất kết nối tới máy chủ truyền thông")
        await expect(page.locator("#room")).to_have_attribute("data-state", "joined")

    await janus.start()
    for page in pages.values():
        await expect(page.locator("#media-notice")).to_contain_text("hoạt động trở lại", timeout=10_000)
    for name, page in pages.items():
        await hears_everyone(page, {ids[other] for other in pages if other != name})
        assert await page.evaluate("window.__notReloaded === true")  # renegotiated in place

    # "ba" leaves; Janus dies again: two members are few enough to meet directly, and do.
    await pages["ba"].close()
    hub = world.server.app[LIVE_HUB]
    for _ in range(100):
        if len(hub.rooms[meeting_id].peers) == 2:
            break
        await asyncio.sleep(0.1)
    assert len(hub.rooms[meeting_id].peers) == 2, "the page closed, its connection still in the room"
    await janus.kill()
    for page in (pages["mot"], pages["hai"]):
        await expect(page.locator("#room")).to_have_attribute("data-media", "mesh", timeout=5_000)
        await expect(page.locator("#media-notice")).to_contain_text("trực tiếp giữa các thành viên")
    await hears_everyone(pages["mot"], {ids["hai"]})
    await hears_everyone(pages["hai"], {ids["mot"]})
