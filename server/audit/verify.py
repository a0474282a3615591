"""Recomputes the stored hash chain, against the signed checkpoints an auditor kept: the check behind
`cellmeet audit verify`. Signatures are checked with the public key alone, never the server's key."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from meetings.audit_chain import ChainFault, ChainVerdict, ChainVerifier, Checkpoint, SignedCheckpoint
from meetings.decision import Text
from server.audit.keys import signature_valid
from server.audit.log import stream_chain
from server.db.engine import Database


async def verify_database(db: Database, checkpoints: Iterable[Checkpoint] = ()) -> ChainVerdict:
    """Stream the chain from the database in batches and stop at the first fault."""
    verifier = ChainVerifier(list(checkpoints))
    async with db.read() as session, contextlib.aclosing(stream_chain(session)) as entries:
        async for entry in entries:
            if verifier.feed(entry) is not None:
                break
    return verifier.finish()


@dataclass(frozen=True)
class CheckpointFile:
    """What `cellmeet audit checkpoints` (or GET /api/v1/audit/checkpoints) wrote."""

    key_id: str | None
    public_key: str | None
    checkpoints: list[SignedCheckpoint]


def read_checkpoint_file(path: Path) -> CheckpointFile:
    """ValueError (in English, for the detail) when the file is not an export of checkpoints."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"{path}: {exc.strerror}") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not JSON ({exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("checkpoints"), list):
        raise ValueError(f"{path}: no list of checkpoints")
    checkpoints = []
    for index, item in enumerate(data["checkpoints"]):
        try:
            checkpoints.append(SignedCheckpoint.from_json(item))
        except ValueError as exc:
            raise ValueError(f"{path}: checkpoint {index + 1}: {exc}") from exc
    key_id, public_key = data.get("key_id"), data.get("public_key")
    return CheckpointFile(
        key_id if isinstance(key_id, str) else None,
        public_key if isinstance(public_key, str) else None,
        checkpoints,
    )


def bad_signatures(
    checkpoints: Iterable[SignedCheckpoint], public_key: Ed25519PublicKey
) -> list[SignedCheckpoint]:
    """The checkpoints this public key did not sign (altered, or signed by another key)."""
    return [c for c in checkpoints if not signature_valid(public_key, c.message(), c.signature)]


def fault_text(verdict: ChainVerdict, last_checkpoint_seq: int = 0) -> Text:
    """Why the chain failed, for the person who runs the command."""
    texts: dict[str, Text] = {
        ChainFault.SEQ_MISMATCH: Text(
            "số thứ tự không liền mạch (một mục bị xóa, đổi chỗ hoặc đánh số lại)",
            "the sequence is broken (a row was deleted, swapped or renumbered)",
        ),
        ChainFault.INSERTED_ROW: Text("một mục đã bị chèn thêm vào", "a row was inserted"),
        ChainFault.PREV_HASH_MISMATCH: Text(
            "mục không nối vào mã băm của mục trước (mục trước hoặc mục này bị sửa, xóa hay đổi chỗ)",
            "the row does not link to the previous row's hash (a row was altered, deleted or swapped)",
        ),
        ChainFault.HASH_MISMATCH: Text(
            "nội dung hoặc mã băm của mục đã bị sửa", "the row's content or hash was altered"
        ),
        ChainFault.MALFORMED: Text("mục sai định dạng", "the row is malformed"),
        ChainFault.CHECKPOINT_MISMATCH: Text(
            "mã băm khác với điểm kiểm tra đã ký: nhật ký đã bị viết lại (và tính lại mã băm) "
            f"sau mục {verdict.last_matched_seq}",
            "the hash differs from the signed checkpoint: the log was rewritten (hashes recomputed) "
            f"after seq {verdict.last_matched_seq}",
        ),
        ChainFault.TRUNCATED: Text(
            f"nhật ký đã bị cắt: chuỗi dừng ở mục {verdict.count}, "
            f"điểm kiểm tra đã ký thấy đến mục {last_checkpoint_seq}",
            f"the log was truncated: the chain ends at seq {verdict.count}, "
            f"a signed checkpoint saw seq {last_checkpoint_seq}",
        ),
    }
    reason = str(verdict.reason)
    return texts.get(reason, Text(reason, reason))
