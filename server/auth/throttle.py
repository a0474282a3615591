"""Login throttling that cannot be turned into a weapon (docs/security.md "Accounts and sessions").

- The hard lock is per (account, address): `per_account` failures in an hour from one address lock
  that account from that address only, until the oldest failure is an hour old.
- Across addresses, an account's failures beyond `per_account` bring growing delays (1, 2, 4 ... s,
  at most DELAY_CAP) after each failure, never a lock: the right password from another address
  gets in within DELAY_CAP, while a guesser is held to about one try a minute.
- An address's failures beyond `per_address` (a spray over many accounts) bring the same delays
  to that address only.
- An address the account logged in from in the last KNOWN_FOR is held only by its own pair lock:
  guessers on other addresses, even many of them keeping the account's delay running, never delay
  the owner's usual address. (Getting an address known takes the right password.)
- The secretary or the operator can unlock an account (audited by the route).
Counters live in the process; with several processes each keeps its own.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta

WINDOW = timedelta(hours=1)
DELAY_CAP_SECONDS = 60
MAX_KEYS = 100_000  # bounds memory under a spray of made-up usernames
KNOWN_FOR = timedelta(days=30)
KNOWN_PER_ACCOUNT = 8


class LoginThrottle:
    def __init__(self, per_account: int, per_address: int) -> None:
        self.per_account = per_account
        self.per_address = per_address
        self._failures: dict[str, deque[datetime]] = {}
        # account -> {address: last successful login}; only a right password adds to it.
        self._known: dict[str, dict[str, datetime]] = {}

    def _recent(self, key: str, now: datetime) -> deque[datetime]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and now - times[0] > WINDOW:
            times.popleft()
        return times

    @staticmethod
    def _keys(username: str, address: str) -> tuple[str, str, str]:
        account = username.lower()
        return f"p:{account}\x00{address}", f"u:{account}", f"a:{address}"

    def _delay(self, key: str, limit: int, now: datetime) -> int | None:
        times = self._recent(key, now)
        if len(times) < limit:
            return None
        delay = min(DELAY_CAP_SECONDS, 2 ** min(len(times) - limit, 16))
        left = (times[-1] + timedelta(seconds=delay) - now).total_seconds()
        return max(1, int(left + 0.999)) if left > 0 else None

    def _is_known(self, username: str, address: str, now: datetime) -> bool:
        seen = self._known.get(username.lower(), {}).get(address)
        return seen is not None and now - seen <= KNOWN_FOR

    def retry_after(self, username: str, address: str, now: datetime) -> int | None:
        """Seconds to wait before this login may be tried, else None."""
        pair, account, source = self._keys(username, address)
        locked = self._recent(pair, now)
        if len(locked) >= self.per_account:
            return max(1, int((locked[0] + WINDOW - now).total_seconds()))
        if self._is_known(username, address, now):
            return None
        waits = [
            w
            for w in (self._delay(account, self.per_account, now), self._delay(source, self.per_address, now))
            if w
        ]
        return max(waits) if waits else None

    def _evict(self, now: datetime) -> None:
        """Make room: drop counters with nothing in the window, then the longest idle tenth.
        (Never all at once: a flood of made-up usernames must not wipe a real account's lock.)"""
        for key in [k for k, times in self._failures.items() if not times or now - times[-1] > WINDOW]:
            del self._failures[key]
        if len(self._failures) >= MAX_KEYS:
            idle = sorted(self._failures, key=lambda k: self._failures[k][-1])
            for key in idle[: max(1, len(idle) // 10)]:
                del self._failures[key]

    def record_failure(self, username: str, address: str, now: datetime) -> None:
        if len(self._failures) >= MAX_KEYS:
            self._evict(now)
        for key in self._keys(username, address):
            self._failures.setdefault(key, deque()).append(now)

    def record_success(self, username: str, address: str, now: datetime) -> None:
        pair, account, _ = self._keys(username, address)
        self._failures.pop(pair, None)
        self._failures.pop(account, None)
        known = self._known.setdefault(username.lower(), {})
        known.pop(address, None)
        known[address] = now  # the most recent last
        while len(known) > KNOWN_PER_ACCOUNT:
            del known[next(iter(known))]

    def _account_keys(self, username: str) -> list[str]:
        account = username.lower()
        return [k for k in self._failures if k == f"u:{account}" or k.startswith(f"p:{account}\x00")]

    def counters(self, username: str) -> int:
        """How many counters of the account unlock() would forget (for its audit row, written first)."""
        return len(self._account_keys(username))

    def unlock(self, username: str) -> int:
        """Forget every failure of the account, from every address; how many counters were dropped."""
        keys = self._account_keys(username)
        for key in keys:
            del self._failures[key]
        return len(keys)
