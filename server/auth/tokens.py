"""Opaque random tokens for sessions and scripts; only their SHA-256 is stored."""

from __future__ import annotations

import hashlib
import secrets

SESSION_COOKIE_SECURE = "__Host-cellmeet"
SESSION_COOKIE_PLAIN = "cellmeet_session"
API_TOKEN_PREFIX = "cm_"


def new_token(prefix: str = "") -> str:
    return prefix + secrets.token_urlsafe(32)  # 256 bits (ASVS 3.2.2)


def token_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
