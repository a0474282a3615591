"""The records the server passes to the usage report, and a unit's standing in the pilot read from them.

Units with their registers, approvals and "stopped qualifying" flags; meetings with their attendance and
votes. Every instant is passed in; nothing here reads a clock or a database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from enum import StrEnum

from meetings.enums import (
    Activity,
    ApplicationStatus,
    AttendanceStatus,
    MeetingKind,
    MeetingMode,
    MeetingStatus,
    OrgKind,
    Standing,
    VoteKind,
    VoteOutcome,
)
from meetings.rulesets import RuleSet


class Approval(StrEnum):
    """A unit's standing in the online pilot on one day."""

    APPROVED = "approved"
    APPLYING = "applying"
    REVOKED = "revoked"
    NONE = "none"


@dataclass(frozen=True)
class OrgSummary:
    org_id: int
    name: str
    kind: OrgKind


@dataclass(frozen=True)
class RegisterEntry:
    """A member of the unit's register, with what the attendance rules need to know."""

    member_id: int
    full_name: str
    standing: Standing
    activity: Activity = Activity.ACTIVE
    # Armed-forces members on special duty are excepted from R-ATT-3's excused-in-a-row rule.
    special_duty: bool = False

    @property
    def excepted_from_excuse_rule(self) -> bool:
        return self.activity is Activity.EXEMPT or self.special_duty


@dataclass(frozen=True)
class ApprovalRecord:
    """One application for the online pilot and what became of it."""

    status: ApplicationStatus
    applied_at: datetime
    valid_from: date | None = None
    valid_to: date | None = None
    revoked_at: datetime | None = None


@dataclass(frozen=True)
class StoppedQualifying:
    """An eligibility flag (R-ELIG-6): the approved unit stopped qualifying at `raised_at`."""

    raised_at: datetime
    cleared_at: datetime | None = None

    def open_at(self, at: datetime) -> bool:
        return self.raised_at <= at and (self.cleared_at is None or at < self.cleared_at)


@dataclass(frozen=True)
class UnitRecord:
    """A pilot unit (cell or grassroots committee) of the subtree."""

    org_id: int
    name: str
    kind: OrgKind
    zone: tzinfo
    rule_set: RuleSet
    register: tuple[RegisterEntry, ...] = ()
    approvals: tuple[ApprovalRecord, ...] = ()
    stopped_qualifying: tuple[StoppedQualifying, ...] = ()
    qualifies: bool = False  # R-ELIG-2 on today's register
    registered_at: datetime | None = None

    def local_day(self, at: datetime) -> date:
        return at.astimezone(self.zone).date()


@dataclass(frozen=True)
class VoteRecord:
    vote_id: int
    kind: VoteKind
    question: str = ""
    outcome: VoteOutcome | None = None  # None while the vote is open
    override_reason: str | None = None


@dataclass(frozen=True)
class MeetingRecord:
    """A meeting of a unit (a party group's meeting: `unit_id` is its cell, `held_by` the group)."""

    meeting_id: int
    unit_id: int
    held_by: str
    kind: MeetingKind
    mode: MeetingMode
    status: MeetingStatus
    scheduled_start: datetime
    opened_at: datetime | None = None
    closed_at: datetime | None = None
    quorate_at_opening: bool = True
    override_reason: str | None = None
    # The quorum counts at the opening (present_official, voting_base), when recorded.
    opening_counts: Mapping[str, int] = field(default_factory=dict)
    # Each summoned member's status (meetings.attendance), for a closed meeting.
    attendance: Mapping[int, AttendanceStatus] = field(default_factory=dict)
    votes: tuple[VoteRecord, ...] = ()
    minutes_adopted_at: datetime | None = None
    # The members present through another member's radio or phone (R-ATT-4), for a closed meeting.
    relayed: frozenset[int] = frozenset()

    @property
    def closed(self) -> bool:
        return self.status is MeetingStatus.CLOSED and self.closed_at is not None


# --- approvals -------------------------------------------------------------------------------------


def approval_on(unit: UnitRecord, day: date) -> Approval:
    """The unit's pilot state on `day` (see the module notes)."""
    seen = [a for a in unit.approvals if unit.local_day(a.applied_at) <= day]

    def approved_that_day(record: ApprovalRecord) -> bool:
        revoked_later = (
            record.status is ApplicationStatus.REVOKED
            and record.revoked_at is not None
            and unit.local_day(record.revoked_at) > day
        )
        in_force = record.status is ApplicationStatus.APPROVED or revoked_later
        return (
            in_force
            and record.valid_from is not None
            and record.valid_to is not None
            and record.valid_from <= day <= record.valid_to
        )

    if any(approved_that_day(record) for record in seen):
        return Approval.APPROVED
    if any(record.status is ApplicationStatus.PENDING for record in seen):
        return Approval.APPLYING
    if seen and max(seen, key=lambda a: a.applied_at).status is ApplicationStatus.REVOKED:
        return Approval.REVOKED
    return Approval.NONE


def approved_at(unit: UnitRecord, at: datetime) -> bool:
    """R-ELIG-6 at an instant: an approval valid on the unit's date and not yet revoked."""
    day = unit.local_day(at)
    for record in unit.approvals:
        if record.status not in (ApplicationStatus.APPROVED, ApplicationStatus.REVOKED):
            continue
        if record.revoked_at is not None and record.revoked_at <= at:
            continue
        if record.valid_from and record.valid_to and record.valid_from <= day <= record.valid_to:
            return True
    return False
