"""Minutes (biên bản): the texts people write, the facts the system fills in, adoption, signatures,
locking and addenda (R-MIN-1..5). Merging concurrent edits is meetings.minutes; this stores it.

- Texts are append-only `minutes_edits` rows; a field's text at version v is its latest row with
  version <= v, so any edit can be merged against the version it names. Each accepted edit is
  committed before the answer; its `edit_id` row makes a retried PUT answer as the first did.
- Edits of one meeting are serialised by locking the meeting row (PostgreSQL; SQLite serialises
  writes anyway).
- `document` (the facts) is computed from the record while the minutes are not locked; at locking
  the whole content (facts, texts, adoption, signatures) is frozen, hashed (SHA-256 over canonical
  JSON) and the hash goes into the audit log. The minutes are in Vietnamese, the document language.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from meetings import minutes as m
from meetings.decision import Text
from meetings.enums import AttendanceStatus, MeetingMode, MeetingStatus, OrgKind, Role, Standing, VoteKind
from meetings.groups import group_unit_name
from server.audit.checkpoints import MINUTES_LOCKED, MINUTES_SIGNED, write_checkpoint
from server.audit.log import append
from server.clock import as_utc
from server.db.tables import (
    Excuse,
    Grant,
    Meeting,
    Member,
    Minutes,
    MinutesAddendum,
    MinutesEdit,
    MinutesEditKey,
    MinutesSignature,
    Org,
    Vote,
)
from server.errors import ApiError, conflict
from server.services import breakout
from server.services.attendance import attendance_of, situation
from server.services.meeting_roles import MeetingRoles
from server.services.meetings import agenda_of
from server.services.running import speech_json, speeches_of
from server.services.votes import METHOD_TEXT, passed, vote_json, votes_of

_PRESENT = {AttendanceStatus.PRESENT, AttendanceStatus.LATE, AttendanceStatus.LEFT_EARLY}
_UNIT_WORD = {"cell": "chi bộ", "grassroots": "đảng ủy", "group": "tổ đảng"}


def _locked_error() -> ApiError:
    return ApiError(
        409,
        "minutes_locked",
        Text(
            "Biên bản đã được thông qua; không sửa được nữa. Sai sót được đính chính bằng phụ lục (R-MIN-5).",
            "The minutes were adopted and can no longer be edited; a correction is an addendum (R-MIN-5).",
        ),
        rule="R-MIN-5",
    )


async def minutes_row(session: AsyncSession, meeting_id: int) -> Minutes:
    row = await session.get(Minutes, meeting_id)
    if row is None:
        row = Minutes(meeting_id=meeting_id, version=0)
        session.add(row)
        await session.flush()
    return row


async def texts_at(session: AsyncSession, meeting_id: int, version: int) -> dict[str, str]:
    rows = await session.execute(
        select(MinutesEdit.field, MinutesEdit.text)  # type: ignore[call-overload]
        .where(MinutesEdit.meeting_id == meeting_id, MinutesEdit.version <= version)
        .order_by(MinutesEdit.version)
    )
    return {name: text for name, text in rows.all()}


async def _signatures(session: AsyncSession, meeting_id: int) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(MinutesSignature, Member.full_name)
        .join(Member, Member.id == MinutesSignature.member_id)  # type: ignore[arg-type]
        .where(MinutesSignature.meeting_id == meeting_id)  # type: ignore[arg-type]
        .order_by(MinutesSignature.id)  # type: ignore[arg-type]
    )
    return [
        {
            "role": sig.role,
            "member_id": sig.member_id,
            "full_name": name,
            "signed_at": as_utc(sig.signed_at).isoformat(),
        }
        for sig, name in rows.all()
    ]


def _status(row: Minutes, signatures: list[dict[str, Any]]) -> m.MinutesStatus:
    return m.status_of(row.adopted_vote_id is not None, {s["role"] for s in signatures})


async def _person(session: AsyncSession, org: Org, member_id: int | None) -> dict[str, Any] | None:
    if member_id is None:
        return None
    member = await session.get(Member, member_id)
    if member is None:
        return None
    roles: set[str] = set()
    if member.user_id is not None:
        query = select(Grant.role).where(Grant.user_id == member.user_id, Grant.org_id == org.id)  # type: ignore[call-overload]
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
        select(Meeting.id, Meeting.starts_at).where(Meeting.org_id == meeting.org_id)  # type: ignore[call-overload]
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
    excuses = dict(
        (
            await session.execute(
                select(Excuse.member_id, Excuse.reason).where(Excuse.meeting_id == meeting.id)
            )
        ).all()  # type: ignore[call-overload]
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
    return {
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


async def minutes_json(session: AsyncSession, meeting: Meeting, org: Org, at: datetime) -> dict[str, Any]:
    assert meeting.id is not None
    row = await session.get(Minutes, meeting.id) or Minutes(meeting_id=meeting.id, version=0)
    addenda = await _addenda(session, meeting.id)
    if row.document is not None:  # locked: the frozen content, as hashed
        frozen = json.loads(row.document)
        return {
            **frozen,
            "status": m.MinutesStatus.LOCKED.value,
            "version": row.version,
            "locked_at": as_utc(row.locked_at).isoformat() if row.locked_at else None,
            "hash": row.hash,
            "addenda": addenda,
        }
    fields = await texts_at(session, meeting.id, row.version)
    signatures = await _signatures(session, meeting.id)
    return {
        "meeting_id": meeting.id,
        "version": row.version,
        "status": _status(row, signatures).value,
        "fields": fields,
        "document": await build_document(session, meeting, org, fields, at),
        "adoption": (
            {"vote_id": row.adopted_vote_id, "adopted_at": as_utc(row.adopted_at).isoformat()}
            if row.adopted_vote_id is not None and row.adopted_at is not None
            else None
        ),
        "signatures": signatures,
        "locked_at": None,
        "hash": None,
        "addenda": addenda,
    }


async def _addenda(session: AsyncSession, meeting_id: int) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(MinutesAddendum, Member.full_name)
        .join(Member, Member.id == MinutesAddendum.member_id)  # type: ignore[arg-type]
        .where(MinutesAddendum.meeting_id == meeting_id)  # type: ignore[arg-type]
        .order_by(MinutesAddendum.id)  # type: ignore[arg-type]
    )
    return [
        {
            "id": a.id,
            "text": a.text,
            "full_name": name,
            "created_at": as_utc(a.created_at).isoformat(),
            "hash": a.hash,
        }
        for a, name in rows.all()
    ]


async def edit_minutes(
    session: AsyncSession,
    meeting: Meeting,
    *,
    base_version: int,
    changes: dict[str, str],
    edit_id: str | None,
    user_id: int,
    at: datetime,
) -> tuple[int, list[str]]:
    """Apply one edit (the meeting row locked by the caller): (the version after it, merged fields)."""
    assert meeting.id is not None
    row = await minutes_row(session, meeting.id)
    if edit_id is not None:
        known = (
            await session.execute(
                select(MinutesEditKey).where(
                    MinutesEditKey.meeting_id == meeting.id,  # type: ignore[arg-type]
                    MinutesEditKey.edit_id == edit_id,  # type: ignore[arg-type]
                )
            )
        ).scalar_one_or_none()
        if known is not None:  # a retry: the first answer, nothing applied again
            return known.version, [name for name in known.merged.split(",") if name]
    if row.adopted_vote_id is not None:
        raise _locked_error()
    allowed = m.field_names(len(await agenda_of(session, meeting.id)))
    unknown = sorted(set(changes) - allowed)
    if unknown:
        raise ApiError(
            422,
            "validation_error",
            Text(
                f"Không có mục biên bản: {', '.join(unknown)}.",
                f"No such minutes field: {', '.join(unknown)}.",
            ),
            details={"fields": {name: "unknown field" for name in unknown}},
        )
    if not 0 <= base_version <= row.version:
        raise ApiError(
            422,
            "validation_error",
            Text(f"Không có phiên bản {base_version}.", f"There is no version {base_version}."),
            details={"fields": {"version": f"0..{row.version}"}},
        )
    current = await texts_at(session, meeting.id, row.version)
    base = current if base_version == row.version else await texts_at(session, meeting.id, base_version)
    if base is current:
        result = m.merge_edit(base, current, changes)  # nothing to merge: quick
    else:
        # A three-way merge of long texts can take a fraction of a second: off the event loop.
        result = await asyncio.to_thread(m.merge_edit, base, current, changes)
    if not result.applied:
        raise ApiError(
            409,
            "conflict",
            Text(
                "Người khác vừa sửa cùng chỗ này; nội dung của đồng chí chưa được lưu. "
                "Xem bản hiện tại rồi sửa lại.",
                "Someone else just changed the same place; your text was not saved. "
                "Look at the current text and edit again.",
            ),
            details={"version": row.version, "fields": current, "conflicts": list(result.conflicts)},
        )
    if result.texts:
        row.version += 1
        session.add_all(
            MinutesEdit(
                meeting_id=meeting.id,
                version=row.version,
                field=name,
                text=text,
                edit_id=edit_id,
                base_version=base_version,
                user_id=user_id,
                at=at,
            )
            for name, text in result.texts.items()
        )
        session.add(row)
    if edit_id is not None:
        session.add(
            MinutesEditKey(
                meeting_id=meeting.id, edit_id=edit_id, version=row.version, merged=",".join(result.merged)
            )
        )
    await session.flush()
    return row.version, list(result.merged)


async def adopt(
    session: AsyncSession, meeting: Meeting, vote_id: int, *, actor_user_id: int, at: datetime
) -> None:
    assert meeting.id is not None
    row = await minutes_row(session, meeting.id)
    if row.adopted_vote_id == vote_id:
        return
    vote = await session.get(Vote, vote_id)
    if (
        vote is None
        or vote.meeting_id != meeting.id
        or vote.kind != VoteKind.MINUTES_ADOPTION.value
        or not passed(vote)
    ):
        raise conflict(
            "vote_not_passed",
            Text(
                "Biên bản chỉ được thông qua bằng một biểu quyết thông qua biên bản của chính buổi sinh hoạt "
                "này, đã kết thúc và đạt (R-MIN-1).",
                "The minutes are adopted only by a closed, passed minutes_adoption vote of this meeting.",
            ),
            vote_id=vote_id,
        )
    if row.adopted_vote_id is not None:
        raise _locked_error()
    row.adopted_vote_id, row.adopted_at = vote_id, at
    session.add(row)
    await session.flush()
    await append(
        session,
        at=at,
        actor_user_id=actor_user_id,
        org_id=meeting.org_id,
        action="minutes.adopted",
        target=f"meeting:{meeting.id}",
        data={"vote_id": vote_id, "version": row.version},
    )


async def sign(
    session: AsyncSession,
    meeting: Meeting,
    org: Org,
    roles: MeetingRoles,
    *,
    actor_user_id: int,
    at: datetime,
) -> bool:
    """The caller signs as chair and/or minute-taker; True when this locked the minutes."""
    assert meeting.id is not None
    signing = [
        role
        for role, holds in (("chair", roles.is_chair_member), ("minute_taker", roles.is_minute_taker_member))
        if holds
    ]
    if not signing or roles.member_id is None:
        raise ApiError(
            403,
            "forbidden",
            Text(
                "Chỉ chủ trì và thư ký buổi sinh hoạt ký biên bản (R-MIN-2).",
                "Only the chair and the minute-taker sign the minutes (R-MIN-2).",
            ),
            rule="R-MIN-2",
        )
    row = await minutes_row(session, meeting.id)
    if row.adopted_vote_id is None:
        raise conflict(
            "minutes_not_adopted",
            Text("Biên bản chưa được hội nghị thông qua.", "The meeting has not adopted the minutes yet."),
        )
    if meeting.status != MeetingStatus.CLOSED:
        raise conflict(
            "meeting_not_closed",
            Text(
                "Ký biên bản sau khi bế mạc buổi sinh hoạt.",
                "The minutes are signed after the meeting closed.",
            ),
        )
    if row.document is not None:
        return False
    signed = {s["role"] for s in await _signatures(session, meeting.id)}
    for role in signing:
        if role in signed:
            continue
        session.add(
            MinutesSignature(
                meeting_id=meeting.id,
                role=role,
                member_id=roles.member_id,
                user_id=actor_user_id,
                signed_at=at,
            )
        )
        await session.flush()
        await append(
            session,
            at=at,
            actor_user_id=actor_user_id,
            org_id=meeting.org_id,
            action="minutes.signed",
            target=f"meeting:{meeting.id}",
            data={"role": role, "member_id": roles.member_id},
        )
        # Every signature is a moment the record must be provable later (issue 5): a signed checkpoint.
        await write_checkpoint(session, at=at, reason=MINUTES_SIGNED)
    signatures = await _signatures(session, meeting.id)
    if _status(row, signatures) is not m.MinutesStatus.LOCKED:
        return False
    current = await minutes_json(session, meeting, org, at)
    frozen = {key: current[key] for key in ("meeting_id", "fields", "document", "adoption", "signatures")}
    row.document = m.canonical_json(frozen)
    row.hash = m.document_hash(frozen)
    row.locked_at = at
    session.add(row)
    await session.flush()
    await append(
        session,
        at=at,
        actor_user_id=actor_user_id,
        org_id=meeting.org_id,
        action="minutes.locked",
        target=f"meeting:{meeting.id}",
        data={"hash": row.hash, "version": row.version},
    )
    await write_checkpoint(session, at=at, reason=MINUTES_LOCKED)
    return True


async def add_addendum(
    session: AsyncSession,
    meeting: Meeting,
    roles: MeetingRoles,
    text: str,
    *,
    actor_user_id: int,
    at: datetime,
) -> MinutesAddendum:
    assert meeting.id is not None
    if roles.member_id is None or not (roles.is_chair_member or roles.is_minute_taker_member):
        raise ApiError(
            403,
            "forbidden",
            Text(
                "Chỉ chủ trì và thư ký buổi sinh hoạt lập phụ lục đính chính (R-MIN-5).",
                "Only the chair and the minute-taker write an addendum (R-MIN-5).",
            ),
            rule="R-MIN-5",
        )
    row = await minutes_row(session, meeting.id)
    if row.hash is None:
        raise conflict(
            "minutes_not_locked",
            Text(
                "Biên bản chưa ký và khóa; hãy sửa trực tiếp trong biên bản.",
                "The minutes are not signed and locked yet; edit them directly.",
            ),
        )
    addendum = MinutesAddendum(
        meeting_id=meeting.id,
        text=text,
        member_id=roles.member_id,
        user_id=actor_user_id,
        created_at=at,
        hash=m.addendum_hash(row.hash, text),
    )
    session.add(addendum)
    await session.flush()
    await append(
        session,
        at=at,
        actor_user_id=actor_user_id,
        org_id=meeting.org_id,
        action="minutes.addendum",
        target=f"meeting:{meeting.id}",
        data={"addendum_id": addendum.id, "hash": addendum.hash, "original_hash": row.hash},
    )
    return addendum
