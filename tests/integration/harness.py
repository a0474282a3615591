"""A real cellmeet server on a free loopback port, and an HTTP client that behaves like a browser session."""

from __future__ import annotations

import secrets
import socket
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from aiohttp import web
from yarl import URL

from server.app import create_app
from server.settings import Secret, Settings


class FakeClock:
    """A clock the tests can move (session expiry, validity dates)."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def test_settings(data_dir: Any, database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "database_url": database_url,
        "secret_key": Secret(secrets.token_urlsafe(48)),
    }
    values.update(overrides)
    return Settings(**values)


@dataclass
class RunningServer:
    app: web.Application
    runner: web.AppRunner
    url: URL
    clock: FakeClock

    @classmethod
    async def start(cls, settings: Settings, clock: FakeClock) -> RunningServer:
        app = create_app(settings, clock=clock)
        runner = web.AppRunner(app, handler_cancellation=True)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        return cls(app=app, runner=runner, url=URL(f"http://127.0.0.1:{port}"), clock=clock)

    async def stop(self) -> None:
        await self.runner.cleanup()


@dataclass
class Reply:
    status: int
    body: Any
    headers: Any

    @property
    def error_code(self) -> str | None:
        if isinstance(self.body, dict) and isinstance(self.body.get("error"), dict):
            return self.body["error"].get("code")
        return None


@dataclass
class ApiClient:
    """One user's session: cookies kept, the CSRF token sent on unsafe methods, like the web pages do."""

    base: URL
    lang: str = "vi"
    csrf: str | None = None
    bearer: str | None = None
    # False: a connection per request, closed after it (a test counting the server's sockets and tasks
    # must not count this client's idle keep-alive connections, whose number varies with timing).
    keep_alive: bool = True
    http: aiohttp.ClientSession = field(init=False)

    def __post_init__(self) -> None:
        connector = aiohttp.TCPConnector(force_close=not self.keep_alive)
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True), connector=connector)

    async def close(self) -> None:
        await self.http.close()

    async def request(
        self,
        method: str,
        path: str,
        json: Any = None,
        *,
        data: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        sent = {"Accept-Language": self.lang}
        if self.csrf and method not in ("GET", "HEAD"):
            sent["X-CSRF-Token"] = self.csrf
        if self.bearer:
            sent["Authorization"] = f"Bearer {self.bearer}"
        sent.update(headers or {})
        async with self.http.request(
            method, self.base.join(URL(path)), json=json, data=data, headers=sent
        ) as response:
            body: Any
            if response.content_type == "application/json":
                body = await response.json()
            else:
                body = await response.read()
            return Reply(response.status, body, response.headers)

    async def get(self, path: str, **kw: Any) -> Reply:
        return await self.request("GET", path, **kw)

    async def post(self, path: str, json: Any = None, **kw: Any) -> Reply:
        return await self.request("POST", path, json, **kw)

    async def put(self, path: str, json: Any = None, **kw: Any) -> Reply:
        return await self.request("PUT", path, json, **kw)

    async def patch(self, path: str, json: Any = None, **kw: Any) -> Reply:
        return await self.request("PATCH", path, json, **kw)

    async def login(self, username: str, password: str, otp: str | None = None) -> Reply:
        body: dict[str, Any] = {"username": username, "password": password}
        if otp:
            body["otp"] = otp
        reply = await self.post("/api/v1/auth/login", body)
        if reply.status == 200:
            self.csrf = reply.body["csrf_token"]
        return reply


def free_port() -> int:
    """A TCP port free on the loopback right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
