"""The room's client manager: an event to many connections sent in the emitting task (issue 22).

python-socketio's `AsyncManager.emit` encodes an event once, then creates one asyncio task per
recipient to put it on that connection's queue, and waits for them all. Putting a packet on an
engine.io queue never waits (the queue is unbounded; the connection's own writer task sends it), so
the tasks only cost: in a join burst they were most of the event loop's share of the CPU (a quarter
to a third of it, docs/performance.md). Here the same packets go to the same connections in the same
order, one after the other. A connection that fails to take its packet (closed meanwhile) is skipped,
as its task's failure was before, and the others still get theirs. Events with a callback keep the
library's path (each recipient needs its own ack id).
"""

from __future__ import annotations

import logging
from typing import Any

import socketio
from engineio import packet as eio_packet
from socketio import packet

log = logging.getLogger("cellmeet.realtime")


class RoomManager(socketio.AsyncManager):  # type: ignore[misc]
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
        encoded = self.server.packet_class(
            packet.EVENT, namespace=namespace, data=[event, *arguments]
        ).encode()
        frames = [
            eio_packet.Packet(eio_packet.MESSAGE, part)
            for part in (encoded if isinstance(encoded, list) else [encoded])
        ]
        for sid, eio_sid in self.get_participants(namespace, room):
            if sid in skip:
                continue
            for frame in frames:
                try:
                    await self.server._send_eio_packet(eio_sid, frame)
                except Exception as exc:  # closing meanwhile: the others still get theirs
                    log.debug("event %s not sent to %s: %r", event, sid, exc)
                    break


class RoomRedisManager(socketio.AsyncRedisManager, RoomManager):  # type: ignore[misc]
    """python-socketio's Redis manager (each emit published to every process), whose delivery to
    this process's connections is RoomManager's: the pub/sub manager hands its local delivery to the
    next class in line, RoomManager.emit."""
