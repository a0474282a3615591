"""The migrations build exactly the schema the sqlmodel tables describe, on SQLite and PostgreSQL: a
column added to a table without a migration (or a migration that differs from its table) fails here."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import SQLModel

import server.db.tables  # noqa: F401  (fills SQLModel.metadata)
from server.db.migrate import upgrade


async def test_the_migrated_schema_equals_the_tables(database_url: str) -> None:
    engine = create_async_engine(database_url)
    try:
        await upgrade(engine)

        def differences(connection: Any) -> list[Any]:
            context = MigrationContext.configure(connection, opts={"compare_type": False})
            return compare_metadata(context, SQLModel.metadata)

        async with engine.connect() as connection:
            found = await connection.run_sync(differences)
    finally:
        await engine.dispose()
    assert found == []
