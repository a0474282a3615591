"""TURN REST credentials: the exact scheme coturn verifies, a bounded TTL, and no public default."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from server.media.turn import MAX_TTL_SECONDS, ice_servers_for, member_ice_servers, mint_turn_credential
from server.settings import Secret, Settings, UnsafeSettings, load_settings

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


# -- CELLMEET_TURN_TTL_SECONDS (issue 21 point 1) -------------------------------------------------------

TURN = [{"urls": ["turn:turn.example.vn:3478?transport=udp"]}]


def test_the_lifetime_is_ten_minutes_unless_set(tmp_path: Path) -> None:
    env = {"CELLMEET_DATA_DIR": str(tmp_path)}
    assert load_settings(env).turn_ttl_seconds == 600 == MAX_TTL_SECONDS
    assert load_settings({**env, "CELLMEET_TURN_TTL_SECONDS": ""}).turn_ttl_seconds == 600
    assert (
        Settings(data_dir=tmp_path, database_url="sqlite://", secret_key=Secret("k")).turn_ttl_seconds == 600
    )
    for value, seconds in (("5", 5), ("30", 30), (" 120 ", 120), ("600", 600)):
        assert load_settings({**env, "CELLMEET_TURN_TTL_SECONDS": value}).turn_ttl_seconds == seconds


@pytest.mark.parametrize("value", ["0", "4", "-30", "601", "3600", "86400", "1.5", "30s", "ten", "３０", "²"])
def test_a_lifetime_that_is_not_a_whole_number_from_5_to_600_refuses_to_start(
    tmp_path: Path, value: str
) -> None:
    env = {"CELLMEET_DATA_DIR": str(tmp_path), "CELLMEET_TURN_TTL_SECONDS": value}
    with pytest.raises(UnsafeSettings, match="CELLMEET_TURN_TTL_SECONDS"):
        load_settings(env)


@pytest.mark.parametrize("ttl", [5, 42, 600])
def test_member_ice_servers_mints_for_the_given_lifetime(ttl: int) -> None:
    servers, expires_at = member_ice_servers(
        TURN, "s3cret", member_id=7, meeting_id=42, now=NOW, ttl_seconds=ttl
    )
    assert expires_at == NOW + timedelta(seconds=ttl)
    (entry,) = servers
    assert entry["username"] == f"{int(NOW.timestamp()) + ttl}:m7-g42"
    again = mint_turn_credential("s3cret", member_id=7, meeting_id=42, now=NOW, ttl_seconds=ttl)
    assert entry["credential"] == again.credential


def test_member_ice_servers_without_a_secret_has_no_credential_and_no_expiry() -> None:
    assert member_ice_servers(TURN, None, member_id=7, meeting_id=42, now=NOW, ttl_seconds=30) == ([], None)
