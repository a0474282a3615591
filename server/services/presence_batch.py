"""The room's joins and leaves, written together (issue 22: group commit).

A member is told they are in only once their presence event and its audit row are committed. Written
one by one, every join paid for its own transaction: the process-wide write lock (an advisory lock on
PostgreSQL), a read of the audit chain's head, the rows and an fsync'd commit. Here each write waits
in a queue and one writer takes everything queued, writes it in one transaction with one read of the
chain's head (each entry still hashed and chained, in arrival order), commits, and then answers every
caller. What arrives while a batch commits goes into the next one, so a lone join waits for nothing
and a burst of joins from every room shares its commits. A batch that fails is written again one entry
at a time, so only a write that fails on its own fails its caller, as its own transaction would have.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Table, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings.attendance import EventKind
from meetings.enums import MeetingStatus
from server.audit.log import Entry, append_many
from server.db.engine import Database
from server.db.tables import Meeting, PresenceEvent

# A meeting whose room is live: its presence may still change.
LIVE_STATUSES = (MeetingStatus.SCHEDULED.value, MeetingStatus.OPEN.value)
PRESENCE_EVENTS: Table = PresenceEvent.__table__  # type: ignore[attr-defined]

# At most this many writes per transaction: a burst beyond it goes in several, back to back.
MAX_BATCH = 200


@dataclass(frozen=True)
class PresenceWrite:
    meeting_id: int
    org_id: int | None  # the unit of the audit row; a conditional write takes it from the meeting
    member_id: int
    kind: EventKind
    user_id: int | None
    at: datetime
    why: str  # the audit row's `via`: room, left, dropped ...
    # A leave that is written only if the meeting is still live and the member still online, decided
    # in the writing transaction (a close may have ended every presence a moment before).
    if_online: bool = False


class PresenceBatcher:
    def __init__(self, database: Database) -> None:
        self.database = database
        self._queue: list[tuple[PresenceWrite, asyncio.Future[bool]]] = []
        self._writer: asyncio.Task[None] | None = None
        self.batches = 0  # transactions committed (the tests count them)

    async def write(self, entry: PresenceWrite) -> bool:
        """Returns once the entry is committed: True, or False for a conditional write that had nothing
        to do; raises what its batch's transaction raised."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._queue.append((entry, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain())
        return await asyncio.shield(future)  # a caller that goes away does not unwrite the others' batch

    async def _drain(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
            try:
                written = await self._commit(batch)
            except asyncio.CancelledError:
                for _, future in self._queue + batch:
                    if not future.done():
                        future.cancel()
                self._queue = []
                raise
            except Exception as exc:
                if len(batch) == 1:
                    _fail(batch, exc)
                    continue
                for one in batch:  # which one failed: each alone, the others still written
                    try:
                        alone = await self._commit([one])
                    except Exception as error:
                        _fail([one], error)
                    else:
                        _answer([one], alone)
                continue
            _answer(batch, written)

    async def _commit(self, batch: list[tuple[PresenceWrite, asyncio.Future[bool]]]) -> list[bool]:
        async with self.database.write() as session:
            written = await write_presence(session, [entry for entry, _ in batch])
        self.batches += 1
        return written


async def write_presence(session: AsyncSession, entries: Sequence[PresenceWrite]) -> list[bool]:
    """The presence events and their audit rows, in order, in the caller's transaction: the one
    format of an online join or leave, whether batched here or written alone (services.presence).
    Says for each entry whether it was written (a conditional leave may have nothing to end)."""
    kept: list[PresenceWrite] = []
    answers: list[bool] = []
    meetings: dict[int, Meeting | None] = {}
    online: dict[tuple[int, int], bool] = {}  # what the rows say, then what this batch wrote
    for entry in entries:
        key = (entry.meeting_id, entry.member_id)
        if entry.if_online:
            if entry.meeting_id not in meetings:
                meetings[entry.meeting_id] = await session.get(Meeting, entry.meeting_id)
            meeting = meetings[entry.meeting_id]
            if key not in online:
                online[key] = await online_now(session, *key)
            if meeting is None or meeting.status not in LIVE_STATUSES or not online[key]:
                answers.append(False)
                continue
            entry = replace(entry, org_id=meeting.org_id)
        kept.append(entry)
        answers.append(True)
        if entry.kind in (EventKind.JOIN, EventKind.LEAVE):
            online[key] = entry.kind is EventKind.JOIN
    if kept:
        # Core executemany, not the ORM: it inserted row by row to learn ids nobody here needs (the
        # profile of a join burst showed one INSERT statement per join inside each batch).
        await session.execute(insert(PRESENCE_EVENTS), [_event(entry) for entry in kept])
        await append_many(session, [_audit(entry) for entry in kept])
    return answers


async def online_now(session: AsyncSession, meeting_id: int, member_id: int) -> bool:
    """Whether the member's last online event at the meeting is a join."""
    last = (
        await session.execute(
            select(col(PresenceEvent.kind))
            .where(
                col(PresenceEvent.meeting_id) == meeting_id,
                col(PresenceEvent.member_id) == member_id,
                col(PresenceEvent.kind).in_([EventKind.JOIN.value, EventKind.LEAVE.value]),
            )
            .order_by(col(PresenceEvent.at).desc(), col(PresenceEvent.id).desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    return last == EventKind.JOIN.value


def _answer(batch: list[tuple[PresenceWrite, asyncio.Future[bool]]], written: list[bool]) -> None:
    for (_, future), done in zip(batch, written, strict=True):
        if not future.done():
            future.set_result(done)


def _fail(batch: list[tuple[PresenceWrite, asyncio.Future[bool]]], error: Exception) -> None:
    for _, future in batch:
        if not future.done():
            future.set_exception(error)


def _event(entry: PresenceWrite) -> dict[str, Any]:
    return {
        "meeting_id": entry.meeting_id,
        "member_id": entry.member_id,
        "kind": entry.kind.value,
        "at": entry.at,
        "recorded_by": entry.user_id,
    }


def _audit(entry: PresenceWrite) -> Entry:
    return Entry(
        at=entry.at,
        actor_user_id=entry.user_id,
        org_id=entry.org_id,
        action=f"presence.{entry.kind.value}",
        target=f"meeting:{entry.meeting_id}",
        data={"member_id": entry.member_id, "via": entry.why},
    )
