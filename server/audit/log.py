"""Appends audit rows to the hash chain inside the caller's transaction, and reads them back."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings.audit_chain import GENESIS, ChainEntry, entry_hash
from server.clock import iso
from server.db.tables import AuditEvent

# Any constant works: it only names the lock that serialises appends on PostgreSQL.
PG_AUDIT_LOCK = 0x63656C6C


def event_body(event: AuditEvent | Row[Any]) -> dict[str, Any]:
    """The canonical content that the chain hashes: every column but the hashes themselves (of a table
    object or of a plain row of its columns)."""
    return {
        "seq": event.seq,
        "at": event.at,
        "actor": event.actor_user_id,
        "org": event.org_id,
        "action": event.action,
        "target": event.target,
        "data": event.data,
    }


@dataclass(frozen=True)
class Entry:
    """One audit row to append, before the chain gives it its place and hash."""

    at: datetime
    actor_user_id: int | None
    org_id: int | None
    action: str
    target: str
    data: Mapping[str, Any]


async def append(
    session: AsyncSession,
    *,
    at: datetime,
    actor_user_id: int | None,
    org_id: int | None,
    action: str,
    target: str,
    data: Mapping[str, Any],
) -> AuditEvent:
    """Add the next link; it commits or rolls back with the change it records."""
    [event] = await append_many(session, [Entry(at, actor_user_id, org_id, action, target, data)])
    return event


async def append_many(session: AsyncSession, entries: Sequence[Entry]) -> list[AuditEvent]:
    """Add the next links in order with one read of the chain's head: a batch of joins written in one
    transaction (group commit) costs one lock and one read, each entry still hashed and chained."""
    if not entries:
        return []
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_AUDIT_LOCK})
    last = (
        await session.execute(
            select(col(AuditEvent.seq), col(AuditEvent.hash)).order_by(col(AuditEvent.seq).desc()).limit(1)
        )
    ).first()
    seq, prev_hash = (last[0] + 1, last[1]) if last else (1, GENESIS)
    events = []
    for entry in entries:
        event = AuditEvent(
            seq=seq,
            at=iso(entry.at),
            actor_user_id=entry.actor_user_id,
            org_id=entry.org_id,
            action=entry.action,
            target=entry.target,
            data=dict(entry.data),
            prev_hash=prev_hash,
            hash="",
        )
        event.hash = entry_hash(prev_hash, event_body(event))
        events.append(event)
        seq, prev_hash = seq + 1, event.hash
    session.add_all(events)
    await session.flush()
    return events


async def stream_chain(session: AsyncSession, batch: int = 5000) -> AsyncGenerator[ChainEntry, None]:
    """Every stored row in sequence order, in batches so a long log never sits in memory whole.

    Plain rows, not ORM objects (three times faster, which keeps 100,000 entries under the 5 s of S12), and
    no lower bound on the first batch, so a forged row with seq 0 or below is seen too.
    """
    columns = AuditEvent.__table__.c  # type: ignore[attr-defined]
    after: int | None = None
    while True:
        query = select(*columns).order_by(columns.seq).limit(batch)
        if after is not None:
            query = query.where(columns.seq > after)
        rows = (await session.execute(query)).all()
        if not rows:
            return
        for row in rows:
            yield ChainEntry(seq=row.seq, prev_hash=row.prev_hash, hash=row.hash, body=event_body(row))
        after = rows[-1].seq
