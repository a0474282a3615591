"""The sqlmodel tables of cellmeet, one module per part of the record; migrations mirror them.

Importing this package registers every table on SQLModel.metadata (Alembic's env.py relies on it), and
every table is importable from here: `from server.db.tables import Meeting`.
"""

from __future__ import annotations

from server.db.tables.accounts import AccountLink, ApiToken, User, WebSession
from server.db.tables.audit import AuditCheckpoint, AuditEvent
from server.db.tables.columns import UTC_DATETIME
from server.db.tables.floor import Ballot, Breakout, BreakoutGroup, ReservedOpinion, Speech, Vote
from server.db.tables.meetings import AgendaItem, AgendaTemplate, Excuse, Meeting, Notice, PresenceEvent
from server.db.tables.minutes import Minutes, MinutesAddendum, MinutesEdit, MinutesEditKey, MinutesSignature
from server.db.tables.relays import MeetingRelay
from server.db.tables.rule_sets import RuleSetDocument
from server.db.tables.units import EligibilityFlag, Grant, GroupOfficer, Member, Org, PilotApplication

__all__ = [
    "UTC_DATETIME",
    "AccountLink",
    "AgendaItem",
    "AgendaTemplate",
    "ApiToken",
    "AuditCheckpoint",
    "AuditEvent",
    "Ballot",
    "Breakout",
    "BreakoutGroup",
    "EligibilityFlag",
    "Excuse",
    "Grant",
    "GroupOfficer",
    "Meeting",
    "MeetingRelay",
    "Member",
    "Minutes",
    "MinutesAddendum",
    "MinutesEdit",
    "MinutesEditKey",
    "MinutesSignature",
    "Notice",
    "Org",
    "PilotApplication",
    "PresenceEvent",
    "ReservedOpinion",
    "RuleSetDocument",
    "Speech",
    "User",
    "Vote",
    "WebSession",
]
