"""Columns for queries, typed for mypy (sqlmodel's `col`, which returns its argument unchanged)."""

from __future__ import annotations

from typing import cast

from sqlalchemy.orm import Mapped
from sqlmodel import col


def key(column: int | None) -> Mapped[int]:
    """A table's primary key `id` in a query. The model types it `int | None` for a row not yet
    inserted; a value read back from the column is never NULL, so a selected id is an `int`."""
    return cast("Mapped[int]", col(column))
