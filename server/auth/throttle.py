"""Login throttling: failed password checks per account and per address in a sliding hour."""

from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta

WINDOW = timedelta(hours=1)
MAX_KEYS = 100_000  # bounds memory under a spray of made-up usernames


class LoginThrottle:
    """In-process counters; with several processes each keeps its own (documented in docs/security.md)."""

    def __init__(self, per_account: int, per_address: int) -> None:
        self.per_account = per_account
        self.per_address = per_address
        self._failures: dict[str, deque[datetime]] = {}

    def _recent(self, key: str, now: datetime) -> deque[datetime]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and now - times[0] > WINDOW:
            times.popleft()
        return times

    def retry_after(self, username: str, address: str, now: datetime) -> int | None:
        """Seconds to wait when either limit is reached, else None."""
        for key, limit in ((f"u:{username.lower()}", self.per_account), (f"a:{address}", self.per_address)):
            times = self._recent(key, now)
            if len(times) >= limit:
                return max(1, int((times[0] + WINDOW - now).total_seconds()))
        return None

    def record_failure(self, username: str, address: str, now: datetime) -> None:
        if len(self._failures) >= MAX_KEYS:
            self._failures.clear()
        for key in (f"u:{username.lower()}", f"a:{address}"):
            self._failures.setdefault(key, deque()).append(now)

    def record_success(self, username: str) -> None:
        self._failures.pop(f"u:{username.lower()}", None)
