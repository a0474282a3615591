"""The Ed25519 key that signs audit checkpoints, and reading the public key an auditor was given.

The private key stays on the server (PKCS#8 PEM, mode 0600, generated on first start like the secret
key); the public key is what auditors keep and verify with, and it alone is enough to verify.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from meetings.audit_chain import key_id
from server.settings import Settings, UnsafeSettings

PUBLIC_KEY_BYTES = 32


@dataclass(frozen=True)
class AuditSigner:
    """The server's checkpoint key: signs, and names its public half."""

    private_key: Ed25519PrivateKey
    key_id: str
    public_key: str  # base64 of the 32 raw bytes

    @classmethod
    def of(cls, private_key: Ed25519PrivateKey) -> AuditSigner:
        raw = raw_public_key(private_key.public_key())
        return cls(private_key, key_id(raw), base64.b64encode(raw).decode("ascii"))

    def sign(self, message: bytes) -> str:
        return base64.b64encode(self.private_key.sign(message)).decode("ascii")

    def public_json(self) -> dict[str, str]:
        return {"key_id": self.key_id, "public_key": self.public_key}


def raw_public_key(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def load_signer(settings: Settings) -> AuditSigner:
    """The key at CELLMEET_AUDIT_KEY_FILE, or DATA_DIR/audit_signing_key.pem created on first use."""
    path = settings.audit_key_path
    if settings.audit_key_file is None and not path.exists():
        _create(path)
    return AuditSigner.of(_read_private_key(path))


def _create(path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    # O_EXCL: two processes starting at once never overwrite each other's key; 0600 from the first byte.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "wb") as file:
        file.write(pem)


def _read_private_key(path: Path) -> Ed25519PrivateKey:
    try:
        mode = path.stat().st_mode
        data = path.read_bytes()
    except OSError as exc:
        raise UnsafeSettings(f"cannot read the audit signing key {path}: {exc.strerror}") from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise UnsafeSettings(f"the audit signing key {path} must not be readable by others (chmod 600)")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise UnsafeSettings(f"the audit signing key {path} is not an unencrypted PEM private key") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise UnsafeSettings(f"the audit signing key {path} is not an Ed25519 key")
    return key


def parse_public_key(given: str) -> Ed25519PublicKey:
    """An auditor's public key: a file (PEM, the JSON of `cellmeet audit public-key`, or base64) or
    the base64 of the 32 raw bytes itself. ValueError says what is wrong."""
    text = given.strip()
    candidate = Path(text).expanduser()
    if text and len(text) < 4096 and candidate.is_file():
        text = candidate.read_text(encoding="utf-8", errors="replace").strip()
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_public_key(text.encode("ascii", errors="replace"))
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("the PEM key is not an Ed25519 public key")
        return key
    if text.startswith("{"):
        try:
            text = str(json.loads(text)["public_key"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError("the JSON has no public_key") from exc
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not base64, not a PEM key and not a readable file") from exc
    if len(raw) != PUBLIC_KEY_BYTES:
        raise ValueError(f"an Ed25519 public key has {PUBLIC_KEY_BYTES} bytes, not {len(raw)}")
    return Ed25519PublicKey.from_public_bytes(raw)


def signature_valid(public_key: Ed25519PublicKey, message: bytes, signature: str) -> bool:
    try:
        public_key.verify(base64.b64decode(signature, validate=True), message)
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True
