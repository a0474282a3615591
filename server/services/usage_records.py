"""The database rows of a subtree turned into the records meetings.usage reads: units and their meetings."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from meetings import attendance as att
from meetings import usage as u
from meetings.eligibility import unit_eligibility
from meetings.enums import (
    Activity,
    ApplicationStatus,
    MeetingKind,
    MeetingMode,
    MeetingStatus,
    OrgKind,
    RemoteReason,
    Standing,
)
from meetings.register import MemberFacts
from meetings.relays import Relay, relay_intervals
from meetings.rulesets import get_rule_set
from server.clock import as_utc
from server.db.tables import EligibilityFlag, Meeting, Member, Org, PilotApplication


def _facts(member: Member) -> MemberFacts:
    assert member.id is not None
    return MemberFacts(
        member_id=member.id,
        standing=Standing(member.standing),
        activity=Activity(member.activity),
        remote_reason=RemoteReason(member.remote_reason) if member.remote_reason else None,
    )


def unit_record(
    org: Org,
    register: Sequence[Member],
    applications: Sequence[PilotApplication],
    flags: Sequence[EligibilityFlag],
) -> u.UnitRecord:
    assert org.id is not None
    rule_set = get_rule_set(org.rule_set)
    return u.UnitRecord(
        org_id=org.id,
        name=org.name,
        kind=OrgKind(org.kind),
        zone=ZoneInfo(org.timezone),
        rule_set=rule_set,
        register=tuple(
            u.RegisterEntry(
                member_id=member.id,  # type: ignore[arg-type]
                full_name=member.full_name,
                standing=Standing(member.standing),
                activity=Activity(member.activity),
                special_duty=member.remote_reason == RemoteReason.ARMED_FORCES,
            )
            for member in register
        ),
        approvals=tuple(
            u.ApprovalRecord(
                status=ApplicationStatus(a.status),
                applied_at=as_utc(a.applied_at),
                valid_from=a.valid_from,
                valid_to=a.valid_to,
                revoked_at=as_utc(a.revoked_at) if a.revoked_at is not None else None,
            )
            for a in applications
            if a.org_id == org.id
        ),
        stopped_qualifying=tuple(
            u.StoppedQualifying(
                as_utc(f.raised_at), as_utc(f.cleared_at) if f.cleared_at is not None else None
            )
            for f in flags
            if f.org_id == org.id
        ),
        qualifies=bool(unit_eligibility(OrgKind(org.kind), [_facts(m) for m in register], rule_set).outcome),
        registered_at=as_utc(org.created_at),
    )


def meeting_record(
    meeting: Meeting,
    org: Org,
    unit_id: int,
    summoned: Sequence[Member],
    events: Sequence[att.PresenceEvent],
    excused: frozenset[int],
    votes: Sequence[u.VoteRecord],
    adopted_at: datetime | None,
    opening: dict[str, Any] | None,
    relays: Sequence[Relay] = (),
) -> u.MeetingRecord:
    assert meeting.id is not None and meeting.opened_at is not None
    opened_at = as_utc(meeting.opened_at)
    closed_at = as_utc(meeting.closed_at) if meeting.closed_at is not None else None
    status = MeetingStatus(meeting.status)
    statuses = {}
    relayed: frozenset[int] = frozenset()
    if status is MeetingStatus.CLOSED and closed_at is not None:
        if meeting.summoned_ids is not None:  # fixed at the close (from migration 0008 on)
            ids = list(meeting.summoned_ids)
        else:
            ids = [m.id for m in summoned if m.id is not None and as_utc(m.created_at) <= closed_at]
        result = att.attendance(
            ids,
            events,
            excused,
            opened_at,
            closed_at,
            get_rule_set(org.rule_set),
            attendance_call_at=opened_at,
            relays=relay_intervals(relays),
        )
        statuses = {member_id: member.status for member_id, member in result.items()}
        relayed = frozenset(member_id for member_id, member in result.items() if member.relayed)
    counts = opening.get("counts", {}) if opening else {}
    quorate = (
        bool(opening["quorate"])
        if opening and "quorate" in opening
        else meeting.quorum_override_reason is None
    )
    return u.MeetingRecord(
        meeting_id=meeting.id,
        unit_id=unit_id,
        held_by=org.name,
        kind=MeetingKind(meeting.kind),
        mode=MeetingMode(meeting.mode),
        status=status,
        scheduled_start=as_utc(meeting.starts_at),
        opened_at=opened_at,
        closed_at=closed_at,
        quorate_at_opening=quorate,
        override_reason=meeting.quorum_override_reason,
        opening_counts={k: int(v) for k, v in counts.items() if k in ("present_official", "voting_base")},
        attendance=statuses,
        votes=tuple(votes),
        minutes_adopted_at=adopted_at,
        relayed=relayed,
    )
