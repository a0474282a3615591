"""CELLMEET_REDIS_URL (issue 26 point 4): Redis on the loopback, or on a private address with a password;
anything else refuses the start with a message that says why and never shows the password."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from server.redis_address import RedisAddressRefused, check_redis_url
from server.settings import UnsafeSettings, load_settings

PASSWORD = "m4t-khau-redis"


def no_dns(host: str) -> list[str]:
    raise AssertionError(f"{host} should not need resolving")


@pytest.mark.parametrize(
    "url",
    [
        "redis://127.0.0.1:6379/0",
        "redis://127.0.0.1",
        "redis://[::1]:6379",
        "rediss://127.0.0.2:6380/3",
        f"redis://:{PASSWORD}@10.0.0.5:6379/0",
        f"redis://cellmeet:{PASSWORD}@192.168.10.2:6379",
        f"rediss://:{PASSWORD}@172.16.0.9:6379",
        f"redis://:{PASSWORD}@[fd12:3456::7]:6379",
        f"redis://:{PASSWORD}@100.64.1.2:6379",  # RFC 6598, inside clouds
    ],
)
def test_allowed_addresses(url: str) -> None:
    assert check_redis_url(url, resolve=no_dns) == url


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("redis://10.0.0.5:6379/0", "needs a password"),
        ("redis://user@192.168.1.2:6379", "needs a password"),
        (f"redis://:{PASSWORD}@8.8.8.8:6379", "8.8.8.8"),
        (f"redis://:{PASSWORD}@[2001:db8::1]:6379", "private address"),
        (f"redis://:{PASSWORD}@[::ffff:8.8.8.8]:6379", "loopback or a private address"),
        (f"redis://:{PASSWORD}@169.254.1.1:6379", "private address"),  # link-local is no private network
        (f"redis://:{PASSWORD}@0.0.0.0:6379", "private address"),
        ("http://127.0.0.1:6379", "redis:// or rediss://"),
        ("127.0.0.1:6379", "redis:// or rediss://"),
        ("redis://127.0.0.1:99999", "bad port"),
        ("redis://127.0.0.1:6379/abc", "database number"),
        ("redis://127.0.0.1:6379/0?ssl=false", "no query"),
        ("redis:///0", "no host"),
    ],
)
def test_refused_addresses_say_why_without_the_password(url: str, says: str) -> None:
    with pytest.raises(RedisAddressRefused) as refused:
        check_redis_url(url, resolve=no_dns)
    assert says in str(refused.value)
    assert PASSWORD not in str(refused.value)


def test_a_name_is_judged_by_every_address_it_resolves_to() -> None:
    assert check_redis_url("redis://localhost:6379", resolve=lambda host: ["127.0.0.1", "::1"])
    inside = f"redis://:{PASSWORD}@redis.noi-bo:6379"
    assert check_redis_url(inside, resolve=lambda host: ["10.1.2.3"]) == inside
    # one public address among private ones is enough to refuse
    with pytest.raises(RedisAddressRefused, match="203.0.113.7"):
        check_redis_url(inside, resolve=lambda host: ["10.1.2.3", "203.0.113.7"])
    with pytest.raises(RedisAddressRefused, match="needs a password"):
        check_redis_url("redis://redis.noi-bo:6379", resolve=lambda host: ["10.1.2.3"])
    with pytest.raises(RedisAddressRefused, match="does not resolve"):
        check_redis_url("redis://redis.noi-bo:6379", resolve=lambda host: [])


def test_an_unknown_name_is_refused_by_the_real_resolver() -> None:
    with pytest.raises(RedisAddressRefused, match="does not resolve"):
        check_redis_url("redis://khong-co-may-nay.invalid:6379")


def test_settings_keep_the_url_as_a_secret(tmp_path: Path) -> None:
    url = f"redis://:{PASSWORD}@10.0.0.5:6379/0"
    settings = load_settings({"CELLMEET_DATA_DIR": str(tmp_path), "CELLMEET_REDIS_URL": url})
    assert settings.redis_url is not None and settings.redis_url.value == url
    assert PASSWORD not in repr(settings)
    assert load_settings({"CELLMEET_DATA_DIR": str(tmp_path)}).redis_url is None
    with pytest.raises(UnsafeSettings, match="needs a password"):
        load_settings({"CELLMEET_DATA_DIR": str(tmp_path), "CELLMEET_REDIS_URL": "redis://10.0.0.5:6379"})


def test_cellmeet_serve_refuses_to_start_on_a_public_redis(tmp_path: Path) -> None:
    env = {
        "CELLMEET_DATA_DIR": str(tmp_path),
        "CELLMEET_REDIS_URL": f"redis://:{PASSWORD}@8.8.8.8:6379/0",
        "PATH": "/usr/bin:/bin",
    }
    done = subprocess.run(
        [sys.executable, "-m", "server.cli", "serve", "--port", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 2, done.stderr
    assert "CELLMEET_REDIS_URL" in done.stderr and "8.8.8.8" in done.stderr
    assert PASSWORD not in done.stderr + done.stdout
