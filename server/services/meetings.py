"""Meetings: scheduling, changes while scheduled, the agenda, and excuses (R-ELIG-6, R-CONTENT-1).

Decisions this module makes (documented for docs/api.md):

- A meeting belongs to a cell or a grassroots committee; a party group holds only meetings of
  kind `group`, and a meeting of kind `group` is held only by a party group (else 422
  `invalid_org_kind`). A group meeting replaces the cell's monthly meeting: scheduling it, or moving
  its start, checks R-GROUP-2 and R-GROUP-3 (server.services.group_meetings); without
  `agenda_template_id` its agenda is the built-in `group` template.
- A dissolved party group schedules nothing: 404, as a group that does not exist.
- An online or hybrid meeting needs a valid ONLINE pilot approval of the unit on the unit's
  local date of scheduling (a party group: its parent cell's approval), else 409 `R-ELIG-6`.
  A change of mode re-checks R-ELIG-6 and the stored agenda against R-CONTENT-1.
- A meeting changes (PATCH, agenda PUT, excuses) only while `scheduled`; otherwise 409
  `meeting_not_scheduled` (`meeting_cancelled` for a cancelled one: it never opens, nobody joins).
- A meeting is scheduled, rescheduled or moved by PATCH only to a start no earlier than now less
  `PAST_GRACE` (24 hours: a session held on site today or last night may still be entered after
  it, as the monthly record needs it): else 422 `starts_in_past`, nothing written. A start already
  gone within the grace (more than `PAST_WARNING_AFTER`, 5 minutes) is taken with a
  `starts_in_past` warning, so a mistyped date never passes unnoticed.
- An online or hybrid meeting whose local start or end day has no valid ONLINE approval (the one
  held now ends before it, R-ELIG-6) is scheduled all the same, with a warning
  `{code: "approval_ends_before_meeting", rule: "R-ELIG-6", message, valid_to}` in the answer: the
  approval may be renewed by then, and the opening and the room check R-ELIG-6 on the day.
- Cancel and reschedule take a scheduled meeting only (409 `meeting_not_scheduled` /
  `meeting_cancelled`), with a reason; both are audited (`meeting.cancelled`,
  `meeting.rescheduled` with the reason and the old and new times) and tell the summoned members
  with an account (server.services.notices).
- The chair and the minute-taker are members of the unit: a cell's own register, a grassroots
  committee's subtree, a party group's members (`group_id`); anyone else is 422.
- `agenda_template_id` names a built-in template or one of the unit's or its ancestors' (else 422);
  scheduling with it, or setting it by PATCH, copies the template's items into the agenda
  (server.services.agenda_templates), checked against R-CONTENT-1 like any agenda.
- `place`: the on-site place of a hybrid or in-person meeting, printed in the minutes (R-MIN-4).
- Excuses: one per member and meeting. A repeated excuse for the same member replaces the
  reason (200, audited as `excuse.submitted` with `"updated": true`); the first one is 201.
  Excuses are taken only while the meeting is scheduled, because the opening states who is
  absent with a reason (R-ATT-1).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from meetings.content import MODE_TEXT, check_agenda_content
from meetings.decision import Text
from meetings.enums import ApplicationKind, ItemType, MeetingKind, MeetingMode, MeetingStatus, OrgKind
from meetings.rulesets import get_rule_set
from server.audit.log import append
from server.clock import as_utc, iso
from server.db.tables import AgendaItem, Excuse, Meeting, Member, Org
from server.db.tree import subtree_ids
from server.errors import ApiError, conflict, not_found, refused
from server.services.agenda_templates import AgendaEntry, builtin_template_id, template_entries
from server.services.group_meetings import check_group_meeting
from server.services.pilot import valid_approval, valid_approvals

MEETING_ORG_KINDS = frozenset({OrgKind.CELL, OrgKind.GRASSROOTS, OrgKind.GROUP})
REMOTE_MODES = frozenset({MeetingMode.ONLINE, MeetingMode.HYBRID})
# A start this much before now is still taken (a form filled in just before the hour).
PAST_GRACE = timedelta(hours=24)
PAST_WARNING_AFTER = timedelta(minutes=5)  # a form filled in just before the hour is not warned


def meeting_json(meeting: Meeting, org: Org) -> dict[str, Any]:
    starts_at = as_utc(meeting.starts_at)
    zone = ZoneInfo(org.timezone)
    return {
        "id": meeting.id,
        "org_id": meeting.org_id,
        "kind": meeting.kind,
        "mode": meeting.mode,
        "status": meeting.status,
        "title": meeting.title,
        "starts_at": starts_at,
        "ends_at": starts_at + timedelta(minutes=meeting.duration_minutes),
        "starts_at_local": starts_at.astimezone(zone).isoformat(),
        "timezone": org.timezone,
        "duration_minutes": meeting.duration_minutes,
        "chair_id": meeting.chair_id,
        "minute_taker_id": meeting.minute_taker_id,
        "agenda_template_id": meeting.agenda_template_id,
        "place": meeting.place,
        "current_item": meeting.current_item,
        "created_by": meeting.created_by,
        "created_at": as_utc(meeting.created_at),
        "opened_at": as_utc(meeting.opened_at) if meeting.opened_at is not None else None,
        "closed_at": as_utc(meeting.closed_at) if meeting.closed_at is not None else None,
        "quorum_override_reason": meeting.quorum_override_reason,
        "cancelled_at": as_utc(meeting.cancelled_at) if meeting.cancelled_at is not None else None,
        "cancel_reason": meeting.cancel_reason,
    }


def agenda_item_json(item: AgendaItem) -> dict[str, Any]:
    return {"position": item.position, "title": item.title, "item_type": item.item_type, "notes": item.notes}


def excuse_json(excuse: Excuse) -> dict[str, Any]:
    return {
        "id": excuse.id,
        "meeting_id": excuse.meeting_id,
        "member_id": excuse.member_id,
        "reason": excuse.reason,
        "submitted_by": excuse.submitted_by,
        "created_at": as_utc(excuse.created_at),
    }


def _invalid(field: str, vi: str, en: str, code: str = "validation_error") -> ApiError:
    return ApiError(422, code, Text(vi, en), details={"fields": {field: en}})


def check_org_for_kind(org: Org, kind: MeetingKind) -> None:
    org_kind = OrgKind(org.kind)
    if org_kind not in MEETING_ORG_KINDS:
        raise ApiError(
            422,
            "invalid_org_kind",
            Text(
                "Chỉ chi bộ, đảng bộ cơ sở và tổ đảng tổ chức sinh hoạt.",
                "Only cells, grassroots committees and party groups hold meetings.",
            ),
            details={"org_kind": org.kind},
        )
    if (org_kind == OrgKind.GROUP) != (kind == MeetingKind.GROUP):
        raise ApiError(
            422,
            "invalid_org_kind",
            Text(
                "Buổi sinh hoạt tổ đảng (kind = group) chỉ do tổ đảng tổ chức, và tổ đảng chỉ tổ chức "
                "sinh hoạt tổ đảng.",
                "A meeting of kind group is held by a party group only, and a party group holds only "
                "meetings of kind group.",
            ),
            details={"org_kind": org.kind, "kind": kind.value},
        )


def check_not_past(starts_at: datetime, at: datetime) -> None:
    """A meeting is not scheduled (or moved) to a time already gone, beyond PAST_GRACE."""
    if as_utc(starts_at) < at - PAST_GRACE:
        raise ApiError(
            422,
            "starts_in_past",
            Text(
                "Thời gian bắt đầu đã qua: không thể lên lịch buổi sinh hoạt trong quá khứ.",
                "The start time has passed: a meeting cannot be scheduled in the past.",
            ),
            details={"fields": {"starts_at": "in the past"}, "now": iso(at)},
        )


async def _approving_unit(session: AsyncSession, org: Org) -> Org:
    """The unit whose online approval covers the org's meetings (a party group: its cell)."""
    assert org.id is not None
    return (await _approving_units(session, [org]))[org.id]


async def _approving_units(session: AsyncSession, orgs: Sequence[Org]) -> dict[int, Org]:
    parent_ids = {org.parent_id for org in orgs if org.kind == OrgKind.GROUP and org.parent_id is not None}
    parents: dict[int | None, Org] = {}
    if parent_ids:
        query = select(Org).where(Org.id.in_(parent_ids))  # type: ignore[union-attr]
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


def past_start_warnings(starts_at: datetime, at: datetime, lang: str = "vi") -> list[dict[str, Any]]:
    """A start already gone, within PAST_GRACE: taken, and said so."""
    if as_utc(starts_at) >= at - PAST_WARNING_AFTER:
        return []
    message = Text(
        "Thời gian bắt đầu đã qua: buổi sinh hoạt được ghi nhận như đã tổ chức vào thời gian này. "
        "Nếu nhập nhầm ngày giờ, hãy dời lịch.",
        "The start time has passed: the meeting is recorded as held at that time. If the date or time "
        "is wrong, move the meeting.",
    )
    return [{"code": "starts_in_past", "rule": None, "message": message.in_language(lang)}]


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


def check_agenda(org: Org, mode: MeetingMode, item_types: Sequence[ItemType]) -> None:
    decision = check_agenda_content(mode, item_types, get_rule_set(org.rule_set))
    if not decision.outcome:
        raise refused(
            "R-CONTENT-1",
            decision.explanation,
            details={**dict(decision.details), "counts": dict(decision.counts), "mode": mode.value},
        )


async def unit_member_ids(session: AsyncSession, org: Org) -> set[int]:
    """The members who belong to the unit's meetings."""
    assert org.id is not None
    return (await units_member_ids(session, [org]))[org.id]


async def units_member_ids(session: AsyncSession, orgs: Sequence[Org]) -> dict[int, set[int]]:
    """`unit_member_ids` of several units: cells and party groups in one query, a committee's
    subtree each on its own (the live rooms load their views together)."""
    found: dict[int, set[int]] = {org.id: set() for org in orgs if org.id is not None}
    cells = {org.id for org in orgs if org.kind == OrgKind.CELL}
    groups = {org.id for org in orgs if org.kind == OrgKind.GROUP}
    if cells or groups:
        query = select(Member.id, Member.org_id, Member.group_id).where(
            or_(Member.org_id.in_(cells), Member.group_id.in_(groups))  # type: ignore[attr-defined,union-attr]
        )
        for member_id, org_id, group_id in (await session.execute(query)).all():
            if org_id in cells:
                found[org_id].add(member_id)
            if group_id in groups:
                found[group_id].add(member_id)
    for org in orgs:
        if org.id is not None and org.kind not in (OrgKind.CELL, OrgKind.GROUP):
            ids = await subtree_ids(session, [org.id])
            query = select(Member.id).where(Member.org_id.in_(ids))  # type: ignore[attr-defined]
            found[org.id] = {row[0] for row in (await session.execute(query)).all()}
    return found


async def check_people(session: AsyncSession, org: Org, values: dict[str, Any]) -> None:
    wanted = {name: values[name] for name in ("chair_id", "minute_taker_id") if values.get(name) is not None}
    if not wanted:
        return
    members = await unit_member_ids(session, org)
    for name, member_id in wanted.items():
        if member_id not in members:
            raise _invalid(
                name,
                f"'{name}' phải là một đảng viên của đơn vị.",
                f"'{name}' must be a member of the unit.",
            )


def require_scheduled(meeting: Meeting) -> None:
    require_not_cancelled(meeting)
    if meeting.status != MeetingStatus.SCHEDULED:
        raise conflict(
            "meeting_not_scheduled",
            Text(
                "Buổi sinh hoạt đã bắt đầu hoặc đã kết thúc; không thể thay đổi.",
                "The meeting has already opened or closed; it cannot be changed.",
            ),
            status=meeting.status,
        )


def require_not_cancelled(meeting: Meeting) -> None:
    """A cancelled meeting never opens, takes no check-in, excuse or change, and nobody joins it."""
    if meeting.status == MeetingStatus.CANCELLED:
        why = f": {meeting.cancel_reason}" if meeting.cancel_reason else "."
        raise conflict(
            "meeting_cancelled",
            Text(f"Buổi sinh hoạt đã bị hủy{why}", f"The meeting has been cancelled{why}"),
            status=meeting.status,
        )


async def agenda_of(session: AsyncSession, meeting_id: int) -> list[AgendaItem]:
    return (await agendas_of(session, [meeting_id]))[meeting_id]


async def agendas_of(session: AsyncSession, meeting_ids: Sequence[int]) -> dict[int, list[AgendaItem]]:
    """The agendas of several meetings in one query, each in its order."""
    found: dict[int, list[AgendaItem]] = {meeting_id: [] for meeting_id in meeting_ids}
    query = (
        select(AgendaItem)
        .where(AgendaItem.meeting_id.in_(found))  # type: ignore[attr-defined]
        .order_by(AgendaItem.meeting_id, AgendaItem.position)  # type: ignore[arg-type]
    )
    for item in (await session.execute(query)).scalars().all():
        found[item.meeting_id].append(item)
    return found


async def schedule(
    session: AsyncSession, org: Org, values: dict[str, Any], *, actor_user_id: int, at: datetime
) -> Meeting:
    if org.dissolved_at is not None:
        raise not_found()  # a dissolved party group is history: it answers like a group that is gone
    kind, mode = MeetingKind(values["kind"]), MeetingMode(values["mode"])
    check_org_for_kind(org, kind)
    check_not_past(values["starts_at"], at)
    template_id = values.get("agenda_template_id")
    if template_id is None and kind == MeetingKind.GROUP:
        template_id = await builtin_template_id(session, "group")  # R-GROUP-4: the group's own agenda
    entries = await template_entries(session, template_id, org) if template_id is not None else []
    check_agenda(org, mode, [entry.item_type for entry in entries])
    await check_people(session, org, values)
    await check_online_allowed(session, org, mode, at)
    if kind == MeetingKind.GROUP:
        await check_group_meeting(session, org, values["starts_at"])
    meeting = Meeting(
        org_id=org.id,  # type: ignore[arg-type]
        kind=kind.value,
        mode=mode.value,
        status=MeetingStatus.SCHEDULED.value,
        title=values["title"],
        starts_at=as_utc(values["starts_at"]),
        duration_minutes=values["duration_minutes"],
        chair_id=values.get("chair_id"),
        minute_taker_id=values.get("minute_taker_id"),
        agenda_template_id=template_id,
        place=values.get("place") or "",
        created_by=actor_user_id,
        created_at=at,
    )
    session.add(meeting)
    await session.flush()
    session.add_all(_agenda_rows(meeting, entries))
    await append(
        session,
        at=at,
        actor_user_id=actor_user_id,
        org_id=org.id,
        action="meeting.scheduled",
        target=f"meeting:{meeting.id}",
        data={
            "kind": meeting.kind,
            "mode": meeting.mode,
            "title": meeting.title,
            "starts_at": iso(meeting.starts_at),
            "duration_minutes": meeting.duration_minutes,
            "chair_id": meeting.chair_id,
            "minute_taker_id": meeting.minute_taker_id,
            "agenda_template_id": template_id,
        },
    )
    return meeting


def _agenda_rows(meeting: Meeting, entries: Sequence[AgendaEntry]) -> list[AgendaItem]:
    assert meeting.id is not None
    return [
        AgendaItem(
            meeting_id=meeting.id,
            position=position,
            title=entry.title,
            item_type=entry.item_type.value,
            notes=entry.notes,
        )
        for position, entry in enumerate(entries)
    ]


async def change(
    session: AsyncSession,
    meeting: Meeting,
    org: Org,
    changes: dict[str, Any],
    *,
    actor_user_id: int,
    at: datetime,
) -> Meeting:
    require_scheduled(meeting)
    await check_people(session, org, changes)
    moved = "starts_at" in changes and as_utc(changes["starts_at"]) != as_utc(meeting.starts_at)
    if moved:
        check_not_past(changes["starts_at"], at)
    if moved and meeting.kind == MeetingKind.GROUP:
        await check_group_meeting(session, org, changes["starts_at"], exclude_meeting_id=meeting.id)
    template_id = changes.get("agenda_template_id")
    if template_id is not None and template_id != meeting.agenda_template_id:
        entries = await template_entries(session, template_id, org)
        mode = MeetingMode(changes.get("mode") or meeting.mode)
        check_agenda(org, mode, [entry.item_type for entry in entries])
        await session.execute(delete(AgendaItem).where(AgendaItem.meeting_id == meeting.id))  # type: ignore[arg-type]
        session.add_all(_agenda_rows(meeting, entries))
    if "mode" in changes:
        mode = MeetingMode(changes["mode"])
        if mode.value != meeting.mode:
            await check_online_allowed(session, org, mode, at)
            items = await agenda_of(session, meeting.id)  # type: ignore[arg-type]
            check_agenda(org, mode, [ItemType(item.item_type) for item in items])
    recorded: dict[str, Any] = {}
    for name, value in changes.items():
        if name == "starts_at":
            value = as_utc(value)
            recorded[name] = iso(value)
        elif name == "mode":
            value = MeetingMode(value).value
            recorded[name] = value
        else:
            recorded[name] = value
        setattr(meeting, name, value)
    session.add(meeting)
    await session.flush()
    await append(
        session,
        at=at,
        actor_user_id=actor_user_id,
        org_id=meeting.org_id,
        action="meeting.updated",
        target=f"meeting:{meeting.id}",
        data={"changes": recorded},
    )
    return meeting


async def replace_agenda(
    session: AsyncSession,
    meeting: Meeting,
    org: Org,
    entries: Sequence[AgendaEntry],
    *,
    actor_user_id: int,
    at: datetime,
) -> list[AgendaItem]:
    require_scheduled(meeting)
    check_agenda(org, MeetingMode(meeting.mode), [entry.item_type for entry in entries])
    assert meeting.id is not None
    await session.execute(delete(AgendaItem).where(AgendaItem.meeting_id == meeting.id))  # type: ignore[arg-type]
    items = _agenda_rows(meeting, entries)
    session.add_all(items)
    await session.flush()
    await append(
        session,
        at=at,
        actor_user_id=actor_user_id,
        org_id=meeting.org_id,
        action="agenda.replaced",
        target=f"meeting:{meeting.id}",
        data={"items": [{"title": i.title, "item_type": i.item_type} for i in items]},
    )
    return items


async def submit_excuse(
    session: AsyncSession,
    meeting: Meeting,
    member_id: int,
    reason: str,
    *,
    actor_user_id: int,
    at: datetime,
) -> tuple[Excuse, bool]:
    """Record or replace the member's excuse; True when it is new."""
    require_scheduled(meeting)
    existing = (
        await session.execute(
            select(Excuse).where(Excuse.meeting_id == meeting.id, Excuse.member_id == member_id)
        )
    ).scalar_one_or_none()
    created = existing is None
    if existing is None:
        excuse = Excuse(
            meeting_id=meeting.id,  # type: ignore[arg-type]
            member_id=member_id,
            reason=reason,
            submitted_by=actor_user_id,
            created_at=at,
        )
    else:
        excuse = existing
        excuse.reason = reason
        excuse.submitted_by = actor_user_id
    session.add(excuse)
    await session.flush()
    await append(
        session,
        at=at,
        actor_user_id=actor_user_id,
        org_id=meeting.org_id,
        action="excuse.submitted",
        target=f"meeting:{meeting.id}",
        data={"member_id": member_id, "reason": reason, "updated": not created},
    )
    return excuse, created
