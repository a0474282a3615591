"""The per-user event budget: a token bucket (architecture.md "Limits that are designed in")."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class TokenBucket:
    """`rate` events a second on average, up to `burst` at once; time comes in from the caller."""

    rate: float
    burst: int
    tokens: float = field(init=False)
    last: float | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.tokens = float(self.burst)

    def refill(self, now: float) -> None:
        if self.last is not None:
            self.tokens = min(float(self.burst), self.tokens + (now - self.last) * self.rate)
        self.last = now

    def take(self, now: float, cost: float = 1.0) -> bool:
        """Spend `cost` tokens if there are that many; a refused take spends what is left."""
        self.refill(now)
        if self.tokens < cost:
            self.tokens = 0.0
            return False
        self.tokens -= cost
        return True

    def full(self, now: float) -> bool:
        self.refill(now)
        return self.tokens >= self.burst
