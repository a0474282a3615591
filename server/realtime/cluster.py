"""Several signalling processes on one Redis (issue 26): who is alive, which process owns each
meeting's live room, and the messages between processes.

- **Alive**: each process renews `<prefix>:proc:<instance>` every HEARTBEAT_SECONDS; the key lives
  ALIVE_SECONDS, so a process killed is seen gone within that time.
- **Owner**: a meeting's live room lives in one process, the holder of the lease
  `<prefix>:owner:<meeting>` (SET NX with an expiry, renewed while the room has members or leaves
  waiting for the grace, released when it empties or at shutdown). A lease whose holder is no longer
  alive is taken over at once (compare and set), so a meeting moves within ALIVE_SECONDS of its
  owner's death, well inside the 10 s the issue asks.
- **Messages**: each process listens on `<prefix>:to:<instance>` (requests to it, replies, notes)
  and on `<prefix>:all` (notes for every process). A request waits for its reply at most
  REQUEST_SECONDS.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio import Redis

log = logging.getLogger("cellmeet.realtime")

HEARTBEAT_SECONDS = 1.0
ALIVE_SECONDS = 3.0
LEASE_SECONDS = 6.0
REQUEST_SECONDS = 8.0
STOP_SECONDS = 2.0

# Take a lease over from a holder that is no longer alive: only if it still names that holder.
_TAKE_OVER = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0
"""
# Renew or release a lease only while this process holds it.
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

Message = dict[str, Any]


class Unreachable(Exception):
    """The process asked did not answer in time (gone, or its Redis link broken)."""


class Cluster:
    def __init__(self, redis_url: str, prefix: str) -> None:
        # redis-py types each reply as the union of every shape a command can answer: read as Any.
        self.redis: Any = Redis.from_url(redis_url, decode_responses=True)
        self.prefix = prefix
        self.instance = uuid.uuid4().hex
        # meeting -> event-loop time the lease was taken: a room just taken keeps its lease for a
        # while before its first member is seated.
        self.owned: dict[int, float] = {}
        # Set by the realtime layer: a request from another process (its answer is the reply), a note
        # to this process, and a note to every process.
        self.on_request: Callable[[Message], Awaitable[Any]] | None = None
        self.on_note: Callable[[Message], Awaitable[None]] | None = None
        self._replies: dict[str, asyncio.Future[Any]] = {}
        self._tasks: list[asyncio.Task[Any]] = []
        self._handlers: set[asyncio.Task[Any]] = set()
        self._pubsub: Any = None
        self._stopping = False

    # -- keys -------------------------------------------------------------------------------------

    def _alive_key(self, instance: str) -> str:
        return f"{self.prefix}:proc:{instance}"

    def _owner_key(self, meeting_id: int) -> str:
        return f"{self.prefix}:owner:{meeting_id}"

    def _inbox(self, instance: str) -> str:
        return f"{self.prefix}:to:{instance}"

    @property
    def _everyone(self) -> str:
        return f"{self.prefix}:all"

    # -- life -------------------------------------------------------------------------------------

    async def start(self, keep: Callable[[int], bool]) -> None:
        """Alive from now on; `keep(meeting)` says whether an owned room still needs its lease."""
        await self._beat()
        self._pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        await self._pubsub.subscribe(self._inbox(self.instance), self._everyone)
        self._tasks = [
            asyncio.create_task(self._listen(), name="cluster-listen"),
            asyncio.create_task(self._heartbeat(keep), name="cluster-heartbeat"),
        ]

    async def stop(self) -> None:
        # redis-py's asyncio commands can swallow a cancellation (redis/redis-py#2028): the loops also
        # end on the flag, and the stop never waits long for them.
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=STOP_SECONDS)
        with contextlib.suppress(Exception):
            for meeting_id in list(self.owned):
                await self.release(meeting_id)
            await self.redis.delete(self._alive_key(self.instance))
            await self._pubsub.aclose()
        await self.redis.aclose()

    async def _beat(self) -> None:
        await self.redis.set(self._alive_key(self.instance), "1", px=int(ALIVE_SECONDS * 1000))

    async def _heartbeat(self, keep: Callable[[int], bool]) -> None:
        while not self._stopping:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            try:
                await self._beat()
                now = asyncio.get_running_loop().time()
                for meeting_id, taken in list(self.owned.items()):
                    if not keep(meeting_id) and now - taken > LEASE_SECONDS:
                        await self.release(meeting_id)
                    elif not await self.redis.eval(
                        _RENEW, 1, self._owner_key(meeting_id), self.instance, int(LEASE_SECONDS * 1000)
                    ):
                        self.owned.pop(meeting_id, None)
                        log.warning("lost the room of meeting %s to another process", meeting_id)
            except Exception:
                log.exception("cluster heartbeat failed")

    async def alive(self, instance: str) -> bool:
        return bool(await self.redis.exists(self._alive_key(instance)))

    async def first_use(self, token: str, expires_at: float) -> bool:
        """Whether a join ticket is used here for the first time in any process (kept until it
        expires)."""
        key = f"{self.prefix}:ticket:{hashlib.sha256(token.encode()).hexdigest()[:32]}"
        left_ms = max(1000, int((expires_at - time.time()) * 1000))
        return bool(await self.redis.set(key, "1", nx=True, px=left_ms))

    # -- owners -----------------------------------------------------------------------------------

    async def owner(self, meeting_id: int) -> str:
        """The process holding the meeting's room: the current holder if alive, else this one."""
        key = self._owner_key(meeting_id)
        lease = int(LEASE_SECONDS * 1000)
        for _ in range(3):
            holder = await self.redis.get(key)
            if holder is None:
                if await self.redis.set(key, self.instance, nx=True, px=lease):
                    self._took(meeting_id)
                    return self.instance
                continue
            if holder == self.instance:
                self._took(meeting_id)
                return str(holder)
            if await self.alive(holder):
                return str(holder)
            if await self.redis.eval(_TAKE_OVER, 1, key, holder, self.instance, lease):
                log.warning("took over the room of meeting %s from a process gone", meeting_id)
                self._took(meeting_id)
                return self.instance
        raise Unreachable(f"no owner settled for meeting {meeting_id}")

    def _took(self, meeting_id: int) -> None:
        self.owned.setdefault(meeting_id, asyncio.get_running_loop().time())

    async def holder(self, meeting_id: int) -> str | None:
        """Who holds the meeting's room now, without taking it."""
        found = await self.redis.get(self._owner_key(meeting_id))
        return str(found) if found is not None else None

    async def release(self, meeting_id: int) -> None:
        self.owned.pop(meeting_id, None)
        await self.redis.eval(_RELEASE, 1, self._owner_key(meeting_id), self.instance)

    # -- messages ---------------------------------------------------------------------------------

    async def request(self, instance: str, message: Message, timeout: float = REQUEST_SECONDS) -> Any:
        """Ask another process; its handler's answer, or Unreachable (no answer in time, or the
        process no longer alive: looked at every second while waiting)."""
        ref = uuid.uuid4().hex
        reply: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._replies[ref] = reply
        deadline = asyncio.get_running_loop().time() + timeout
        try:
            await self._send(instance, {**message, "kind": "request", "ref": ref, "from": self.instance})
            while True:
                left = deadline - asyncio.get_running_loop().time()
                if left <= 0:
                    raise Unreachable(f"process {instance} did not answer in {timeout} s")
                try:
                    return await asyncio.wait_for(asyncio.shield(reply), min(left, 1.0))
                except TimeoutError:
                    if not await self.alive(instance):
                        raise Unreachable(f"process {instance} is gone") from None
        except (ConnectionError, OSError) as exc:
            raise Unreachable(f"process {instance} could not be asked: {exc!r}") from exc
        finally:
            self._replies.pop(ref, None)
            reply.cancel()

    async def tell(self, instance: str, message: Message) -> None:
        """A note to one process; nothing waits for it."""
        await self._send(instance, {**message, "kind": "note", "from": self.instance})

    async def tell_everyone(self, message: Message) -> None:
        """A note to every process, this one included."""
        await self.redis.publish(
            self._everyone, json.dumps({**message, "kind": "note", "from": self.instance})
        )

    async def _send(self, instance: str, message: Message) -> None:
        await self.redis.publish(self._inbox(instance), json.dumps(message))

    async def _listen(self) -> None:
        while not self._stopping:
            try:
                async for raw in self._pubsub.listen():
                    if raw.get("type") == "message":
                        self._received(json.loads(raw["data"]))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("cluster listener failed; listening again")
                await asyncio.sleep(0.5)

    def _received(self, message: Message) -> None:
        kind = message.get("kind")
        if kind == "reply":
            reply = self._replies.get(message.get("ref", ""))
            if reply is not None and not reply.done():
                reply.set_result(message.get("result"))
            return
        # Each request or note in a task of its own, started in arrival order (as python-socketio
        # runs each event of a connection).
        task = asyncio.create_task(self._handle(message))
        self._handlers.add(task)
        task.add_done_callback(self._handlers.discard)

    async def _handle(self, message: Message) -> None:
        try:
            if message.get("kind") == "request" and self.on_request is not None:
                result = await self.on_request(message)
                await self._send(message["from"], {"kind": "reply", "ref": message["ref"], "result": result})
            elif message.get("kind") == "note" and self.on_note is not None:
                await self.on_note(message)
        except Exception:
            log.exception("cluster message %s failed", message.get("op"))
