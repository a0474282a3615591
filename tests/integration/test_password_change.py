"""A user changes their own password (issue 31, part 2: "all revoked on a password or 2FA change"): only
with the current password, and then every script token and every other session of the account ends,
their live-room connections included."""

from __future__ import annotations

import asyncio

import pyotp

from tests.integration.harness import ApiClient
from tests.integration.room_client import RoomClient, link_members, online_meeting
from tests.integration.world import PASSWORD, World

CHANGE = "/api/v1/auth/password"
ME = "/api/v1/auth/me"
NEW_PASSWORD = "một-mật-khẩu-mới-đủ-dài-2026"


async def second_session(world: World, username: str, password: str = PASSWORD) -> ApiClient:
    client = world.make_client()
    reply = await client.login(username, password)
    assert reply.status == 200, reply.body
    return client


async def audit_actions(world: World, user_id: int) -> list[str]:
    operator = await world.as_user("operator")
    entries = (await operator.get("/api/v1/audit/log")).body["entries"]
    return [e["action"] for e in entries if e["target"] == f"user:{user_id}"]


async def test_a_wrong_current_password_changes_nothing(world: World) -> None:
    member = await world.as_user("member_a")
    wrong = await member.post(
        CHANGE, {"current_password": "not-my-password-at-all", "new_password": NEW_PASSWORD}
    )
    assert wrong.status == 403 and wrong.error_code == "reauth_required", wrong.body
    assert "Mật khẩu hiện tại" in wrong.body["error"]["message"]
    await second_session(world, "member_a")  # the old password still works
    assert "auth.reauth_failed" in await audit_actions(world, world.users["member_a"])


async def test_a_weak_or_unchanged_new_password_is_refused(world: World) -> None:
    member = await world.as_user("member_a")
    weak = await member.post(CHANGE, {"current_password": PASSWORD, "new_password": "short"})
    assert weak.status == 422 and weak.error_code == "weak_password", weak.body
    same = await member.post(CHANGE, {"current_password": PASSWORD, "new_password": PASSWORD})
    assert same.status == 422 and same.error_code == "same_password", same.body
    await second_session(world, "member_a")  # refused: the old password still works


async def test_the_change_ends_other_sessions_tokens_and_their_room_connections(
    world: World, rooms: list[RoomClient]
) -> None:
    [(username, _)] = await link_members(world, "A", 1)
    mid = await online_meeting(world, "A")
    here = await world.as_user(username)
    elsewhere = await second_session(world, username)
    made = await here.post("/api/v1/auth/tokens", {"name": "nightly", "password": PASSWORD})
    assert made.status == 201, made.body
    ticket = await elsewhere.post(f"/api/v1/meetings/{mid}/join-ticket", {})
    assert ticket.status == 201, ticket.body
    live = RoomClient(str(world.server.url), auth={"token": ticket.body["token"]})
    await live.connect()
    rooms.append(live)
    assert (await live.join(mid))["ok"] is True

    changed = await here.post(CHANGE, {"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert changed.status == 200, changed.body
    assert changed.body == {"changed": True, "sessions_ended": 1}

    assert (await here.get(ME)).status == 200  # the session that changed it goes on
    assert (await elsewhere.get(ME)).status == 401
    script = world.make_client()
    script.bearer = made.body["token"]
    assert (await script.get(ME)).status == 401
    for _ in range(50):
        if not live.sio.connected:
            break
        await asyncio.sleep(0.02)
    assert not live.sio.connected  # the other session's seat in the room ended within a second

    old = world.make_client()
    assert (await old.login(username, PASSWORD)).status == 401
    await second_session(world, username, NEW_PASSWORD)
    actions = await audit_actions(world, world.users[username])
    assert "auth.password_changed" in actions and "auth.token_revoked" in actions


async def test_with_two_factor_on_the_code_is_needed_too(world: World) -> None:
    member = await world.as_user("member_a")
    secret = (await member.post("/api/v1/auth/totp", {})).body["secret"]
    code = pyotp.TOTP(secret).at(world.server.clock())
    assert (await member.post("/api/v1/auth/totp/confirm", {"otp": code})).status == 200
    world.server.clock.advance(seconds=60)
    no_code = await member.post(CHANGE, {"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert no_code.status == 403 and no_code.error_code == "reauth_required"
    code = pyotp.TOTP(secret).at(world.server.clock())
    changed = await member.post(
        CHANGE, {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "otp": code}
    )
    assert changed.status == 200, changed.body


async def test_a_script_token_cannot_change_the_password(world: World) -> None:
    member = await world.as_user("member_a")
    made = await member.post("/api/v1/auth/tokens", {"name": "script", "password": PASSWORD})
    script = world.make_client()
    script.bearer = made.body["token"]
    refused = await script.post(CHANGE, {"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert refused.status == 403 and refused.error_code == "session_required", refused.body
    await second_session(world, "member_a")  # the old password still works
