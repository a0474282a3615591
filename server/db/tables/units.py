"""The tables of the party organisations: units, grants, the register, group officers, pilot approvals."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from server.db.tables.columns import UTC_DATETIME


class Org(SQLModel, table=True):
    __tablename__ = "orgs"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    kind: str = Field(max_length=20)
    parent_id: int | None = Field(default=None, foreign_key="orgs.id", index=True)
    timezone: str = Field(max_length=64)
    rule_set: str = Field(default="hd03-2022", max_length=40)
    created_at: datetime = Field(sa_type=UTC_DATETIME)
    # A dissolved party group keeps its row for the history (its meetings, minutes); migration 0006.
    dissolved_at: datetime | None = Field(default=None, sa_type=UTC_DATETIME)


class Grant(SQLModel, table=True):
    __tablename__ = "grants"
    __table_args__ = (sa.UniqueConstraint("user_id", "org_id", "role"),)
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    org_id: int = Field(foreign_key="orgs.id", index=True)
    role: str = Field(max_length=20)
    created_at: datetime = Field(sa_type=UTC_DATETIME)


class Member(SQLModel, table=True):
    __tablename__ = "members"
    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="orgs.id", index=True)
    full_name: str = Field(max_length=200)
    standing: str = Field(max_length=20)
    activity: str = Field(max_length=20)
    remote_reason: str | None = Field(default=None, max_length=40)
    group_id: int | None = Field(default=None, foreign_key="orgs.id")
    # A person is registered in one cell only: a user links to at most one member.
    user_id: int | None = Field(default=None, foreign_key="users.id", sa_column_kwargs={"unique": True})
    external_id: str | None = Field(default=None, max_length=40)
    created_at: datetime = Field(sa_type=UTC_DATETIME)
    updated_at: datetime = Field(sa_type=UTC_DATETIME)


class GroupOfficer(SQLModel, table=True):
    """The leader (tổ trưởng) or deputy (tổ phó) of a party group: one member per role and group, who is
    assigned to that group (server.services.groups keeps it so)."""

    __tablename__ = "group_officers"
    __table_args__ = (sa.UniqueConstraint("group_id", "role"),)
    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(foreign_key="orgs.id")
    role: str = Field(max_length=10)
    member_id: int = Field(foreign_key="members.id", index=True)
    assigned_at: datetime = Field(sa_type=UTC_DATETIME)


class PilotApplication(SQLModel, table=True):
    __tablename__ = "pilot_applications"
    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="orgs.id", index=True)
    kind: str = Field(max_length=10)
    status: str = Field(max_length=10)
    eligibility: dict[str, Any] = Field(sa_type=sa.JSON)
    applied_by: int = Field(foreign_key="users.id")
    applied_at: datetime = Field(sa_type=UTC_DATETIME)
    decision_no: str | None = Field(default=None, max_length=60)
    decided_on: date | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    decided_by: int | None = Field(default=None, foreign_key="users.id")
    deciding_org_id: int | None = Field(default=None, foreign_key="orgs.id")
    revoked_at: datetime | None = Field(default=None, sa_type=UTC_DATETIME)
    revoke_reason: str | None = Field(default=None, max_length=1000)


class EligibilityFlag(SQLModel, table=True):
    """A unit that stopped qualifying while holding an approval, flagged to its approver (R-ELIG-6)."""

    __tablename__ = "eligibility_flags"
    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="orgs.id", index=True)
    application_id: int = Field(foreign_key="pilot_applications.id")
    approver_org_id: int | None = Field(default=None, foreign_key="orgs.id", index=True)
    decision: dict[str, Any] = Field(sa_type=sa.JSON)
    raised_at: datetime = Field(sa_type=UTC_DATETIME)
    cleared_at: datetime | None = Field(default=None, sa_type=UTC_DATETIME)
