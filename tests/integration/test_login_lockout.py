"""Behind the shipped nginx the login limit cannot lock everyone out (issue 31, part 3): only a trusted
proxy's forwarded address is believed, the hard lock is per (account, address), other addresses get
delays of at most a minute, and the secretary or the operator can unlock an account (audited)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from server.appkeys import DATABASE
from server.auth.throttle import DELAY_CAP_SECONDS
from server.db.tables import AuditEvent
from tests.integration import harness
from tests.integration.harness import ApiClient, FakeClock, Reply, RunningServer
from tests.integration.room_client import link_members
from tests.integration.world import PASSWORD, World

LOGIN = "/api/v1/auth/login"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    # As behind the shipped nginx: every connection comes from 127.0.0.1, the proxy.
    return {"trusted_proxies": ("127.0.0.1",)}


async def login_from(world: World, address: str, username: str, password: str, **headers: str) -> Reply:
    client = world.make_client()
    body: dict[str, Any] = {"username": username, "password": password}
    return await client.post(LOGIN, body, headers={"X-Forwarded-For": address, **headers})


async def test_an_attacker_behind_the_proxy_locks_out_no_one_else(world: World) -> None:
    # 101 wrong logins spread over every account, from one forwarded address
    usernames = ["sec_a", "member_a", "sec_b", "auditor_p", "operator"]
    for attempt in range(101):
        reply = await login_from(world, "203.0.113.9", usernames[attempt % 5], f"wrong-{attempt}-password")
        assert reply.status in (401, 429)
    # every one of them still logs in from their own address, at once or within the delay cap
    for username in usernames:
        reply = await login_from(world, "198.51.100.7", username, PASSWORD)
        if reply.status == 429:
            assert int(reply.headers["Retry-After"]) <= DELAY_CAP_SECONDS
            world.server.clock.advance(seconds=DELAY_CAP_SECONDS)
            reply = await login_from(world, "198.51.100.7", username, PASSWORD)
        assert reply.status == 200, (username, reply.body)


async def test_the_hard_lock_is_on_the_account_from_that_address(world: World) -> None:
    for attempt in range(20):
        assert (await login_from(world, "203.0.113.9", "sec_a", f"wrong-{attempt}-password")).status == 401
    locked = await login_from(world, "203.0.113.9", "sec_a", PASSWORD)
    assert locked.status == 429 and int(locked.headers["Retry-After"]) > DELAY_CAP_SECONDS
    elsewhere = await login_from(world, "198.51.100.7", "sec_a", PASSWORD)
    if elsewhere.status == 429:  # a growing delay, never an hour
        assert int(elsewhere.headers["Retry-After"]) <= DELAY_CAP_SECONDS
        world.server.clock.advance(seconds=DELAY_CAP_SECONDS)
        elsewhere = await login_from(world, "198.51.100.7", "sec_a", PASSWORD)
    assert elsewhere.status == 200, elsewhere.body


async def test_delays_grow_and_are_capped(world: World) -> None:
    waits = []
    for attempt in range(30):
        address = f"192.0.2.{attempt + 1}"  # a guesser moving between addresses
        reply = await login_from(world, address, "member_a", f"wrong-{attempt}-password")
        if reply.status == 429:
            waits.append(int(reply.headers["Retry-After"]))
            world.server.clock.advance(seconds=waits[-1])
            reply = await login_from(world, address, "member_a", f"wrong-{attempt}-password")
        assert reply.status == 401
    assert waits == sorted(waits) and waits[-1] == DELAY_CAP_SECONDS and waits[0] < DELAY_CAP_SECONDS


async def test_guessers_on_many_addresses_never_delay_the_owners_usual_address(world: World) -> None:
    assert (await login_from(world, "198.51.100.7", "member_a", PASSWORD)).status == 200
    clock = world.server.clock
    # Guessers on three addresses, each try the moment the previous delay ends, until the account's
    # delay is at its cap: they can keep it running for as long as they like.
    for attempt in range(27):
        address = f"203.0.113.{attempt % 3 + 1}"
        reply = await login_from(world, address, "member_a", f"wrong-{attempt}-password")
        if reply.status == 429:
            clock.advance(seconds=int(reply.headers["Retry-After"]))
            reply = await login_from(world, address, "member_a", f"wrong-{attempt}-password")
        assert reply.status == 401, (attempt, reply.body)
    new_place = await login_from(world, "192.0.2.77", "member_a", PASSWORD)
    assert new_place.status == 429 and int(new_place.headers["Retry-After"]) <= DELAY_CAP_SECONDS
    usual = await login_from(world, "198.51.100.7", "member_a", PASSWORD)
    assert usual.status == 200, usual.body


async def test_an_untrusted_peers_forwarded_header_is_ignored(database_url: str, tmp_path: Path) -> None:
    (tmp_path / "direct").mkdir()
    settings = harness.test_settings(tmp_path / "direct", database_url, login_failures_per_address_per_hour=5)
    direct = await RunningServer.start(settings, FakeClock())
    clients: list[ApiClient] = []

    def make_client(lang: str = "vi") -> ApiClient:
        clients.append(ApiClient(direct.url, lang=lang))
        return clients[-1]

    try:
        world = World(direct, make_client)
        # Without a trusted proxy, changing X-Forwarded-For does not escape the address's limit.
        for attempt in range(5):
            reply = await login_from(world, f"10.0.0.{attempt}", f"nobody-{attempt}", "wrong-password-here")
            assert reply.status == 401
        sprayed = await login_from(world, "10.9.9.9", "nobody-else", "wrong-password-here")
        assert sprayed.status == 429
    finally:
        for client in clients:
            await client.close()
        await direct.stop()


async def test_the_secretary_and_the_operator_unlock_an_account(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    ((username, _),) = await link_members(world, "A", 1)
    caplog.set_level(logging.WARNING, logger="cellmeet.auth")
    for attempt in range(20):
        await login_from(world, "203.0.113.9", username, f"wrong-{attempt}-password")
    assert (await login_from(world, "203.0.113.9", username, PASSWORD)).status == 429
    user_id = world.users[username]

    # Someone else's secretary, or a member, may not.
    assert (
        await (await world.as_user("sec_b")).post(f"/api/v1/users/{user_id}/login-unlock", {})
    ).status in (
        403,
        404,
    )
    assert (
        await (await world.as_user("member_a")).post(f"/api/v1/users/{user_id}/login-unlock", {})
    ).status == 403
    unlocked = await (await world.as_user("sec_a")).post(f"/api/v1/users/{user_id}/login-unlock", {})
    assert unlocked.status == 200, unlocked.body
    assert (await login_from(world, "203.0.113.9", username, PASSWORD)).status == 200

    for attempt in range(20):
        await login_from(world, "203.0.113.9", username, f"wrong-{attempt}-password")
    assert (
        await (await world.as_user("operator")).post(f"/api/v1/users/{user_id}/login-unlock", {})
    ).status == 200
    assert (await login_from(world, "203.0.113.9", username, PASSWORD)).status == 200

    async with world.server.app[DATABASE].read() as session:
        rows = (
            (
                await session.execute(select(AuditEvent).where(AuditEvent.action == "auth.login_unlocked"))  # type: ignore[arg-type]
            )
            .scalars()
            .all()
        )
    assert [row.actor_user_id for row in rows] == [world.users["sec_a"], world.users["operator"]]
    # a failed login names the account only when there is one
    await login_from(world, "203.0.113.10", "mật-khẩu-gõ-nhầm-ô", "x" * 12)
    messages = [r.getMessage() for r in caplog.records]
    assert not any("mật-khẩu-gõ-nhầm-ô" in m for m in messages)
    assert any(f"user={user_id} ({username})" in m for m in messages)
