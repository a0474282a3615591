"""`cellmeet serve` in its own process, as operators run it (killed with SIGKILL by the crash tests), and
the world those tests build for it: on the real clock, since the served process reads the real time.

A non-test module: the tests import the `world` fixture from here, never from one another.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from tests.integration import harness
from tests.integration.harness import ApiClient, FakeClock, RunningServer
from tests.integration.helpers import apply, decide, decision, schedule
from tests.integration.room_client import link_members
from tests.integration.world import World, build_world


class ServeProcess:
    """`cellmeet serve` as operators run it, in its own process."""

    def __init__(self, env: dict[str, str], port: int, log: Path) -> None:
        self.env, self.port, self.log = env, port, log
        self.process: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        cellmeet = Path(sys.executable).parent / "cellmeet"
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [str(cellmeet), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        async with aiohttp.ClientSession() as http:
            for _ in range(300):
                try:
                    async with http.get(f"http://127.0.0.1:{self.port}/healthz") as reply:
                        if reply.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.05)
        raise AssertionError("cellmeet serve did not start:\n" + self.log.read_text()[-3000:])

    async def terminate(self, seconds: float = 30.0) -> float:
        """SIGTERM, as systemd stops it; the seconds until the process exited."""
        assert self.process is not None and self.process.poll() is None
        loop = asyncio.get_running_loop()
        started = loop.time()
        self.process.send_signal(signal.SIGTERM)
        while self.process.poll() is None:
            assert loop.time() - started < seconds, f"cellmeet serve still running {seconds} s after SIGTERM"
            await asyncio.sleep(0.02)
        return loop.time() - started

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)


def serve_env(
    data_dir: Path, database_url: str, secret_key: str, *, many_connects: bool = False, **extra: str
) -> dict[str, str]:
    """The environment of a `cellmeet serve` on the test's database and key. `many_connects`: every
    client of the test connects from 127.0.0.1, so their reconnects together are not an attack."""
    env = {
        **os.environ,
        "CELLMEET_DATA_DIR": str(data_dir),
        "CELLMEET_DATABASE_URL": database_url,
        "CELLMEET_SECRET_KEY": secret_key,
        **extra,
    }
    if many_connects:
        env["CELLMEET_ROOM_CONNECT_BURST_PER_ADDRESS"] = "100000"
        env["CELLMEET_ROOM_CONNECTS_PER_ADDRESS_PER_SECOND"] = "100000"
    return env


def starts_now(world: World) -> str:
    """A start at the world's (real) now: a fixed date would fall out of the scheduling grace."""
    return str(world.server.clock.now.isoformat().replace("+00:00", "Z"))


@pytest.fixture
async def world(database_url: str, tmp_path: Path) -> AsyncIterator[World]:
    # The served process runs on the real clock: the world is built at the real now.
    clock = FakeClock()
    clock.now = datetime.now(UTC).replace(microsecond=0)
    running = await RunningServer.start(harness.test_settings(tmp_path, database_url), clock)
    clients: list[ApiClient] = []

    def make(lang: str = "vi") -> ApiClient:
        client = ApiClient(running.url, lang=lang)
        clients.append(client)
        return client

    built = await build_world(running, make)
    yield built
    for client in clients:
        await client.close()
    await running.stop()


async def online_meeting_now(world: World, linked: int) -> tuple[int, list[tuple[str, int]]]:
    """Cell A approved for the pilot, `linked` members with accounts, an online meeting starting now."""
    today = world.server.clock.now.date()
    application = await apply(world, "sec_a", "A")
    approval = decision(
        str(today - timedelta(days=1)), str(today + timedelta(days=300)), decided_on=str(today)
    )
    assert (await decide(await world.as_user("approver_c"), application["id"], approval)).status == 200
    people = await link_members(world, "A", linked)
    created = await schedule(world, "sec_a", "A", mode="online", starts_at=starts_now(world))
    assert created.status == 201, created.body
    return int(created.body["id"]), people


async def wait_until(condition: Callable[[], bool], seconds: float) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)
