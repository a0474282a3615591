"""The room's client manager: an event to many connections sent in the emitting task (issue 22).

python-socketio's `AsyncManager.emit` encodes an event once, then creates one asyncio task per
recipient to put it on that connection's queue, and waits for them all. Putting a packet on an
engine.io queue never waits (the queue is unbounded; the connection's own writer task sends it), so
the tasks only cost: in a join burst they were most of the event loop's share of the CPU (a quarter
to a third of it, docs/performance.md). Here the same packets go to the same connections in the same
order, one after the other. A connection that fails to take its packet (closed meanwhile) is skipped,
as its task's failure was before, and the others still get theirs. Events with a callback keep the
library's path (each recipient needs its own ack id).

Events to a meeting are numbered here too, where every process delivers them (server.realtime.replay):
the connections that asked for numbers get the event with its number as a last argument.
"""

from __future__ import annotations

import logging
from typing import Any

import socketio
from engineio import packet as eio_packet
from socketio import packet

from server.realtime.replay import ReplayLog

log = logging.getLogger("cellmeet.realtime")


class RoomManager(socketio.AsyncManager):  # type: ignore[misc]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.replay = ReplayLog()

    async def emit(
        self,
        event: str,
        data: Any,
        namespace: str,
        room: Any = None,
        skip_sid: Any = None,
        callback: Any = None,
        to: Any = None,
        **kwargs: Any,
    ) -> None:
        if callback is not None:
            await super().emit(
                event, data, namespace, room=room, skip_sid=skip_sid, callback=callback, to=to, **kwargs
            )
            return
        room = to or room
        if namespace not in self.rooms:
            return
        # As the library: a tuple is several arguments, anything else one.
        arguments = list(data) if isinstance(data, tuple) else [] if data is None else [data]
        skip = skip_sid if isinstance(skip_sid, list) else [skip_sid]
        frames = self._frames(namespace, [event, *arguments])
        size = sum(len(frame.data) for frame in frames)
        payload = arguments[0] if len(arguments) == 1 else arguments
        seq = self.replay.number(room, event, payload, [s for s in skip if s is not None], size)
        numbered: list[eio_packet.Packet] | None = None
        for sid, eio_sid in self.get_participants(namespace, room):
            if sid in skip:
                continue
            sending = frames
            if seq is not None and sid in self.replay.numbered:
                if numbered is None:
                    numbered = self._frames(namespace, [event, *arguments, {"seq": seq}])
                sending = numbered
            for frame in sending:
                try:
                    await self.server._send_eio_packet(eio_sid, frame)
                except Exception as exc:  # closing meanwhile: the others still get theirs
                    log.debug("event %s not sent to %s: %r", event, sid, exc)
                    break

    def _frames(self, namespace: str, data: list[Any]) -> list[eio_packet.Packet]:
        encoded = self.server.packet_class(packet.EVENT, namespace=namespace, data=data).encode()
        return [
            eio_packet.Packet(eio_packet.MESSAGE, part)
            for part in (encoded if isinstance(encoded, list) else [encoded])
        ]


class RoomRedisManager(socketio.AsyncRedisManager, RoomManager):  # type: ignore[misc]
    """python-socketio's Redis manager (each emit published to every process), whose delivery to
    this process's connections is RoomManager's: the pub/sub manager hands its local delivery to the
    next class in line, RoomManager.emit."""
