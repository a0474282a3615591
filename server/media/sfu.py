"""The Janus SFU, as the server alone talks to it (issue 20, step 1): a typed adapter over Janus's HTTP
API with aiohttp. Members never reach this API; the server creates what they need.

Decisions:
- One Janus session per server process, kept alive by a keepalive every KEEPALIVE_SECONDS (Janus ends a
  session after 60 s of silence); a session Janus no longer knows is created again on the next call.
- One videoroom per meeting. Its number, `secret` and `pin` are derived from the server's secret key
  (HMAC), so only this server knows them and a restarted server can still destroy the rooms it made.
  Its description `cellmeet:<instance>:meeting:<id>` names the instance (a hash of the secret key), so a
  restarted server finds its own rooms (`orphans`) among those of anyone else sharing the Janus.
- Audio first: Opus only for audio, `bitrate` capped (AUDIO_FIRST_BITRATE) unless video is allowed,
  at most `publishers` senders.
- Every call has a deadline (CALL_SECONDS): an unreachable or stuck Janus is an `SfuUnavailable` within
  it, never a hang. A Janus error is an `SfuError` with Janus's code and reason.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from server.media.janus_transport import Transport, TransportFailed, transport_for

log = logging.getLogger("cellmeet.sfu")

PLUGIN = "janus.plugin.videoroom"
KEEPALIVE_SECONDS = 25.0
CALL_SECONDS = 5.0
AUDIO_FIRST_BITRATE = 64_000  # bit/s per publisher: Opus speech with room to spare, no video
DESCRIPTION_PREFIX = "cellmeet"
ROOM_NUMBER_BYTES = 6  # 48 bits: far from collisions, within JSON's exact integers


class SfuError(Exception):
    """Janus answered with an error."""

    def __init__(self, code: int | None, reason: str) -> None:
        super().__init__(f"Janus error {code}: {reason}")
        self.code = code
        self.reason = reason


class SfuUnavailable(SfuError):
    """Janus could not be reached, or did not answer in time."""


@dataclass(frozen=True)
class RoomKeys:
    """What only this server knows about a meeting's videoroom."""

    number: int
    secret: str
    pin: str
    description: str


@dataclass(frozen=True)
class RoomInfo:
    number: int
    description: str
    publishers: int
    participants: int


def instance_tag(secret_key: str) -> str:
    """Names this server's rooms in Janus without revealing anything of its key."""
    return hashlib.sha256(b"cellmeet-sfu-instance:" + secret_key.encode()).hexdigest()[:12]


def room_keys(secret_key: str, meeting_id: int) -> RoomKeys:
    def derive(purpose: str) -> bytes:
        return hmac.new(secret_key.encode(), f"sfu:{purpose}:{meeting_id}".encode(), hashlib.sha256).digest()

    return RoomKeys(
        number=int.from_bytes(derive("room")[:ROOM_NUMBER_BYTES], "big") or 1,
        secret=derive("secret").hex()[:32],
        pin=derive("pin").hex()[:16],
        description=f"{DESCRIPTION_PREFIX}:{instance_tag(secret_key)}:meeting:{meeting_id}",
    )


@dataclass
class JanusClient:
    """The server's connection to one Janus (its HTTP API, e.g. http://198.18.0.1:8088/janus, or its
    WebSocket API, e.g. ws://198.18.0.1:8188)."""

    url: str
    secret_key: str
    api_secret: str | None = None
    call_seconds: float = CALL_SECONDS
    _transport: Transport | None = None
    _session_id: int | None = None
    _handle_id: int | None = None  # the server's own videoroom handle, for room management
    _keepalive: asyncio.Task[None] | None = None
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # An asynchronous message's transaction -> the event that answers it.
    _answers: dict[str, asyncio.Future[dict[str, Any]]] = field(default_factory=dict)
    # A member's handle -> what to do with the events Janus sends it unasked (a new offer, a hang-up).
    _listeners: dict[int, Callable[[dict[str, Any]], None]] = field(default_factory=dict)

    # -- transport ---------------------------------------------------------------------------------

    def _link(self) -> Transport:
        if self._transport is None:
            self._transport = transport_for(self.url, self.call_seconds, self.api_secret)
            self._transport.on_event = self._event
        return self._transport

    async def _post(
        self, body: dict[str, Any], session: int | None = None, handle: int | None = None
    ) -> dict[str, Any]:
        message = {"transaction": secrets.token_hex(8), **body}
        if self.api_secret:
            message["apisecret"] = self.api_secret
        try:
            reply = await self._link().send(message, session, handle)
        except TransportFailed as exc:
            raise SfuUnavailable(None, str(exc)) from exc
        if reply.get("janus") == "error":
            error = reply.get("error") or {}
            raise SfuError(error.get("code"), str(error.get("reason", "unknown")))
        return reply

    def _event(self, event: dict[str, Any]) -> None:
        waiting = self._answers.get(str(event.get("transaction")))
        if waiting is not None and not waiting.done() and event.get("janus") == "event":
            waiting.set_result(event)
            return
        listener = self._listeners.get(int(event.get("sender") or 0))
        if listener is not None:
            listener(event)

    async def _session(self) -> tuple[int, int]:
        """This process's Janus session and management handle, created when missing."""
        async with self._lock:
            if self._session_id is None or self._handle_id is None:
                created = await self._post({"janus": "create"})
                self._session_id = int(created["data"]["id"])
                self._link().session_started(self._session_id)
                attached = await self._post({"janus": "attach", "plugin": PLUGIN}, self._session_id)
                self._handle_id = int(attached["data"]["id"])
                if self._keepalive is None or self._keepalive.done():
                    self._keepalive = asyncio.create_task(self._keep_alive())
            return self._session_id, self._handle_id

    async def _keep_alive(self) -> None:
        while True:
            await asyncio.sleep(KEEPALIVE_SECONDS)
            session_id = self._session_id
            if session_id is None:
                continue
            try:
                await self._post({"janus": "keepalive"}, session_id)
            except SfuError as exc:
                log.warning("Janus keepalive failed (%s): a new session at the next call", exc)
                self._session_id = self._handle_id = None

    async def probe(self) -> bool:
        """Janus answers on this process's session: True when the session lived on, False when Janus
        answered but had forgotten it (it restarted: every room and handle went with it; a new session
        is made). SfuUnavailable when Janus does not answer."""
        had = self._session_id
        if had is not None:
            try:
                await self._post({"janus": "keepalive"}, had)
                return True
            except SfuUnavailable:
                raise
            except SfuError as exc:
                if exc.code not in (458, 459):  # no such session / handle
                    raise
                self._session_id = self._handle_id = None
        await self._session()
        return had is None

    async def request(self, body: dict[str, Any]) -> dict[str, Any]:
        """A synchronous videoroom request on the management handle; its `plugindata.data`."""
        for attempt in (1, 2):
            session_id, handle_id = await self._session()
            try:
                reply = await self._post({"janus": "message", "body": body}, session_id, handle_id)
            except SfuError as exc:
                if attempt == 1 and exc.code in (458, 459):  # no such session / handle: Janus restarted
                    self._session_id = self._handle_id = None
                    continue
                raise
            return _plugin_data(reply)
        raise SfuUnavailable(None, "no Janus session")  # pragma: no cover - the loop returns or raises

    # -- members' handles --------------------------------------------------------------------------

    async def attach(
        self, listener: Callable[[dict[str, Any]], None] | None = None, plugin: str = PLUGIN
    ) -> int:
        """A new handle (a videoroom one for a member's publisher or subscriber; the echo test's for a
        pre-join check); `listener` gets the events Janus sends on it unasked."""
        session_id, _ = await self._session()
        attached = await self._post({"janus": "attach", "plugin": plugin}, session_id)
        handle = int(attached["data"]["id"])
        if listener is not None:
            self._listeners[handle] = listener
        return handle

    async def detach(self, handle: int) -> None:
        self._listeners.pop(handle, None)
        if self._session_id is None:
            return
        try:
            await self._post({"janus": "detach"}, self._session_id, handle)
        except SfuError as exc:
            log.debug("Janus detach of handle %s: %s", handle, exc)  # gone with its session already

    async def message(
        self, handle: int, body: dict[str, Any], jsep: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """A request on a member's handle, answered now or by a later event: (plugin data, jsep)."""
        session_id = self._session_id
        if session_id is None:
            raise SfuUnavailable(None, "no Janus session")
        transaction = secrets.token_hex(8)
        answer: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._answers[transaction] = answer
        request: dict[str, Any] = {"janus": "message", "transaction": transaction, "body": body}
        if jsep is not None:
            request["jsep"] = jsep
        try:
            reply = await self._post(request, session_id, handle)
            if reply.get("janus") == "ack":
                try:
                    reply = await asyncio.wait_for(answer, self.call_seconds)
                except TimeoutError as exc:
                    raise SfuUnavailable(None, f"no answer to {body.get('request')} in time") from exc
        finally:
            self._answers.pop(transaction, None)
        return _plugin_data(reply), reply.get("jsep")

    async def trickle(self, handle: int, candidate: dict[str, Any] | None) -> None:
        """A member's ICE candidate for its handle; None: it has sent them all."""
        if self._session_id is None:
            raise SfuUnavailable(None, "no Janus session")
        sent = candidate if candidate is not None else {"completed": True}
        await self._post({"janus": "trickle", "candidate": sent}, self._session_id, handle)

    async def close(self) -> None:
        if self._keepalive is not None:
            self._keepalive.cancel()
        if self._session_id is not None:
            try:
                await self._post({"janus": "destroy"}, self._session_id)
            except SfuError:
                pass  # Janus ends it after its own timeout
        if self._transport is not None:
            await self._transport.close()
        self._transport = None
        self._session_id = self._handle_id = None

    # -- rooms -------------------------------------------------------------------------------------

    async def create_room(self, meeting_id: int, *, publishers: int, video: bool = False) -> RoomKeys:
        """The meeting's videoroom (created again if it exists: the call is idempotent)."""
        keys = room_keys(self.secret_key, meeting_id)
        if await self.room_exists(keys.number):
            return keys
        await self.request(
            {
                "request": "create",
                "room": keys.number,
                "description": keys.description,
                "secret": keys.secret,
                "pin": keys.pin,
                "publishers": publishers,
                "audiocodec": "opus",
                "bitrate": 0 if video else AUDIO_FIRST_BITRATE,
                "is_private": False,
                "permanent": False,
            }
        )
        log.info("SFU room %s created for meeting %s", keys.number, meeting_id)
        return keys

    async def room_exists(self, number: int) -> bool:
        data = await self.request({"request": "exists", "room": number})
        return bool(data.get("exists"))

    async def destroy_room(self, meeting_id: int) -> bool:
        """Destroy the meeting's videoroom; False when there was none."""
        keys = room_keys(self.secret_key, meeting_id)
        try:
            await self.request({"request": "destroy", "room": keys.number, "secret": keys.secret})
        except SfuError as exc:
            if exc.code == 426:  # JANUS_VIDEOROOM_ERROR_NO_SUCH_ROOM
                return False
            raise
        log.info("SFU room %s of meeting %s destroyed", keys.number, meeting_id)
        return True

    async def rooms(self) -> list[RoomInfo]:
        data = await self.request({"request": "list"})
        return [
            RoomInfo(
                number=int(room["room"]),
                description=str(room.get("description", "")),
                publishers=int(room.get("max_publishers", 0)),
                participants=int(room.get("num_participants", 0)),
            )
            for room in data.get("list", [])
        ]

    async def own_rooms(self) -> dict[int, RoomInfo]:
        """This server's rooms in Janus, by meeting id."""
        prefix = f"{DESCRIPTION_PREFIX}:{instance_tag(self.secret_key)}:meeting:"
        found: dict[int, RoomInfo] = {}
        for room in await self.rooms():
            tail = room.description.removeprefix(prefix)
            if tail != room.description and tail.isdigit():
                found[int(tail)] = room
        return found

    async def destroy_orphans(self, live_meetings: set[int]) -> list[int]:
        """At start-up: destroy this server's rooms whose meeting is not live any more."""
        destroyed = []
        for meeting_id in sorted(set(await self.own_rooms()) - live_meetings):
            if await self.destroy_room(meeting_id):
                destroyed.append(meeting_id)
        return destroyed


def _plugin_data(reply: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = reply.get("plugindata", {}).get("data", {})
    if "error_code" in data:
        raise SfuError(int(data["error_code"]), str(data.get("error", "")))
    return data
