"""The `/room` namespace over a real server: joining, relayed WebRTC signalling between real aiortc peers,
who is refused, limits, live presence and quorum pushes, reconnects within the grace (R-ATT-2)."""

from __future__ import annotations

import asyncio
from typing import Any

import aioice.ice
import pytest
import socketio
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, MediaStreamTrack
from sqlalchemy import select

from server.appkeys import DATABASE, HUB
from server.db.tables import PresenceEvent
from server.realtime import hub as hub_module
from tests.integration.helpers import approve_a, audit_entries, pass_time, schedule
from tests.integration.room_client import RoomClient, joined, link_members, online_meeting, ticket
from tests.integration.world import World

CONFIRM_SECONDS = 0.6


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    # A short wait for reconnects keeps the "dropped beyond the grace" case fast; the leave it writes
    # is still dated at the drop, and the grace of the rule set still decides about merging.
    return {"presence_confirm_seconds": CONFIRM_SECONDS}


async def presence_rows(world: World, meeting_id: int) -> list[tuple[int, str, str]]:
    async with world.server.app[DATABASE].read() as session:
        rows = (
            await session.execute(
                select(PresenceEvent).where(PresenceEvent.meeting_id == meeting_id).order_by(PresenceEvent.id)  # type: ignore[arg-type]
            )
        ).scalars()
        return [(r.member_id, r.kind, r.at.strftime("%H:%M:%S")) for r in rows]


async def test_three_members_join_see_each_other_and_the_quorum(
    world: World, rooms: list[RoomClient]
) -> None:
    people = await link_members(world, "A", 3)
    mid = await online_meeting(world)
    first, ack = await joined(world, people[0][0], mid)
    rooms.append(first)
    assert ack["self"]["member_id"] == people[0][1] and ack["peers"] == []
    assert ack["media"] == {"mode": "mesh", "ice_servers": [], "max_cameras": 4}
    assert ack["state"]["meeting"]["status"] == "scheduled"
    assert ack["state"]["quorum"]["outcome"] is False
    assert ack["state"]["quorum"]["counts"]["present_official"] == 1

    second, ack2 = await joined(world, people[1][0], mid)
    rooms.append(second)
    assert [p["member_id"] for p in ack2["peers"]] == [people[0][1]]
    arrived = await first.wait_for("peer-joined")
    assert arrived["member_id"] == people[1][1] and arrived["peer_id"] == ack2["self"]["peer_id"]

    third, ack3 = await joined(world, people[2][0], mid)
    rooms.append(third)
    assert sorted(p["member_id"] for p in ack3["peers"]) == sorted(m for _, m in people[:2])
    # 3 of a voting base of 5 official members: quorate (R-QUOR-1), pushed to those already in
    quorate = await first.wait_for("quorum", lambda q: q["outcome"] is True)
    assert quorate["rule"] == "R-QUOR-1" and quorate["counts"]["present_official"] == 3
    assert quorate["explanation"].startswith("Đủ")  # the socket's language: Vietnamese by default
    presence = await second.wait_for("presence", lambda p: p["counts"]["present"] == 3)
    online = {p["member_id"] for p in presence["participants"] if p["online"]}
    assert online == {m for _, m in people}
    rest = (await world.as_user("sec_a")).get(f"/api/v1/meetings/{mid}/quorum")
    assert (await rest).body["outcome"] is True
    assert [kind for _, kind, _ in await presence_rows(world, mid)] == ["join", "join", "join"]
    assert len(await audit_entries(world, "presence.join")) == 3


async def test_two_aiortc_peers_exchange_audio_through_the_relayed_signalling(
    world: World, rooms: list[RoomClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    # aioice leaves out 127.0.0.1; the test's peers talk over loopback only.
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: ["127.0.0.1"])
    people = await link_members(world, "A", 2)
    mid = await online_meeting(world)
    answerer_room, _ = await joined(world, people[0][0], mid)
    offerer_room, ack = await joined(world, people[1][0], mid)
    rooms += [answerer_room, offerer_room]
    configuration = RTCConfiguration(iceServers=[])  # never aiortc's default public STUN
    offerer, answerer = RTCPeerConnection(configuration), RTCPeerConnection(configuration)
    received: asyncio.Queue[MediaStreamTrack] = asyncio.Queue()
    answerer.on("track", received.put_nowait)
    try:
        offerer.addTrack(AudioStreamTrack())
        answerer.addTrack(AudioStreamTrack())
        await offerer.setLocalDescription(await offerer.createOffer())
        sent_sdp = offerer.localDescription.sdp
        # the newcomer offers to the peer already in the room (docs/api.md)
        (target,) = ack["peers"]
        reply = await offerer_room.call(
            "signal", {"to": target["peer_id"], "description": {"type": "offer", "sdp": sent_sdp}}
        )
        assert reply == {"ok": True}
        offer = await answerer_room.wait_for("signal")
        assert offer["from"] == ack["self"]["peer_id"]
        assert offer["description"]["sdp"] == sent_sdp  # relayed byte for byte
        await answerer.setRemoteDescription(RTCSessionDescription(**offer["description"]))
        await answerer.setLocalDescription(await answerer.createAnswer())
        answer_sdp = answerer.localDescription.sdp
        reply = await answerer_room.call(
            "signal", {"to": offer["from"], "description": {"type": "answer", "sdp": answer_sdp}}
        )
        assert reply == {"ok": True}
        answer = await offerer_room.wait_for("signal")
        assert answer["description"] == {"type": "answer", "sdp": answer_sdp}
        await offerer.setRemoteDescription(RTCSessionDescription(**answer["description"]))

        async def connected(pc: RTCPeerConnection) -> None:
            while pc.connectionState != "connected":
                await asyncio.sleep(0.02)

        await asyncio.wait_for(asyncio.gather(connected(offerer), connected(answerer)), 10)
        # DTLS-SRTP is up (the connection state needs it) and audio frames arrive
        track = await asyncio.wait_for(received.get(), 5)
        assert track.kind == "audio"
        frames = [await asyncio.wait_for(track.recv(), 5) for _ in range(10)]
        assert all(frame.sample_rate > 0 and frame.samples > 0 for frame in frames)
        assert answerer.sctp is None and offerer.getTransceivers()[0].sender.transport.state == "connected"
    finally:
        await offerer.close()
        await answerer.close()


async def test_who_is_refused(world: World, rooms: list[RoomClient]) -> None:
    people = await link_members(world, "A", 1)
    outsiders = await link_members(world, "QA", 1)
    mid = await online_meeting(world)
    url = str(world.server.url)

    # no session and no ticket
    anonymous = RoomClient(url)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await anonymous.connect()
    assert anonymous.connect_error["code"] == "unauthenticated"

    # a forged ticket: a valid one with another meeting's id swapped in keeps the signature
    good = await ticket(world, people[0][0], mid)
    body, signature = good.split(".")
    for forged in (f"{body}.{signature[:-2]}AA", "not-a-ticket", body + "x." + signature, 12345):
        client = RoomClient(url, auth={"token": forged})
        with pytest.raises(socketio.exceptions.ConnectionError):
            await client.connect()
        assert client.connect_error["code"] == "invalid_ticket", forged

    # an expired ticket (120 s)
    world.server.clock.advance(seconds=121)
    expired = RoomClient(url, auth={"token": good})
    with pytest.raises(socketio.exceptions.ConnectionError):
        await expired.connect()
    assert expired.connect_error["code"] == "ticket_expired"
    assert "hết hạn" in expired.connect_error["message"]

    # a member of another unit: the same answer as a meeting that does not exist
    other = await (await world.as_user(outsiders[0][0])).post(f"/api/v1/meetings/{mid}/join-ticket", {})
    assert (other.status, other.error_code) == (404, "not_found")
    own_meeting = await schedule(world, "sec_q", "QA")
    assert own_meeting.status == 201, own_meeting.body
    qa_ticket_reply = await (await world.as_user(outsiders[0][0])).post(
        f"/api/v1/meetings/{own_meeting.body['id']}/join-ticket", {}
    )
    assert qa_ticket_reply.error_code == "not_online"  # an in-person meeting has no room
    # with a session cookie instead of a ticket, joining another unit's meeting
    outsider_session = await world.as_user(outsiders[0][0])
    cookie = outsider_session.http.cookie_jar.filter_cookies(world.server.url)
    headers = {"Cookie": "; ".join(f"{k}={v.value}" for k, v in cookie.items())}
    by_cookie = RoomClient(url, headers=headers)
    await by_cookie.connect()
    rooms.append(by_cookie)
    refused = await by_cookie.join(mid)
    assert (refused["ok"], refused["error"]["code"]) == (False, "not_found")
    assert await by_cookie.join(10**6) == {**refused}
    # a user who sees the unit but is not summoned: the secretary holds a grant, no member record
    sec_a = await world.as_user("sec_a")
    assert (await sec_a.post(f"/api/v1/meetings/{mid}/join-ticket", {})).error_code == "not_a_member"

    # before joining, nothing but join is accepted; bad payloads change nothing
    member, _ = await joined(world, people[0][0], mid)
    rooms.append(member)
    assert (await by_cookie.call("hand", {"raised": True}))["error"]["code"] == "not_joined"
    for bad in ({"meeting_id": "1"}, {}, {"meeting_id": mid, "extra": 1}, [mid]):
        reply = await by_cookie.call("join", bad)
        assert reply["error"]["code"] == "validation_error", bad
    unknown = await member.call("signal", {"to": "nobody", "candidate": None})
    assert unknown["error"]["code"] == "unknown_peer"
    both = await member.call(
        "signal", {"to": "x", "candidate": None, "description": {"type": "offer", "sdp": ""}}
    )
    assert both["error"]["code"] == "validation_error"
    assert (await member.call("no-such-event", {}))["error"]["code"] == "unknown_event"

    # a ticket is good for its own meeting only
    second = await online_meeting_again(world)
    mismatch = RoomClient(url, auth={"token": await ticket(world, people[0][0], mid)})
    await mismatch.connect()
    rooms.append(mismatch)
    assert (await mismatch.join(second))["error"]["code"] == "ticket_mismatch"


async def online_meeting_again(world: World) -> int:
    created = await schedule(world, "sec_a", "A", mode="online")
    assert created.status == 201, created.body
    return int(created.body["id"])


async def test_cookie_sessions_cross_site_and_logout(world: World, rooms: list[RoomClient]) -> None:
    people = await link_members(world, "A", 1)
    mid = await online_meeting(world)
    session = await world.as_user(people[0][0])
    cookie = session.http.cookie_jar.filter_cookies(world.server.url)
    cookie_header = "; ".join(f"{k}={v.value}" for k, v in cookie.items())
    origin = str(world.server.url).rstrip("/")

    evil = RoomClient(
        str(world.server.url), headers={"Cookie": cookie_header, "Origin": "https://evil.example"}
    )
    with pytest.raises(socketio.exceptions.ConnectionError):
        await evil.connect()  # a cross-site page cannot ride the member's cookie

    same_site = RoomClient(str(world.server.url), headers={"Cookie": cookie_header, "Origin": origin})
    await same_site.connect()
    rooms.append(same_site)
    ack = await same_site.join(mid)
    assert ack["ok"] is True and ack["self"]["member_id"] == people[0][1]

    assert (await session.post("/api/v1/auth/logout", {})).status == 200
    for _ in range(100):
        if not same_site.sio.connected:
            break
        await asyncio.sleep(0.05)
    assert not same_site.sio.connected  # logging out ends the live connection too


async def test_flooding_and_oversized_messages_drop_only_the_offender(
    world: World, rooms: list[RoomClient]
) -> None:
    people = await link_members(world, "A", 3)
    mid = await online_meeting(world)
    calm, _ = await joined(world, people[0][0], mid)
    flooder, _ = await joined(world, people[1][0], mid)
    big, big_ack = await joined(world, people[2][0], mid)
    rooms += [calm, flooder, big]

    replies = await asyncio.gather(
        *(flooder.call("hand", {"raised": i % 2 == 0}, timeout=3) for i in range(150)), return_exceptions=True
    )
    codes = {r["error"]["code"] for r in replies if isinstance(r, dict) and not r["ok"]}
    assert "rate_limited" in codes
    assert (await flooder.wait_for("error"))["code"] == "rate_limited"
    for _ in range(100):
        if not flooder.sio.connected:
            break
        await asyncio.sleep(0.05)
    assert not flooder.sio.connected

    # 64 KiB: a larger message closes that connection
    target = big_ack["peers"][0]["peer_id"]
    await big.sio.emit("signal", {"to": target, "candidate": {"candidate": "x" * 70_000}}, namespace="/room")
    for _ in range(100):
        if not big.sio.connected:
            break
        await asyncio.sleep(0.05)
    assert not big.sio.connected

    # the calm member is unaffected
    assert (await calm.call("hand", {"raised": True}))["ok"] is True


async def join_all(world: World, people: list[tuple[str, int]], meeting_id: int) -> list[RoomClient]:
    clients = []
    for username, _ in people:
        client, _ = await joined(world, username, meeting_id)
        clients.append(client)
    return clients


async def test_hands_in_order_and_the_camera_limit(world: World, rooms: list[RoomClient]) -> None:
    people = await link_members(world, "A", 3)
    await approve_a(world)
    created = await schedule(world, "sec_a", "A", mode="online", chair_id=people[1][1])
    assert created.status == 201, created.body
    clients = await join_all(world, people, created.body["id"])
    rooms += clients
    assert (await clients[2].call("hand", {"raised": True}))["ok"]
    assert (await clients[0].call("hand", {"raised": True}))["ok"]
    again = await clients[2].call("hand", {"raised": True})  # raising twice keeps the place
    assert [h["member_id"] for h in again["hands"]] == [people[2][1], people[0][1]]
    seen = await clients[1].wait_for("hands", lambda h: len(h["hands"]) == 2)
    assert [h["member_id"] for h in seen["hands"]] == [people[2][1], people[0][1]]
    lowered = await clients[2].call("hand", {"raised": False})
    assert [h["member_id"] for h in lowered["hands"]] == [people[0][1]]
    not_chair = await clients[2].call("hand", {"raised": False, "member_id": people[0][1]})
    assert not_chair["error"]["code"] == "forbidden"
    assert (await clients[1].call("hand", {"raised": True, "member_id": people[0][1]}))["error"]["code"] == (
        "forbidden"  # nobody raises a hand for someone else
    )
    by_chair = await clients[1].call("hand", {"raised": False, "member_id": people[0][1]})
    assert by_chair["hands"] == []

    # camera limit of the rule set (mesh_video_max_cameras, 4) — tested here with the default
    for client in clients:
        assert (await client.call("camera", {"on": True}))["ok"] is True
    cameras = await clients[0].wait_for("cameras", lambda c: len(c["member_ids"]) == 3)
    assert cameras["max_cameras"] == 4


async def test_camera_limit_refuses_the_fifth_camera(world: World, rooms: list[RoomClient]) -> None:
    people = await link_members(world, "A", 5)
    clients = await join_all(world, people, await online_meeting(world))
    rooms += clients
    for client in clients[:4]:
        assert (await client.call("camera", {"on": True}))["ok"] is True
    refused = await clients[4].call("camera", {"on": True})
    assert refused["error"]["code"] == "camera_limit" and refused["error"]["details"]["max_cameras"] == 4
    assert (await clients[0].call("camera", {"on": False}))["ok"] is True
    assert (await clients[4].call("camera", {"on": True}))["ok"] is True


async def test_reconnect_within_the_grace_keeps_one_interval(world: World, rooms: list[RoomClient]) -> None:
    people = await link_members(world, "A", 3)
    mid = await online_meeting(world)
    watcher, _ = await joined(world, people[0][0], mid)
    rooms.append(watcher)
    sec_a = await world.as_user("sec_a")
    opened = await sec_a.post(f"/api/v1/meetings/{mid}/open", {"override_reason": "Kiểm tra kết nối lại."})
    assert opened.status == 200, opened.body

    # a dropped connection, back before the wait ends: nothing is written, the interval goes on
    dropping, first_ack = await joined(world, people[1][0], mid)
    assert (await dropping.call("hand", {"raised": True}))["ok"]
    await dropping.close()
    gone = await watcher.wait_for("peer-left")
    assert gone["peer_id"] == first_ack["self"]["peer_id"]  # media peers are told at once
    world.server.clock.advance(seconds=30)
    back, back_ack = await joined(world, people[1][0], mid)
    rooms.append(back)
    assert back_ack["self"]["peer_id"] != first_ack["self"]["peer_id"]
    assert [h["member_id"] for h in back_ack["state"]["hands"]] == [people[1][1]]  # the hand kept its place
    await asyncio.sleep(CONFIRM_SECONDS + 0.3)
    assert [(m, k) for m, k, _ in await presence_rows(world, mid)] == [
        (people[0][1], "join"),
        (people[1][1], "join"),
    ]

    # a drop without coming back: the leave is written after the wait, dated at the drop
    leaving, _ = await joined(world, people[2][0], mid)
    world.server.clock.advance(seconds=60)
    since = watcher.mark()
    await leaving.close()
    await watcher.wait_for("peer-left", since=since)  # the server has seen the drop
    dropped_at = world.server.clock.now.strftime("%H:%M:%S")
    world.server.clock.advance(seconds=200)
    update = await watcher.wait_for(
        "presence",
        lambda p: any(x["member_id"] == people[2][1] and not x["online"] for x in p["participants"]),
        timeout=CONFIRM_SECONDS + 3,
        since=since,
    )
    assert {x["member_id"] for x in update["participants"] if x["online"]} == {people[0][1], people[1][1]}
    rows = await presence_rows(world, mid)
    assert rows[-1] == (people[2][1], "leave", dropped_at)

    # an explicit leave ends the presence at once
    assert (await back.call("leave", {}))["ok"] is True
    rows = await presence_rows(world, mid)
    assert rows[-1][:2] == (people[1][1], "leave")

    attendance = await sec_a.get(f"/api/v1/meetings/{mid}/attendance")
    intervals = {m["member_id"]: m["intervals"] for m in attendance.body["members"]}
    assert len(intervals[people[1][1]]) == 1  # the drop and the reconnect are one interval


async def test_opening_closing_and_check_ins_reach_the_room(world: World, rooms: list[RoomClient]) -> None:
    people = await link_members(world, "A", 3)
    await online_meeting(world)
    hybrid = await schedule(world, "sec_a", "A", mode="hybrid")
    assert hybrid.status == 201, hybrid.body
    mid = hybrid.body["id"]
    sec_a = await world.as_user("sec_a")
    room, _ = await joined(world, people[0][0], mid)
    rooms.append(room)
    for _, member_id in people[1:]:
        assert (await sec_a.post(f"/api/v1/meetings/{mid}/checkins", {"member_id": member_id})).status == 201
    on_site = await room.wait_for("presence", lambda p: p["counts"]["present"] == 3)
    assert {p["member_id"] for p in on_site["participants"] if p["on_site"]} == {m for _, m in people[1:]}
    assert (await room.wait_for("quorum", lambda q: q["outcome"]))["counts"]["present_official"] == 3

    assert (await sec_a.post(f"/api/v1/meetings/{mid}/open", {})).status == 200
    opened = await room.wait_for("meeting-state")
    assert opened["status"] == "open" and opened["opened_at"] is not None
    await pass_time(world, 40)
    assert (await sec_a.post(f"/api/v1/meetings/{mid}/close", {})).status == 200
    closed = await room.wait_for("meeting-state", lambda s: s["status"] == "closed")
    assert closed["closed_at"] is not None
    ended = await room.wait_for("presence", lambda p: not any(x["online"] for x in p["participants"]))
    assert ended["counts"]["present"] == 3
    # a closed meeting has no room any more: no ticket, and no joining on a live connection
    refused = await (await world.as_user(people[1][0])).post(f"/api/v1/meetings/{mid}/join-ticket", {})
    assert (refused.status, refused.error_code) == (409, "meeting_closed")
    again = await room.join(mid)
    assert (again["ok"], again["error"]["code"]) == (False, "meeting_closed")


async def test_a_view_read_while_the_meeting_closes_is_not_kept(
    world: World, rooms: list[RoomClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race CI once hit: a presence push was reading the room's view when the REST close committed;
    the view it read (still open) must not outlive the close, or the closed room admits a join."""
    people = await link_members(world, "A", 2)
    mid = await online_meeting(world)
    room, _ = await joined(world, people[0][0], mid)
    rooms.append(room)
    sec_a = await world.as_user("sec_a")
    assert (await sec_a.post(f"/api/v1/meetings/{mid}/open", {"override_reason": "thử"})).status == 200
    hub = world.server.app[HUB]
    reading, release = asyncio.Event(), asyncio.Event()
    real_load = hub_module.load_snapshot

    async def slow_load(*args: Any) -> Any:
        loaded = await real_load(*args)
        if not release.is_set():  # only the first read is held back
            reading.set()
            await release.wait()
        return loaded

    monkeypatch.setattr(hub_module, "load_snapshot", slow_load)
    hub.invalidate(mid)
    push = asyncio.ensure_future(hub.snapshot(hub.room(mid)))
    await reading.wait()  # the view of the still-open meeting has been read, not yet stored
    assert (await sec_a.post(f"/api/v1/meetings/{mid}/close", {})).status == 200
    release.set()
    view = await push
    assert view is not None and view.meeting.status == "closed"
    again = await room.join(mid)  # the open view would have let the joined connection in again
    assert (again["ok"], again["error"]["code"]) == (False, "meeting_closed")


async def test_a_member_given_an_account_after_the_room_opened_is_admitted(
    world: World, rooms: list[RoomClient]
) -> None:
    people = await link_members(world, "A", 2)
    mid = await online_meeting(world)
    first, _ = await joined(world, people[0][0], mid)
    rooms.append(first)
    # the room now holds its view of the register; a member linked afterwards is not in it
    secretary = await world.as_user("sec_a")
    await world.add_user("late_member")
    linked = await secretary.patch(
        f"/api/v1/members/{world.members['A'][3]}", {"user_id": world.users["late_member"]}
    )
    assert linked.status == 200, linked.body
    late, ack = await joined(world, "late_member", mid)
    rooms.append(late)
    assert ack["self"]["member_id"] == world.members["A"][3]
    presence = await first.wait_for("presence", lambda p: p["counts"]["present"] == 2)
    assert {p["member_id"] for p in presence["participants"] if p["online"]} == {
        people[0][1],
        world.members["A"][3],
    }


async def test_changes_made_over_rest_reach_the_room_at_once(world: World, rooms: list[RoomClient]) -> None:
    people = await link_members(world, "A", 2)
    mid = await online_meeting(world)
    room, ack = await joined(world, people[0][0], mid)
    rooms.append(room)
    assert ack["self"]["is_chair"] is False
    secretary = await world.as_user("sec_a")
    excused = await secretary.post(
        f"/api/v1/meetings/{mid}/excuses", {"member_id": people[1][1], "reason": "Ốm."}
    )
    assert excused.status == 201, excused.body
    pushed = await room.wait_for(
        "presence",
        lambda p: any(
            x["member_id"] == people[1][1] and x["status"] == "absent_excused" for x in p["participants"]
        ),
    )
    assert pushed["counts"]["absent_excused"] == 1
    made_chair = await secretary.patch(f"/api/v1/meetings/{mid}", {"chair_id": people[0][1]})
    assert made_chair.status == 200, made_chair.body
    again = await room.join(mid)  # the state again, on the same connection
    assert again["self"]["is_chair"] is True
