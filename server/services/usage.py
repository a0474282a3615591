"""Pilot usage figures of a subtree for a period (issue 5): loads the records, meetings.usage decides.

Decisions this module makes (documented in docs/api.md "Usage figures" and docs/decisions.md):

- The units are the organisations of the subtree whose kind may pilot under their rule set
  (R-ELIG-1: cells and grassroots committees). A party group's meetings count for its cell.
- A meeting is read when it was opened; which period, month and quarter it falls in is decided in
  its unit's time zone by meetings.usage. The database is asked for the openings within a day and
  a half of the period's ends (every time zone lies within UTC-12..UTC+14).
- Attendance of a closed meeting is recomputed from `presence_events` and `excuses` with
  meetings.attendance, exactly as the meeting's own attendance (window opening..close, the opening
  is the attendance call). Summoned = the unit's members (as `unit_member_ids` gives them) who were
  registered before the meeting closed, so a member added later is not absent from past meetings.
- Quorum at the opening comes from the `meeting.opened` audit row (`quorate`, `counts`); a meeting
  without one falls back to its stored override reason.
- "Special duty" (R-ATT-3's exception for armed-forces members) is not stored; the nearest stored
  fact is the remote reason `armed_forces` (cannot leave their post, R-ELIG-3 c), which is used.
- `qualifies` is R-ELIG-2 on today's register; the open "stopped qualifying" flags are the
  `eligibility_flags` rows.
- A handful of queries per request, whatever the number of meetings and members: the subtree, its
  organisations, members, applications, flags, meetings, presence events, excuses, votes, minutes
  and the opening audit rows.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings import attendance as att
from meetings import usage as u
from meetings.decision import Text
from meetings.eligibility import unit_eligibility
from meetings.enums import (
    Activity,
    ApplicationKind,
    ApplicationStatus,
    MeetingKind,
    MeetingMode,
    MeetingStatus,
    OrgKind,
    RemoteReason,
    Standing,
    VoteKind,
    VoteOutcome,
)
from meetings.register import MemberFacts
from meetings.rulesets import get_rule_set
from server.clock import as_utc
from server.db.tables import (
    AuditEvent,
    EligibilityFlag,
    Excuse,
    Meeting,
    Member,
    Minutes,
    Org,
    PilotApplication,
    PresenceEvent,
    Vote,
)
from server.db.tree import subtree_ids
from server.services.orgs import get_org

MAX_PERIOD_YEARS = 5
ADOPTION_DAYS_RANGE = (1, 365)
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# Every time zone lies within UTC-12..UTC+14: a local day is inside this margin of the UTC day.
_ZONE_MARGIN = timedelta(hours=36)


class UsageQueryError(ValueError):
    """A bad query of the usage figures; `str()` is the message in the language asked for."""

    def __init__(self, field: str, message: Text, language: str = "vi") -> None:
        super().__init__(message.in_language(language))
        self.field = field
        self.message = message


class UsagePeriodError(UsageQueryError):
    """The period is not two dates in order, at most MAX_PERIOD_YEARS long."""


def _day(raw: str, field: str, language: str) -> date:
    if _ISO_DAY.fullmatch(raw):
        try:
            return date.fromisoformat(raw)
        except ValueError:
            pass
    raise UsagePeriodError(
        field,
        Text(
            f"'{field}' phải là một ngày có thật, dạng YYYY-MM-DD (ví dụ 2026-01-31).",
            f"'{field}' must be a real date, YYYY-MM-DD (e.g. 2026-01-31).",
        ),
        language,
    )


def parse_period(
    raw_from: str | None, raw_to: str | None, today: date, language: str = "vi"
) -> tuple[date, date]:
    """The period asked for; by default from 1 January of `today`'s year to `today`."""
    start = _day(raw_from, "from", language) if raw_from is not None else date(today.year, 1, 1)
    end = _day(raw_to, "to", language) if raw_to is not None else today
    if end < start:
        raise UsagePeriodError(
            "to",
            Text(
                f"Kỳ báo cáo không hợp lệ: ngày bắt đầu ({start:%d/%m/%Y}) "
                f"sau ngày kết thúc ({end:%d/%m/%Y}).",
                f"Invalid period: it starts ({start.isoformat()}) after it ends ({end.isoformat()}).",
            ),
            language,
        )
    if end >= u.add_years(start, MAX_PERIOD_YEARS):
        raise UsagePeriodError(
            "to",
            Text(
                f"Kỳ báo cáo dài quá {MAX_PERIOD_YEARS} năm; hãy chọn một kỳ ngắn hơn.",
                f"The period is longer than {MAX_PERIOD_YEARS} years; choose a shorter one.",
            ),
            language,
        )
    return start, end


def parse_adoption_days(raw: str | None, language: str = "vi") -> int | None:
    """`adoption_days=` overrides the rule set's minutes_adoption_days_max (R-MIN-1)."""
    if raw is None:
        return None
    low, high = ADOPTION_DAYS_RANGE
    if raw.isascii() and raw.isdigit() and len(raw) <= 3 and low <= int(raw) <= high:
        return int(raw)
    raise UsageQueryError(
        "adoption_days",
        Text(
            f"'adoption_days' phải là một số nguyên từ {low} đến {high}.",
            f"'adoption_days' must be a whole number from {low} to {high}.",
        ),
        language,
    )


async def usage_figures(
    session: AsyncSession,
    org_id: int,
    start: date,
    end: date,
    *,
    at: datetime,
    language: str = "vi",
    adoption_days: int | None = None,
) -> dict[str, Any]:
    """The JSON of `GET /api/v1/audit/usage` (the caller has checked the right to read it)."""
    report = await usage_report(
        session, await get_org(session, org_id), u.Period(start, end), at, adoption_days
    )
    return report.to_json(language)


async def usage_report(
    session: AsyncSession, root: Org, period: u.Period, at: datetime, adoption_days: int | None = None
) -> u.UsageReport:
    assert root.id is not None
    ids = await subtree_ids(session, [root.id])
    orgs = {org.id: org for org in await _all(session, select(Org).where(col(Org.id).in_(ids)))}
    children: dict[int, list[int]] = defaultdict(list)
    for org in orgs.values():
        if org.parent_id is not None and org.id is not None:
            children[org.parent_id].append(org.id)
    members = await _all(session, select(Member).where(col(Member.org_id).in_(ids)).order_by(col(Member.id)))
    units = [
        org for org in orgs.values() if OrgKind(org.kind) in get_rule_set(org.rule_set).eligible_org_kinds
    ]
    unit_ids = [org.id for org in units]

    applications = await _all(
        session,
        select(PilotApplication).where(
            col(PilotApplication.org_id).in_(unit_ids),
            col(PilotApplication.kind) == ApplicationKind.ONLINE.value,
        ),
    )
    flags = await _all(session, select(EligibilityFlag).where(col(EligibilityFlag.org_id).in_(unit_ids)))

    lo = datetime.combine(period.start, time(), UTC) - _ZONE_MARGIN
    hi = datetime.combine(period.end + timedelta(days=1), time(), UTC) + _ZONE_MARGIN
    opened_in_window = (
        col(Meeting.org_id).in_(ids),
        col(Meeting.opened_at).is_not(None),
        col(Meeting.opened_at) >= lo,
        col(Meeting.opened_at) < hi,
    )
    held_ids = select(col(Meeting.id)).where(*opened_in_window)
    meetings = await _all(session, select(Meeting).where(*opened_in_window).order_by(col(Meeting.id)))
    events = await _all(
        session,
        select(PresenceEvent)
        .where(col(PresenceEvent.meeting_id).in_(held_ids))
        .order_by(col(PresenceEvent.at), col(PresenceEvent.id)),
    )
    excuses = await _rows(
        session,
        select(col(Excuse.meeting_id), col(Excuse.member_id)).where(col(Excuse.meeting_id).in_(held_ids)),
    )
    votes = await _all(session, select(Vote).where(col(Vote.meeting_id).in_(held_ids)).order_by(col(Vote.id)))
    adoptions = await _rows(
        session,
        select(col(Minutes.meeting_id), col(Minutes.adopted_at)).where(col(Minutes.meeting_id).in_(held_ids)),
    )
    # Quorum at the opening (R-QUOR-1): the opening's audit row keeps the decision and its counts.
    openings = await _rows(
        session,
        select(col(AuditEvent.target), col(AuditEvent.data)).where(
            col(AuditEvent.action) == "meeting.opened", col(AuditEvent.org_id).in_(ids)
        ),
    )

    events_of: dict[int, list[att.PresenceEvent]] = defaultdict(list)
    for row in events:
        events_of[row.meeting_id].append(
            att.PresenceEvent(row.member_id, att.EventKind(row.kind), as_utc(row.at))
        )
    excused_of: dict[int, set[int]] = defaultdict(set)
    for meeting_id, member_id in excuses:
        excused_of[meeting_id].add(member_id)
    votes_of: dict[int, list[u.VoteRecord]] = defaultdict(list)
    for vote in votes:
        assert vote.id is not None
        votes_of[vote.meeting_id].append(
            u.VoteRecord(
                vote_id=vote.id,
                kind=VoteKind(vote.kind),
                question=vote.question,
                outcome=VoteOutcome(vote.outcome) if vote.outcome and vote.status == "closed" else None,
                override_reason=vote.override_reason,
            )
        )
    adopted_of = {meeting_id: as_utc(adopted) for meeting_id, adopted in adoptions if adopted is not None}
    opening_of = {target: data for target, data in openings if isinstance(data, dict)}

    by_org: dict[int, list[Member]] = defaultdict(list)
    by_group: dict[int, list[Member]] = defaultdict(list)
    for member in members:
        by_org[member.org_id].append(member)
        if member.group_id is not None:
            by_group[member.group_id].append(member)
    summoned: dict[int, list[Member]] = {}

    def summoned_of(org: Org) -> list[Member]:
        """The members of the org's meetings, as server.services.meetings.unit_member_ids gives them."""
        assert org.id is not None
        if org.id not in summoned:
            if org.kind == OrgKind.GROUP:
                summoned[org.id] = by_group[org.id]
            else:  # a cell's own members; a grassroots committee's whole subtree
                inside, pending = [], [org.id]
                while pending:
                    current = pending.pop()
                    inside.extend(by_org[current])
                    pending.extend(children[current])
                summoned[org.id] = sorted(inside, key=lambda m: m.id or 0)
        return summoned[org.id]

    unit_records = [
        _unit_record(unit, summoned_of(unit), applications, flags)
        for unit in sorted(units, key=lambda o: o.id or 0)
    ]
    unit_set = set(unit_ids)
    records: list[u.MeetingRecord] = []
    for meeting in meetings:
        assert meeting.id is not None
        org = orgs[meeting.org_id]
        # A party group's meetings count for its cell (R-GROUP-4).
        unit_id = org.parent_id if org.kind == OrgKind.GROUP else org.id
        if unit_id is None or unit_id not in unit_set:
            continue
        records.append(
            _meeting_record(
                meeting,
                org,
                unit_id,
                summoned_of(org),
                events_of[meeting.id],
                frozenset(excused_of[meeting.id]),
                votes_of[meeting.id],
                adopted_of.get(meeting.id),
                opening_of.get(f"meeting:{meeting.id}"),
            )
        )
    return u.usage_report(
        u.OrgSummary(root.id, root.name, OrgKind(root.kind)),
        period,
        unit_records,
        records,
        get_rule_set(root.rule_set),
        at,
        adoption_days,
    )


async def _all(session: AsyncSession, query: Any) -> list[Any]:
    return list((await session.execute(query)).scalars().all())


async def _rows(session: AsyncSession, query: Any) -> list[Any]:
    return list((await session.execute(query)).all())


def _facts(member: Member) -> MemberFacts:
    assert member.id is not None
    return MemberFacts(
        member_id=member.id,
        standing=Standing(member.standing),
        activity=Activity(member.activity),
        remote_reason=RemoteReason(member.remote_reason) if member.remote_reason else None,
    )


def _unit_record(
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


def _meeting_record(
    meeting: Meeting,
    org: Org,
    unit_id: int,
    summoned: Sequence[Member],
    events: Sequence[att.PresenceEvent],
    excused: frozenset[int],
    votes: Sequence[u.VoteRecord],
    adopted_at: datetime | None,
    opening: dict[str, Any] | None,
) -> u.MeetingRecord:
    assert meeting.id is not None and meeting.opened_at is not None
    opened_at = as_utc(meeting.opened_at)
    closed_at = as_utc(meeting.closed_at) if meeting.closed_at is not None else None
    status = MeetingStatus(meeting.status)
    statuses = {}
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
        )
        statuses = {member_id: member.status for member_id, member in result.items()}
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
    )
