"""A meeting past the mesh limit goes through Janus (issue 20, step 2b), with real aiortc members and a
real Janus in its own network namespace: the room is a mesh below `CELLMEET_SFU_MIN_PEERS` and moves
to the SFU when that many members are connected, every member then hears every other through Janus,
the server relays the negotiation without any media on `/room`, attendance is untouched, a member of
another cell gets no handle, and a member who leaves loses theirs."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from server.appkeys import SETTINGS
from server.bench.janus_net import JanusNet
from server.media.sfu import room_keys
from tests.integration import harness
from tests.integration.harness import ApiClient, FakeClock, RunningServer
from tests.integration.room_client import RoomClient, cell_of, joined, link_members, online_meeting
from tests.integration.sfu_member import SfuMember
from tests.integration.sfu_server import MIN_PEERS, janus, members, server, settled, until
from tests.integration.world import World, build_world

__all__ = ["janus", "members", "server"]  # the fixtures, shared with the low-bandwidth SFU test

MEMBERS = 8
WINDOW_SECONDS = 2.0
HEARD_AT_LEAST = 0.8  # of the frames each member sent over the window, per ordered pair


async def janus_participants(net: JanusNet, meeting_id: int, secret_key: str) -> list[dict[str, Any]]:
    """Who is in the meeting's videoroom, as Janus itself lists it (a session of the test's own)."""
    keys = room_keys(secret_key, meeting_id)
    async with aiohttp.ClientSession() as http:

        async def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
            async with http.post(net.api_url + path, json={**body, "transaction": "t"}) as response:
                answer: dict[str, Any] = await response.json(content_type=None)
                return answer

        session = (await post("", {"janus": "create"}))["data"]["id"]
        attached = await post(f"/{session}", {"janus": "attach", "plugin": "janus.plugin.videoroom"})
        listed = await post(
            f"/{session}/{attached['data']['id']}",
            {"janus": "message", "body": {"request": "listparticipants", "room": keys.number}},
        )
        await post(f"/{session}", {"janus": "destroy"})
    participants: list[dict[str, Any]] = listed["plugindata"]["data"]["participants"]
    return participants


async def test_eight_members_move_to_the_sfu_and_hear_each_other(
    janus: JanusNet, world: World, rooms: list[RoomClient], members: list[SfuMember]
) -> None:
    people = await cell_of(world, MEMBERS)
    mid = await online_meeting(world, "A")
    acks = []
    for username, _ in people:
        client, ack = await joined(world, username, mid)
        rooms.append(client)
        acks.append(ack)
        if len(rooms) == 1:  # a hand raised in the mesh is still up on the SFU
            assert (await client.call("hand", {"raised": True}))["ok"] is True

    # members 1-5 joined a mesh; the 6th join moved the room, and its answer already says so
    for ack in acks[: MIN_PEERS - 1]:
        assert ack["media"]["mode"] == "mesh"
        assert ack["topology"] == {"mode": "mesh", "reason": "below_sfu_size", "sfu_min_peers": MIN_PEERS}
    for ack in acks[MIN_PEERS - 1 :]:
        assert ack["media"]["mode"] == "sfu", ack["media"]
        assert ack["topology"] == {"mode": "sfu", "reason": "room_size", "sfu_min_peers": MIN_PEERS}
    sec_a = await world.as_user("sec_a")
    opened = await sec_a.post(f"/api/v1/meetings/{mid}/open", {})
    assert opened.status == 200, opened.body  # quorate: everyone is here
    for client in rooms[: MIN_PEERS - 1]:  # the others were told, without leaving
        pushed = await client.wait_for("media")
        assert (pushed["mode"], pushed["reason"]) == ("sfu", "room_size")
        assert not client.received("peer-left")
    assert [hand["member_id"] for hand in acks[-1]["state"]["hands"]] == [people[0][1]]

    # each publishes once and subscribes to everyone, through the server's relay only
    for client, ack in zip(rooms, acks, strict=True):
        members.append(SfuMember(client, ack["self"]["peer_id"]))
    published = await asyncio.gather(*(member.publish() for member in members))
    assert all(ack["description"]["type"] == "answer" for ack in published)
    await until(lambda: all(m.publisher.connectionState == "connected" for m in members), 10, "published")
    everyone = {member.peer_id for member in members}
    await until(
        lambda: (
            all(
                {f["peer_id"] for f in c.received("sfu-feeds")[-1]["feeds"]} == everyone
                for c in rooms
                if c.received("sfu-feeds")
            )
            and all(c.received("sfu-feeds") for c in rooms)
        ),
        10,
        "every member told of every feed",
    )
    subscribed = await asyncio.gather(*(member.subscribe() for member in members))
    for member, ack in zip(members, subscribed, strict=True):
        assert {s["peer_id"] for s in ack["streams"]} == everyone - {member.peer_id}
    await until(lambda: all(m.connected() for m in members), 10, "subscribers connected")

    # every ordered pair: at least 80 % of what was sent over 2 s was heard. The microphones stop at
    # the window's end and the count waits for what is still on its way: a busy machine delays
    # frames, it does not lose them, and a count cut at a fixed time would call the delay a loss.
    await until(lambda: all(len(m.received) == MEMBERS - 1 for m in members), 10, "audio from everyone")
    sent_before = {m.peer_id: m.microphone.sent for m in members}
    heard_before = {m.peer_id: dict(m.received) for m in members}
    await asyncio.sleep(WINDOW_SECONDS)
    for member in members:
        member.microphone.pause()
    await settled(lambda: [sorted(m.received.values()) for m in members])
    sent = {m.peer_id: m.microphone.sent - sent_before[m.peer_id] for m in members}
    for listener in members:
        for speaker in everyone - {listener.peer_id}:
            heard = listener.received[speaker] - heard_before[listener.peer_id][speaker]
            assert heard >= HEARD_AT_LEAST * sent[speaker], (listener.peer_id, speaker, heard, sent[speaker])
    # The window carried real audio: 20 ms frames, about 100 each; a loaded CI machine paces aiortc's
    # microphones late (73 seen once), so only half is required of the generator. The product's
    # bar is the one above: 80 % of whatever was sent is heard.
    assert min(sent.values()) >= 0.5 * WINDOW_SECONDS * 50

    # the media went through Janus, never over /room: Janus has the 8 publishers (known by
    # peer id, never by name) and no member was sent a mesh signal
    listed = await janus_participants(janus, mid, world.server.app[SETTINGS].secret_key.value)
    assert sorted(p["display"] for p in listed if p["publisher"]) == sorted(everyone)
    assert not any(client.received("signal") for client in rooms)

    # attendance: 8 members, one interval each, through the switch
    world.server.clock.advance(minutes=10)
    attendance = await sec_a.get(f"/api/v1/meetings/{mid}/attendance")
    assert attendance.status == 200, attendance.body
    by_member = {row["member_id"]: row for row in attendance.body["members"]}
    for _, member_id in people:
        assert len(by_member[member_id]["intervals"]) == 1, by_member[member_id]
        assert by_member[member_id]["status"] == "present", by_member[member_id]


def cookie_headers(client: ApiClient, url: str) -> dict[str, str]:
    cookie = client.http.cookie_jar.filter_cookies(url)
    return {"Cookie": "; ".join(f"{k}={v.value}" for k, v in cookie.items())}


@pytest.mark.parametrize("server", ["http"], indirect=True)  # Janus's HTTP API and its long poll
async def test_handles_only_for_joined_members_and_gone_with_them(
    janus: JanusNet, world: World, rooms: list[RoomClient], members: list[SfuMember]
) -> None:
    people = await link_members(world, "A", MIN_PEERS)
    outsiders = await link_members(world, "QA", 1)
    mid = await online_meeting(world, "A")
    secret_key = world.server.app[SETTINGS].secret_key.value
    acks = []
    for index, (username, _) in enumerate(people):
        client, ack = await joined(world, username, mid)
        rooms.append(client)
        acks.append(ack)
        if index == 0:  # a mesh has no SFU to negotiate with
            refused = await client.call("sfu-subscribe", {})
            assert (refused["ok"], refused["error"]["code"]) == (False, "not_sfu")
    assert acks[-1]["media"]["mode"] == "sfu"
    first, second = (SfuMember(rooms[i], acks[i]["self"]["peer_id"]) for i in (0, 1))
    members.extend([first, second])
    await first.publish()
    await until(lambda: first.publisher.connectionState == "connected", 10, "first member published")
    await rooms[1].wait_for("sfu-feeds", lambda d: [f["peer_id"] for f in d["feeds"]] == [first.peer_id])
    await second.subscribe()
    await until(lambda: second.received.get(first.peer_id, 0) > 10, 10, "the second hears the first")

    # a member of another cell, connected with its session cookie, asks for this meeting's handles:
    # the answer a join gets (another unit's meeting is not found), and Janus has nothing of theirs
    outsider = RoomClient(
        str(world.server.url), headers=cookie_headers(await world.as_user(outsiders[0][0]), world.server.url)
    )
    await outsider.connect()
    rooms.append(outsider)
    offer = {"type": "offer", "sdp": "v=0\r\n"}
    for event, payload in [
        ("sfu-publish", {"meeting_id": mid, "description": offer}),
        ("sfu-subscribe", {"meeting_id": mid}),
    ]:
        reply = await outsider.call(event, payload)
        assert (reply["ok"], reply["error"]["code"]) == (False, "not_found"), reply
    for event, payload in [
        ("sfu-publish", {"description": offer}),
        ("sfu-answer", {"description": {"type": "answer", "sdp": "v=0\r\n"}}),
        ("sfu-candidate", {"target": "publisher", "candidate": None}),
    ]:
        reply = await outsider.call(event, payload)
        assert (reply["ok"], reply["error"]["code"]) == (False, "not_joined"), reply
    listed = await janus_participants(janus, mid, secret_key)
    assert [p["display"] for p in listed] == [first.peer_id]  # the subscriber is not a participant

    # bad input changes nothing: an answer published, an unknown target, an answer with no offer
    third = rooms[2]
    for event, payload, code in [
        ("sfu-publish", {"description": {"type": "answer", "sdp": "v=0\r\n"}}, "validation_error"),
        ("sfu-candidate", {"target": "janus", "candidate": None}, "validation_error"),
        ("sfu-answer", {"description": {"type": "answer", "sdp": "v=0\r\n"}}, "no_sfu_handle"),
    ]:
        reply = await third.call(event, payload)
        assert (reply["ok"], reply["error"]["code"]) == (False, code), reply
        assert "message" in reply["error"]
    assert [p["display"] for p in await janus_participants(janus, mid, secret_key)] == [first.peer_id]

    # the first member leaves: its handle goes from Janus, the room hears its feed went, and Janus's
    # new offer reaches the second member through the server
    assert (await rooms[0].call("leave", {}))["ok"] is True
    await rooms[1].wait_for("sfu-feeds", lambda d: d["feeds"] == [])
    await until(
        lambda: any(
            t.direction == "inactive" or t.currentDirection == "inactive"
            for t in second.subscriber.getTransceivers()
        ),
        5,
        "the second member's stream of the first ended",
    )
    assert second.offers_unasked == 1
    assert await janus_participants(janus, mid, secret_key) == []
    after = await rooms[0].call("sfu-publish", {"description": offer})
    assert (after["ok"], after["error"]["code"]) == (False, "not_joined")


async def test_an_unreachable_janus_at_the_switch_keeps_the_mesh(
    database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture, rooms: list[RoomClient]
) -> None:
    caplog.set_level(logging.WARNING, logger="cellmeet.sfu")
    settings = harness.test_settings(
        tmp_path, database_url, sfu_url="http://127.0.0.1:9/janus", sfu_min_peers=2
    )
    running = await RunningServer.start(settings, FakeClock())
    clients: list[ApiClient] = []

    def make(lang: str = "vi") -> ApiClient:
        client = ApiClient(running.url, lang=lang)
        clients.append(client)
        return client

    try:
        world = await build_world(running, make)
        people = await link_members(world, "A", 3)
        mid = await online_meeting(world, "A")
        loop = asyncio.get_running_loop()
        for username, _ in people:
            started = loop.time()
            client, ack = await asyncio.wait_for(joined(world, username, mid), 5)
            rooms.append(client)
            assert loop.time() - started < 5
            assert ack["media"]["mode"] == "mesh"
        assert ack["topology"] == {"mode": "mesh", "reason": "sfu_unavailable", "sfu_min_peers": 2}
        failures = [r for r in caplog.records if "stays a mesh" in r.getMessage()]
        assert len(failures) == 1, [r.getMessage() for r in caplog.records]  # not asked again at once
        assert not any(client.received("media") for client in rooms)
    finally:
        for client in rooms:
            await client.close()
        rooms.clear()
        for api in clients:
            await api.close()
        await running.stop()
