"""How the server reaches Janus: its HTTP API (`http://host:8088/janus`) or its WebSocket API
(`ws://host:8188`, api.md's example), behind one small interface.

Janus answers a request at once (`success`, `error`, or `ack` for a plugin message it handles
asynchronously) and sends everything else later as events: the plugin's answer to an asynchronous
message (same `transaction`), and unsolicited events of a handle (`sender`). Over HTTP the events
come from a long poll of the session (`GET /janus/<session>`); over the WebSocket they arrive on the
same connection. Either way they reach `on_event`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any, Protocol

import aiohttp

log = logging.getLogger("cellmeet.sfu")

LONG_POLL_SECONDS = 40.0  # Janus holds a long poll for 30 s, then answers `keepalive`
LONG_POLL_EVENTS = 10
REPLIES = {"success", "error", "ack", "server_info"}  # immediate answers; everything else is an event
EventSink = Callable[[dict[str, Any]], None]


class TransportFailed(Exception):
    """Janus could not be reached, or did not answer in time."""


class Transport(Protocol):
    on_event: EventSink

    async def send(self, message: dict[str, Any], session: int | None, handle: int | None) -> dict[str, Any]:
        """Send one request; Janus's immediate answer."""
        ...

    def session_started(self, session: int) -> None:
        """A new session exists: its events must reach `on_event` from now on."""
        ...

    async def close(self) -> None: ...


def transport_for(url: str, call_seconds: float, api_secret: str | None) -> Transport:
    if url.startswith(("ws://", "wss://")):
        return WebSocketTransport(url, call_seconds)
    return HttpTransport(url, call_seconds, api_secret)


def _ignore(event: dict[str, Any]) -> None:
    pass


class HttpTransport:
    def __init__(self, url: str, call_seconds: float, api_secret: str | None) -> None:
        self.url = url.rstrip("/")
        self.call_seconds = call_seconds
        self.api_secret = api_secret
        self.on_event: EventSink = _ignore
        self._http: aiohttp.ClientSession | None = None
        self._poll: asyncio.Task[None] | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.call_seconds))
        return self._http

    async def send(self, message: dict[str, Any], session: int | None, handle: int | None) -> dict[str, Any]:
        path = "".join(f"/{part}" for part in (session, handle) if part is not None)
        try:
            async with self._client().post(self.url + path, json=message) as response:
                reply: dict[str, Any] = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise TransportFailed(f"{type(exc).__name__}: {exc}") from exc
        return reply

    def session_started(self, session: int) -> None:
        if self._poll is not None:
            self._poll.cancel()
        self._poll = asyncio.create_task(self._long_poll(session))

    async def _long_poll(self, session: int) -> None:
        """The session's events until Janus forgets it (a new session starts its own poll)."""
        params = {"maxev": str(LONG_POLL_EVENTS)}
        if self.api_secret:
            params["apisecret"] = self.api_secret
        timeout = aiohttp.ClientTimeout(total=LONG_POLL_SECONDS)
        while True:
            try:
                async with self._client().get(
                    f"{self.url}/{session}", params=params, timeout=timeout
                ) as response:
                    answer = await response.json(content_type=None)
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                log.debug("Janus long poll of session %s failed: %s", session, exc)
                await asyncio.sleep(1.0)
                continue
            for event in answer if isinstance(answer, list) else [answer]:
                if event.get("janus") == "error":
                    return  # the session is gone: the client makes a new one at its next call
                if event.get("janus") != "keepalive":
                    self.on_event(event)

    async def close(self) -> None:
        if self._poll is not None:
            self._poll.cancel()
        if self._http is not None:
            await self._http.close()
        self._http = None


class WebSocketTransport:
    """Janus's `janus-protocol` WebSocket: requests and every answer and event on one connection."""

    def __init__(self, url: str, call_seconds: float) -> None:
        self.url = url
        self.call_seconds = call_seconds
        self.on_event: EventSink = _ignore
        self._http: aiohttp.ClientSession | None = None
        self._socket: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None
        self._replies: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._connecting = asyncio.Lock()

    async def _connected(self) -> aiohttp.ClientWebSocketResponse:
        async with self._connecting:
            if self._socket is None or self._socket.closed:
                if self._http is None:
                    self._http = aiohttp.ClientSession()
                try:
                    self._socket = await self._http.ws_connect(
                        self.url, protocols=("janus-protocol",), timeout=aiohttp.ClientWSTimeout(ws_close=1.0)
                    )
                except (aiohttp.ClientError, TimeoutError) as exc:
                    raise TransportFailed(f"{type(exc).__name__}: {exc}") from exc
                self._reader = asyncio.create_task(self._read(self._socket))
            return self._socket

    async def send(self, message: dict[str, Any], session: int | None, handle: int | None) -> dict[str, Any]:
        framed = dict(message)
        if session is not None:
            framed["session_id"] = session
        if handle is not None:
            framed["handle_id"] = handle
        transaction = str(framed["transaction"])
        reply: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._replies[transaction] = reply
        try:
            async with asyncio.timeout(self.call_seconds):
                socket = await self._connected()
                await socket.send_str(json.dumps(framed))
                return await reply
        except (aiohttp.ClientError, ConnectionError, TimeoutError) as exc:
            raise TransportFailed(f"{type(exc).__name__}: {exc}") from exc
        finally:
            self._replies.pop(transaction, None)

    async def _read(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        async for frame in socket:
            if frame.type != aiohttp.WSMsgType.TEXT:
                break
            try:
                message = json.loads(frame.data)
            except ValueError:
                continue
            waiting = self._replies.get(str(message.get("transaction")))
            if message.get("janus") in REPLIES and waiting is not None and not waiting.done():
                waiting.set_result(message)
            elif message.get("janus") in REPLIES:
                continue  # a keepalive's ack, or an answer nobody waits for any more
            else:
                self.on_event(message)
        # The connection is gone, and with it Janus's sessions on it: waiting calls fail now.
        for waiting in list(self._replies.values()):
            if not waiting.done():
                waiting.set_exception(ConnectionError("Janus closed the WebSocket"))

    def session_started(self, session: int) -> None:
        pass  # events of every session arrive on the connection

    async def close(self) -> None:
        if self._socket is not None:
            await self._socket.close()
        if self._reader is not None:
            self._reader.cancel()
        if self._http is not None:
            await self._http.close()
        self._http = self._socket = None
