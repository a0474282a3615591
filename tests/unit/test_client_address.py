"""Whose address a login is counted against (server/auth/client_address.py, settings parsing)."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp.test_utils import make_mocked_request

from server.auth.client_address import client_address
from server.settings import Secret, Settings, UnsafeSettings, load_settings


def settings_for(tmp_path: Path, *proxies: str) -> Settings:
    return Settings(
        data_dir=tmp_path,
        database_url="sqlite+aiosqlite://",
        secret_key=Secret("k" * 48),
        trusted_proxies=proxies,
    )


def address(settings: Settings, peer: str, **headers: str) -> str:
    request = make_mocked_request("POST", "/api/v1/auth/login", headers=headers).clone(remote=peer)
    return client_address(request, settings)


def test_without_trusted_proxies_the_peer_counts_whatever_it_sends(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    assert address(settings, "127.0.0.1", **{"X-Forwarded-For": "203.0.113.9"}) == "127.0.0.1"
    assert address(settings, "127.0.0.1", **{"X-Real-IP": "203.0.113.9"}) == "127.0.0.1"


def test_an_untrusted_peers_headers_are_ignored(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, "127.0.0.1")
    headers = {"X-Forwarded-For": "203.0.113.9", "X-Real-IP": "203.0.113.9"}
    assert address(settings, "198.51.100.7", **headers) == "198.51.100.7"


def test_the_right_most_hop_that_is_not_a_proxy(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, "127.0.0.1", "10.0.0.0/8")
    # the client wrote "1.2.3.4" itself; nginx appended the real address, then an inner proxy hop
    forwarded = "1.2.3.4, 203.0.113.9, 10.1.2.3"
    assert address(settings, "127.0.0.1", **{"X-Forwarded-For": forwarded}) == "203.0.113.9"
    assert address(settings, "10.9.9.9", **{"X-Forwarded-For": " 2001:db8::1 "}) == "2001:db8::1"


def test_a_malformed_hop_stops_the_walk(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, "127.0.0.1")
    forwarded = "203.0.113.9, not-an-address"
    assert address(settings, "127.0.0.1", **{"X-Forwarded-For": forwarded}) == "127.0.0.1"
    forwarded_and_real = {"X-Forwarded-For": "junk", "X-Real-IP": "198.51.100.7"}
    assert address(settings, "127.0.0.1", **forwarded_and_real) == "198.51.100.7"


def test_x_real_ip_without_forwarded_for(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, "127.0.0.1")
    assert address(settings, "127.0.0.1", **{"X-Real-IP": "198.51.100.7"}) == "198.51.100.7"
    assert address(settings, "127.0.0.1", **{"X-Real-IP": "evil"}) == "127.0.0.1"
    assert address(settings, "127.0.0.1") == "127.0.0.1"
    # only proxies in the chain: the proxy's own address
    assert address(settings, "127.0.0.1", **{"X-Forwarded-For": "127.0.0.1"}) == "127.0.0.1"


def test_settings_parse_and_refuse_trusted_proxies(tmp_path: Path) -> None:
    env = {"CELLMEET_DATA_DIR": str(tmp_path), "CELLMEET_SECRET_KEY": "k" * 48}
    assert load_settings(env).trusted_proxies == ()
    parsed = load_settings({**env, "CELLMEET_TRUSTED_PROXIES": " 127.0.0.1, 10.0.0.0/8 ,::1,"})
    assert parsed.trusted_proxies == ("127.0.0.1", "10.0.0.0/8", "::1")
    for bad in ("localhost", "127.0.0.1/33", "10.0.0.0/8;rm"):
        with pytest.raises(UnsafeSettings, match="CELLMEET_TRUSTED_PROXIES"):
            load_settings({**env, "CELLMEET_TRUSTED_PROXIES": bad})
