"""The live room's budgets shared by several processes (issue 26 point 3), so a second process is no
way around them.

Each process decides with its own `RoomGuard` (no round trip before an event is let through) and
tells the others, every REPLICATE_SECONDS, what it counted: the events each user spent, the
connection attempts of each client address, the cool-downs it started, and how many connections each
user holds there. Each process charges the others' spending to its own budgets, so a user's budget
drains whichever processes their connections are on; a cool-down started anywhere holds everywhere
and closes the user's connections on every process; the connections a user may hold are counted
over all processes (a process's counts are forgotten CONNECTIONS_KEPT_SECONDS after its last word,
as when it dies).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from server.realtime.guard import RoomGuard, RoomLimits
from server.realtime.limits import TokenBucket

log = logging.getLogger("cellmeet.realtime")

REPLICATE_SECONDS = 0.05
FULL_COUNTS_SECONDS = 5.0  # every process's connection counts, told again even if unchanged
CONNECTIONS_KEPT_SECONDS = 15.0
STOP_SECONDS = 2.0

Note = dict[str, Any]


class SharedRoomGuard(RoomGuard):
    def __init__(self, limits: RoomLimits, now: Callable[[], float] = time.monotonic) -> None:
        super().__init__(limits, now)
        self.instance = ""
        self.send: Callable[[Note], Awaitable[None]] | None = None
        self.cut_off: Callable[[int], Awaitable[None]] | None = None  # close a cooled user's connections
        self._spent: dict[int, float] = {}  # user -> events spent here since the last note
        self._attempts: Counter[str] = Counter()
        self._cooled: set[int] = set()
        self._counts_changed: set[int] = set()
        # user -> process -> (connections held there, until when that count is believed)
        self.elsewhere: dict[int, dict[str, tuple[int, float]]] = {}
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    # -- what this process counts, noted for the others -------------------------------------------

    def spend(self, user_id: int, cost: float = 1.0) -> bool:
        cooling_before = user_id in self.cooling_until
        allowed = super().spend(user_id, cost)
        self._spent[user_id] = self._spent.get(user_id, 0.0) + cost
        if not allowed and not cooling_before:
            self._cooled.add(user_id)
        return allowed

    def connect(self, user_id: int, sid: str) -> bool:
        held_elsewhere = sum(
            count for count, until in self.elsewhere.get(user_id, {}).values() if until > self.now()
        )
        if len(self.connections.get(user_id, ())) + held_elsewhere >= self.limits.connections_per_user:
            return False
        allowed = super().connect(user_id, sid)
        self._counts_changed.add(user_id)
        return allowed

    def disconnect(self, user_id: int, sid: str) -> None:
        super().disconnect(user_id, sid)
        self._counts_changed.add(user_id)

    def admit_address(self, address: str) -> bool:
        self._attempts[address] += 1
        return super().admit_address(address)

    # -- the exchange -----------------------------------------------------------------------------

    def start(
        self,
        instance: str,
        send: Callable[[Note], Awaitable[None]],
        cut_off: Callable[[int], Awaitable[None]],
    ) -> None:
        self.instance, self.send, self.cut_off = instance, send, cut_off
        self._task = asyncio.create_task(self._replicate(), name="room-guard-sharing")

    async def stop(self) -> None:
        # redis-py's asyncio publish can swallow a cancellation (redis/redis-py#2028): the loop also
        # ends on the flag, and the stop never waits long for it.
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait({self._task}, timeout=STOP_SECONDS)

    async def _replicate(self) -> None:
        last_full = -FULL_COUNTS_SECONDS
        while not self._stopping:
            await asyncio.sleep(REPLICATE_SECONDS)
            full = self.now() - last_full >= FULL_COUNTS_SECONDS
            note = self._take_note(full)
            if full:
                last_full = self.now()
            if note is None or self.send is None:
                continue
            try:
                await self.send(note)
            except Exception as exc:  # Redis away: counted here only meanwhile
                log.warning("room budgets not shared (%r)", exc)

    def _take_note(self, full: bool) -> Note | None:
        users = set(self.connections) | self._counts_changed if full else self._counts_changed
        if not (self._spent or self._attempts or self._cooled or users):
            return None
        note: Note = {
            "op": "guard",
            "spent": {str(user): cost for user, cost in self._spent.items()},
            "attempts": dict(self._attempts),
            "cooled": {str(user): round(self.cooling(user), 3) for user in self._cooled},
            "connections": {str(user): len(self.connections.get(user, ())) for user in users},
        }
        self._spent.clear()
        self._attempts.clear()
        self._cooled.clear()
        self._counts_changed.clear()
        return note

    async def apply(self, note: Note) -> None:
        """Another process's counts, charged here."""
        sender = str(note.get("from", ""))
        if sender == self.instance:
            return
        now = self.now()
        for user, cost in (note.get("spent") or {}).items():
            bucket = self.budgets.setdefault(
                int(user), TokenBucket(self.limits.events_per_second, self.limits.event_burst)
            )
            bucket.refill(now)
            bucket.tokens = max(0.0, bucket.tokens - float(cost))
        for address, attempts in (note.get("attempts") or {}).items():
            bucket = self.address_budgets.setdefault(
                address,
                TokenBucket(
                    self.limits.connects_per_address_per_second, self.limits.connect_burst_per_address
                ),
            )
            bucket.refill(now)
            bucket.tokens = max(0.0, bucket.tokens - float(attempts))
        for user, count in (note.get("connections") or {}).items():
            self.elsewhere.setdefault(int(user), {})[sender] = (int(count), now + CONNECTIONS_KEPT_SECONDS)
        for user, seconds in (note.get("cooled") or {}).items():
            user_id = int(user)
            if float(seconds) > 0 and not self.cooling(user_id):
                self.cooling_until[user_id] = now + float(seconds)
                if self.connections.get(user_id) and self.cut_off is not None:
                    await self.cut_off(user_id)
