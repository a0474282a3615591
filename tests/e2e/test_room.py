"""The live room in a real Chromium: two members hear each other, a raised hand reaches both, the quorum
banner follows a third member who joins from a script, and a camera turned on shows on the other page."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import pytest
import socketio
from playwright.async_api import expect

from server.appkeys import HUB
from tests.e2e.browser import HEARS_SOMEONE, Watched, enter, link_accounts
from tests.integration.helpers import approve_a, schedule
from tests.integration.world import World

Watch = Callable[..., Awaitable[Watched]]

REMOTE_VIDEO_PLAYS = """
() => [...document.querySelectorAll('#tiles figure:not([data-key="self"]) video')].some(
  (video) => !video.hidden && video.videoWidth > 0 && !video.paused
)
"""


@pytest.mark.browser
async def test_two_members_hear_each_other_and_see_hands_and_quorum(world: World, watch: Watch) -> None:
    base = str(world.server.url)
    await link_accounts(world, ["mot", "hai"])
    await approve_a(world)
    created = await schedule(world, "sec_a", "A", mode="online")
    assert created.status == 201, created.body
    meeting_id = created.body["id"]
    agenda = {"items": [{"title": "Thông qua chương trình"}, {"title": "Tình hình tháng 11"}]}
    assert (
        await (await world.as_user("sec_a")).request("PUT", f"/api/v1/meetings/{meeting_id}/agenda", agenda)
    ).status == 200

    # Anonymous: sent to the login form; a meeting that does not exist is the not-found page.
    first_watch = await watch()
    first = await first_watch.new_page()
    await first.goto(f"{base}/meetings/{meeting_id}/room")
    await first.wait_for_url(re.compile(rf"/login\?next=/meetings/{meeting_id}/room$"))
    missing = await (await world.as_user("sec_b")).get(f"/meetings/{meeting_id}/room")
    assert missing.status == 404

    one_watch, one = await enter(watch, base, "mot", meeting_id)
    # The second member is on a phone.
    phone = {"viewport": {"width": 360, "height": 740}, "device_scale_factor": 2, "is_mobile": True}
    two_watch, two = await enter(watch, base, "hai", meeting_id, **phone)
    pages = (one, two)

    # Each hears the other: a live remote audio track plays and packets arrive.
    for page in pages:
        await page.wait_for_function(HEARS_SOMEONE, polling=250, timeout=10_000)

    # The panels: the agenda (nothing started yet), the meeting not opened, both members online.
    for page in pages:
        await expect(page.locator("#agenda li")).to_have_text(
            ["Thông qua chương trình", "Tình hình tháng 11"]
        )
        await expect(page.locator("#agenda-current")).to_have_text(
            "Chưa bắt đầu nội dung nào trong chương trình."
        )
        await expect(page.locator("#meeting-status")).to_have_text("Chưa khai mạc")
        await expect(page.locator("#participants li[data-online=true]")).to_have_count(2)

    # A raised hand shows in both queues, and the button turns into "lower".
    await one.get_by_role("button", name="Giơ tay phát biểu").click()
    for page in pages:
        await expect(page.locator("#hands li")).to_have_count(1)
        await expect(page.locator("#hands li")).to_contain_text("Nguyễn Văn Một")
    await expect(one.get_by_role("button", name="Hạ tay")).to_have_attribute("aria-pressed", "true")

    # Two of five official members: not quorate. A third joins from a script: quorate on both pages.
    banner = two.locator("#quorum-banner")
    await expect(banner).to_have_attribute("data-outcome", "false")
    await expect(banner).to_contain_text("2/5 đảng viên chính thức có mặt, cần 3")
    await expect(banner).to_contain_text("Chưa đủ số đảng viên dự họp")
    await expect(banner).to_contain_text("R-QUOR-1")
    ticket = await (await world.as_user("member_a")).post(f"/api/v1/meetings/{meeting_id}/join-ticket", {})
    assert ticket.status == 201, ticket.body
    third = socketio.AsyncClient(reconnection=False)
    await third.connect(
        base,
        auth={"token": ticket.body["token"]},
        transports=["websocket"],
        socketio_path="socket.io",
        namespaces=["/room"],
        wait_timeout=5,
    )
    try:
        ack = await third.call("join", {"meeting_id": meeting_id}, namespace="/room", timeout=5)
        assert ack["ok"] is True, ack
        assert {peer["member_id"] for peer in ack["peers"]} == set(world.members["A"][:2])
        for page in pages:
            quorum = page.locator("#quorum-banner")
            await expect(quorum).to_have_attribute("data-outcome", "true")
            await expect(quorum).to_contain_text("3/5 đảng viên chính thức có mặt, cần 3")
            await expect(quorum).to_contain_text("Đủ số đảng viên dự họp: 3/5")
            await expect(page.locator("#participants li[data-online=true]")).to_have_count(3)
    finally:
        await third.disconnect()

    # A camera turned on shows as a playing tile on the other page; audio goes on meanwhile.
    await two.get_by_role("button", name="Bật camera").click()
    await expect(two.get_by_role("button", name="Tắt camera")).to_have_attribute("aria-pressed", "true")
    await one.wait_for_function(REMOTE_VIDEO_PLAYS, polling=250, timeout=10_000)
    await one.wait_for_function(HEARS_SOMEONE, polling=250, timeout=5_000)
    assert await two.evaluate("document.documentElement.scrollWidth") <= 360

    # The server drops one member's connection: the page says so, joins again as a new peer, and both
    # hear each other again over new peer connections.
    hub = world.server.app[HUB]
    old_peer = await two.locator("#audio-sinks audio").first.get_attribute("data-peer-id")
    dropped = [sid for sid, peer in hub.peers.items() if peer.member_id == world.members["A"][0]]
    assert len(dropped) == 1
    await hub.sio.disconnect(dropped[0], namespace="/room")
    await expect(one.locator("#room")).to_have_attribute("data-state", "joined")
    await expect(two.locator("#audio-sinks audio")).to_have_count(1)
    await expect(two.locator("#audio-sinks audio")).not_to_have_attribute("data-peer-id", old_peer or "")
    for page in pages:
        await page.wait_for_function(HEARS_SOMEONE, polling=250, timeout=10_000)
    await expect(one.locator("#connection")).to_be_hidden()

    for watched in (first_watch, one_watch, two_watch):
        await watched.assert_clean()
