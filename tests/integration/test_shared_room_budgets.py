"""The live room's budgets shared by two processes through a real Redis (issue 26 point 3): a user who
floods through one process is cut off on the other too and may not come back there during the
cool-down, and the connections a user may hold are counted over both processes."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import socketio

from server.appkeys import SETTINGS
from server.settings import Secret
from tests.integration import harness
from tests.integration.harness import RunningServer
from tests.integration.room_client import RoomClient
from tests.integration.world import World

REDIS = "redis://127.0.0.1:6379/0"
LIMITS = {
    "room_events_per_second": 1.0,
    "room_event_burst": 20,
    "room_flood_cooldown_seconds": 30.0,
    "room_connections_per_user": 2,
}


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"redis_url": Secret(REDIS), "redis_prefix": f"cellmeet-test-{uuid.uuid4().hex[:10]}", **LIMITS}


@pytest.fixture
async def second(world: World, tmp_path: Path) -> AsyncIterator[RunningServer]:
    """Another process on the same database and Redis, with the same limits."""
    first = world.server.app[SETTINGS]
    data_dir = tmp_path / "process-2"
    data_dir.mkdir()
    settings = harness.test_settings(
        data_dir, first.database_url, redis_url=first.redis_url, redis_prefix=first.redis_prefix, **LIMITS
    )
    running = await RunningServer.start(settings, world.server.clock)
    yield running
    await running.stop()


async def cookie_of(world: World, username: str) -> str:
    session = await world.as_user(username)
    cookies = session.http.cookie_jar.filter_cookies(world.server.url)
    return "; ".join(f"{k}={v.value}" for k, v in cookies.items())


def client(server: RunningServer, cookie: str) -> RoomClient:
    url = str(server.url)
    return RoomClient(url, headers={"Cookie": cookie, "Origin": url.rstrip("/")})


async def eventually(check: Any, seconds: float = 3.0) -> bool:
    deadline = asyncio.get_running_loop().time() + seconds
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


async def test_a_flood_through_one_process_cuts_the_user_off_on_the_other(
    world: World, second: RunningServer, rooms: list[RoomClient]
) -> None:
    cookie = await cookie_of(world, "member_a")
    here, there = client(world.server, cookie), client(second, cookie)
    for room in (here, there):
        await room.connect()
        rooms.append(room)
    # Spent through the first process only: the budget is the user's, on every process.
    answers = []
    for _ in range(LIMITS["room_event_burst"] + 5):
        answers.append(await here.call("hand", {"raised": True}))
        if answers[-1].get("error", {}).get("code") == "rate_limited":
            break
    assert answers[-1]["error"]["code"] == "rate_limited", answers[-1]
    assert await eventually(lambda: any(name == "error" for name, _ in there.events)), there.events
    assert [data["code"] for name, data in there.events if name == "error"] == ["rate_limited"]
    assert await eventually(lambda: not there.sio.connected)
    # and coming back through the other process is refused during the cool-down
    again = client(second, cookie)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await again.connect()
    rooms.append(again)


async def test_the_connections_a_user_may_hold_are_counted_over_both_processes(
    world: World, second: RunningServer, rooms: list[RoomClient]
) -> None:
    cookie = await cookie_of(world, "member_a")
    for _ in range(LIMITS["room_connections_per_user"]):
        room = client(world.server, cookie)
        await room.connect()
        rooms.append(room)
    await asyncio.sleep(0.5)  # the first process's counts reach the second (every 50 ms)
    extra = client(second, cookie)
    rooms.append(extra)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await extra.connect()
    assert extra.connect_error["code"] == "too_many_connections"
