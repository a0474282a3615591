"""A cell's record of one month (R-GROUP-4): its own meetings and its party groups' meetings, each with
its attendance, its quorum at the opening, its minutes' status and what it concluded.

Decisions (docs/decisions.md, "Party-group meetings"):

- The month is a calendar month of the cell's time zone; a meeting belongs to it by its opening, or by
  its scheduled start while it has not opened (meetings.groups.meeting_month): the same month R-GROUP-3
  counts it in.
- The groups are the party groups of the cell during the month (created before it ended, not
  dissolved before it began) and any other that held a meeting in it: a dissolved group's meetings
  stay in the cell's record, with its `dissolved_at`.
- `held_by_groups`: at least one group meeting of the month has been opened (it was held); a month's
  scheduled group meetings still count against R-GROUP-3 (`group_months_used`).
- Attendance is final at the close: a closed meeting's is the one its close recorded (the
  `meeting.closed` audit row, written with the close), so members who left the group since, or its
  dissolution, do not rewrite it (the register keeps no history); an earlier meeting's is computed
  from the presence events as `GET /meetings/{id}/attendance` does. The quorum is R-QUOR-1 as the
  opening decided it (its `meeting.opened` row; null before the opening), `overridden` when the chair
  opened below it.
- `conclusions` (every meeting; for a group meeting this is what rolls up to the cell): the texts its
  minutes hold under the concluding agenda items and in the `conclusions` field
  (meetings.groups.conclusions). A caller who reaches the cell by an auditor grant only reads them once
  the minutes are adopted, as with the minutes themselves: before that they are null.
- A cancelled meeting stays in the month of its start, with status `cancelled`, `cancelled_at` and
  `cancel_reason`: it was not held, and a cancelled group meeting does not count against R-GROUP-3.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings import minutes as m
from meetings.enums import MeetingKind, MeetingStatus, OrgKind
from meetings.groups import Month, conclusions, local_month
from meetings.quorum import quorum
from meetings.rulesets import RuleSet, get_rule_set
from server.clock import as_utc
from server.db.tables import AuditEvent, Meeting, Minutes, MinutesSignature, Org
from server.services.attendance import attendance_of, situation
from server.services.group_meetings import month_of, months_used
from server.services.meeting_agenda import agenda_of
from server.services.minutes_edits import texts_at
from server.services.rule_sets import rule_set_of_meeting

# A local month is within a day of the UTC month at either end (zones run from UTC-12 to UTC+14).
_ZONE_MARGIN = timedelta(days=2)


async def _meetings_of_month(
    session: AsyncSession, org_ids: list[int], month: Month, zone: ZoneInfo
) -> list[Meeting]:
    lo = datetime.combine(month.first_day, time(), UTC) - _ZONE_MARGIN
    hi = datetime.combine(month.next().first_day, time(), UTC) + _ZONE_MARGIN
    query = select(Meeting).where(
        col(Meeting.org_id).in_(org_ids),
        (col(Meeting.opened_at).is_not(None) & (col(Meeting.opened_at) >= lo) & (col(Meeting.opened_at) < hi))
        | (col(Meeting.opened_at).is_(None) & (col(Meeting.starts_at) >= lo) & (col(Meeting.starts_at) < hi)),
    )
    rows = (await session.execute(query)).scalars().all()
    inside = [meeting for meeting in rows if month_of(meeting, zone) == month]
    return sorted(inside, key=lambda meeting: (as_utc(meeting.opened_at or meeting.starts_at), meeting.id))


_STATUSES = ("present", "late", "left_early", "absent_excused", "absent_unexcused")


async def _recorded(session: AsyncSession, meetings: list[Meeting]) -> dict[tuple[str, int], dict[str, Any]]:
    """What the opening and the close of each meeting recorded in the audit log (one query)."""
    if not meetings:
        return {}
    rows = await session.execute(
        select(col(AuditEvent.action), col(AuditEvent.target), col(AuditEvent.data)).where(
            col(AuditEvent.org_id).in_(sorted({meeting.org_id for meeting in meetings})),
            col(AuditEvent.action).in_(["meeting.opened", "meeting.closed"]),
            col(AuditEvent.target).in_([f"meeting:{meeting.id}" for meeting in meetings]),
        )
    )
    return {(action, int(target.split(":", 1)[1])): dict(data) for action, target, data in rows.all()}


def _quorum_at_opening(
    meeting: Meeting, opened: dict[str, Any] | None, rule_set: RuleSet, lang: str
) -> dict[str, Any] | None:
    """R-QUOR-1 as the opening decided it (the `meeting.opened` row's counts), explained again."""
    if meeting.opened_at is None or opened is None:
        return None
    counts = {key: int(opened["counts"][key]) for key in ("voting_base", "present_official", "needed")}
    decision = quorum(counts["voting_base"], counts["present_official"], rule_set)
    return {
        "outcome": bool(opened["quorate"]),
        "rule": decision.rule,
        "rule_set": decision.rule_set,
        "counts": counts,
        "explanation": decision.explanation.in_language(lang),
        "overridden": bool(opened.get("override")),
        "override_reason": meeting.quorum_override_reason,
    }


async def _attendance(
    session: AsyncSession, meeting: Meeting, held_by: Org, closed: dict[str, Any] | None, at: datetime
) -> dict[str, int]:
    """A closed meeting's attendance as its close recorded it; an earlier one's from the presence events."""
    if closed is not None:
        counts = {status: int(closed["counts"].get(status, 0)) for status in _STATUSES}
        summoned = sum(counts.values())
    else:
        state = await situation(session, meeting, held_by)
        counts = dict.fromkeys(_STATUSES, 0)
        for member in attendance_of(state, meeting, at).values():
            counts[member.status.value] += 1
        summoned = len(state.members)
    present_total = counts["present"] + counts["late"] + counts["left_early"]
    return {**counts, "present_total": present_total, "summoned": summoned}


async def _minutes_status(session: AsyncSession, meeting_id: int) -> tuple[Minutes | None, m.MinutesStatus]:
    row = await session.get(Minutes, meeting_id)
    roles = (
        (
            await session.execute(
                select(col(MinutesSignature.role)).where(col(MinutesSignature.meeting_id) == meeting_id)
            )
        )
        .scalars()
        .all()
    )
    adopted = row is not None and row.adopted_vote_id is not None
    return row, m.status_of(adopted, set(roles))


async def _meeting_entry(
    session: AsyncSession,
    meeting: Meeting,
    held_by: Org,
    recorded: dict[tuple[str, int], dict[str, Any]],
    *,
    at: datetime,
    drafts_hidden: bool,
    lang: str,
) -> dict[str, Any]:
    assert meeting.id is not None
    closed = recorded.get(("meeting.closed", meeting.id)) if meeting.status == MeetingStatus.CLOSED else None
    opened = recorded.get(("meeting.opened", meeting.id))
    row, status = await _minutes_status(session, meeting.id)
    written: list[dict[str, str]] | None = None
    if not (drafts_hidden and status is m.MinutesStatus.DRAFT):
        fields = await texts_at(session, meeting.id, row.version) if row is not None else {}
        titles = [item.title for item in await agenda_of(session, meeting.id)]
        written = [
            {"field": found.field, "title": found.title, "text": found.text}
            for found in conclusions(titles, fields)
        ]
    starts_at = as_utc(meeting.starts_at)
    zone = ZoneInfo(held_by.timezone)
    return {
        "id": meeting.id,
        "kind": meeting.kind,
        "mode": meeting.mode,
        "status": meeting.status,
        "title": meeting.title,
        "starts_at": starts_at,
        "starts_at_local": starts_at.astimezone(zone).isoformat(),
        "opened_at": as_utc(meeting.opened_at) if meeting.opened_at is not None else None,
        "closed_at": as_utc(meeting.closed_at) if meeting.closed_at is not None else None,
        "held_by": {"id": held_by.id, "name": held_by.name, "kind": held_by.kind},
        "attendance": await _attendance(session, meeting, held_by, closed, at),
        "quorum": _quorum_at_opening(
            meeting, opened, await rule_set_of_meeting(session, meeting, held_by), lang
        ),
        "minutes_status": status.value,
        "conclusions": written,
        # A cancelled meeting stays in its month, as cancelled and why (issue 18).
        "cancelled_at": as_utc(meeting.cancelled_at) if meeting.cancelled_at is not None else None,
        "cancel_reason": meeting.cancel_reason,
    }


def _dissolved_at(group: Org) -> datetime | None:
    # A dissolved party group keeps its row (server.services.groups); its meetings stay in the record.
    dissolved: datetime | None = getattr(group, "dissolved_at", None)
    return as_utc(dissolved) if dissolved is not None else None


def _existed_in(group: Org, month: Month, zone: ZoneInfo) -> bool:
    """The group was there during the month: created before it ended, not dissolved before it began."""
    dissolved = _dissolved_at(group)
    created = local_month(as_utc(group.created_at), zone)
    return created <= month and (dissolved is None or month <= local_month(dissolved, zone))


async def monthly_record(
    session: AsyncSession, cell: Org, month: Month, *, at: datetime, drafts_hidden: bool, lang: str = "vi"
) -> dict[str, Any]:
    """The record of `month` of the cell (a cell: the caller checks the kind)."""
    assert cell.id is not None and cell.kind == OrgKind.CELL
    zone = ZoneInfo(cell.timezone)
    groups = list(
        (
            await session.execute(
                select(Org)
                .where(col(Org.parent_id) == cell.id, col(Org.kind) == OrgKind.GROUP)
                .order_by(col(Org.id))
            )
        )
        .scalars()
        .all()
    )
    units = {cell.id: cell, **{group.id: group for group in groups if group.id is not None}}
    meetings = await _meetings_of_month(session, list(units), month, zone)
    recorded = await _recorded(session, meetings)
    entries = [
        await _meeting_entry(
            session, meeting, units[meeting.org_id], recorded, at=at, drafts_hidden=drafts_hidden, lang=lang
        )
        for meeting in meetings
    ]
    held = {MeetingStatus.OPEN.value, MeetingStatus.CLOSED.value}
    group_meetings = [meeting for meeting in meetings if meeting.kind == MeetingKind.GROUP]
    rule_set = get_rule_set(cell.rule_set)
    used = sorted({used for used in await months_used(session, cell) if used.year == month.year})
    return {
        "org": {"id": cell.id, "name": cell.name, "kind": cell.kind, "timezone": cell.timezone},
        "month": str(month),
        "rule_set": rule_set.name,
        "held_by_groups": any(meeting.status in held for meeting in group_meetings),
        "groups": [
            {
                "id": group.id,
                "name": group.name,
                "dissolved_at": _dissolved_at(group),
                "met": any(mt.org_id == group.id and mt.status in held for mt in group_meetings),
                "meeting_ids": [mt.id for mt in group_meetings if mt.org_id == group.id],
            }
            for group in groups
            if _existed_in(group, month, zone) or any(mt.org_id == group.id for mt in group_meetings)
        ],
        "group_months_used": {
            "rule": "R-GROUP-3",
            "year": month.year,
            "months": [str(used_month) for used_month in used],
            "used": len(used),
            "max": rule_set.group_meetings_per_year_max,
        },
        "meetings": entries,
    }
