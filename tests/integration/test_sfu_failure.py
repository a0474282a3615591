"""Janus failing and returning mid-meeting (issue 27), with a real Janus in its own namespace and real
aiortc members: a SIGKILLed Janus is noticed and every member told, in Vietnamese, within 5 s; the
room (8 members, past the mesh's size) waits for Janus without anyone leaving; when Janus answers
again the room is made again and audio flows between every pair within 10 s; attendance shows one
interval per member through it all. `/healthz` and `/metrics` say what the operator must know.
A room small enough for the mesh goes back to it, each member told whom to meet directly."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from server.bench.janus_net import JanusNet
from tests.integration.harness import RunningServer
from tests.integration.room_client import RoomClient, cell_of, joined, online_meeting
from tests.integration.sfu_member import SfuMember
from tests.integration.sfu_server import MIN_PEERS, janus, members, server, until
from tests.integration.world import World

__all__ = ["janus", "members", "server"]

MEMBERS = 8
TOLD_WITHIN_SECONDS = 5.0
AUDIO_BACK_WITHIN_SECONDS = 10.0
VIETNAMESE = re.compile(r"[ạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹđ]", re.IGNORECASE)


async def healthz(world: World) -> dict[str, Any]:
    reply = await world.make_client().get("/healthz")
    assert reply.status == 200, reply.body  # Janus down never takes the process out
    body: dict[str, Any] = reply.body
    return body


async def gauges(world: World) -> dict[str, float]:
    text = (await world.make_client().get("/metrics")).body.decode()
    found = {}
    for line in text.splitlines():
        match = re.match(r"^(cellmeet_sfu_\w+) (\S+)$", line)
        if match:
            found[match[1]] = float(match[2])
    return found


async def on_the_sfu(
    world: World, size: int, rooms: list[RoomClient], members: list[SfuMember]
) -> tuple[int, list[tuple[str, int]]]:
    """`size` members of cell A in one online meeting on the SFU, each hearing every other: the
    meeting and the members (username, member id)."""
    people = await cell_of(world, size)
    mid = await online_meeting(world, "A")
    for username, _ in people:
        client, ack = await joined(world, username, mid)
        rooms.append(client)
        members.append(SfuMember(client, ack["self"]["peer_id"]))
    assert ack["media"]["mode"] == "sfu"
    opened = await (await world.as_user("sec_a")).post(f"/api/v1/meetings/{mid}/open", {})
    assert opened.status == 200, opened.body  # attendance intervals run from the opening
    await asyncio.gather(*(member.publish() for member in members))
    await subscribed_to_everyone(rooms, members)
    await hearing_everyone(members, since={m.peer_id: {} for m in members}, seconds=10)
    return mid, people


async def subscribed_to_everyone(rooms: list[RoomClient], members: list[SfuMember]) -> None:
    everyone = {member.peer_id for member in members}

    def feeds_complete() -> bool:
        return all(
            c.received("sfu-feeds")
            and {f["peer_id"] for f in c.received("sfu-feeds")[-1]["feeds"]} == everyone
            for c in rooms
        )

    await until(feeds_complete, 10, "every member told of every feed")
    await asyncio.gather(*(member.subscribe() for member in members))


async def hearing_everyone(
    members: list[SfuMember], since: dict[str, dict[str, int]], seconds: float
) -> None:
    """Every ordered pair: more audio frames heard than `since` (ten at least: a stream, not a blip)."""

    def everyone_heard() -> bool:
        return all(
            listener.received.get(speaker.peer_id, 0) >= since[listener.peer_id].get(speaker.peer_id, 0) + 10
            for listener in members
            for speaker in members
            if speaker is not listener
        )

    await until(everyone_heard, seconds, "audio between every pair")


async def test_janus_killed_and_back_mid_meeting(
    janus: JanusNet, server: RunningServer, world: World, rooms: list[RoomClient], members: list[SfuMember]
) -> None:
    mid, people = await on_the_sfu(world, MEMBERS, rooms, members)
    assert (await healthz(world))["sfu"] == "reachable"
    assert (await gauges(world))["cellmeet_sfu_publishers"] == MEMBERS
    loop = asyncio.get_running_loop()

    # Janus dies as in a crash: every member is told within 5 s, in Vietnamese (their language),
    # and the room waits for Janus (8 members: past the mesh's size); nobody leaves.
    killed_at = loop.time()
    await janus.kill()
    told_at: dict[str, float] = {}

    def all_told() -> bool:
        for client, member in zip(rooms, members, strict=True):
            if member.peer_id not in told_at and any(
                p.get("sfu") == "lost" for p in client.received("media")
            ):
                told_at[member.peer_id] = loop.time()
        return len(told_at) == MEMBERS

    await until(all_told, TOLD_WITHIN_SECONDS, "every member told that the media server was lost")
    assert max(told_at.values()) - killed_at < TOLD_WITHIN_SECONDS
    for client in rooms:
        lost = next(p for p in client.received("media") if p.get("sfu") == "lost")
        assert (lost["mode"], lost["reason"]) == ("sfu", "sfu_unavailable"), lost
        assert VIETNAMESE.search(lost["message"]), lost["message"]
        assert "peers" not in lost  # not a mesh: nobody is to be called directly
        assert not client.received("peer-left")
    assert (await healthz(world))["sfu"] == "unreachable"
    assert (await gauges(world))["cellmeet_sfu_reachable"] == 0
    # negotiating now is refused with a clear answer, not a hang
    refused = await rooms[0].call("sfu-subscribe", {})
    assert (refused["ok"], refused["error"]["code"]) == (False, "sfu_unavailable"), refused

    # Janus back: within 10 s of it answering, the room is made again, every member is told and
    # renegotiates without leaving, and audio flows again between every pair.
    heard_before = {m.peer_id: dict(m.received) for m in members}
    for client in rooms:  # the feeds told from now on are those of the new room
        client.events[:] = [(name, data) for name, data in client.events if name != "sfu-feeds"]
    await janus.start()
    answering_at = loop.time()  # janus.start returns once Janus's API answers
    await until(
        lambda: all(any(p.get("sfu") == "back" for p in c.received("media")) for c in rooms),
        AUDIO_BACK_WITHIN_SECONDS,
        "every member told that the media server answers again",
    )
    back = next(p for p in rooms[0].received("media") if p.get("sfu") == "back")
    assert (back["mode"], back["reason"]) == ("sfu", "room_size"), back
    await asyncio.gather(*(member.start_again() for member in members))
    await subscribed_to_everyone(rooms, members)
    left = AUDIO_BACK_WITHIN_SECONDS - (loop.time() - answering_at)
    await hearing_everyone(members, since=heard_before, seconds=max(left, 0))
    assert (await healthz(world))["sfu"] == "reachable"
    metrics = await gauges(world)
    assert (metrics["cellmeet_sfu_reachable"], metrics["cellmeet_sfu_rooms"]) == (1, 1)
    assert metrics["cellmeet_sfu_publishers"] == MEMBERS

    # attendance: one interval per member, through the loss and the return
    for client in rooms:
        assert not client.received("peer-left")
    server.clock.advance(minutes=10)
    sec_a = await world.as_user("sec_a")
    attendance = await sec_a.get(f"/api/v1/meetings/{mid}/attendance")
    assert attendance.status == 200, attendance.body
    by_member = {row["member_id"]: row for row in attendance.body["members"]}
    for _, member_id in people:
        assert len(by_member[member_id]["intervals"]) == 1, by_member[member_id]
        assert by_member[member_id]["status"] == "present", by_member[member_id]


async def test_a_room_small_enough_goes_back_to_the_mesh(
    janus: JanusNet, server: RunningServer, world: World, rooms: list[RoomClient], members: list[SfuMember]
) -> None:
    # A room of MIN_PEERS members on the SFU; two leave, and Janus dies: four meet directly.
    mid, people = await on_the_sfu(world, MIN_PEERS, rooms, members)
    for client in rooms[:2]:
        assert (await client.call("leave", {}))["ok"] is True
    staying = rooms[2:]
    await janus.kill()
    await until(
        lambda: all(any(p.get("sfu") == "lost" for p in c.received("media")) for c in staying),
        TOLD_WITHIN_SECONDS,
        "every member still there told",
    )
    for client, member in zip(staying, members[2:], strict=True):
        lost = next(p for p in client.received("media") if p.get("sfu") == "lost")
        assert (lost["mode"], lost["reason"]) == ("mesh", "sfu_unavailable"), lost
        assert VIETNAMESE.search(lost["message"]), lost["message"]
        others = {m.peer_id for m in members[2:]} - {member.peer_id}
        assert {peer["peer_id"] for peer in lost["peers"]} == others
    # they signal each other directly again, through the server's relay as any mesh
    offer = {"type": "offer", "sdp": "v=0\r\n"}
    relayed = await staying[0].call("signal", {"to": members[3].peer_id, "description": offer})
    assert relayed == {"ok": True}, relayed
    await staying[1].wait_for("signal", lambda s: s["from"] == members[2].peer_id)
    # Janus back: the room stays a mesh until a join brings it to the SFU's size again (members on
    # phones are not renegotiated back and forth); a member who joins again is told "mesh"
    await janus.start()
    await until_reachable(world)
    assert not any(p.get("sfu") == "back" for c in staying for p in c.received("media"))
    client, ack = await joined(world, people[0][0], mid)
    rooms.append(client)
    assert ack["topology"] == {"mode": "mesh", "reason": "below_sfu_size", "sfu_min_peers": MIN_PEERS}
    client, ack = await joined(world, people[1][0], mid)  # the size again: Janus is asked, and answers
    rooms.append(client)
    assert ack["topology"] == {"mode": "sfu", "reason": "room_size", "sfu_min_peers": MIN_PEERS}
    await staying[0].wait_for("media", lambda p: p["mode"] == "sfu" and "sfu" not in p)


async def until_reachable(world: World) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5
    while (await healthz(world))["sfu"] != "reachable":
        assert loop.time() < deadline, "Janus not seen answering within 5 s of its start"
        await asyncio.sleep(0.1)
