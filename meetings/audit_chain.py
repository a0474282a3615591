"""The hash-chain encoding of the audit log (nhật ký kiểm tra): canonical JSON, entry hashes, verification.

hash = SHA-256(0x00 ‖ canonical_json(body) ‖ prev_hash), as in quality.md B4. A checkpoint is a head
(seq, hash) the server signed with Ed25519; this module defines the bytes it signs. Storage, signing,
signature checks and export live in `server/audit`; this module only encodes and checks.
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
# What a checkpoint signature covers starts with this, so a signature over a checkpoint can never be
# replayed as a signature over anything else the key might sign (and a v2 encoding can't be confused).
CHECKPOINT_DOMAIN = b"cellmeet-checkpoint-v1\x00"
KEY_ID_LENGTH = 16

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
class SignedCheckpoint:
    """A checkpoint as the server exports it: the head, when and why it was taken, who signed it and the
    Ed25519 signature (base64) over `checkpoint_message` of the other fields."""

    seq: int
    head_hash: str
    at: str
    reason: str
    key_id: str
    signature: str

    @property
    def head(self) -> Checkpoint:
        return Checkpoint(self.seq, self.head_hash)

    def message(self) -> bytes:
        return checkpoint_message(self.seq, self.head_hash, self.at, self.reason, self.key_id)

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "head_hash": self.head_hash,
            "at": self.at,
            "reason": self.reason,
            "key_id": self.key_id,
            "signature": self.signature,
        }

    @classmethod
    def from_json(cls, data: Any) -> SignedCheckpoint:
        """Read one exported checkpoint; ValueError names what is missing or malformed."""
        if not isinstance(data, Mapping):
            raise ValueError("a checkpoint is not a JSON object")
        values: dict[str, Any] = {}
        for name, kind in (("seq", int), *((key, str) for key in _SIGNED_TEXT)):
            value = data.get(name)
            if not isinstance(value, kind) or isinstance(value, bool):
                raise ValueError(f"checkpoint field {name!r} is missing or not a {kind.__name__}")
            values[name] = value
        checkpoint = cls(**values)
        checkpoint.message()  # validates the signed fields
        return checkpoint


@dataclass(frozen=True)
class ChainVerdict:
    """The result of verifying a chain; on failure, where it first broke and why."""

    ok: bool
    count: int
    head_hash: str
    first_bad_seq: int | None = None
    reason: str | None = None
    detail: str = ""
    # Checkpoints whose head the chain reproduced, and the highest seq among them (0: none).
    checkpoints_matched: int = 0
    last_matched_seq: int = 0


def canonical_json(obj: Any) -> bytes:
    """Sorted keys, no spaces, UTF-8 (not \\u escapes); NaN and infinities are refused."""
    try:
        return _encoder.encode(obj).encode("utf-8")
    except ValueError as error:
        raise ValueError(f"not canonical JSON: {error}") from error


def entry_hash(prev_hash: str, body: Mapping[str, Any]) -> str:
    return hashlib.sha256(_LEAF_PREFIX + canonical_json(body) + prev_hash.encode("ascii")).hexdigest()


def key_id(public_key: bytes) -> str:
    """The short name of an Ed25519 public key (its 32 raw bytes): the first 16 hex digits of SHA-256."""
    return hashlib.sha256(public_key).hexdigest()[:KEY_ID_LENGTH]


def checkpoint_message(seq: int, head_hash: str, at: str, reason: str, key_id: str) -> bytes:
    """The exact bytes a checkpoint's signature covers: the domain, then canonical JSON of the fields.

    The reason is signed too, so an exported file cannot relabel a periodic head as a vote close.
    """
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
        raise ValueError("checkpoint seq must be a positive integer")
    if not _is_hex(head_hash, 64):
        raise ValueError("checkpoint head_hash must be 64 lowercase hex digits")
    if not _is_hex(key_id, KEY_ID_LENGTH):
        raise ValueError(f"checkpoint key_id must be {KEY_ID_LENGTH} lowercase hex digits")
    if not at or not reason:
        raise ValueError("checkpoint at and reason must not be empty")
    body = {"seq": seq, "head_hash": head_hash, "at": at, "reason": reason, "key_id": key_id}
    return CHECKPOINT_DOMAIN + canonical_json(body)


def next_entry(previous: ChainEntry | None, body: Mapping[str, Any]) -> ChainEntry:
    """The entry that appends `body` after `previous` (None: the first entry of a log)."""
    seq, prev_hash = (1, GENESIS) if previous is None else (previous.seq + 1, previous.hash)
    return ChainEntry(seq, prev_hash, entry_hash(prev_hash, body), body)


def verify_chain(
    entries: Iterable[ChainEntry], checkpoint: Checkpoint | Iterable[Checkpoint] | None = None
) -> ChainVerdict:
    """Check the entries in the order given: the row at position n has seq n, links to the hash of
    row n-1 and its hash recomputes. Stops at the first bad row and reports the seq it should have
    had, so a deleted, swapped or altered row is named exactly. Reads one entry at a time.

    Without a checkpoint a chain cut short, or rewritten from some row on with every later hash
    recomputed, still verifies: only a head seen earlier can show that (Crosby and Wallach).
    """
    verifier = ChainVerifier(checkpoint)
    for entry in entries:
        if verifier.feed(entry) is not None:
            break
    return verifier.finish()


class ChainVerifier:
    """`verify_chain` fed one entry at a time, for entries that arrive in batches from a database.

    `feed` returns the failed verdict at the first fault (and ignores anything fed after it);
    `finish` gives the verdict, checking the end of the chain against the checkpoints.
    """

    def __init__(self, checkpoints: Checkpoint | Iterable[Checkpoint] | None = None) -> None:
        if isinstance(checkpoints, Checkpoint):
            checkpoints = [checkpoints]
        self._heads: dict[int, list[str]] = {}
        for checkpoint in checkpoints or ():
            self._heads.setdefault(checkpoint.seq, []).append(checkpoint.head_hash)
        self._last_checkpoint = max(self._heads, default=0)
        self._count, self._head, self._before = 0, GENESIS, ""
        self._matched, self._matched_seq = 0, 0
        self._failed: ChainVerdict | None = None

    def feed(self, entry: ChainEntry) -> ChainVerdict | None:
        if self._failed is not None:
            return self._failed
        count, head, before = self._count, self._head, self._before
        position = count + 1
        fault = _fault(entry, position, head)
        if fault is not None:
            if before and _links_past_previous(entry, position, before):
                # This row is genuine and links to the row before the previous one, so the previous
                # row was slipped in, however well it was forged: name that row, not this one.
                detail = f"seq {count}: row was inserted (seq {position} links to seq {count - 1})"
                return self._fail(count - 1, before, count, ChainFault.INSERTED_ROW, detail)
            reason, detail = fault
            return self._fail(count, head, position, reason, detail)
        self._count, self._head, self._before = position, entry.hash, head
        signed = self._heads.get(position)
        if signed is not None:
            if any(hash_ != entry.hash for hash_ in signed):
                detail = (
                    f"seq {position}: hash differs from the checkpoint's head hash "
                    f"(the chain was rewritten after seq {self._matched_seq})"
                )
                return self._fail(position, entry.hash, position, ChainFault.CHECKPOINT_MISMATCH, detail)
            self._matched += len(signed)
            self._matched_seq = position
        return None

    def finish(self) -> ChainVerdict:
        if self._failed is not None:
            return self._failed
        if self._count < self._last_checkpoint:
            detail = f"the chain ends at seq {self._count}; a checkpoint saw seq {self._last_checkpoint}"
            return self._fail(self._count, self._head, self._count + 1, ChainFault.TRUNCATED, detail)
        return ChainVerdict(
            True,
            self._count,
            self._head,
            checkpoints_matched=self._matched,
            last_matched_seq=self._matched_seq,
        )

    def _fail(self, count: int, head: str, bad_seq: int, reason: ChainFault, detail: str) -> ChainVerdict:
        self._failed = ChainVerdict(
            False,
            count,
            head,
            bad_seq,
            reason,
            detail,
            checkpoints_matched=self._matched,
            last_matched_seq=self._matched_seq,
        )
        return self._failed


def _fault(entry: ChainEntry, position: int, head: str) -> tuple[ChainFault, str] | None:
    if entry.seq != position:
        return ChainFault.SEQ_MISMATCH, f"seq {position}: found a row with seq {entry.seq}"
    if entry.prev_hash != head:
        return ChainFault.PREV_HASH_MISMATCH, f"seq {position}: prev_hash is not the previous row's hash"
    if not _is_hex(entry.hash, 64):
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


def _is_hex(value: object, length: int) -> bool:
    return isinstance(value, str) and len(value) == length and _HEX.issuperset(value)


_SIGNED_TEXT = ("head_hash", "at", "reason", "key_id", "signature")
