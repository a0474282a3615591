"""Integration fixtures: a running server over the parametrised database, and a populated world.

A module that needs the server with some settings changed overrides `settings_overrides` only:

    @pytest.fixture
    def settings_overrides() -> dict[str, Any]:
        return {"presence_confirm_seconds": 0.6}

and `server`, `client_factory` and `world` follow.

The conftest's `world` is the one `build_world` makes, built once per test process and database kind
and copied for each test (tests/integration/world_template.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PG_ADMIN_DSN, _pg_url
from tests.integration import harness
from tests.integration.harness import ApiClient, FakeClock, RunningServer
from tests.integration.room_client import RoomClient
from tests.integration.world import World
from tests.integration.world_template import WorldTemplates


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """The settings a module changes for its server (`harness.test_settings` keywords); none by default."""
    return {}


@pytest.fixture
async def server(
    database_url: str, tmp_path: Path, settings_overrides: dict[str, Any]
) -> AsyncIterator[RunningServer]:
    settings = harness.test_settings(tmp_path, database_url, **settings_overrides)
    running = await RunningServer.start(settings, FakeClock())
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


@pytest.fixture(scope="session")
def world_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorldTemplates]:
    templates = WorldTemplates(tmp_path_factory.mktemp("world"), PG_ADMIN_DSN, _pg_url)
    yield templates
    templates.drop()


@pytest.fixture
def database_seed(request: pytest.FixtureRequest, world_templates: WorldTemplates) -> WorldTemplates | None:
    """A test that uses this conftest's `world` starts from the built world's database; a module with a
    `world` of its own (built on a server it starts itself) starts from the bare schema."""
    if "world" in request.fixturenames and not hasattr(request.module, "world"):
        return world_templates
    return None


@pytest.fixture
async def world(
    server: RunningServer,
    client_factory: Callable[..., ApiClient],
    world_templates: WorldTemplates,
    database_seed: WorldTemplates | None,
) -> World:
    assert database_seed is world_templates, "the world's database was not seeded"
    return world_templates.restore(server, client_factory)


@pytest.fixture
async def rooms() -> AsyncIterator[list[RoomClient]]:
    """The `/room` connections a test opens, closed after it."""
    opened: list[RoomClient] = []
    yield opened
    for client in opened:
        await client.close()
