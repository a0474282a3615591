"""The socket.io server of `/room`, with malformed frames refused instead of raised.

python-socketio decodes a frame before any handler sees it; a frame that cannot be decoded (nested
too deep, an unknown packet type, broken JSON) raises out of its message handler, and
python-engineio logs a full traceback for each one while the connection stays open. Here such a
frame goes to `on_malformed`, which the room uses to answer its ack with a clear error, charge the
sender's budget, log once per connection and drop a repeat offender.

Malformed too (found by the S7 fuzz, tests/integration/test_socket_fuzz_row.py): an event whose data is
not a list starting with the event's name (python-socketio read `data[0]` of whatever came and raised),
an event named like socket.io's own `connect` or `disconnect` (python-socketio called the namespace's
`on_connect` or `on_disconnect` with the sender's arguments: a client could end its own connection's
state while staying connected), and a binary event whose placeholders name no attachment (raised while
rebuilding it, and left the half-built packet in place for the next frames).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import socketio
from socketio import packet

from server.realtime import safe_json

ROOM_NAMESPACE = "/room"
# How long a closed connection's last packets get to leave before its TCP connection is closed.
FLUSH_SECONDS = 0.1
# Event names socket.io gives to the connection's own life: never a client's event.
RESERVED_EVENTS = frozenset({"connect", "connect_error", "disconnect", "disconnecting"})
# (engine.io sid, namespace or None, ack id or None) of the frame that could not be decoded.
MalformedFrameHandler = Callable[[str, str | None, int | None], Awaitable[None]]


class MalformedFrame(ValueError):
    def __init__(self, namespace: str | None, ack_id: int | None) -> None:
        super().__init__("malformed socket.io frame")
        self.namespace = namespace
        self.ack_id = ack_id


class RoomPacket(packet.Packet):  # type: ignore[misc]
    @classmethod
    def data_is_binary(cls, data: Any) -> bool:
        """Whether bytes sit anywhere in the payload, as the library's check answers, but stopping at
        the first and without its recursive reduce over every value: that one was 7 % of the
        server's CPU in a join burst (issue 22's profile), walking each presence push whole."""
        pending = [data]
        while pending:
            item = pending.pop()
            if isinstance(item, bytes | bytearray):
                return True
            if isinstance(item, list):
                pending.extend(item)
            elif isinstance(item, dict):
                pending.extend(item.values())
        return False

    def decode(self, encoded_packet: Any) -> Any:
        try:
            return super().decode(encoded_packet)
        except (ValueError, RecursionError, IndexError, TypeError) as exc:
            # The namespace and ack id come before the payload: known even when the payload is not.
            raise MalformedFrame(self.namespace, self.id) from exc

    def add_attachment(self, attachment: Any) -> bool:
        try:
            return bool(super().add_attachment(attachment))
        except (ValueError, RecursionError, IndexError, TypeError, KeyError) as exc:
            raise MalformedFrame(self.namespace, self.id) from exc


class GuardedServer(socketio.AsyncServer):  # type: ignore[misc]
    def __init__(self, *, unjoined_seconds: float, **options: Any) -> None:
        # `json` also becomes the JSON of python-engineio's packets (a class attribute of the library).
        super().__init__(json=safe_json, **options)
        self.packet_class = RoomPacket
        self.on_malformed: MalformedFrameHandler | None = None
        self.unjoined_seconds = unjoined_seconds
        self._checks: set[asyncio.Task[None]] = set()

    async def _handle_eio_connect(self, eio_sid: str, environ: Any) -> Any:
        # Opening a WebSocket needs no account: one that has not entered the room's namespace within
        # the grace is closed, so idle ones cannot pile up until the file descriptors run out.
        result = await super()._handle_eio_connect(eio_sid, environ)
        loop = asyncio.get_running_loop()
        loop.call_later(self.unjoined_seconds, self._spawn_unjoined_check, eio_sid)
        return result

    def _spawn_unjoined_check(self, eio_sid: str) -> None:
        if eio_sid not in self.environ:
            return  # already gone (or the server stopped): no task that the loop might never run
        task = asyncio.get_running_loop().create_task(self._close_if_unjoined(eio_sid))
        self._checks.add(task)  # referenced until done: the loop keeps only weak references
        task.add_done_callback(self._checks.discard)

    async def _close_if_unjoined(self, eio_sid: str) -> None:
        if eio_sid in self.environ and not self.manager.sid_from_eio_sid(eio_sid, ROOM_NAMESPACE):
            await self.close_engine_io(eio_sid)

    async def _handle_eio_message(self, eio_sid: str, data: Any) -> None:
        # Wraps python-socketio's dispatcher (5.16–5.18), where every decoding error is a ValueError.
        if eio_sid not in self.environ:
            return  # in flight when its connection was closed: nothing to answer, nobody to tell
        try:
            await super()._handle_eio_message(eio_sid, data)
        except MalformedFrame as frame:
            self._binary_packet.pop(eio_sid, None)  # a binary packet that could not be rebuilt
            await self._malformed(eio_sid, frame.namespace, frame.ack_id)
        except ValueError:  # an unknown packet type, an unexpected binary attachment
            await self._malformed(eio_sid, None, None)

    async def _handle_event(self, eio_sid: str, namespace: str | None, id: int | None, data: Any) -> None:
        """A client's event: `[name, *arguments]`, the name a string and none of socket.io's own."""
        if (
            not isinstance(data, list)
            or not data
            or not isinstance(data[0], str)
            or data[0] in RESERVED_EVENTS
        ):
            raise MalformedFrame(namespace, id)
        await super()._handle_event(eio_sid, namespace, id, data)

    async def _malformed(self, eio_sid: str, namespace: str | None, ack_id: int | None) -> None:
        if self.on_malformed is not None:
            await self.on_malformed(eio_sid, namespace, ack_id)

    async def ack(self, eio_sid: str, namespace: str, ack_id: int, data: Any) -> None:
        """Answer a frame whose event never ran."""
        answer = self.packet_class(packet.ACK, data=[data], namespace=namespace, id=ack_id)
        await self._send_packet(eio_sid, answer)

    async def close_transport(self, sid: str, namespace: str) -> None:
        """Close the WebSocket under a socket.io connection, not only its namespace: a client cut
        off this way must open a new WebSocket (and pass the address's budget) to come back."""
        eio_sid = self.manager.eio_sid_from_sid(sid, namespace)
        if eio_sid is not None:
            await self.close_engine_io(eio_sid)

    def drop_transport(self, sid: str, namespace: str) -> None:
        """Cut the connection's TCP stream with no closing word, as a process dying would: its
        client reconnects by itself (a socket.io or engine.io close from the server would make a
        client give up instead)."""
        eio_sid = self.manager.eio_sid_from_sid(sid, namespace)
        request = (self.environ.get(eio_sid) or {}).get("aiohttp.request") if eio_sid else None
        transport = request.transport if request is not None else None
        if transport is not None and not transport.is_closing():
            transport.abort()

    def hang_up_all(self) -> int:
        """Close every connection's TCP stream, after what is queued on it (a graceful stop): with no
        engine.io or socket.io closing word, so that the clients reconnect by themselves, as after
        a crash. How many were closed."""
        closed = 0
        for environ in list(self.environ.values()):
            request = environ.get("aiohttp.request")
            transport = request.transport if request is not None else None
            if transport is not None and not transport.is_closing():
                transport.close()
                closed += 1
        return closed

    async def close_engine_io(self, eio_sid: str) -> None:
        """python-engineio's disconnect only sends a CLOSE packet and waits for the client to hang
        up, reading (and handling) whatever else it sends meanwhile; an attacker never hangs up.
        So the TCP connection is closed too, once the last packets (the error, the acks) are out."""
        environ = self.environ.get(eio_sid) or {}
        request = environ.get("aiohttp.request")
        await self.eio.disconnect(eio_sid)
        transport = request.transport if request is not None else None
        if transport is not None and not transport.is_closing():
            asyncio.get_running_loop().call_later(FLUSH_SECONDS, transport.close)
