"""Recomputes the stored hash chain: the check behind `cellmeet audit verify`."""

from __future__ import annotations

from meetings.audit_chain import ChainEntry, ChainVerdict, verify_chain
from server.audit.log import stream_chain
from server.db.engine import Database


async def verify_database(db: Database) -> ChainVerdict:
    async with db.read() as session:
        entries: list[ChainEntry] = [entry async for entry in stream_chain(session)]
    return verify_chain(entries)
