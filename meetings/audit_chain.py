"""The hash-chain encoding of the audit log (nhật ký kiểm tra): canonical JSON, entry hashes, verification.

hash = SHA-256(0x00 ‖ canonical_json(body) ‖ prev_hash), as in quality.md B4. Storage, checkpoint
signing and export live in `server/audit`; this module only encodes and checks.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

GENESIS = "0" * 64

# The 0x00 prefix separates leaf hashes from any other hash we may build over them later
# (RFC 6962 domain separation), so an entry hash can never be passed off as a checkpoint hash.
_LEAF_PREFIX = b"\x00"
_HEX = frozenset("0123456789abcdef")

_encoder = json.JSONEncoder(ensure_ascii=False, allow_nan=False, sort_keys=True, separators=(",", ":"))


class ChainFault(StrEnum):
    """Why a chain failed verification; the value is the `reason` of the verdict."""

    SEQ_MISMATCH = "seq_mismatch"
    INSERTED_ROW = "inserted_row"
    PREV_HASH_MISMATCH = "prev_hash_mismatch"
    HASH_MISMATCH = "hash_mismatch"
    MALFORMED = "malformed"
    CHECKPOINT_MISMATCH = "checkpoint_mismatch"
    TRUNCATED = "truncated"


@dataclass(frozen=True)
class ChainEntry:
    """One stored audit row: its sequence number, the previous row's hash, its own hash and body."""

    seq: int
    prev_hash: str
    hash: str
    body: Mapping[str, Any]


@dataclass(frozen=True)
class Checkpoint:
    """A head the auditor saw earlier (signed and exported by the server): the hash at `seq`."""

    seq: int
    head_hash: str


@dataclass(frozen=True)
class ChainVerdict:
    """The result of verifying a chain; on failure, where it first broke and why."""

    ok: bool
    count: int
    head_hash: str
    first_bad_seq: int | None = None
    reason: str | None = None
    detail: str = ""


def canonical_json(obj: Any) -> bytes:
    """Sorted keys, no spaces, UTF-8 (not \\u escapes); NaN and infinities are refused."""
    try:
        return _encoder.encode(obj).encode("utf-8")
    except ValueError as error:
        raise ValueError(f"not canonical JSON: {error}") from error


def entry_hash(prev_hash: str, body: Mapping[str, Any]) -> str:
    return hashlib.sha256(_LEAF_PREFIX + canonical_json(body) + prev_hash.encode("ascii")).hexdigest()


def next_entry(previous: ChainEntry | None, body: Mapping[str, Any]) -> ChainEntry:
    """The entry that appends `body` after `previous` (None: the first entry of a log)."""
    seq, prev_hash = (1, GENESIS) if previous is None else (previous.seq + 1, previous.hash)
    return ChainEntry(seq, prev_hash, entry_hash(prev_hash, body), body)


def verify_chain(entries: Iterable[ChainEntry], checkpoint: Checkpoint | None = None) -> ChainVerdict:
    """Check the entries in the order given: the row at position n has seq n, links to the hash of
    row n-1 and its hash recomputes. Stops at the first bad row and reports the seq it should have
    had, so a deleted, swapped or altered row is named exactly. Reads one entry at a time.

    Without a checkpoint a chain cut short, or rewritten from some row on with every later hash
    recomputed, still verifies: only a head seen earlier can show that (Crosby and Wallach).
    """
    count, head, before = 0, GENESIS, ""
    for entry in entries:
        position = count + 1
        fault = _fault(entry, position, head)
        if fault is not None:
            if before and _links_past_previous(entry, position, before):
                # This row is genuine and links to the row before the previous one, so the previous
                # row was slipped in, however well it was forged: name that row, not this one.
                detail = f"seq {count}: row was inserted (seq {position} links to seq {count - 1})"
                return ChainVerdict(False, count - 1, before, count, ChainFault.INSERTED_ROW, detail)
            reason, detail = fault
            return ChainVerdict(False, count, head, position, reason, detail)
        count, head, before = position, entry.hash, head
        if checkpoint is not None and count == checkpoint.seq and head != checkpoint.head_hash:
            detail = f"seq {count}: hash differs from the checkpoint's head hash"
            return ChainVerdict(False, count, head, count, ChainFault.CHECKPOINT_MISMATCH, detail)
    if checkpoint is not None and count < checkpoint.seq:
        detail = f"the chain ends at seq {count}; the checkpoint saw seq {checkpoint.seq}"
        return ChainVerdict(False, count, head, count + 1, ChainFault.TRUNCATED, detail)
    return ChainVerdict(True, count, head)


def _fault(entry: ChainEntry, position: int, head: str) -> tuple[ChainFault, str] | None:
    if entry.seq != position:
        return ChainFault.SEQ_MISMATCH, f"seq {position}: found a row with seq {entry.seq}"
    if entry.prev_hash != head:
        return ChainFault.PREV_HASH_MISMATCH, f"seq {position}: prev_hash is not the previous row's hash"
    if len(entry.hash) != 64 or not _HEX.issuperset(entry.hash):
        return ChainFault.MALFORMED, f"seq {position}: hash is not 64 lowercase hex digits"
    try:
        recomputed = entry_hash(entry.prev_hash, entry.body)
    except (TypeError, ValueError) as error:
        return ChainFault.MALFORMED, f"seq {position}: body cannot be encoded ({error})"
    if recomputed != entry.hash:
        return ChainFault.HASH_MISMATCH, f"seq {position}: body or hash was altered"
    return None


def _links_past_previous(entry: ChainEntry, position: int, before: str) -> bool:
    """True when `entry` is intact but chains onto the row two back (its seq unchanged or shifted by one)."""
    if entry.seq not in (position - 1, position) or entry.prev_hash != before:
        return False
    bodies = [entry.body]
    if entry.seq == position and entry.body.get("seq") == entry.seq:
        # Renumbered to make room for the inserted row: a body recording its seq was hashed with the old one.
        bodies.append({**entry.body, "seq": entry.seq - 1})
    try:
        return any(entry_hash(entry.prev_hash, body) == entry.hash for body in bodies)
    except (TypeError, ValueError):
        return False
