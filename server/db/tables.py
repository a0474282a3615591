"""The sqlmodel tables of cellmeet; migrations in server/db/migrations mirror them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

# Times are stored as UTC; SQLite drops the zone, so server.clock.as_utc() restores it on read.
UTC_DATETIME = sa.DateTime(timezone=True)


class User(SQLModel, table=True):
    __tablename__ = "users"
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, sa_column_kwargs={"unique": True, "nullable": False})
    full_name: str = Field(max_length=200)
    password_hash: str = Field(max_length=200)
    is_admin: bool = False
    totp_secret: str | None = Field(default=None, max_length=64)
    totp_enabled: bool = False
    # The last accepted TOTP time step: a code is accepted once, never replayed.
    totp_last_step: int | None = None
    created_at: datetime = Field(sa_type=UTC_DATETIME)
    # Where the invitation is e-mailed when the operator configured SMTP (issue 18); set by its owner.
    email: str | None = Field(default=None, max_length=254)
    # An account the operator disabled (issue 23): it cannot log in, and its sessions ended then.
    disabled_at: datetime | None = Field(default=None, sa_type=UTC_DATETIME)


class WebSession(SQLModel, table=True):
    """A server-side login session; the cookie holds a token whose SHA-256 is the id."""

    __tablename__ = "web_sessions"
    id: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="users.id", index=True)
    csrf_token: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=UTC_DATETIME)
    last_seen_at: datetime = Field(sa_type=UTC_DATETIME)


class AccountLink(SQLModel, table=True):
    """A one-time link the operator hands out (issue 23): `activate` a new account or `reset` a
    password. The link carries a random token; only its SHA-256 is stored (the id)."""

    __tablename__ = "account_links"
    id: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="users.id", index=True)
    purpose: str = Field(max_length=10)
    created_by: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = Field(sa_type=UTC_DATETIME)
    expires_at: datetime = Field(sa_type=UTC_DATETIME)
    # Set when the person chose a password with it, or when a newer link of the account replaced it.
    used_at: datetime | None = Field(default=None, sa_type=UTC_DATETIME)


class ApiToken(SQLModel, table=True):
    """A bearer token for scripts; stored hashed."""

    __tablename__ = "api_tokens"
    id: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="users.id", index=True)
    name: str = Field(max_length=100)
    created_at: datetime = Field(sa_type=UTC_DATETIME)
    # What the owner and the operator see and revoke it by (never the token nor its hash).
    public_id: str | None = Field(default=None, max_length=32, unique=True, index=True)
    expires_at: datetime | None = Field(default=None, sa_type=UTC_DATETIME)  # None: created before 0009
    revoked_at: datetime | None = Field(default=None, sa_type=UTC_DATETIME)


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


class AuditEvent(SQLModel, table=True):
    """One link of the hash-chained audit log (meetings.audit_chain); append-only."""

    __tablename__ = "audit_events"
    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    at: str = Field(max_length=40)
    actor_user_id: int | None = None
    org_id: int | None = Field(default=None, index=True)
    action: str = Field(max_length=60)
    target: str = Field(max_length=80)
    data: dict[str, Any] = Field(sa_type=sa.JSON)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


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


class AuditCheckpoint(SQLModel, table=True):
    """A signed head of the audit chain (server/audit/checkpoints.py): not an audit row, a commitment to
    the chain up to `seq` that auditors export and keep off the box (quality.md B4)."""

    __tablename__ = "audit_checkpoint"
    id: int | None = Field(default=None, primary_key=True)
    seq: int = Field(sa_column_kwargs={"unique": True})
    head_hash: str = Field(max_length=64)
    at: str = Field(max_length=40)  # the signed ISO text, stored exactly as signed
    reason: str = Field(max_length=40)
    key_id: str = Field(max_length=16)
    signature: str = Field(max_length=100)  # base64 of the 64-byte Ed25519 signature


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
