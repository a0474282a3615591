"""The login throttle shared by several processes through a real Redis (issue 26 point 3): a guesser
locked out on one process is locked out on the others, an unlock on one lifts it everywhere, and a
process started later knows the locks of the last hour."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis
from yarl import URL

from server.appkeys import SETTINGS
from server.settings import Secret
from tests.integration import harness
from tests.integration.harness import ApiClient, Reply, RunningServer
from tests.integration.world import PASSWORD, World

REDIS = "redis://127.0.0.1:6379/0"
LOGIN = "/api/v1/auth/login"
GUESSER = "203.0.113.9"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    # As behind the shipped nginx (every connection from the proxy); a Redis prefix of this test's own.
    return {
        "trusted_proxies": ("127.0.0.1",),
        "redis_url": Secret(REDIS),
        "redis_prefix": f"cellmeet-test-{uuid.uuid4().hex[:10]}",
    }


@pytest.fixture
async def another_process(
    world: World, tmp_path: Path
) -> AsyncIterator[Callable[[], Awaitable[RunningServer]]]:
    """Another server on the same database and Redis, started when the test asks."""
    started: list[RunningServer] = []

    async def start() -> RunningServer:
        first = world.server.app[SETTINGS]
        data_dir = tmp_path / f"process-{len(started) + 2}"
        data_dir.mkdir()
        settings = harness.test_settings(
            data_dir,
            first.database_url,
            trusted_proxies=first.trusted_proxies,
            redis_url=first.redis_url,
            redis_prefix=first.redis_prefix,
        )
        running = await RunningServer.start(settings, world.server.clock)
        started.append(running)
        return running

    yield start
    for running in started:
        await running.stop()


async def login_at(server: URL, username: str, password: str, address: str = GUESSER) -> Reply:
    client = ApiClient(server)
    try:
        body = {"username": username, "password": password}
        return await client.post(LOGIN, body, headers={"X-Forwarded-For": address})
    finally:
        await client.close()


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float = 5.0) -> bool:
    deadline = asyncio.get_running_loop().time() + seconds
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


async def test_a_lock_on_one_process_holds_on_the_other_and_an_unlock_lifts_it_everywhere(
    world: World, another_process: Callable[[], Awaitable[RunningServer]]
) -> None:
    second = await another_process()
    limit = world.server.app[SETTINGS].login_failures_per_account_per_hour
    for attempt in range(limit):
        assert (await login_at(world.server.url, "sec_a", f"sai-{attempt}-mat-khau")).status == 401
    assert (await login_at(world.server.url, "sec_a", PASSWORD)).status == 429

    # The other process refuses the right password from the guesser's address too (nothing it was
    # told directly: only the first process saw the failures).
    async def locked_there() -> bool:
        return (await login_at(second.url, "sec_a", PASSWORD)).status == 429

    assert await eventually(locked_there)

    # The operator unlocks the account through the second process: the first lets it in again.
    operator = ApiClient(second.url)
    try:
        assert (await operator.login("operator", PASSWORD)).status == 200
        lifted = await operator.post(f"/api/v1/users/{world.users['sec_a']}/login-unlock", {})
        assert lifted.status == 200, lifted.body
    finally:
        await operator.close()

    async def unlocked_here() -> bool:
        return (await login_at(world.server.url, "sec_a", PASSWORD)).status == 200

    assert await eventually(unlocked_here)


async def test_a_process_started_later_knows_the_last_hours_locks(
    world: World, another_process: Callable[[], Awaitable[RunningServer]]
) -> None:
    limit = world.server.app[SETTINGS].login_failures_per_account_per_hour
    for attempt in range(limit):
        assert (await login_at(world.server.url, "member_a", f"sai-{attempt}-mat-khau")).status == 401
    # Once its failures are in Redis, a process started after them refuses at once.
    redis = Redis.from_url(REDIS)
    stream = f"{world.server.app[SETTINGS].redis_prefix}:throttle"
    try:

        async def sent() -> bool:
            return int(await redis.xlen(stream)) >= limit

        assert await eventually(sent)
    finally:
        await redis.aclose()
    later = await another_process()
    assert (await login_at(later.url, "member_a", PASSWORD)).status == 429
