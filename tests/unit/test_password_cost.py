"""Passwords are hashed at argon2id's RFC 9106 low-memory cost unless the test suite's own switch is
set (server/auth/passwords.py): a server started without it must never hash cheaply."""

from __future__ import annotations

import os
import subprocess
import sys

HASH = "from server.auth.passwords import hash_password_sync; print(hash_password_sync('mật khẩu đủ dài'))"


def hashed_in_a_fresh_process(**switch: str) -> str:
    env = {k: v for k, v in os.environ.items() if k != "CELLMEET_INSECURE_FAST_PASSWORD_HASHING"}
    env.update(switch)
    done = subprocess.run([sys.executable, "-c", HASH], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_a_server_without_the_switch_hashes_at_the_production_cost() -> None:
    assert hashed_in_a_fresh_process().startswith("$argon2id$v=19$m=65536,t=3,p=4$")


def test_only_the_exact_switch_makes_it_cheap() -> None:
    assert hashed_in_a_fresh_process(CELLMEET_INSECURE_FAST_PASSWORD_HASHING="yes").startswith(
        "$argon2id$v=19$m=65536,t=3,p=4$"
    )
    assert hashed_in_a_fresh_process(CELLMEET_INSECURE_FAST_PASSWORD_HASHING="1").startswith(
        "$argon2id$v=19$m=8,t=1,p=1$"
    )
