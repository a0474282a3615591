"""The tables of the audit log: the hash-chained events and the signed checkpoints of the chain."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


class AuditEvent(SQLModel, table=True):
    """One link of the hash-chained audit log (meetings.audit_chain); append-only."""

    __tablename__ = "audit_events"
    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    at: str = Field(max_length=40)
    actor_user_id: int | None = None
    org_id: int | None = Field(default=None, index=True)
    action: str = Field(max_length=60)
    target: str = Field(max_length=80)
    data: dict[str, Any] = Field(sa_type=sa.JSON)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class AuditCheckpoint(SQLModel, table=True):
    """A signed head of the audit chain (server/audit/checkpoints.py): not an audit row, a commitment to
    the chain up to `seq` that auditors export and keep off the box (quality.md B4)."""

    __tablename__ = "audit_checkpoint"
    id: int | None = Field(default=None, primary_key=True)
    seq: int = Field(sa_column_kwargs={"unique": True})
    head_hash: str = Field(max_length=64)
    at: str = Field(max_length=40)  # the signed ISO text, stored exactly as signed
    reason: str = Field(max_length=40)
    key_id: str = Field(max_length=16)
    signature: str = Field(max_length=100)  # base64 of the 64-byte Ed25519 signature
