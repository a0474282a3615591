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
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncSession

from meetings.attendance import EventKind
from server.audit.log import Entry, append_many
from server.db.engine import Database
from server.db.tables import PresenceEvent

PRESENCE_EVENTS: Table = PresenceEvent.__table__  # type: ignore[attr-defined]

# At most this many writes per transaction: a burst beyond it goes in several, back to back.
MAX_BATCH = 200


@dataclass(frozen=True)
class PresenceWrite:
    meeting_id: int
    org_id: int
    member_id: int
    kind: EventKind
    user_id: int | None
    at: datetime
    why: str  # the audit row's `via`: room, left, dropped ...


class PresenceBatcher:
    def __init__(self, database: Database) -> None:
        self.database = database
        self._queue: list[tuple[PresenceWrite, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None
        self.batches = 0  # transactions committed (the tests count them)

    async def write(self, entry: PresenceWrite) -> None:
        """Returns once the entry is committed; raises what its batch's transaction raised."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((entry, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain())
        await asyncio.shield(future)  # a caller that goes away does not unwrite the others' batch

    async def _drain(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
            try:
                await self._commit(batch)
            except asyncio.CancelledError:
                for _, future in self._queue + batch:
                    if not future.done():
                        future.cancel()
                self._queue = []
                raise
            except Exception as exc:
                if len(batch) == 1:
                    _answer(batch, exc)
                    continue
                for one in batch:  # which one failed: each alone, the others still written
                    try:
                        await self._commit([one])
                    except Exception as alone:
                        _answer([one], alone)
                    else:
                        _answer([one], None)
                continue
            _answer(batch, None)

    async def _commit(self, batch: list[tuple[PresenceWrite, asyncio.Future[None]]]) -> None:
        async with self.database.write() as session:
            await write_presence(session, [entry for entry, _ in batch])
        self.batches += 1


async def write_presence(session: AsyncSession, entries: Sequence[PresenceWrite]) -> None:
    """The presence events and their audit rows, in order, in the caller's transaction: the one
    format of an online join or leave, whether batched here or written alone (services.presence)."""
    # Core executemany, not the ORM: it inserted row by row to learn ids nobody here needs (the
    # profile of a join burst showed one INSERT statement per join inside each batch).
    await session.execute(insert(PRESENCE_EVENTS), [_event(entry) for entry in entries])
    await append_many(session, [_audit(entry) for entry in entries])


def _answer(batch: list[tuple[PresenceWrite, asyncio.Future[None]]], error: Exception | None) -> None:
    for _, future in batch:
        if future.done():
            continue
        if error is None:
            future.set_result(None)
        else:
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
