"""The tables of a meeting and around it: the meeting, its agenda, templates, excuses, presence, notices."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from server.db.tables.columns import UTC_DATETIME


class Meeting(SQLModel, table=True):
    """A scheduled, open or closed meeting (buổi sinh hoạt) of a cell, grassroots committee or party group."""

    __tablename__ = "meetings"
    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="orgs.id", index=True)
    kind: str = Field(max_length=20)
    mode: str = Field(max_length=20)
    status: str = Field(max_length=20)
    title: str = Field(max_length=200)
    starts_at: datetime = Field(sa_type=UTC_DATETIME)
    duration_minutes: int
    chair_id: int | None = Field(default=None, foreign_key="members.id")
    minute_taker_id: int | None = Field(default=None, foreign_key="members.id")
    # The template the agenda was copied from (agenda_templates.id), kept for the record.
    agenda_template_id: int | None = None
    created_by: int = Field(foreign_key="users.id")
    created_at: datetime = Field(sa_type=UTC_DATETIME)
    # Set by POST /meetings/{id}/open and /close (migration 0003).
    opened_at: datetime | None = Field(default=None, sa_type=UTC_DATETIME)
    closed_at: datetime | None = Field(default=None, sa_type=UTC_DATETIME)
    # The chair's reason for opening below quorum (R-QUOR-1), flagged in the audit log.
    quorum_override_reason: str | None = Field(default=None, max_length=1000)
    # The on-site place of a hybrid or in-person meeting (R-MIN-4); migration 0004.
    place: str = Field(default="", max_length=300)
    # The agenda item being discussed while the meeting is open (position), migration 0004.
    current_item: int | None = None
    # Who was summoned, fixed at the close (migration 0008): the record of a closed meeting does not
    # follow later changes of the register (a member added, moved to another group, a group dissolved).
    summoned_ids: list[int] | None = Field(default=None, sa_type=sa.JSON)
    # A cancelled meeting (status `cancelled`, migration 0010): when and why, shown to the auditor.
    cancelled_at: datetime | None = Field(default=None, sa_type=UTC_DATETIME)
    cancel_reason: str | None = Field(default=None, max_length=500)


class AgendaItem(SQLModel, table=True):
    """One agenda item of a meeting, in order (position from 0)."""

    __tablename__ = "agenda_items"
    __table_args__ = (sa.UniqueConstraint("meeting_id", "position"),)
    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meetings.id", index=True)
    position: int
    title: str = Field(max_length=300)
    item_type: str = Field(max_length=20)
    notes: str = Field(default="", max_length=4000)
    # When the chair made it current and moved on (POST /agenda/current), migration 0004.
    started_at: datetime | None = Field(default=None, sa_type=UTC_DATETIME)
    ended_at: datetime | None = Field(default=None, sa_type=UTC_DATETIME)


class AgendaTemplate(SQLModel, table=True):
    """An agenda template: built-in (org_id null, `code` set, synced from meetings.agenda_templates at
    start-up, read-only) or a unit's own. `items` is JSON: [{title: {vi, en}, item_type, notes: {vi, en}}]."""

    __tablename__ = "agenda_templates"
    id: int | None = Field(default=None, primary_key=True)
    org_id: int | None = Field(default=None, foreign_key="orgs.id", index=True)
    code: str | None = Field(default=None, max_length=40, unique=True)
    kind: str = Field(max_length=20)
    name_vi: str = Field(max_length=300)
    name_en: str = Field(max_length=300)
    items: str = Field(sa_type=sa.Text)
    created_by: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = Field(sa_type=UTC_DATETIME)


class Excuse(SQLModel, table=True):
    """A member's reason for not attending a meeting (vắng mặt có lý do); one per member and meeting."""

    __tablename__ = "excuses"
    __table_args__ = (sa.UniqueConstraint("meeting_id", "member_id"),)
    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meetings.id", index=True)
    member_id: int = Field(foreign_key="members.id")
    reason: str = Field(max_length=1000)
    submitted_by: int = Field(foreign_key="users.id")
    created_at: datetime = Field(sa_type=UTC_DATETIME)


class PresenceEvent(SQLModel, table=True):
    """One presence event of a member at a meeting: online join/leave, on-site checkin/checkout.

    Append-only: attendance (meetings.attendance) folds these into intervals and statuses.
    """

    __tablename__ = "presence_events"
    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meetings.id", index=True)
    member_id: int = Field(foreign_key="members.id")
    kind: str = Field(max_length=10)
    at: datetime = Field(sa_type=UTC_DATETIME)
    # The user who recorded it: the secretary checking someone in, or the member's own session.
    recorded_by: int | None = Field(default=None, foreign_key="users.id")


class Notice(SQLModel, table=True):
    """A notice to a member's account about a meeting (migration 0010): the invitation the secretary
    sent, a cancellation, a new time. Shown on the member's home page (GET /api/v1/notices)."""

    __tablename__ = "notices"
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    meeting_id: int = Field(foreign_key="meetings.id", index=True)
    kind: str = Field(max_length=20)  # invitation, cancelled, rescheduled
    created_at: datetime = Field(sa_type=UTC_DATETIME)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
