"""The rule sets an operator imported (`cellmeet rule-sets import`): each document as it was read."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from server.db.tables.columns import UTC_DATETIME


class RuleSetDocument(SQLModel, table=True):
    """One imported rule-set document (tệp bộ quy tắc); the built-in sets live in meetings/, not here.

    The registry is the built-in sets with these documents applied in `id` order, so a document that
    supersedes an imported set comes after it.
    """

    __tablename__ = "rule_set_documents"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=40, sa_column_kwargs={"unique": True})
    document: dict[str, Any] = Field(sa_type=sa.JSON)
    imported_at: datetime = Field(sa_type=UTC_DATETIME)
