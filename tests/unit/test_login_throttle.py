"""The login throttle (server/auth/throttle.py): the hard lock is per (account, address), elsewhere
growing delays of at most DELAY_CAP_SECONDS, a known address is not delayed by others' guesses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from server.auth import throttle as throttle_module
from server.auth.throttle import DELAY_CAP_SECONDS, KNOWN_FOR, LoginThrottle

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def fail(throttle: LoginThrottle, username: str, address: str, at: datetime, times: int = 1) -> None:
    for _ in range(times):
        throttle.record_failure(username, address, at)


def test_the_hard_lock_is_per_account_and_address_for_the_hour() -> None:
    throttle = LoginThrottle(per_account=5, per_address=100)
    fail(throttle, "Alice", "x", T0, 4)
    assert throttle.retry_after("alice", "x", T0) is None
    fail(throttle, "alice", "x", T0)
    wait = throttle.retry_after("ALICE", "x", T0)
    assert wait is not None and 3500 < wait <= 3600
    assert throttle.retry_after("alice", "x", T0 + timedelta(minutes=59)) is not None
    assert throttle.retry_after("alice", "x", T0 + timedelta(minutes=61)) is None
    # another account from the same address is not locked
    assert throttle.retry_after("bob", "x", T0) is None


def test_other_addresses_get_delays_never_the_hour() -> None:
    throttle = LoginThrottle(per_account=5, per_address=100)
    fail(throttle, "alice", "x", T0, 5)
    first = throttle.retry_after("alice", "y", T0)
    assert first == 1  # 2**0 after the limit
    assert throttle.retry_after("alice", "y", T0 + timedelta(seconds=1)) is None


def test_delays_grow_and_are_capped() -> None:
    throttle = LoginThrottle(per_account=5, per_address=1000)
    at = T0
    waits = []
    for attempt in range(20):
        address = f"10.0.0.{attempt}"
        wait = throttle.retry_after("alice", address, at)
        if wait is not None:
            waits.append(wait)
            at += timedelta(seconds=wait)
            assert throttle.retry_after("alice", address, at) is None
        throttle.record_failure("alice", address, at)
    assert waits[:7] == [1, 2, 4, 8, 16, 32, 60]
    assert set(waits[6:]) == {DELAY_CAP_SECONDS}


def test_an_address_spraying_accounts_is_delayed_alone() -> None:
    throttle = LoginThrottle(per_account=20, per_address=5)
    for index in range(5):
        throttle.record_failure(f"user-{index}", "x", T0)
    assert throttle.retry_after("someone", "x", T0) == 1
    assert throttle.retry_after("someone", "y", T0) is None
    assert throttle.retry_after("user-0", "y", T0) is None


def test_a_known_address_is_not_delayed_by_guessers_elsewhere() -> None:
    throttle = LoginThrottle(per_account=5, per_address=100)
    throttle.record_success("alice", "home", T0)
    at = T0 + timedelta(minutes=1)
    for index in range(30):  # many addresses keep the account's delay running
        throttle.record_failure("alice", f"10.0.0.{index}", at)
    assert throttle.retry_after("alice", "cafe", at) == DELAY_CAP_SECONDS
    assert throttle.retry_after("alice", "home", at) is None
    # ... but the pair lock still holds at home, and the knowledge fades
    fail(throttle, "alice", "home", at, 5)
    assert (throttle.retry_after("alice", "home", at) or 0) > DELAY_CAP_SECONDS
    later = T0 + KNOWN_FOR + timedelta(seconds=1)
    fail(throttle, "alice", "10.0.0.1", later, 30)
    assert throttle.retry_after("alice", "home", later) == DELAY_CAP_SECONDS


def test_known_addresses_are_bounded_per_account() -> None:
    throttle = LoginThrottle(per_account=5, per_address=100)
    for index in range(throttle_module.KNOWN_PER_ACCOUNT + 1):
        throttle.record_success("alice", f"a{index}", T0 + timedelta(seconds=index))
    fail(throttle, "alice", "z", T0 + timedelta(minutes=1), 10)
    at = T0 + timedelta(minutes=1)
    assert throttle.retry_after("alice", "a0", at) is not None  # the oldest was forgotten
    assert throttle.retry_after("alice", f"a{throttle_module.KNOWN_PER_ACCOUNT}", at) is None


def test_success_clears_the_pair_and_account_counters() -> None:
    throttle = LoginThrottle(per_account=5, per_address=100)
    fail(throttle, "alice", "x", T0, 4)
    fail(throttle, "alice", "y", T0, 4)
    throttle.record_success("alice", "x", T0)
    fail(throttle, "alice", "x", T0, 4)
    assert throttle.retry_after("alice", "x", T0) is None  # 4, not 8, from x


def test_unlock_forgets_every_failure_of_the_account() -> None:
    throttle = LoginThrottle(per_account=5, per_address=100)
    fail(throttle, "alice", "x", T0, 5)
    fail(throttle, "alice", "y", T0, 5)
    fail(throttle, "bob", "x", T0, 5)
    assert throttle.counters("alice") == 3  # two pairs and the account; nothing forgotten yet
    assert throttle.unlock("ALICE") == 3
    assert throttle.retry_after("alice", "x", T0) is None
    assert throttle.retry_after("alice", "y", T0) is None
    assert throttle.retry_after("bob", "x", T0) is not None
    assert throttle.unlock("alice") == 0


def test_a_flood_of_made_up_names_does_not_wipe_a_lock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(throttle_module, "MAX_KEYS", 50)
    throttle = LoginThrottle(per_account=5, per_address=10_000)
    fail(throttle, "alice", "x", T0, 5)
    at = T0 + timedelta(minutes=1)
    for index in range(200):
        throttle.record_failure(f"made-up-{index}", f"10.1.{index}.1", at + timedelta(seconds=index))
    assert len(throttle._failures) <= 50 + 3
    # the oldest tenth goes first, so an attacker must keep flooding; a lock idle for less long stays
    fresh = LoginThrottle(per_account=5, per_address=10_000)
    for index in range(40):
        fresh.record_failure(f"made-up-{index}", "y", T0)
    fail(fresh, "alice", "x", at, 5)
    for index in range(10):
        fresh.record_failure(f"more-{index}", "y", at)
    assert fresh.retry_after("alice", "x", at) is not None
