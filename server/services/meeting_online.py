"""R-ELIG-6 for meetings: whose online approval covers a unit's meetings (a party group: its cell),
whether an online or hybrid meeting may be held, and the warning when the approval ends before it.

- An online or hybrid meeting needs a valid ONLINE pilot approval of the unit on the unit's local
  date of scheduling (a party group: its parent cell's approval), else 409 `R-ELIG-6`.
- An online or hybrid meeting whose local start or end day has no valid ONLINE approval is
  scheduled all the same, with a warning `{code: "approval_ends_before_meeting", rule: "R-ELIG-6",
  message, valid_to}`: the approval may be renewed by then, and the opening and the room check
  R-ELIG-6 on the day.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings.content import MODE_TEXT
from meetings.decision import Text
from meetings.enums import ApplicationKind, MeetingMode, OrgKind
from server.clock import as_utc
from server.db.tables import Org
from server.errors import refused
from server.services.pilot import valid_approval, valid_approvals

REMOTE_MODES = frozenset({MeetingMode.ONLINE, MeetingMode.HYBRID})


async def _approving_unit(session: AsyncSession, org: Org) -> Org:
    """The unit whose online approval covers the org's meetings (a party group: its cell)."""
    assert org.id is not None
    return (await _approving_units(session, [org]))[org.id]


async def _approving_units(session: AsyncSession, orgs: Sequence[Org]) -> dict[int, Org]:
    parent_ids = {org.parent_id for org in orgs if org.kind == OrgKind.GROUP and org.parent_id is not None}
    parents: dict[int | None, Org] = {}
    if parent_ids:
        query = select(Org).where(col(Org.id).in_(parent_ids))
        parents = {parent.id: parent for parent in (await session.execute(query)).scalars().all()}
    return {
        org.id: (parents.get(org.parent_id, org) if org.kind == OrgKind.GROUP else org)
        for org in orgs
        if org.id is not None
    }


async def online_approved(session: AsyncSession, orgs: Sequence[Org], at: datetime) -> set[int]:
    """The ids of the units among `orgs` whose online or hybrid meetings R-ELIG-6 allows at `at`:
    `check_online_allowed` for several units at once (the live rooms load their views together)."""
    units = await _approving_units(session, orgs)
    approved = await valid_approvals(session, list(units.values()), ApplicationKind.ONLINE, at)
    return {org_id for org_id, unit in units.items() if unit.id in approved}


async def approval_warnings(
    session: AsyncSession,
    org: Org,
    mode: MeetingMode,
    starts_at: datetime,
    duration_minutes: int,
    at: datetime,
    lang: str = "vi",
) -> list[dict[str, Any]]:
    """R-ELIG-6 on the meeting's own days: an online or hybrid meeting whose start or end falls on a
    local day no valid online approval covers is warned of (scheduling is not refused: the approval
    may be renewed by then; the opening and the room check the rule on the day)."""
    if mode not in REMOTE_MODES:
        return []
    unit = await _approving_unit(session, org)
    start = as_utc(starts_at)
    end = start + timedelta(minutes=duration_minutes)
    covered = [await valid_approval(session, unit, ApplicationKind.ONLINE, when) for when in (start, end)]
    if all(approval is not None for approval in covered):
        return []
    current = await valid_approval(session, unit, ApplicationKind.ONLINE, at)
    valid_to = current.valid_to if current is not None else None
    if valid_to is not None:
        day = f"{valid_to.day:02d}/{valid_to.month:02d}/{valid_to.year}"
        message = Text(
            f"Quyết định phê duyệt thí điểm sinh hoạt trực tuyến của đơn vị hết hiệu lực ngày {day}, "
            "trước khi buổi sinh hoạt diễn ra: nếu không được phê duyệt lại, buổi sinh hoạt sẽ không thể "
            "tổ chức trực tuyến hoặc kết hợp (R-ELIG-6).",
            f"The unit's approval of the online pilot ends on {valid_to.isoformat()}, before the meeting: "
            "unless it is renewed, the meeting cannot be held online or hybrid (R-ELIG-6).",
        )
    else:
        message = Text(
            "Đơn vị không có quyết định phê duyệt thí điểm sinh hoạt trực tuyến còn hiệu lực vào ngày "
            "diễn ra buổi sinh hoạt: buổi sinh hoạt sẽ không thể tổ chức trực tuyến hoặc kết hợp (R-ELIG-6).",
            "The unit holds no approval of the online pilot valid on the meeting's day: the meeting "
            "cannot be held online or hybrid (R-ELIG-6).",
        )
    return [
        {
            "code": "approval_ends_before_meeting",
            "rule": "R-ELIG-6",
            "message": message.in_language(lang),
            "valid_to": valid_to,
            "approving_org_id": unit.id,
        }
    ]


async def check_online_allowed(session: AsyncSession, org: Org, mode: MeetingMode, at: datetime) -> None:
    """R-ELIG-6: online or hybrid only while the unit (a group: its cell) holds a valid approval."""
    if mode not in REMOTE_MODES:
        return
    approving_unit = await _approving_unit(session, org)
    if await valid_approval(session, approving_unit, ApplicationKind.ONLINE, at) is not None:
        return
    where = MODE_TEXT[mode]
    raise refused(
        "R-ELIG-6",
        Text(
            f"Không thể tổ chức sinh hoạt {where.vi}: đơn vị chưa có quyết định phê duyệt thí điểm "
            "sinh hoạt trực tuyến còn hiệu lực (R-ELIG-6).",
            f"A meeting cannot be held {where.en}: the unit holds no valid approval of the online "
            "pilot (R-ELIG-6).",
        ),
        details={"mode": mode.value, "approving_org_id": approving_unit.id},
    )
