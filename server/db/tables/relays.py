"""The relays a chair recorded (issue 30, R-ATT-4): a member heard through another member's radio or phone."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from server.db.tables.columns import UTC_DATETIME


class MeetingRelay(SQLModel, table=True):
    """A member taking part in a meeting through another member during ``[starts_at, ends_at)``
    (migration 0015). Append-only: attendance (meetings.relays) reads it as presence."""

    __tablename__ = "meeting_relays"
    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meetings.id", index=True)
    member_id: int = Field(foreign_key="members.id")
    relayed_by: int = Field(foreign_key="members.id")
    channel: str = Field(max_length=10)  # radio, phone
    starts_at: datetime = Field(sa_type=UTC_DATETIME)
    ends_at: datetime = Field(sa_type=UTC_DATETIME)
    recorded_by: int = Field(foreign_key="users.id")
    recorded_at: datetime = Field(sa_type=UTC_DATETIME)
