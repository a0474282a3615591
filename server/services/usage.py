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

The query's checks are in usage_query, the rows turned into meetings.usage's records in usage_records;
their public names are importable from here too.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings import attendance as att
from meetings import usage as u
from meetings.enums import (
    ApplicationKind,
    OrgKind,
    VoteKind,
    VoteOutcome,
)
from meetings.rulesets import get_rule_set
from server.clock import as_utc
from server.db.relays import relays_of
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
from server.services.usage_query import (
    ADOPTION_DAYS_RANGE,
    MAX_PERIOD_YEARS,
    UsagePeriodError,
    UsageQueryError,
    parse_adoption_days,
    parse_period,
)
from server.services.usage_records import meeting_record, unit_record

__all__ = [
    "ADOPTION_DAYS_RANGE",
    "MAX_PERIOD_YEARS",
    "UsagePeriodError",
    "UsageQueryError",
    "parse_adoption_days",
    "parse_period",
    "usage_figures",
    "usage_report",
]

# Every time zone lies within UTC-12..UTC+14: a local day is inside this margin of the UTC day.
_ZONE_MARGIN = timedelta(hours=36)


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

    relays = await relays_of(session, [meeting.id for meeting in meetings if meeting.id is not None])
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
        unit_record(unit, summoned_of(unit), applications, flags)
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
            meeting_record(
                meeting,
                org,
                unit_id,
                summoned_of(org),
                events_of[meeting.id],
                frozenset(excused_of[meeting.id]),
                votes_of[meeting.id],
                adopted_of.get(meeting.id),
                opening_of.get(f"meeting:{meeting.id}"),
                relays.get(meeting.id, ()),
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
