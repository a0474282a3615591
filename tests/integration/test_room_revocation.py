"""Access that ends must end in the live room too (issue 31, part 1): a member suspended or unlinked
mid-meeting, a unit's approval revoked, a logout, and join tickets used once."""

from __future__ import annotations

import asyncio

import pytest
import socketio

from tests.integration.helpers import apply, decide, decision, schedule
from tests.integration.room_client import RoomClient, joined, link_members, ticket
from tests.integration.world import PASSWORD, World

# The bar: the revoked user's sockets are closed within 1 s of the change.
REVOKED_WITHIN = 1.0


async def approved_online_meeting(world: World) -> tuple[int, int]:
    """(meeting, approved application) of cell A."""
    application = await apply(world, "sec_a", "A")
    reply = await decide(await world.as_user("approver_c"), application["id"], decision())
    assert reply.status == 200, reply.body
    created = await schedule(world, "sec_a", "A", mode="online")
    assert created.status == 201, created.body
    return int(created.body["id"]), int(application["id"])


async def closed_within(client: RoomClient, seconds: float) -> bool:
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while loop.time() < end:
        if not client.sio.connected:
            return True
        await asyncio.sleep(0.02)
    return not client.sio.connected


async def two_in_the_room(world: World, rooms: list[RoomClient]) -> tuple[int, int, list[tuple[str, int]]]:
    people = await link_members(world, "A", 2)
    mid, application = await approved_online_meeting(world)
    for username, _ in people:
        client, _ = await joined(world, username, mid)
        rooms.append(client)
    return mid, application, people


async def test_a_member_suspended_mid_meeting_is_out_of_the_room_at_once(
    world: World, rooms: list[RoomClient]
) -> None:
    mid, _, people = await two_in_the_room(world, rooms)
    stays, goes = rooms
    secretary = await world.as_user("sec_a")
    changed = await secretary.patch(f"/api/v1/members/{people[1][1]}", {"activity": "suspended"})
    assert changed.status == 200, changed.body

    assert await closed_within(goes, REVOKED_WITHIN)
    told = goes.received("error")
    assert told and told[0]["code"] == "access_revoked" and told[0]["reason"] == "member_suspended"
    left = await stays.wait_for("peer-left", timeout=2)
    assert left["member_id"] == people[1][1]
    assert (await stays.call("hand", {"raised": True}))["ok"] is True  # the other member stays

    # No new ticket, no TURN credential, no way back in.
    suspended = await world.as_user(people[1][0])
    refused = await suspended.post(f"/api/v1/meetings/{mid}/join-ticket", {})
    assert refused.status == 403 and refused.error_code == "member_suspended"
    assert refused.body["error"]["rule"] == "R-BASE-1"
    assert (await suspended.get(f"/api/v1/meetings/{mid}/ice-servers")).error_code == "member_suspended"


async def test_a_hand_raised_right_after_the_suspension_is_answered_has_no_effect(
    world: World, rooms: list[RoomClient]
) -> None:
    """quality.md S3: the revoked member's socket is still open for a moment after the REST answer
    (the recheck runs after it); an event sent in that moment is refused, the others see nothing."""
    _, _, people = await two_in_the_room(world, rooms)
    stays, goes = rooms
    mark = stays.mark()
    secretary = await world.as_user("sec_a")
    changed = await secretary.patch(f"/api/v1/members/{people[1][1]}", {"activity": "suspended"})
    assert changed.status == 200, changed.body
    try:
        raised = await goes.call("hand", {"raised": True}, timeout=2)
    except socketio.exceptions.SocketIOError:
        raised = None  # closed before the answer came
    assert raised is None or raised["error"]["code"] == "not_joined", raised
    await stays.wait_for("peer-left", timeout=2, since=mark)
    seen = [data["hands"] for name, data in stays.events[mark:] if name == "hands"]
    assert all(hands == [] for hands in seen), seen
    assert (await stays.call("hand", {"raised": False}))["hands"] == []


async def test_a_member_unlinked_from_their_account_is_out_of_the_room(
    world: World, rooms: list[RoomClient]
) -> None:
    _, _, people = await two_in_the_room(world, rooms)
    secretary = await world.as_user("sec_a")
    changed = await secretary.patch(f"/api/v1/members/{people[0][1]}", {"user_id": None})
    assert changed.status == 200, changed.body
    assert await closed_within(rooms[0], REVOKED_WITHIN)
    assert rooms[1].sio.connected


async def test_revoking_the_units_approval_ends_the_running_online_room(
    world: World, rooms: list[RoomClient]
) -> None:
    _, application, _ = await two_in_the_room(world, rooms)
    approver = await world.as_user("approver_c")
    revoked = await approver.post(
        f"/api/v1/pilot-applications/{application}/revoke", {"reason": "Hết điều kiện"}
    )
    assert revoked.status == 200, revoked.body
    for client in rooms:
        assert await closed_within(client, REVOKED_WITHIN)
        assert client.received("error")[0]["code"] == "access_revoked"


async def test_a_join_ticket_opens_one_connection(world: World, rooms: list[RoomClient]) -> None:
    people = await link_members(world, "A", 1)
    mid, _ = await approved_online_meeting(world)
    token = await ticket(world, people[0][0], mid)
    first = RoomClient(str(world.server.url), auth={"token": token})
    await first.connect()
    rooms.append(first)
    again = RoomClient(str(world.server.url), auth={"token": token})
    with pytest.raises(socketio.exceptions.ConnectionError):
        await again.connect()
    assert again.connect_error["code"] == "ticket_used"


async def test_logout_ends_the_sessions_ticket_connections_and_unused_tickets(
    world: World, rooms: list[RoomClient]
) -> None:
    people = await link_members(world, "A", 1)
    mid, _ = await approved_online_meeting(world)
    session = await world.as_user(people[0][0])
    tokens = []
    for _ in range(2):
        reply = await session.post(f"/api/v1/meetings/{mid}/join-ticket", {})
        assert reply.status == 201, reply.body
        tokens.append(reply.body["token"])
    live = RoomClient(str(world.server.url), auth={"token": tokens[0]})
    await live.connect()
    rooms.append(live)
    assert (await live.join(mid))["ok"] is True

    assert (await session.post("/api/v1/auth/logout", {})).status == 200
    assert await closed_within(live, REVOKED_WITHIN)
    late = RoomClient(str(world.server.url), auth={"token": tokens[1]})
    with pytest.raises(socketio.exceptions.ConnectionError):
        await late.connect()
    assert late.connect_error["code"] == "session_ended"


async def test_a_script_token_cannot_get_a_join_ticket(world: World) -> None:
    people = await link_members(world, "A", 1)
    mid, _ = await approved_online_meeting(world)
    session = await world.as_user(people[0][0])
    made = await session.post("/api/v1/auth/tokens", {"name": "script", "password": PASSWORD})
    assert made.status == 201, made.body
    script = world.make_client()
    script.bearer = made.body["token"]
    refused = await script.post(f"/api/v1/meetings/{mid}/join-ticket", {})
    assert refused.status == 403 and refused.error_code == "token_cannot_join"
