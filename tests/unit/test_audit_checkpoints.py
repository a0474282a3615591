"""Signed checkpoints (quality.md B4, S12): the bytes a signature covers, Ed25519 signatures that verify with
the public key alone, the checkpoint key on disk, and the chain checked against many checkpoints."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from meetings.audit_chain import (
    CHECKPOINT_DOMAIN,
    GENESIS,
    ChainEntry,
    ChainFault,
    ChainVerifier,
    Checkpoint,
    SignedCheckpoint,
    canonical_json,
    checkpoint_message,
    entry_hash,
    key_id,
    next_entry,
    verify_chain,
)
from server.audit.keys import AuditSigner, load_signer, parse_public_key, raw_public_key, signature_valid
from server.settings import Secret, Settings, UnsafeSettings, load_settings

HEAD = "ab" * 32


def _chain(length: int) -> list[ChainEntry]:
    entries: list[ChainEntry] = []
    for seq in range(1, length + 1):
        entries.append(next_entry(entries[-1] if entries else None, {"seq": seq, "action": "ballot.cast"}))
    return entries


def _rewritten_from(entries: list[ChainEntry], index: int) -> list[ChainEntry]:
    """An attacker with write access edits one row and recomputes every later hash."""
    out = entries[:index]
    for i, entry in enumerate(entries[index:]):
        body = {**entry.body, "forged": True} if i == 0 else entry.body
        prev = out[-1].hash if out else GENESIS
        out.append(ChainEntry(entry.seq, prev, entry_hash(prev, body), body))
    return out


def _signed(signer: AuditSigner, seq: int, head: str, reason: str = "periodic") -> SignedCheckpoint:
    unsigned = SignedCheckpoint(seq, head, "2026-11-23T08:00:00Z", reason, signer.key_id, "")
    return dataclasses.replace(unsigned, signature=signer.sign(unsigned.message()))


# --- what is signed ---------------------------------------------------------------------------


def test_the_signed_message_is_domain_separated_canonical_json() -> None:
    message = checkpoint_message(7, HEAD, "2026-11-23T08:00:00Z", "vote.closed", "0123456789abcdef")
    assert message.startswith(b"cellmeet-checkpoint-v1\x00")
    assert message == CHECKPOINT_DOMAIN + canonical_json(
        {
            "seq": 7,
            "head_hash": HEAD,
            "at": "2026-11-23T08:00:00Z",
            "reason": "vote.closed",
            "key_id": "0123456789abcdef",
        }
    )
    # the encoding is a leaf of nothing else: not an audit entry hash's input, which starts with 0x00
    assert not message.startswith(b"\x00")


@pytest.mark.parametrize(
    ("seq", "head", "key"),
    [
        (0, HEAD, "0123456789abcdef"),
        (-1, HEAD, "0123456789abcdef"),
        (True, HEAD, "0123456789abcdef"),
        (1, "AB" * 32, "0123456789abcdef"),
        (1, HEAD[:-1], "0123456789abcdef"),
        (1, HEAD, "0123456789ABCDEF"),
        (1, HEAD, "0123"),
    ],
)
def test_a_malformed_checkpoint_has_no_message(seq: int, head: str, key: str) -> None:
    with pytest.raises(ValueError):
        checkpoint_message(seq, head, "2026-11-23T08:00:00Z", "periodic", key)


def test_key_id_is_the_start_of_the_sha256_of_the_raw_public_key() -> None:
    signer = AuditSigner.of(Ed25519PrivateKey.generate())
    raw = base64.b64decode(signer.public_key)
    assert len(raw) == 32
    assert signer.key_id == key_id(raw) == hashlib.sha256(raw).hexdigest()[:16]


def test_an_exported_checkpoint_reads_back_and_malformed_ones_are_named() -> None:
    signer = AuditSigner.of(Ed25519PrivateKey.generate())
    checkpoint = _signed(signer, 12, HEAD)
    assert SignedCheckpoint.from_json(json.loads(json.dumps(checkpoint.to_json()))) == checkpoint
    for broken, field in [
        ({**checkpoint.to_json(), "seq": "12"}, "seq"),
        ({k: v for k, v in checkpoint.to_json().items() if k != "signature"}, "signature"),
        ({**checkpoint.to_json(), "head_hash": "xyz"}, "head_hash"),
    ]:
        with pytest.raises(ValueError, match=field):
            SignedCheckpoint.from_json(broken)
    with pytest.raises(ValueError):
        SignedCheckpoint.from_json([1, 2])


# --- signatures ---------------------------------------------------------------------------------


def test_a_signature_verifies_with_the_public_key_alone() -> None:
    signer = AuditSigner.of(Ed25519PrivateKey.generate())
    checkpoint = _signed(signer, 42, HEAD, "minutes.locked")
    public = parse_public_key(signer.public_key)  # the base64 an auditor was given, nothing else
    assert signature_valid(public, checkpoint.message(), checkpoint.signature)


def _flip(text: str, bit: int) -> str:
    """The same text with one bit of its bytes flipped (kept printable for the hex and base64 fields)."""
    data = bytearray(text.encode())
    data[bit // 8 % len(data)] ^= 1 << (bit % 8)
    return data.decode("latin-1")


def test_a_flipped_bit_anywhere_or_another_key_fails() -> None:
    signer = AuditSigner.of(Ed25519PrivateKey.generate())
    checkpoint = _signed(signer, 42, HEAD)
    public = parse_public_key(signer.public_key)
    raw_signature = bytearray(base64.b64decode(checkpoint.signature))
    for bit in range(len(raw_signature) * 8):
        flipped = bytearray(raw_signature)
        flipped[bit // 8] ^= 1 << (bit % 8)
        assert not signature_valid(public, checkpoint.message(), base64.b64encode(flipped).decode())
    altered = [
        dataclasses.replace(checkpoint, seq=43),
        dataclasses.replace(checkpoint, head_hash=HEAD[:-1] + "c"),
        dataclasses.replace(checkpoint, at=_flip(checkpoint.at, 3)),
        dataclasses.replace(checkpoint, reason="vote.closed"),
    ]
    for changed in altered:
        assert not signature_valid(public, changed.message(), changed.signature), changed
    other = AuditSigner.of(Ed25519PrivateKey.generate())
    assert not signature_valid(parse_public_key(other.public_key), checkpoint.message(), checkpoint.signature)
    assert not signature_valid(public, checkpoint.message(), "not base64!")


def test_the_public_key_reads_from_base64_pem_json_or_a_file(tmp_path: Path) -> None:
    signer = AuditSigner.of(Ed25519PrivateKey.generate())
    pem = (
        signer.private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    files = {
        "key.b64": signer.public_key + "\n",
        "key.pem": pem,
        "key.json": json.dumps(signer.public_json()),
    }
    for name, content in files.items():
        (tmp_path / name).write_text(content)
    givens = [signer.public_key, pem, *(str(tmp_path / name) for name in files)]
    for given in givens:
        assert raw_public_key(parse_public_key(given)) == base64.b64decode(signer.public_key), given
    for bad in ["", "bm90IGEga2V5", "%%%", str(tmp_path / "missing.pem"), '{"key_id": "x"}']:
        with pytest.raises(ValueError):
            parse_public_key(bad)


# --- the key on disk -----------------------------------------------------------------------------


def _settings(data_dir: Path, **overrides: object) -> Settings:
    return Settings(
        data_dir=data_dir, database_url="sqlite+aiosqlite://", secret_key=Secret("x" * 48), **overrides
    )  # type: ignore[arg-type]


def test_the_key_is_generated_once_with_mode_0600(tmp_path: Path) -> None:
    first = load_signer(_settings(tmp_path))
    path = tmp_path / "audit_signing_key.pem"
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert load_signer(_settings(tmp_path)).key_id == first.key_id  # kept across restarts


def test_a_key_file_setting_must_exist_and_be_private(tmp_path: Path) -> None:
    env = {"CELLMEET_DATA_DIR": str(tmp_path), "CELLMEET_SECRET_KEY": "k" * 48}
    with pytest.raises(UnsafeSettings, match="CELLMEET_AUDIT_KEY_FILE"):
        load_settings({**env, "CELLMEET_AUDIT_KEY_FILE": str(tmp_path / "missing.pem")})
    key = tmp_path / "operator.pem"
    key.write_bytes(
        Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    key.chmod(0o644)
    settings = load_settings({**env, "CELLMEET_AUDIT_KEY_FILE": str(key)})
    assert settings.audit_key_path == key
    with pytest.raises(UnsafeSettings, match="chmod 600"):
        load_signer(settings)
    key.chmod(0o600)
    assert len(load_signer(settings).key_id) == 16
    assert not (tmp_path / "audit_signing_key.pem").exists()  # the operator's key, no generated one
    key.write_text("not a key")
    with pytest.raises(UnsafeSettings, match="PEM"):
        load_signer(settings)


@pytest.mark.parametrize("value", ["0", "-5", "abc", "nan", "inf", "1441"])
def test_the_checkpoint_interval_must_be_sensible(tmp_path: Path, value: str) -> None:
    env = {"CELLMEET_DATA_DIR": str(tmp_path), "CELLMEET_SECRET_KEY": "k" * 48}
    with pytest.raises(UnsafeSettings, match="CELLMEET_CHECKPOINT_MINUTES"):
        load_settings({**env, "CELLMEET_CHECKPOINT_MINUTES": value})
    assert load_settings(env).checkpoint_minutes == 60
    assert load_settings({**env, "CELLMEET_CHECKPOINT_MINUTES": "0.5"}).checkpoint_minutes == 0.5


def test_the_generated_key_is_never_readable_by_others_even_briefly(tmp_path: Path) -> None:
    old = os.umask(0)  # the most permissive umask: the file must still be created 0600
    try:
        load_signer(_settings(tmp_path))
    finally:
        os.umask(old)
    assert (tmp_path / "audit_signing_key.pem").stat().st_mode & 0o777 == 0o600


# --- the chain against many checkpoints ---------------------------------------------------------


def test_every_checkpoint_is_matched_and_counted() -> None:
    entries = _chain(100)
    heads = [Checkpoint(seq, entries[seq - 1].hash) for seq in (10, 20, 50, 100)]
    verdict = verify_chain(entries, heads)
    assert (verdict.ok, verdict.checkpoints_matched, verdict.last_matched_seq) == (True, 4, 100)
    assert verify_chain(entries).checkpoints_matched == 0


@pytest.mark.parametrize("k", range(1, 51))
def test_a_truncation_of_k_rows_is_shown_only_by_a_checkpoint(k: int) -> None:
    entries = _chain(200)
    heads = [Checkpoint(seq, entries[seq - 1].hash) for seq in (100, 200)]
    cut = entries[:-k]
    assert verify_chain(cut).ok  # Crosby and Wallach: nothing on the box shows it
    verdict = verify_chain(cut, heads)
    assert (verdict.ok, verdict.reason, verdict.first_bad_seq) == (False, ChainFault.TRUNCATED, 201 - k)
    assert verdict.checkpoints_matched == 1


@pytest.mark.parametrize("index", [0, 1, 48, 49, 50, 98, 99, 150, 199])
def test_a_recomputed_rewrite_is_caught_at_the_first_checkpoint_after_it(index: int) -> None:
    entries = _chain(200)
    heads = [Checkpoint(seq, entries[seq - 1].hash) for seq in (50, 100, 150, 200)]
    rewritten = _rewritten_from(entries, index)
    assert verify_chain(rewritten).ok  # every hash recomputed: the chain alone is fine
    verdict = verify_chain(rewritten, heads)
    first_checkpoint = next(c.seq for c in heads if c.seq >= index + 1)
    assert (verdict.ok, verdict.reason, verdict.first_bad_seq) == (
        False,
        ChainFault.CHECKPOINT_MISMATCH,
        first_checkpoint,
    )
    assert verdict.last_matched_seq == first_checkpoint - 50
    assert f"rewritten after seq {first_checkpoint - 50}" in verdict.detail


def test_the_verifier_fed_in_batches_equals_verify_chain_and_ignores_rows_after_a_fault() -> None:
    entries = _chain(30)
    entries[11] = dataclasses.replace(entries[11], body={"forged": True})
    verifier = ChainVerifier([Checkpoint(30, entries[-1].hash)])
    results = [verifier.feed(entry) for entry in entries]
    assert results[:11] == [None] * 11
    assert results[11] is not None and results[11] == results[-1]  # stays broken at seq 12
    assert verifier.finish() == verify_chain(entries, Checkpoint(30, entries[-1].hash))
    assert verifier.finish().first_bad_seq == 12


def test_two_signed_heads_for_one_seq_cannot_both_match() -> None:
    entries = _chain(20)
    verdict = verify_chain(entries, [Checkpoint(20, entries[-1].hash), Checkpoint(20, "c" * 64)])
    assert (verdict.reason, verdict.first_bad_seq) == (ChainFault.CHECKPOINT_MISMATCH, 20)
