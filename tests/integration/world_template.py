"""The populated world built once per test process and database kind, and copied for each test.

`build_world` goes through the public API (about a second per test on each database, the largest
part of the suite's set-up). Its result depends on nothing a test changes: the same people, units
and members at the same fake time. So each test process builds it once per database kind on a server
of its own, keeps the database (a SQLite file, or a PostgreSQL template database) and the world's
sessions, and every test that asks for the conftest's `world` starts from a copy of that database:

- the database: the SQLite file copied, or `CREATE DATABASE ... TEMPLATE` of the world's database;
- the `World`: the same ids, and the same logged-in clients (their session cookie and CSRF token:
  sessions live in the database, so they are valid on the copy), so a test sees what a freshly built
  world would have shown it, including the audit log of the build;
- the one piece of the build kept in the server's memory: the addresses each account logged in from
  (the login throttle's "known addresses").

A module that builds its own world (`build_world` on a server it configures) is untouched.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
from yarl import URL

from server.appkeys import SETTINGS, THROTTLE
from tests.integration import harness
from tests.integration.harness import ApiClient, FakeClock, RunningServer
from tests.integration.world import World, build_world

SQLITE_FILE = "cellmeet.db"


@dataclass(frozen=True)
class Session:
    """A logged-in world client, as plain values (no event loop attached)."""

    lang: str
    csrf: str | None
    cookies: dict[str, str]


@dataclass
class BuiltWorld:
    users: dict[str, int]
    orgs: dict[str, int]
    members: dict[str, list[int]]
    sessions: dict[str, Session]
    known: dict[str, dict[str, datetime]]


@dataclass
class WorldTemplates:
    """One built world per database kind, made on first use in this test process."""

    directory: Path
    pg_admin_dsn: str
    pg_url: Callable[[str], str]
    built: dict[str, BuiltWorld] = field(default_factory=dict)
    pg_database: str | None = None

    # --- the database a test starts from ---------------------------------------------------------

    def sqlite_file(self) -> Path:
        path = self.directory / "sqlite" / SQLITE_FILE
        if "sqlite" not in self.built:
            path.parent.mkdir(parents=True)
            self._build("sqlite", path.parent, f"sqlite+aiosqlite:///{path}")
        return path

    def pg_template(self, migrated: str) -> str:
        if self.pg_database is None:
            name = f"cellmeet_world_{uuid.uuid4().hex[:8]}"
            self._run(self._create_pg(name, migrated))
            (self.directory / "postgresql").mkdir(parents=True)
            self._build("postgresql", self.directory / "postgresql", self.pg_url(name))
            self.pg_database = name
        return self.pg_database

    # --- the World a test sees -------------------------------------------------------------------

    def restore(self, server: RunningServer, make_client: Callable[..., ApiClient]) -> World:
        url = str(server.app[SETTINGS].database_url)
        built = self.built["sqlite" if url.startswith("sqlite") else "postgresql"]
        world = World(
            server,
            make_client,
            users=dict(built.users),
            orgs=dict(built.orgs),
            members={org: list(ids) for org, ids in built.members.items()},
        )
        for key, saved in built.sessions.items():
            client = make_client(saved.lang)
            client.csrf = saved.csrf
            client.http.cookie_jar.update_cookies(saved.cookies, response_url=URL(str(server.url)))
            world.clients[key] = client
        throttle = server.app[THROTTLE]
        for username, addresses in built.known.items():
            for address, at in addresses.items():
                throttle.record_success(username, address, at)
        return world

    def drop(self) -> None:
        if self.pg_database is not None:
            self._run(self._drop_pg(self.pg_database))

    # --- building, on an event loop of its own (asked for from inside a running test loop) -------

    def _build(self, kind: str, data_dir: Path, database_url: str) -> None:
        self.built[kind] = self._run(self._build_world(data_dir, database_url))

    @staticmethod
    def _run(work: Any) -> Any:
        with ThreadPoolExecutor(1) as pool:
            return pool.submit(asyncio.run, work).result()

    @staticmethod
    async def _build_world(data_dir: Path, database_url: str) -> BuiltWorld:
        settings = harness.test_settings(data_dir, database_url, secret_key=secrets.token_urlsafe(48))
        running = await RunningServer.start(settings, FakeClock())
        clients: list[ApiClient] = []

        def make(lang: str = "vi") -> ApiClient:
            client = ApiClient(running.url, lang=lang)
            clients.append(client)
            return client

        try:
            world = await build_world(running, make)
            sessions = {
                key: Session(
                    lang=client.lang,
                    csrf=client.csrf,
                    cookies={morsel.key: morsel.value for morsel in client.http.cookie_jar},
                )
                for key, client in world.clients.items()
            }
            known = {
                username: dict(addresses) for username, addresses in running.app[THROTTLE]._known.items()
            }
            return BuiltWorld(world.users, world.orgs, world.members, sessions, known)
        finally:
            for client in clients:
                await client.close()
            await running.stop()

    async def _create_pg(self, name: str, migrated: str) -> None:
        conn = await asyncpg.connect(self.pg_admin_dsn)
        try:
            await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{migrated}"')
        finally:
            await conn.close()

    async def _drop_pg(self, name: str) -> None:
        conn = await asyncpg.connect(self.pg_admin_dsn)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()
