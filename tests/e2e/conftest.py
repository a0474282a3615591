"""Browser fixtures: the real server on SQLite with the integration world, and Debian's headless Chromium.

A module that needs the server with some settings changed overrides `settings_overrides` only (as in
tests/integration/conftest.py).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, async_playwright

from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, CSP_WATCH, Watched
from tests.integration import harness
from tests.integration.harness import ApiClient, FakeClock, RunningServer
from tests.integration.world import World, build_world


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """The settings a module changes for its server (`harness.test_settings` keywords); none by default."""
    return {}


@pytest.fixture
async def server(tmp_path: Path, settings_overrides: dict[str, Any]) -> AsyncIterator[RunningServer]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cellmeet.db'}"
    running = await RunningServer.start(
        harness.test_settings(tmp_path, url, **settings_overrides), FakeClock()
    )
    yield running
    await running.stop()


@pytest.fixture
async def world(server: RunningServer) -> AsyncIterator[World]:
    clients: list[ApiClient] = []

    def make(lang: str = "vi") -> ApiClient:
        client = ApiClient(server.url, lang=lang)
        clients.append(client)
        return client

    yield await build_world(server, make)
    for client in clients:
        await client.close()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (make browser)")
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        await chromium.close()


@pytest.fixture
async def watch(browser: Browser, server: RunningServer) -> AsyncIterator[Callable[..., Awaitable[Watched]]]:
    contexts: list[BrowserContext] = []

    async def open_context(**options: Any) -> Watched:
        options.setdefault("locale", "vi-VN")
        options.setdefault("timezone_id", "Asia/Ho_Chi_Minh")
        context = await browser.new_context(**options)
        contexts.append(context)
        await context.add_init_script(CSP_WATCH)
        watched = Watched(context=context, base=str(server.url))
        context.on("request", watched._request)
        return watched

    yield open_context
    for context in contexts:
        await context.close()
