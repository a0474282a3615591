"""A real Janus in a network namespace of its own, and the server that uses it as its SFU: the fixtures
of the SFU tests (a room past `MIN_PEERS` members moves to Janus).

A non-test module: the tests import these fixtures from here, never from one another.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aioice.ice
import pytest

from server.bench.janus_net import JanusNet, available, janus_in_namespace
from tests.integration import harness
from tests.integration.harness import FakeClock, RunningServer
from tests.integration.sfu_member import SfuMember

MIN_PEERS = 6


@pytest.fixture
async def janus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[JanusNet]:
    missing = available()
    assert missing is None, missing  # never skipped: CI installs janus and runs as root
    async with janus_in_namespace(tmp_path) as net:
        # aiortc's members offer only the address Janus can reach (tech-notes: Janus recipe)
        monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: [net.host_address])
        yield net


@pytest.fixture
async def server(
    request: pytest.FixtureRequest, database_url: str, tmp_path: Path, janus: JanusNet
) -> AsyncIterator[RunningServer]:
    # Janus's WebSocket API (api.md's example of CELLMEET_SFU_URL) unless a test asks for its HTTP API
    url = janus.api_url if getattr(request, "param", "ws") == "http" else janus.ws_url
    settings = harness.test_settings(tmp_path, database_url, sfu_url=url, sfu_min_peers=MIN_PEERS)
    running = await RunningServer.start(settings, FakeClock())
    yield running
    await running.stop()


@pytest.fixture
async def members() -> AsyncIterator[list[SfuMember]]:
    made: list[SfuMember] = []
    yield made
    for member in made:
        await member.close()


async def until(condition: Callable[[], bool], seconds: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not condition():
        assert loop.time() < deadline, f"not within {seconds} s: {what}"
        await asyncio.sleep(0.05)


async def settled(counts: Callable[[], object], quiet: float = 0.5, seconds: float = 10) -> None:
    """Until the counts stop changing for `quiet` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    last = counts()
    while loop.time() < deadline:
        await asyncio.sleep(quiet)
        now = counts()
        if now == last:
            return
        last = now
    raise AssertionError(f"the counts kept changing for {seconds} s")
