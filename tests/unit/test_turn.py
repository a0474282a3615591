"""TURN REST credentials: the exact scheme coturn verifies, a bounded TTL, and no public default."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime

import pytest

from server.media.turn import MAX_TTL_SECONDS, ice_servers_for, mint_turn_credential

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def test_credential_is_the_hmac_sha1_of_the_username_that_coturn_recomputes() -> None:
    cred = mint_turn_credential("s3cret", member_id=7, meeting_id=42, now=NOW, ttl_seconds=300)
    expiry, user = cred.username.split(":", 1)
    assert int(expiry) == int(NOW.timestamp()) + 300 == cred.expires_at
    assert user == "m7-g42"
    expected = base64.b64encode(hmac.new(b"s3cret", cred.username.encode(), hashlib.sha1).digest()).decode()
    assert cred.credential == expected


def test_another_secret_or_member_gives_another_password() -> None:
    base = mint_turn_credential("s3cret", member_id=7, meeting_id=42, now=NOW)
    assert mint_turn_credential("other", member_id=7, meeting_id=42, now=NOW).credential != base.credential
    assert mint_turn_credential("s3cret", member_id=8, meeting_id=42, now=NOW).credential != base.credential


@pytest.mark.parametrize("ttl", [0, -1, MAX_TTL_SECONDS + 1, 86400])
def test_ttl_is_bounded_to_ten_minutes(ttl: int) -> None:
    with pytest.raises(ValueError):
        mint_turn_credential("s3cret", member_id=1, meeting_id=1, now=NOW, ttl_seconds=ttl)


def test_no_secret_no_credential() -> None:
    with pytest.raises(ValueError):
        mint_turn_credential("", member_id=1, meeting_id=1, now=NOW)


def test_ice_servers_come_only_from_settings() -> None:
    assert ice_servers_for([], None) == []  # never a public STUN by default
    configured = [
        {"urls": "stun:turn.example.vn:3478"},
        {"urls": ["turn:turn.example.vn:3478?transport=udp"]},
    ]
    cred = mint_turn_credential("s3cret", member_id=1, meeting_id=2, now=NOW)
    servers = ice_servers_for(configured, cred)
    assert servers == [
        {"urls": ["stun:turn.example.vn:3478"]},
        {
            "urls": ["turn:turn.example.vn:3478?transport=udp"],
            "username": cred.username,
            "credential": cred.credential,
        },
    ]
    # without a credential (not a member, no secret) the TURN entry is withheld, not sent bare
    assert ice_servers_for(configured, None) == [{"urls": ["stun:turn.example.vn:3478"]}]
