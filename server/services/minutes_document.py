"""The minutes' document: the facts the system fills in from the record (R-MIN-3/4), in Vietnamese.

While the minutes are not locked the document is computed afresh from the record on every read: the
unit and the one above it, the meeting's number in its year, time and place, chair and minute-taker,
who was summoned, present and absent, the agenda with its speakers and discussion groups, the votes
with their counts, outcome and reserved opinions. At locking it is frozen with the rest (minutes.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings import minutes as m
from meetings.decision import Text
from meetings.enums import AttendanceStatus, MeetingMode, OrgKind, Role, Standing, VoteMode
from meetings.groups import group_unit_name
from meetings.vote_modes import MODE_TEXT
from server.clock import as_utc
from server.db.tables import Excuse, Grant, Meeting, Member, Org
from server.services import breakout
from server.services.attendance import attendance_of, situation
from server.services.meeting_agenda import agenda_of
from server.services.relay_views import relayed_lines
from server.services.running import speech_json, speeches_of
from server.services.vote_results import METHOD_TEXT, vote_json, votes_of

_PRESENT = {AttendanceStatus.PRESENT, AttendanceStatus.LATE, AttendanceStatus.LEFT_EARLY}
_UNIT_WORD = {"cell": "chi bộ", "grassroots": "đảng ủy", "group": "tổ đảng"}


async def _person(session: AsyncSession, org: Org, member_id: int | None) -> dict[str, Any] | None:
    if member_id is None:
        return None
    member = await session.get(Member, member_id)
    if member is None:
        return None
    roles: set[str] = set()
    if member.user_id is not None:
        query = select(col(Grant.role)).where(
            col(Grant.user_id) == member.user_id, col(Grant.org_id) == org.id
        )
        roles = set((await session.execute(query)).scalars().all())
    unit = _UNIT_WORD.get(org.kind, "")
    if Role.SECRETARY.value in roles:
        position = f"Bí thư {unit}".strip()
    elif Role.DEPUTY_SECRETARY.value in roles:
        position = f"Phó Bí thư {unit}".strip()
    else:
        position = "Đảng viên"
    return {"member_id": member.id, "full_name": member.full_name, "position": position}


async def _sequence_in_year(session: AsyncSession, meeting: Meeting, zone: ZoneInfo) -> int:
    year = as_utc(meeting.starts_at).astimezone(zone).year
    rows = await session.execute(
        select(col(Meeting.id), col(Meeting.starts_at)).where(col(Meeting.org_id) == meeting.org_id)
    )
    same_year = sorted(
        (as_utc(starts), mid) for mid, starts in rows.all() if as_utc(starts).astimezone(zone).year == year
    )
    return [mid for _, mid in same_year].index(meeting.id) + 1


def _local(value: datetime | None, zone: ZoneInfo) -> str | None:
    return as_utc(value).astimezone(zone).isoformat() if value is not None else None


async def _unit(session: AsyncSession, org: Org, parent: Org | None) -> dict[str, Any]:
    """The unit the minutes are of, and the one above it; a party group's short minutes (R-GROUP-4) name
    the group with its cell, under the cell's superior."""
    if org.kind == OrgKind.GROUP and parent is not None:
        above = await session.get(Org, parent.parent_id) if parent.parent_id is not None else None
        return {
            "name": group_unit_name(org.name, parent.name),
            "parent_name": above.name if above is not None else None,
        }
    return {"name": org.name, "parent_name": parent.name if parent is not None else None}


async def build_document(
    session: AsyncSession, meeting: Meeting, org: Org, fields: dict[str, str], at: datetime
) -> dict[str, Any]:
    """Everything the record says that R-MIN-3/4 asks for (Vietnamese)."""
    assert meeting.id is not None
    zone = ZoneInfo(org.timezone)
    parent = await session.get(Org, org.parent_id) if org.parent_id is not None else None
    mode = MeetingMode(meeting.mode)
    if mode is MeetingMode.ONLINE:
        place = "Trực tuyến"
    elif mode is MeetingMode.HYBRID:
        place = f"{meeting.place} và trực tuyến" if meeting.place else "Trực tuyến và tại chỗ"
    else:
        place = meeting.place
    day = as_utc(meeting.opened_at or meeting.starts_at).astimezone(zone).date()
    state = await situation(session, meeting, org)
    attendance = attendance_of(state, meeting, as_utc(meeting.closed_at) if meeting.closed_at else at)
    excuses: dict[int | None, str] = dict(
        (
            await session.execute(
                select(col(Excuse.member_id), col(Excuse.reason)).where(col(Excuse.meeting_id) == meeting.id)
            )
        ).all()
    )
    present = [mem for mem in state.members if attendance[mem.id].status in _PRESENT]  # type: ignore[index]
    official = [mem for mem in state.members if mem.standing == Standing.OFFICIAL]
    speeches = await speeches_of(session, meeting.id)
    votes = [v for v in await votes_of(session, meeting.id) if v.status == "closed"]
    group_notes = await breakout.notes_for_minutes(session, meeting.id)
    vote_rows = []
    for vote in votes:
        shown = await vote_json(session, vote, org, "vi")
        result = shown["result"]
        vote_rows.append(
            {
                "id": vote.id,
                "question": vote.question,
                "kind": vote.kind,
                "method": METHOD_TEXT.get(vote.method, Text(vote.method, vote.method)).vi,
                # How it was taken (issue 30, R-VOTE-4): the mode, said in the document's language, and
                # the counting committee of a paper ballot.
                "mode": vote.mode,
                "mode_text": MODE_TEXT[VoteMode(vote.mode)].vi,
                "counted_by": list(vote.counted_by or []),
                "agenda_item_index": vote.agenda_position,
                "counts": {
                    k: result["counts"][k] for k in ("for", "against", "abstain", "voting_base", "needed")
                },
                "outcome": result["outcome"],
                "rule": result["rule"],
                "explanation": result["explanation"],
                # Opened without a quorum: the chair's reason is part of the record (R-QUOR-1).
                "override_reason": vote.override_reason,
                "reserved_opinions": [
                    {"full_name": o["full_name"], "opinion": o["opinion"]} for o in shown["reserved_opinions"]
                ],
            }
        )
    document: dict[str, Any] = {
        "unit": await _unit(session, org, parent),
        "number": fields.get("number") or m.default_number(await _sequence_in_year(session, meeting, zone)),
        "title": meeting.title,
        "kind": meeting.kind,
        "mode": meeting.mode,
        "place": place,
        "date_line": m.date_line(place, day),
        "timezone": org.timezone,
        "starts_at": _local(meeting.starts_at, zone),
        "opened_at": _local(meeting.opened_at, zone),
        "closed_at": _local(meeting.closed_at, zone),
        "chair": await _person(session, org, meeting.chair_id),
        "minute_taker": await _person(session, org, meeting.minute_taker_id),
        "totals": {
            "members": len(state.members),
            "official": len(official),
            "probationary": len(state.members) - len(official),
        },
        "present": {
            "total": len(present),
            "official": sum(1 for mem in present if mem.standing == Standing.OFFICIAL),
            "probationary": sum(1 for mem in present if mem.standing == Standing.PROBATIONARY),
            "names": [mem.full_name for mem in present],
        },
        "absent_excused": [
            {"full_name": mem.full_name, "reason": excuses.get(mem.id, "")}
            for mem in state.members
            if attendance[mem.id].status is AttendanceStatus.ABSENT_EXCUSED  # type: ignore[index]
        ],
        "absent_unexcused": [
            {"full_name": mem.full_name}
            for mem in state.members
            if attendance[mem.id].status is AttendanceStatus.ABSENT_UNEXCUSED  # type: ignore[index]
        ],
        "quorum_override_reason": meeting.quorum_override_reason,
        "agenda": [
            {
                "index": item.position,
                "title": item.title,
                "item_type": item.item_type,
                "started_at": _local(item.started_at, zone),
                "ended_at": _local(item.ended_at, zone),
                "speakers": [
                    {"full_name": name, "seconds": speech_json(speech, name, at)["seconds"]}
                    for speech, name in speeches
                    if speech.agenda_position == item.position
                ],
                # The discussion groups of a split made during this item, with their notes.
                "breakouts": group_notes.get(item.position, []),
            }
            for item in await agenda_of(session, meeting.id)
        ],
        "votes": vote_rows,
    }
    if state.relays:  # only then: the minutes of a meeting without relays read exactly as before
        document["relayed"] = relayed_lines(state.relays, {mem.id: mem.full_name for mem in state.members})
    return document
