"""Party-group meetings (sinh hoạt tổ đảng) in place of the cell's monthly meeting: what scheduling one
needs (R-GROUP-2, R-GROUP-3).

Decisions (docs/decisions.md, "Party-group meetings"):

- Every meeting of kind `group` is a group meeting in place of the cell's monthly meeting, so R-GROUP-2
  and R-GROUP-3 apply to every one, when it is scheduled and when its start moves.
- R-GROUP-2: the group's cell qualifies now (a cell with groups and enough members of its active
  register), else 409 `not_group_eligible`; and it holds an approved application of kind `group`
  valid on the meeting's date in the cell's time zone, else 409 `group_not_approved`. Both name
  R-GROUP-2.
- R-GROUP-3 counts months of the cell's time zone used by the group meetings of every group of the
  cell that are scheduled, open or closed: a meeting's month is when it was opened, else when it is to
  start. A fourth month of a calendar year is 409 `group_months_exceeded`, rule R-GROUP-3.
- Two schedulings at once cannot both take the last month: the cell's row is locked (SELECT ... FOR
  UPDATE) before the months are counted, on PostgreSQL; SQLite writes are serialised in-process
  (server.db.engine).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings.decision import Text
from meetings.enums import ApplicationKind, MeetingKind, MeetingStatus, OrgKind
from meetings.groups import Month, group_month_allowed, local_month, meeting_month
from server.clock import as_utc
from server.db.tables import Meeting, Org
from server.errors import ApiError
from server.services.pilot import local_today, valid_approval
from server.services.register import group_eligibility_of
from server.services.rule_sets import rule_set_for

COUNTED_STATUSES = (MeetingStatus.SCHEDULED, MeetingStatus.OPEN, MeetingStatus.CLOSED)


async def lock_cell(session: AsyncSession, cell_id: int) -> Org | None:
    """The cell, locked for the transaction on PostgreSQL (SQLite writes are serialised anyway)."""
    query = select(Org).where(col(Org.id) == cell_id).with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def group_ids_of(session: AsyncSession, cell_id: int) -> list[int]:
    query = (
        select(col(Org.id))
        .where(col(Org.parent_id) == cell_id, col(Org.kind) == OrgKind.GROUP)
        .order_by(col(Org.id))
    )
    return [row for row in (await session.execute(query)).scalars().all() if row is not None]


async def group_meetings_of(
    session: AsyncSession, group_ids: Iterable[int], *, exclude_meeting_id: int | None = None
) -> list[Meeting]:
    """The group meetings of these groups that stand for a month (scheduled, open or closed)."""
    ids = list(group_ids)
    if not ids:
        return []
    query = select(Meeting).where(
        col(Meeting.org_id).in_(ids),
        col(Meeting.kind) == MeetingKind.GROUP,
        col(Meeting.status).in_([status.value for status in COUNTED_STATUSES]),
    )
    if exclude_meeting_id is not None:
        query = query.where(col(Meeting.id) != exclude_meeting_id)
    rows = (await session.execute(query.order_by(col(Meeting.starts_at), col(Meeting.id)))).scalars().all()
    return list(rows)


def month_of(meeting: Meeting, zone: ZoneInfo) -> Month:
    opened = as_utc(meeting.opened_at) if meeting.opened_at is not None else None
    return meeting_month(as_utc(meeting.starts_at), opened, zone)


async def months_used(
    session: AsyncSession, cell: Org, *, exclude_meeting_id: int | None = None
) -> list[Month]:
    """The months (the cell's zone) in which the cell's groups meet in place of the cell, with repeats."""
    assert cell.id is not None
    zone = ZoneInfo(cell.timezone)
    meetings = await group_meetings_of(
        session, await group_ids_of(session, cell.id), exclude_meeting_id=exclude_meeting_id
    )
    return [month_of(meeting, zone) for meeting in meetings]


async def check_group_meeting(
    session: AsyncSession, group: Org, starts_at: datetime, *, exclude_meeting_id: int | None = None
) -> None:
    """R-GROUP-2 and R-GROUP-3 for a group meeting of `group` starting at `starts_at`; raises a 409."""
    assert group.parent_id is not None  # the tree puts every group under its cell (meetings.orgtree)
    cell = await lock_cell(session, group.parent_id)
    assert cell is not None and cell.id is not None
    eligibility = await group_eligibility_of(session, cell, starts_at)  # on the meeting's date
    if not eligibility.outcome:
        raise ApiError(
            409,
            "not_group_eligible",
            Text(
                "Không thể lên lịch sinh hoạt tổ đảng thay cho sinh hoạt chi bộ: "
                + eligibility.explanation.vi,
                "A party-group meeting cannot be scheduled in place of the cell's meeting: "
                + eligibility.explanation.en,
            ),
            rule="R-GROUP-2",
            details=_decision_details(eligibility.counts, eligibility.details, cell),
        )
    starts_at = as_utc(starts_at)
    if await valid_approval(session, cell, ApplicationKind.GROUP, starts_at) is None:
        day = local_today(cell, starts_at)
        raise ApiError(
            409,
            "group_not_approved",
            Text(
                f"Không thể lên lịch sinh hoạt tổ đảng: ngày {day:%d/%m/%Y} chi bộ không có quyết định phê "
                "duyệt thí điểm sinh hoạt theo tổ đảng còn hiệu lực (R-GROUP-2).",
                f"A party-group meeting cannot be scheduled: on {day.isoformat()} the cell holds no valid "
                "approval of the pilot of meeting by party group (R-GROUP-2).",
            ),
            rule="R-GROUP-2",
            details={"cell_id": cell.id, "date": day.isoformat()},
        )
    month = local_month(starts_at, ZoneInfo(cell.timezone))
    used = await months_used(session, cell, exclude_meeting_id=exclude_meeting_id)
    in_force = await rule_set_for(session, cell, as_utc(starts_at).astimezone(ZoneInfo(cell.timezone)).date())
    decision = group_month_allowed(used, month, in_force)
    if not decision.outcome:
        raise ApiError(
            409,
            "group_months_exceeded",
            decision.explanation,
            rule="R-GROUP-3",
            details=_decision_details(decision.counts, decision.details, cell),
        )


def _decision_details(counts: Any, details: Any, cell: Org) -> dict[str, Any]:
    return {"counts": dict(counts), **dict(details), "cell_id": cell.id}
