"""The minutes' texts: the minutes row and its version, the texts at a version, and one edit merged in.

- Texts are append-only `minutes_edits` rows; a field's text at version v is its latest row with
  version <= v, so any edit can be merged against the version it names (meetings.minutes merges).
  Each accepted edit is committed before the answer; its `edit_id` row makes a retried PUT answer as
  the first did.
- Edits of one meeting are serialised by locking the meeting row (PostgreSQL; SQLite serialises
  writes anyway).
- Once the minutes are adopted their texts are no longer edited (R-MIN-5): a correction is an addendum.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings import minutes as m
from meetings.decision import Text
from server.db.tables import Meeting, Minutes, MinutesEdit, MinutesEditKey
from server.errors import ApiError
from server.services.meeting_agenda import agenda_of


def locked_error() -> ApiError:
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
        select(col(MinutesEdit.field), col(MinutesEdit.text))
        .where(col(MinutesEdit.meeting_id) == meeting_id, col(MinutesEdit.version) <= version)
        .order_by(col(MinutesEdit.version))
    )
    return {name: text for name, text in rows.all()}


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
                    col(MinutesEditKey.meeting_id) == meeting.id,
                    col(MinutesEditKey.edit_id) == edit_id,
                )
            )
        ).scalar_one_or_none()
        if known is not None:  # a retry: the first answer, nothing applied again
            return known.version, [name for name in known.merged.split(",") if name]
    if row.adopted_vote_id is not None:
        raise locked_error()
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
