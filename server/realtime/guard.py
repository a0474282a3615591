"""What one user, or one client address, may cost the live room (docs/security.md "The live room").

The event budget belongs to the user, not to a connection: reconnecting, or opening another
WebSocket, starts from what is left of it. Emptying it trips a cool-down during which the user's
connections are closed and their reconnects refused. Before anyone is known (a new WebSocket), the
client address has a budget of connection attempts. Both live in the process (a shared store comes
with the Redis scale-out issue); entries that hold nothing worth keeping are pruned as they age.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from server.realtime.limits import TokenBucket
from server.settings import Settings

# Pruning walks the tables only when one has grown past this, so its cost is spread thin.
PRUNE_ABOVE = 1024


@dataclass(frozen=True)
class RoomLimits:
    events_per_second: float
    event_burst: int
    cooldown_seconds: float
    connections_per_user: int
    refused_join_cost: int
    malformed_frame_cost: int
    malformed_frames_max: int
    connects_per_address_per_second: float
    connect_burst_per_address: int

    @classmethod
    def of(cls, settings: Settings) -> RoomLimits:
        return cls(
            events_per_second=settings.room_events_per_second,
            event_burst=settings.room_event_burst,
            cooldown_seconds=settings.room_flood_cooldown_seconds,
            connections_per_user=settings.room_connections_per_user,
            refused_join_cost=settings.room_refused_join_cost,
            malformed_frame_cost=settings.room_malformed_frame_cost,
            malformed_frames_max=settings.room_malformed_frames_max,
            connects_per_address_per_second=settings.room_connects_per_address_per_second,
            connect_burst_per_address=settings.room_connect_burst_per_address,
        )


class RoomGuard:
    """Budgets, cool-downs and connection counts; time comes from `now` (monotonic seconds)."""

    def __init__(self, limits: RoomLimits, now: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self.now = now
        self.budgets: dict[int, TokenBucket] = {}  # by user
        self.cooling_until: dict[int, float] = {}  # by user
        self.connections: dict[int, set[str]] = {}  # user -> socket.io sids
        self.address_budgets: dict[str, TokenBucket] = {}  # connection attempts by client address
        # Web session id -> its user, for the sessions that connected: a cooling user's browser is
        # then refused at the WebSocket's upgrade, before its session is looked up in the database.
        self.session_users: dict[str, int] = {}

    # -- users -----------------------------------------------------------------------------------

    def cooling(self, user_id: int) -> float:
        """Seconds left of the user's cool-down (0: none)."""
        until = self.cooling_until.get(user_id)
        if until is None:
            return 0.0
        left = until - self.now()
        if left <= 0:
            del self.cooling_until[user_id]
            return 0.0
        return left

    def spend(self, user_id: int, cost: float = 1.0) -> bool:
        """Take `cost` from the user's budget; False (and the cool-down begins) when it runs out."""
        if self.cooling(user_id):
            return False
        bucket = self.budgets.get(user_id)
        if bucket is None:
            self._prune()
            bucket = TokenBucket(self.limits.events_per_second, self.limits.event_burst)
            self.budgets[user_id] = bucket
        if bucket.take(self.now(), cost):
            return True
        self.cooling_until[user_id] = self.now() + self.limits.cooldown_seconds
        return False

    def remember_session(self, session_id: str, user_id: int) -> None:
        if session_id not in self.session_users:
            self._prune()
            self.session_users[session_id] = user_id

    def session_cooling(self, session_id: str) -> float:
        user_id = self.session_users.get(session_id)
        return 0.0 if user_id is None else self.cooling(user_id)

    def connect(self, user_id: int, sid: str) -> bool:
        """Count a connection of the user; False when they already hold the most allowed."""
        held = self.connections.setdefault(user_id, set())
        if len(held) >= self.limits.connections_per_user:
            return False
        held.add(sid)
        return True

    def disconnect(self, user_id: int, sid: str) -> None:
        held = self.connections.get(user_id)
        if held is not None:
            held.discard(sid)
            if not held:
                del self.connections[user_id]

    def sids_of(self, user_id: int) -> list[str]:
        return list(self.connections.get(user_id, ()))

    # -- client addresses ------------------------------------------------------------------------

    def admit_address(self, address: str) -> bool:
        """Spend one connection attempt of the address's budget."""
        bucket = self.address_budgets.get(address)
        if bucket is None:
            self._prune()
            bucket = self.address_budgets[address] = TokenBucket(
                self.limits.connects_per_address_per_second, self.limits.connect_burst_per_address
            )
        return bucket.take(self.now())

    def address_retry_after(self, address: str) -> int:
        bucket = self.address_budgets.get(address)
        if bucket is None or bucket.rate <= 0:
            return 1
        return max(1, int((1.0 - bucket.tokens) / bucket.rate + 0.999))

    # -- housekeeping ----------------------------------------------------------------------------

    def _prune(self) -> None:
        """Forget full budgets and ended cool-downs: they hold nothing a fresh entry would not."""
        now = self.now()
        if len(self.budgets) > PRUNE_ABOVE:
            for user_id in [u for u, b in self.budgets.items() if b.full(now) and u not in self.connections]:
                del self.budgets[user_id]
            for user_id in [u for u, until in self.cooling_until.items() if until <= now]:
                del self.cooling_until[user_id]
        if len(self.session_users) > PRUNE_ABOVE:
            for session_id, user_id in list(self.session_users.items()):
                if user_id not in self.connections and user_id not in self.cooling_until:
                    del self.session_users[session_id]
        if len(self.address_budgets) > PRUNE_ABOVE:
            for address in [a for a, b in self.address_budgets.items() if b.full(now)]:
                del self.address_budgets[address]
