"""The tables of what happens in an open meeting: speeches, votes, ballots, reserved opinions, breakouts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from server.db.tables.columns import UTC_DATETIME


class Speech(SQLModel, table=True):
    """A member holding the floor (given by the chair) on an agenda item; ended_at null while speaking."""

    __tablename__ = "speeches"
    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meetings.id", index=True)
    member_id: int = Field(foreign_key="members.id")
    agenda_position: int | None = None
    started_at: datetime = Field(sa_type=UTC_DATETIME)
    ended_at: datetime | None = Field(default=None, sa_type=UTC_DATETIME)


class Vote(SQLModel, table=True):
    """A vote (biểu quyết) of an open meeting. The result is kept as counts; its decision is recomputed
    from them by meetings.votes.vote_result, so it always explains itself with the current wording."""

    __tablename__ = "votes"
    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meetings.id", index=True)
    agenda_position: int | None = None
    question: str = Field(max_length=1000)
    kind: str = Field(max_length=20)
    method: str = Field(default="open", max_length=20)
    # How the vote is taken (meetings.vote_modes): votes from before issue 30 were electronic ballots.
    mode: str = Field(default="electronic", max_length=20, sa_column_kwargs={"server_default": "electronic"})
    # A show of hands or paper ballot: who counted (the counting committee's names) and who entered it.
    counted_by: list[str] | None = Field(default=None, sa_type=sa.JSON)
    counts_entered_by: int | None = Field(default=None, foreign_key="users.id")
    status: str = Field(max_length=10)
    opened_at: datetime = Field(sa_type=UTC_DATETIME)
    opened_by: int = Field(foreign_key="users.id")
    override_reason: str | None = Field(default=None, max_length=1000)
    closed_at: datetime | None = Field(default=None, sa_type=UTC_DATETIME)
    voting_base: int | None = None
    count_for: int | None = None
    count_against: int | None = None
    count_abstain: int | None = None
    outcome: str | None = Field(default=None, max_length=10)


class Ballot(SQLModel, table=True):
    """One member's ballot; the unique constraint is what makes "each votes once" (R-VOTE-2) hold even
    for ballots racing from two connections."""

    __tablename__ = "ballots"
    __table_args__ = (sa.UniqueConstraint("vote_id", "member_id"),)
    id: int | None = Field(default=None, primary_key=True)
    vote_id: int = Field(foreign_key="votes.id", index=True)
    member_id: int = Field(foreign_key="members.id")
    choice: str = Field(max_length=10)
    cast_at: datetime = Field(sa_type=UTC_DATETIME)
    recorded_by: int = Field(foreign_key="users.id")
    on_site: bool = False


class ReservedOpinion(SQLModel, table=True):
    """A minority member's reserved opinion on a vote (bảo lưu ý kiến, R-VOTE-4)."""

    __tablename__ = "reserved_opinions"
    __table_args__ = (sa.UniqueConstraint("vote_id", "member_id"),)
    id: int | None = Field(default=None, primary_key=True)
    vote_id: int = Field(foreign_key="votes.id", index=True)
    member_id: int = Field(foreign_key="members.id")
    opinion: str = Field(max_length=4000)
    recorded_at: datetime = Field(sa_type=UTC_DATETIME)
    recorded_by: int = Field(foreign_key="users.id")


class Breakout(SQLModel, table=True):
    """A split of an open meeting into groups (meetings.breakout); `ended_at` null while it lasts.
    At most one lasts per meeting (checked with the meeting row locked)."""

    __tablename__ = "breakouts"
    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meetings.id", index=True)
    # The agenda item under discussion: the groups' notes are attached to it in the minutes.
    agenda_position: int | None = None
    source: str = Field(max_length=20)  # "party_groups" or "ad_hoc"
    started_at: datetime = Field(sa_type=UTC_DATETIME)
    ends_at: datetime = Field(sa_type=UTC_DATETIME)
    ended_at: datetime | None = Field(default=None, sa_type=UTC_DATETIME)
    started_by: int = Field(foreign_key="users.id")
    # The chair's broadcasts to every group: [{text, at}], in order.
    messages: list[dict[str, Any]] = Field(default_factory=list, sa_type=sa.JSON)


class BreakoutGroup(SQLModel, table=True):
    """One group of a breakout: its members (JSON list of member ids) and its shared notes."""

    __tablename__ = "breakout_groups"
    __table_args__ = (sa.UniqueConstraint("breakout_id", "position"),)
    id: int | None = Field(default=None, primary_key=True)
    breakout_id: int = Field(foreign_key="breakouts.id", index=True)
    position: int
    name: str = Field(max_length=200)
    party_group_id: int | None = Field(default=None, foreign_key="orgs.id")
    member_ids: list[int] = Field(default_factory=list, sa_type=sa.JSON)
    notes: str = Field(default="", sa_type=sa.Text)
    notes_version: int = 0
    notes_updated_at: datetime | None = Field(default=None, sa_type=UTC_DATETIME)
