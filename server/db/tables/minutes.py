"""The tables of the minutes: the text's versions, edit keys, signatures and signed addenda."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from server.db.tables.columns import UTC_DATETIME


class Minutes(SQLModel, table=True):
    """The minutes (biên bản) of a meeting: the text version and its lifecycle. The texts themselves
    are the latest `minutes_edits` row of each field. `document` and `hash` are set at locking."""

    __tablename__ = "minutes"
    meeting_id: int = Field(foreign_key="meetings.id", primary_key=True)
    version: int = 0
    adopted_vote_id: int | None = Field(default=None, foreign_key="votes.id")
    adopted_at: datetime | None = Field(default=None, sa_type=UTC_DATETIME)
    locked_at: datetime | None = Field(default=None, sa_type=UTC_DATETIME)
    document: str | None = Field(default=None, sa_type=sa.Text)
    hash: str | None = Field(default=None, max_length=64)


class MinutesEdit(SQLModel, table=True):
    """One field's text after an accepted edit (append-only): the field's text at version v is its
    latest row with version <= v. `edit_id` (the client's key) makes retries idempotent."""

    __tablename__ = "minutes_edits"
    __table_args__ = (sa.UniqueConstraint("meeting_id", "version", "field"),)
    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meetings.id", index=True)
    version: int
    field: str = Field(max_length=20)
    text: str = Field(sa_type=sa.Text)
    edit_id: str | None = Field(default=None, max_length=64)
    base_version: int
    user_id: int = Field(foreign_key="users.id")
    at: datetime = Field(sa_type=UTC_DATETIME)


class MinutesEditKey(SQLModel, table=True):
    """The outcome of each client edit key, so a retried PUT answers as the first one did."""

    __tablename__ = "minutes_edit_keys"
    __table_args__ = (sa.UniqueConstraint("meeting_id", "edit_id"),)
    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meetings.id", index=True)
    edit_id: str = Field(max_length=64)
    version: int  # the version the edit produced (or found, when it changed nothing)
    merged: str = Field(default="", max_length=2000)  # comma-separated merged field names


class MinutesSignature(SQLModel, table=True):
    """A signature of the chair or the minute-taker (R-MIN-2); both lock the minutes (R-MIN-5)."""

    __tablename__ = "minutes_signatures"
    __table_args__ = (sa.UniqueConstraint("meeting_id", "role"),)
    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meetings.id", index=True)
    role: str = Field(max_length=20)
    member_id: int = Field(foreign_key="members.id")
    user_id: int = Field(foreign_key="users.id")
    signed_at: datetime = Field(sa_type=UTC_DATETIME)


class MinutesAddendum(SQLModel, table=True):
    """A signed correction after locking (R-MIN-5): refers to the original by its hash."""

    __tablename__ = "minutes_addenda"
    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meetings.id", index=True)
    text: str = Field(sa_type=sa.Text)
    member_id: int = Field(foreign_key="members.id")
    user_id: int = Field(foreign_key="users.id")
    created_at: datetime = Field(sa_type=UTC_DATETIME)
    hash: str = Field(max_length=64)
