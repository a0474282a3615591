"""Shared fixtures: a real database (SQLite file or a fresh PostgreSQL database) and a real server."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import asyncpg
import pytest
from hypothesis import settings as hypothesis_settings

hypothesis_settings.register_profile("ci", max_examples=200, deadline=None)
hypothesis_settings.register_profile("nightly", max_examples=10_000, deadline=None)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# CI and every developer machine run PostgreSQL here (tech-notes.md); a missing server is a failure.
PG_ADMIN_DSN = os.environ.get("CELLMEET_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def _pg_url(name: str) -> str:
    base = PG_ADMIN_DSN.rsplit("/", 1)[0]
    return base.replace("postgresql://", "postgresql+asyncpg://") + "/" + name


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """One migrated template database per run; each test copies it (CREATE DATABASE ... TEMPLATE)."""
    import asyncio

    from server.db.engine import Database
    from server.db.migrate import upgrade

    name = f"cellmeet_tmpl_{uuid.uuid4().hex[:8]}"

    async def create() -> None:
        conn = await asyncpg.connect(PG_ADMIN_DSN)
        await conn.execute(f'CREATE DATABASE "{name}"')
        await conn.close()
        db = Database(_pg_url(name))
        await upgrade(db.engine)
        await db.close()

    async def drop() -> None:
        conn = await asyncpg.connect(PG_ADMIN_DSN)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()

    # Requested from inside a running test loop: run the set-up on a loop of its own, in a thread.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, create()).result()
        yield name
        pool.submit(asyncio.run, drop()).result()


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'cellmeet.db'}"
        return
    template = request.getfixturevalue("pg_template")
    name = f"cellmeet_t_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    await conn.close()
    yield _pg_url(name)
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await conn.close()
