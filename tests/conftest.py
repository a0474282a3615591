"""Shared fixtures: a real database (SQLite file or a fresh PostgreSQL database) and a real server."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol

import asyncpg
import pytest
from hypothesis import settings as hypothesis_settings

from tests import reliability
from tests.scheduling import longest_files_first

# Passwords hashed with argon2's cheapest profile in the suite and the servers it starts (they inherit
# the environment): at the production cost every login spent about 0.3 s of CPU, a third of the suite's
# (server/auth/passwords.py). Set here, before any test module imports the server.
os.environ.setdefault("CELLMEET_INSECURE_FAST_PASSWORD_HASHING", "1")

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


class DatabaseSeed(Protocol):
    """What a test's database starts from instead of the bare migrated schema."""

    def sqlite_file(self) -> Path: ...

    def pg_template(self, migrated: str) -> str: ...


@pytest.fixture
def database_seed() -> DatabaseSeed | None:
    """None: the migrated schema only. A conftest overrides it (the integration world's copy)."""
    return None


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    seed: DatabaseSeed | None = request.getfixturevalue("database_seed")
    if request.param == "sqlite":
        path = tmp_path / "cellmeet.db"
        if seed is not None:
            shutil.copyfile(seed.sqlite_file(), path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    template = request.getfixturevalue("pg_template")
    if seed is not None:
        template = seed.pg_template(template)
    name = f"cellmeet_t_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    await conn.close()
    yield _pg_url(name)
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await conn.close()


# --- reliability rows of tests that failed before recording (tests/reliability.py) ---------------

_STARTED = pytest.StashKey[float]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> pytest.TestReport:
    report: pytest.TestReport = yield
    if call.when == "setup":
        item.stash[_STARTED] = call.start
    row = getattr(getattr(item, "module", None), "RELIABILITY_ROW", None)
    if report.failed and call.when in ("setup", "call") and row and item.get_closest_marker("reliability"):
        tier = "slow" if item.get_closest_marker("slow") else "fast"
        error = call.excinfo.exconly() if call.excinfo else str(report.longrepr)
        test = item.nodeid.removeprefix("tests/")
        if getattr(item.module, "RELIABILITY_TALLIED", False):
            # A module fixture writes the row of all its cases (tests/reliability.py `Tally`) and counts
            # the failed ones; only a broken set-up, which it never reaches, gets a line here, one for
            # the module.
            if call.when == "call":
                return report
            test = test.split("::")[0]
        since = item.stash.get(_STARTED, call.start)
        reliability.record_unmeasured(row, test, tier=tier, error=error, since=since)
    return report


# --- the order the workers take the files in (tests/scheduling.py) ------------------------------------


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    order = longest_files_first(items)
    items[:] = [items[i] for i in order]
