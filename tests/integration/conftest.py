"""Integration fixtures: a running server over the parametrised database, and a populated world."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from tests.integration.harness import ApiClient, FakeClock, RunningServer, test_settings
from tests.integration.world import World, build_world


@pytest.fixture
async def server(database_url: str, tmp_path: Path) -> AsyncIterator[RunningServer]:
    running = await RunningServer.start(test_settings(tmp_path, database_url), FakeClock())
    yield running
    await running.stop()


@pytest.fixture
async def client_factory(server: RunningServer) -> AsyncIterator[Callable[..., ApiClient]]:
    clients: list[ApiClient] = []

    def make(lang: str = "vi") -> ApiClient:
        client = ApiClient(server.url, lang=lang)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


@pytest.fixture
async def world(server: RunningServer, client_factory: Callable[..., ApiClient]) -> World:
    return await build_world(server, client_factory)
