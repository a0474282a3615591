"""Minutes (biên bản) as shown, adopted, signed, locked and corrected by addenda (R-MIN-1, 2, 5).

- The texts people write and their merging are in minutes_edits (meetings.minutes merges); the facts
  the system fills in are in minutes_document.
- At locking the whole content (facts, texts, adoption, signatures) is frozen, hashed (SHA-256 over
  canonical JSON) and the hash goes into the audit log. The minutes are in Vietnamese, the document
  language.
- An addendum corrects locked minutes; its hash chains to the locked minutes' hash.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings import minutes as m
from meetings.decision import Text
from meetings.enums import MeetingStatus, VoteKind
from server.audit.checkpoints import MINUTES_LOCKED, MINUTES_SIGNED, write_checkpoint
from server.audit.log import append
from server.clock import as_utc
from server.db.tables import Meeting, Member, Minutes, MinutesAddendum, MinutesSignature, Org, Vote
from server.errors import ApiError, conflict
from server.services.meeting_roles import MeetingRoles
from server.services.minutes_document import build_document
from server.services.minutes_edits import locked_error, minutes_row, texts_at
from server.services.vote_results import passed


async def _signatures(session: AsyncSession, meeting_id: int) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(MinutesSignature, col(Member.full_name))
        .join(Member, col(Member.id) == col(MinutesSignature.member_id))
        .where(col(MinutesSignature.meeting_id) == meeting_id)
        .order_by(col(MinutesSignature.id))
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
        select(MinutesAddendum, col(Member.full_name))
        .join(Member, col(Member.id) == col(MinutesAddendum.member_id))
        .where(col(MinutesAddendum.meeting_id) == meeting_id)
        .order_by(col(MinutesAddendum.id))
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
        raise locked_error()
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
