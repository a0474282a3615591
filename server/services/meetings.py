"""Meetings: a meeting as shown, scheduled, and changed while scheduled (R-ELIG-6, R-CONTENT-1, R-GROUP-2/3).

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
- `agenda_template_id` names a built-in template or one of the unit's or its ancestors' (else 422);
  scheduling with it, or setting it by PATCH, copies the template's items into the agenda
  (server.services.agenda_templates), checked against R-CONTENT-1 like any agenda.
- `place`: the on-site place of a hybrid or in-person meeting, printed in the minutes (R-MIN-4).

What scheduling and changing check lives next to this module: which unit holds which meetings, a
start not in the past and the meeting's state (meeting_checks), R-ELIG-6 (meeting_online), the unit's
members (unit_members), the agenda (meeting_agenda); excuses are in meeting_excuses. `online_approved`
is importable from here too.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings.enums import ItemType, MeetingKind, MeetingMode, MeetingStatus
from server.audit.log import append
from server.clock import as_utc, iso
from server.db.tables import AgendaItem, Meeting, Org
from server.errors import not_found
from server.services.agenda_templates import builtin_template_id, template_entries
from server.services.group_meetings import check_group_meeting
from server.services.meeting_agenda import agenda_of, agenda_rows, check_agenda
from server.services.meeting_checks import check_not_past, check_org_for_kind, require_scheduled
from server.services.meeting_online import check_online_allowed, online_approved
from server.services.rule_sets import rule_set_for
from server.services.unit_members import check_people

__all__ = ["change", "meeting_json", "online_approved", "schedule"]


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
    dated = await rule_set_for(
        session, org, as_utc(values["starts_at"]).astimezone(ZoneInfo(org.timezone)).date()
    )
    check_agenda(org, mode, [entry.item_type for entry in entries], dated)
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
    session.add_all(agenda_rows(meeting, entries))
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
    starts_at = as_utc(changes["starts_at"]) if "starts_at" in changes else as_utc(meeting.starts_at)
    dated = await rule_set_for(session, org, starts_at.astimezone(ZoneInfo(org.timezone)).date())
    if template_id is not None and template_id != meeting.agenda_template_id:
        entries = await template_entries(session, template_id, org)
        mode = MeetingMode(changes.get("mode") or meeting.mode)
        check_agenda(org, mode, [entry.item_type for entry in entries], dated)
        await session.execute(delete(AgendaItem).where(col(AgendaItem.meeting_id) == meeting.id))
        session.add_all(agenda_rows(meeting, entries))
    if "mode" in changes:
        mode = MeetingMode(changes["mode"])
        if mode.value != meeting.mode:
            await check_online_allowed(session, org, mode, at)
            items = await agenda_of(session, meeting.id)  # type: ignore[arg-type]
            check_agenda(org, mode, [ItemType(item.item_type) for item in items], dated)
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
