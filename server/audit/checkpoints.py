"""Signed checkpoints of the audit chain: taken at every vote close and minutes lock, in the same
transaction, and periodically while the head moves; listed for export.

A checkpoint is not an audit row: it commits to the chain up to its seq. Kept on the box it proves
little (whoever rewrites the log can drop checkpoints too); exported and kept by an auditor it shows
truncation and a recomputed rewrite (quality.md B4, Crosby and Wallach).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from meetings.audit_chain import SignedCheckpoint
from server.audit.keys import AuditSigner
from server.audit.log import PG_AUDIT_LOCK
from server.clock import Clock, iso
from server.db.engine import Database
from server.db.tables import AuditCheckpoint, AuditEvent

log = logging.getLogger("cellmeet.audit")

VOTE_CLOSED = "vote.closed"
MINUTES_SIGNED = "minutes.signed"
MINUTES_LOCKED = "minutes.locked"
PERIODIC = "periodic"

# The signing key of each running app's database. Services receive a session, not the app, and a
# checkpoint must be written inside the caller's transaction, so the key is found by the engine.
_signers: weakref.WeakKeyDictionary[AsyncEngine, AuditSigner] = weakref.WeakKeyDictionary()


def installed_signer(db: Database) -> AuditSigner | None:
    return _signers.get(db.engine)


async def write_checkpoint(session: AsyncSession, *, at: datetime, reason: str) -> AuditCheckpoint | None:
    """Sign the current head, unless it is empty or a checkpoint already covers it. Call inside a write
    transaction, after the audit row of the event (the head then includes it)."""
    engine = session.bind
    if not isinstance(engine, AsyncEngine) or (signer := _signers.get(engine)) is None:
        raise RuntimeError("no audit signing key is installed for this database (see audit_checkpoints)")
    if engine.dialect.name == "postgresql":
        # The lock `append` takes: no row can be added between reading the head and signing it.
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_AUDIT_LOCK})
    head = (
        await session.execute(
            select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)  # type: ignore[call-overload, attr-defined]
        )
    ).first()
    if head is None:
        return None
    covered = (await session.execute(select(func.max(AuditCheckpoint.seq)))).scalar_one_or_none()
    # `>=`, not `==`: a head below the last checkpoint (a cut log) is left for the verifier to report;
    # signing it would also collide with the checkpoint already held for that seq.
    if covered is not None and covered >= head.seq:
        return None
    unsigned = SignedCheckpoint(head.seq, head.hash, iso(at), reason, signer.key_id, "")
    row = AuditCheckpoint(
        seq=unsigned.seq,
        head_hash=unsigned.head_hash,
        at=unsigned.at,
        reason=reason,
        key_id=signer.key_id,
        signature=signer.sign(unsigned.message()),
    )
    session.add(row)
    await session.flush()
    return row


def signed(row: AuditCheckpoint) -> SignedCheckpoint:
    return SignedCheckpoint(row.seq, row.head_hash, row.at, row.reason, row.key_id, row.signature)


async def list_checkpoints(
    session: AsyncSession, after: int = 0, limit: int | None = None
) -> list[SignedCheckpoint]:
    """Checkpoints of heads after seq `after`, oldest first."""
    query = select(AuditCheckpoint).where(AuditCheckpoint.seq > after).order_by(AuditCheckpoint.seq)  # type: ignore[arg-type]
    if limit is not None:
        query = query.limit(limit)
    return [signed(row) for row in (await session.execute(query)).scalars().all()]


def export_document(signer: AuditSigner, checkpoints: list[SignedCheckpoint]) -> dict[str, Any]:
    """The JSON an auditor keeps off the box: the public key and the signed heads."""
    return {**signer.public_json(), "checkpoints": [c.to_json() for c in checkpoints]}


@contextlib.asynccontextmanager
async def audit_checkpoints(
    db: Database, signer: AuditSigner, clock: Clock, minutes: float
) -> AsyncIterator[None]:
    """While the app runs: the key is installed for `write_checkpoint`, and every `minutes` a head that
    moved is signed. Leaving cancels the timer (a checkpoint being written rolls back)."""
    _signers[db.engine] = signer
    task = asyncio.create_task(_every(db, clock, minutes * 60), name="audit-checkpoints")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        _signers.pop(db.engine, None)


async def _every(db: Database, clock: Clock, seconds: float) -> None:
    while True:
        await asyncio.sleep(seconds)
        try:
            async with db.write() as session:
                await write_checkpoint(session, at=clock(), reason=PERIODIC)
        except Exception:  # a failed round (database away) must not end the timer
            log.exception("periodic audit checkpoint failed")
