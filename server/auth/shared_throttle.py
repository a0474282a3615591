"""The login throttle shared by several processes through Redis (issue 26 point 3), so a second
process is no way around it.

Each process keeps deciding with its own `LoginThrottle` (the same rules, the same unit tests, no
network round trip before answering a login); what changes its counters is replicated:

- every failure, success and unlock is appended to one Redis stream, `<prefix>:throttle`, with the
  process that made it; every process reads the stream and applies the others' entries to its own
  counters (a few milliseconds behind; a guesser spreading a burst over processes gains at most the
  entries in flight);
- a process that starts replays the stream's last hour (the throttle's window), so a restart or a
  new process does not forget a lock; the stream is trimmed to about MAX_ENTRIES entries;
- the addresses each account logged in from (kept 30 days) live in the hash `<prefix>:throttle:known`,
  read at start.

Redis away: the process goes on with its own counters (logged once), and catches up from the stream
when Redis is back.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

from redis.asyncio import Redis

from server.auth.throttle import KNOWN_FOR, WINDOW, LoginThrottle

log = logging.getLogger("cellmeet.auth")

MAX_ENTRIES = 200_000  # an hour of a heavy spray; older entries are past the window anyway
READ_BLOCK_MS = 1_000


class SharedLoginThrottle(LoginThrottle):
    def __init__(self, per_account: int, per_address: int, redis: Redis, prefix: str, instance: str) -> None:
        super().__init__(per_account, per_address)
        # redis-py types each reply as the union of every shape a command can answer: read as Any.
        self.redis: Any = redis
        self.stream = f"{prefix}:throttle"
        self.known_hash = f"{prefix}:throttle:known"
        self.instance = instance
        self._last_id = "0-0"
        self._outbox: asyncio.Queue[dict[str, str]] = asyncio.Queue()
        self._warned = False
        self.stopping = False  # set at shutdown: the loops end

    # -- what this process does, replicated ------------------------------------------------------

    def record_failure(self, username: str, address: str, now: datetime) -> None:
        super().record_failure(username, address, now)
        self._send("failure", username, address, now)

    def record_success(self, username: str, address: str, now: datetime) -> None:
        super().record_success(username, address, now)
        self._send("success", username, address, now)

    def unlock(self, username: str) -> int:
        lifted = super().unlock(username)
        self._send("unlock", username, "", None)
        return lifted

    def _send(self, op: str, username: str, address: str, at: datetime | None) -> None:
        self._outbox.put_nowait(
            {
                "op": op,
                "user": username,
                "address": address,
                "at": at.isoformat() if at else "",
                "from": self.instance,
            }
        )

    # -- the background work: send, receive, and the start --------------------------------------

    async def start(self, now: datetime) -> None:
        """What the other processes know, read before this one answers its first login."""
        await self._load(now)

    async def run(self) -> None:
        """Send and receive until cancelled."""
        sender = asyncio.create_task(self._send_loop(), name="throttle-send")
        try:
            await self._receive_loop()
        finally:
            sender.cancel()
            await asyncio.wait({sender}, timeout=2.0)

    async def _load(self, now: datetime) -> None:
        try:
            known = await self.redis.hgetall(self.known_hash)
            newest = await self.redis.xrevrange(self.stream, count=1)
            self._last_id = _text(newest[0][0]) if newest else "0-0"
            # Stream ids are Redis's own clock: the window is measured on it.
            seconds, _micro = await self.redis.time()
            since_ms = max(0, int((seconds - WINDOW.total_seconds()) * 1000))
            entries = (
                await self.redis.xrange(self.stream, min=f"{since_ms}-0", max=self._last_id) if newest else []
            )
        except Exception as exc:  # Redis away at start: begin empty, catch up later
            self._warn(exc)
            return
        for field, seen in known.items():
            account, _, address = _text(field).partition("\x00")
            at = datetime.fromisoformat(_text(seen))
            if now - at <= KNOWN_FOR:
                LoginThrottle.record_success(self, account, address, at)
        for _entry_id, fields in entries:
            self._apply(fields)

    async def _send_loop(self) -> None:
        while not self.stopping:
            entry = await self._outbox.get()
            while True:
                try:
                    async with self.redis.pipeline(transaction=False) as pipe:
                        pipe.xadd(self.stream, entry, maxlen=MAX_ENTRIES, approximate=True)
                        if entry["op"] == "success":
                            pipe.hset(
                                self.known_hash, f"{entry['user'].lower()}\x00{entry['address']}", entry["at"]
                            )
                        await pipe.execute()
                    self._warned = False
                    break
                except Exception as exc:
                    self._warn(exc)
                    await asyncio.sleep(1)

    async def _receive_loop(self) -> None:
        while not self.stopping:
            try:
                found = await self.redis.xread({self.stream: self._last_id}, block=READ_BLOCK_MS, count=500)
            except Exception as exc:
                self._warn(exc)
                await asyncio.sleep(1)
                continue
            for _stream, entries in found or []:
                for entry_id, fields in entries:
                    self._last_id = _text(entry_id)
                    self._apply(fields)

    def _apply(self, fields: dict[Any, Any]) -> None:
        """Another process's entry, applied to this process's counters."""
        entry = {_text(k): _text(v) for k, v in fields.items()}
        if entry.get("from") == self.instance:
            return
        username, address = entry.get("user", ""), entry.get("address", "")
        op = entry.get("op")
        if op == "unlock":
            LoginThrottle.unlock(self, username)
            return
        try:
            at = datetime.fromisoformat(entry.get("at", ""))
        except ValueError:
            return
        if op == "failure":
            LoginThrottle.record_failure(self, username, address, at)
        elif op == "success":
            LoginThrottle.record_success(self, username, address, at)

    def _warn(self, exc: Exception) -> None:
        if not self._warned:
            log.warning("login throttle: Redis unreachable, counting in this process only (%r)", exc)
            self._warned = True


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
