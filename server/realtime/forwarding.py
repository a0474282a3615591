"""A member connected to one process, in a meeting whose room another process owns (issue 26).

The process the member is connected to (the *origin*) keeps the connection: the handshake, the
budgets and the socket. Each event of the member's is forwarded to the meeting's owner, which runs
it as it runs its own connections' (the room's lock, its serial order, its records) and answers; the
origin hands the answer to the member's ack. Whatever the owner sends to the connection (pushes,
`signal`, entering the meeting's socket.io rooms, a disconnect) reaches it through python-socketio's
Redis manager.

- A join names its meeting; the owner is asked for (and, when the room has none, becomes this
  process). Later events go where the join went.
- The member's connection closing at the origin is told to the owner, which starts the grace as for
  its own connections (R-ATT-2).
- The owner gone (no answer, or no longer alive): the origin closes its connections in that meeting;
  the members' clients reconnect and join again, and the room is rebuilt by the process that takes
  the meeting over, their presence intervals unbroken within the grace.
- An origin gone: the owner sees it no longer alive and ends its connections as disconnected.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from meetings.decision import Text
from server.auth.tickets import Ticket
from server.errors import ApiError
from server.realtime.cluster import Cluster, Message, Unreachable

if TYPE_CHECKING:
    from server.realtime.namespace import Caller, RoomNamespace

log = logging.getLogger("cellmeet.realtime")

WATCH_ORIGINS_SECONDS = 2.0


class Forwarding:
    def __init__(
        self, namespace: RoomNamespace, cluster: Cluster, notes: Callable[[Message], Awaitable[None]]
    ) -> None:
        self.ns = namespace
        self.cluster = cluster
        self.notes = notes  # what the REST side of any process tells the rooms (cluster_rooms)
        # At the origin: sid -> (owner, meeting) of each connection whose room is elsewhere.
        self.forwarded: dict[str, tuple[str, int]] = {}
        # At the owner: sid -> origin of each connection run here for another process.
        self.remote: dict[str, str] = {}
        self._watch: asyncio.Task[None] | None = None
        self._stopping = False

    def start(self) -> None:
        self.cluster.on_request = self.on_request
        self.cluster.on_note = self.on_note
        self._watch = asyncio.create_task(self._watch_origins(), name="cluster-watch-origins")

    async def stop(self) -> None:
        self._stopping = True  # redis-py can swallow the cancellation (cluster.Cluster.stop)
        if self._watch is not None:
            self._watch.cancel()
            await asyncio.wait({self._watch}, timeout=2.0)

    def is_remote(self, sid: str) -> bool:
        return sid in self.remote

    # -- at the origin ----------------------------------------------------------------------------

    async def route(self, sid: str, caller: Caller, event: str, data: Any) -> dict[str, Any] | None:
        """The owner's answer to an event it ran, or None when this process runs it."""
        target = self.forwarded.get(sid)
        if target is None:
            if event != "join" or sid in self.ns.hub.peers:
                return None
            meeting_id = data.get("meeting_id") if isinstance(data, dict) else None
            if not isinstance(meeting_id, int) or isinstance(meeting_id, bool):
                return None  # the join's own validation answers
            return await self._join_at_owner(sid, caller, meeting_id, data)
        owner, meeting_id = target
        try:
            reply = await self._ask(owner, sid, caller, event, data)
        except Unreachable as exc:
            # Not retried: the owner may have acted on it (a ballot) before dying. The member's
            # client reconnects and joins again, at the meeting's next owner.
            log.warning("owner of meeting %s unreachable; closing connection %s to rejoin", meeting_id, sid)
            self.move(sid)
            raise room_moving() from exc
        return reply if isinstance(reply, dict) else None

    async def _join_at_owner(
        self, sid: str, caller: Caller, meeting_id: int, data: Any
    ) -> dict[str, Any] | None:
        """A join goes to the meeting's owner; an owner found dead is replaced (a join is safe to
        ask again: a second join writes nothing)."""
        for _ in range(2):
            owner = await self.cluster.owner(meeting_id)
            if owner == self.cluster.instance:
                return None
            try:
                reply = await self._ask(owner, sid, caller, "join", data)
            except Unreachable:
                log.warning("owner of meeting %s unreachable at a join; asking again", meeting_id)
                continue
            if isinstance(reply, dict) and reply.get("ok") is True:
                self.forwarded[sid] = (owner, meeting_id)
            return reply if isinstance(reply, dict) else None
        raise room_moving()

    async def _ask(self, owner: str, sid: str, caller: Caller, event: str, data: Any) -> Any:
        message = {"op": "event", "sid": sid, "caller": _caller_json(caller), "event": event, "data": data}
        return await self.cluster.request(owner, message)

    def move(self, sid: str) -> None:
        """The connection's room is moving: its TCP stream is cut, so its client reconnects by itself
        and joins the meeting again (at its next owner)."""
        self.forwarded.pop(sid, None)
        self.ns.server.drop_transport(sid, self.ns.namespace)

    async def disconnected(self, sid: str) -> None:
        """The connection closed here: its owner starts the grace."""
        target = self.forwarded.pop(sid, None)
        if target is not None:
            with contextlib.suppress(Exception):
                await self.cluster.tell(target[0], {"op": "gone", "sid": sid})

    # -- at the owner -----------------------------------------------------------------------------

    async def on_request(self, message: Message) -> Any:
        if message.get("op") != "event":
            return None
        sid, origin = str(message["sid"]), str(message["from"])
        if sid not in self.ns.callers:
            self.ns.callers[sid] = _caller_of(message["caller"])
        self.remote[sid] = origin
        return await self.ns.run_event(sid, str(message["event"]), (message.get("data"),))

    async def on_note(self, message: Message) -> None:
        op = message.get("op")
        if op == "gone":
            await self.remote_gone(str(message["sid"]))
        elif op is not None:
            await self.notes(message)

    async def remote_gone(self, sid: str) -> None:
        if self.remote.pop(sid, None) is None:
            return
        self.ns.callers.pop(sid, None)
        peer = self.ns.hub.peers.get(sid)
        if peer is not None:
            await self.ns.departures.depart(peer, explicit=False)

    async def _watch_origins(self) -> None:
        """The connections of an origin that died are ended as disconnected (the grace runs)."""
        while not self._stopping:
            await asyncio.sleep(WATCH_ORIGINS_SECONDS)
            try:
                for origin in set(self.remote.values()):
                    if not await self.cluster.alive(origin):
                        log.warning("process %s gone: its members' connections end here", origin)
                        for sid in [s for s, o in self.remote.items() if o == origin]:
                            await self.remote_gone(sid)
                for sid, (owner, meeting_id) in list(self.forwarded.items()):
                    if not await self.cluster.alive(owner):
                        log.warning("owner of meeting %s gone; closing %s to rejoin", meeting_id, sid)
                        self.move(sid)
            except Exception:
                log.exception("watching the other processes failed")


def room_moving() -> ApiError:
    return ApiError(
        503,
        "room_unavailable",
        Text(
            "Phòng họp đang được chuyển sang máy chủ khác; đang kết nối lại.",
            "The meeting room is moving to another server; reconnecting.",
        ),
    )


def _caller_json(caller: Caller) -> dict[str, Any]:
    return {
        "user_id": caller.user_id,
        "lang": caller.lang,
        "ticket": asdict(caller.ticket) if caller.ticket is not None else None,
    }


def _caller_of(data: dict[str, Any]) -> Caller:
    from server.realtime.namespace import Caller

    ticket = Ticket(**data["ticket"]) if data.get("ticket") else None
    return Caller(int(data["user_id"]), ticket, str(data["lang"]))
