"""The `/room` socket.io namespace: who may connect, each event's budget and dispatch, and the errors.

Entering a room is `room_entry`, the events of a joined member `room_events`, leaving `departures`.
Every client event answers through its ack, `{"ok": true, ...}` or `{"ok": false, "error": {...}}`
(docs/api.md "The live room"). A client never names a room: the server puts a connection in its
meeting's rooms at `join`, after checking the caller against the register, and every later event
acts only inside that meeting.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import socketio
from aiohttp import web

from meetings.decision import Text
from server.audit.refusals import RefusalLog
from server.auth.client_address import client_address
from server.auth.identity import ACTOR, Actor
from server.auth.tickets import Ticket, TicketError, session_ref, verify
from server.db.tables import User, WebSession
from server.errors import ApiError
from server.i18n import request_language
from server.media.sfu import JanusClient
from server.metrics import ROOM_JOIN_SECONDS, ROOM_JOINS
from server.realtime import schemas
from server.realtime.departures import Departures
from server.realtime.forwarding import Forwarding
from server.realtime.guard import RoomGuard
from server.realtime.hub import NAMESPACE, Hub
from server.realtime.room_entry import REFUSALS_REMEMBERED, RoomEntry
from server.realtime.room_events import RoomEvents
from server.realtime.sfu_relay import SfuRelay
from server.settings import Settings

log = logging.getLogger("cellmeet.realtime")

# Used tickets and warnings given are remembered as many at once as refused joins, at most.
WARN_EVERY_SECONDS = 60
# Events told to the whole room cost the budget more than the others: a hand raised or a camera
# turned on is a person's act, seldom more than one a second, and each one is sent to every member.
EVENT_COSTS = {"hand": 5, "camera": 5}

Handler = Callable[[str, Any], Awaitable[dict[str, Any]]]

_REFUSALS = {
    "unauthenticated": Text("Cần đăng nhập để vào phòng họp.", "Log in to enter the meeting room."),
    "invalid_ticket": Text("Vé vào phòng họp không hợp lệ.", "The join ticket is not valid."),
    "ticket_expired": Text(
        "Vé vào phòng họp đã hết hạn; hãy lấy vé mới.", "The join ticket has expired; get a new one."
    ),
    "ticket_mismatch": Text("Vé này không phải của bạn.", "This ticket is not yours."),
    "rate_limited": Text(
        "Gửi quá nhiều sự kiện; hãy chờ rồi vào lại phòng họp.",
        "Too many events; wait before entering the meeting room again.",
    ),
    "ticket_used": Text(
        "Vé vào phòng họp đã được dùng; hãy lấy vé mới.", "The join ticket has been used; get a new one."
    ),
    "session_ended": Text(
        "Phiên đăng nhập đã kết thúc; hãy đăng nhập lại.", "The login session has ended; log in again."
    ),
    "too_many_connections": Text(
        "Bạn đã mở quá nhiều kết nối tới phòng họp; hãy đóng bớt thẻ hoặc thiết bị.",
        "You have too many connections to the meeting room open; close a tab or a device.",
    ),
}


def _error(exc: ApiError, lang: str) -> dict[str, Any]:
    return {"ok": False, **exc.body(lang)}


def _refuse(code: str, lang: str, **details: Any) -> socketio.exceptions.ConnectionRefusedError:
    message = _REFUSALS[code].in_language(lang)
    return socketio.exceptions.ConnectionRefusedError(message, {"code": code, "message": message, **details})


# python-socketio ships no type information: its base class is Any to mypy.
class RoomNamespace(socketio.AsyncNamespace):  # type: ignore[misc]
    def __init__(
        self,
        hub: Hub,
        settings: Settings,
        guard: RoomGuard,
        refusals: RefusalLog | None = None,
        sfu: Callable[[], JanusClient | None] = lambda: None,
    ) -> None:
        super().__init__(NAMESPACE)
        self.hub = hub
        self.settings = settings
        self.sfu = SfuRelay(hub, settings, sfu)
        self.guard = guard
        self.entry = RoomEntry(self)
        self.departures = Departures(self)
        events = RoomEvents(self)
        self.handlers: dict[str, Handler] = {
            "join": self.entry.on_join,
            "signal": events.on_signal,
            "hand": events.on_hand,
            "camera": events.on_camera,
            "ballot": events.on_ballot,
            "leave": events.on_leave,
            "ice-failed": events.on_ice_failed,
            "low-bandwidth": events.on_low_bandwidth,
            "sfu-publish": events.on_sfu_publish,
            "sfu-subscribe": events.on_sfu_subscribe,
            "sfu-answer": events.on_sfu_answer,
            "sfu-candidate": events.on_sfu_candidate,
        }
        self.refusal_log = refusals if refusals is not None else RefusalLog()
        self.dropping: dict[str, asyncio.Task[None]] = {}  # sid -> the closing of a flooder's connection
        self.warned: dict[tuple[Any, ...], float] = {}  # what was warned about -> until when it is quiet
        self.used_tickets: dict[str, float] = {}  # join ticket -> its expiry (unix seconds)
        # sid -> who connected, as on_connect established it.
        self.callers: dict[str, Caller] = {}
        # Several processes: events of meetings owned elsewhere go there (set by attach_realtime).
        self.forwarding: Forwarding | None = None

    # -- connection ---------------------------------------------------------------------------

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        request: web.Request = environ["aiohttp.request"]
        lang = request_language(request, self.settings.lang)
        ticket: Ticket | None = None
        web_session: WebSession | None = None
        token = auth.get("token") if isinstance(auth, dict) else None
        if token is not None:
            try:
                ticket = verify(self.settings.secret_key.value, token, self.hub.clock())
            except TicketError as exc:
                raise _refuse(exc.code, lang) from exc
            # A ticket is for a client without the login; one that comes with another account's login
            # (a session cookie or a script token) is someone else's ticket (quality.md S15).
            present: Actor | None = request.get(ACTOR)
            if present is not None and present.user.id != ticket.user_id:
                raise _refuse("ticket_mismatch", lang)
            # A cooling user is refused before anything else is done for them.
            self._check_budget(sid, ticket.user_id, lang)
            self._use_ticket(token, ticket, lang)
            if self.forwarding is not None and not await self.forwarding.cluster.first_use(
                token, ticket.expires_at
            ):
                raise _refuse("ticket_used", lang)  # used through another process
            # The signed ticket names the user: the account is read only when a decision needs more
            # than its id (a join the room's view does not admit, a ballot), never on every connect.
            caller = Caller(ticket.user_id, ticket, lang)
        else:
            # The identity middleware has already checked the session cookie of the upgrade request.
            actor: Actor | None = request.get(ACTOR)
            if actor is None or actor.via != "session" or actor.user.id is None:
                raise _refuse("unauthenticated", lang)
            caller = Caller(actor.user.id, None, lang, actor.user)
            web_session = actor.session
            self._check_budget(sid, caller.user_id, lang)
        if not self.guard.connect(caller.user_id, sid):
            raise _refuse("too_many_connections", lang, limit=self.guard.limits.connections_per_user)
        if ticket is not None and ticket.session_ref is not None:
            self.hub.sessions[sid] = ticket.session_ref
        elif web_session is not None:
            self.hub.sessions[sid] = session_ref(web_session.id)
            self.guard.remember_session(web_session.id, caller.user_id)
        self.callers[sid] = caller

    async def user_of(self, sid: str) -> User:
        """The connection's account, read once; gone since the ticket was signed: refused."""
        caller = self.callers[sid]
        if caller.user is None:
            async with self.hub.database.read() as session:
                caller.user = await session.get(User, caller.user_id)
            if caller.user is None:
                raise ApiError(403, "invalid_ticket", _REFUSALS["invalid_ticket"])
        return caller.user

    def _use_ticket(self, token: str, ticket: Ticket, lang: str) -> None:
        """A ticket opens one connection (a reconnect asks for a new one), and none once the web
        session that asked for it has logged out."""
        now = time.time()
        ended = self.hub.ended_sessions.get(ticket.session_ref or "")
        if ended is not None and ended > now:
            raise _refuse("session_ended", lang)
        if token in self.used_tickets:
            raise _refuse("ticket_used", lang)
        if len(self.used_tickets) >= REFUSALS_REMEMBERED:
            for old in [t for t, expires in self.used_tickets.items() if expires <= now]:
                del self.used_tickets[old]
        self.used_tickets[token] = ticket.expires_at

    def _check_budget(self, sid: str, user_id: int, lang: str) -> None:
        """A connection costs one event of the user's budget; a cooling user is refused, and the
        WebSocket closed behind the refusal, so coming back means a new one."""
        if self.guard.spend(user_id):
            return
        # The refused connection's sid is forgotten as soon as this returns: find its WebSocket now.
        eio_sid = self.server.manager.eio_sid_from_sid(sid, NAMESPACE)
        if eio_sid is not None:
            self.hub.spawn(self._close_engine_io(eio_sid))
        raise _refuse("rate_limited", lang, retry_after=math.ceil(self.guard.cooling(user_id)))

    async def _close_transport(self, sid: str) -> None:
        await asyncio.sleep(0)  # after the error has been queued for the client
        await self.server.close_transport(sid, NAMESPACE)

    async def _close_engine_io(self, eio_sid: str) -> None:
        await asyncio.sleep(0)  # after the refusal has been queued for the client
        await self.server.close_engine_io(eio_sid)

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        caller = self.callers.pop(sid, None)
        self.server.manager.replay.numbered.discard(sid)
        if caller is not None:
            self.guard.disconnect(caller.user_id, sid)
        self.hub.sessions.pop(sid, None)
        if self.forwarding is not None:
            await self.forwarding.disconnected(sid)
        peer = self.hub.peers.get(sid)
        if peer is not None:
            await self.departures.depart(peer, explicit=False)

    async def trigger_event(self, event: str, *args: Any) -> Any:
        if event == "connect":
            try:
                return await super().trigger_event(event, *args)
            except socketio.exceptions.ConnectionRefusedError as refused:
                self._log_connect_refusal(args[1], refused)
                raise
        if event == "disconnect":
            return await super().trigger_event(event, *args)
        if event == "join":
            return await self._timed_join(*args)
        return await self._dispatch(event, *args)

    async def _timed_join(self, *args: Any) -> Any:
        """A join, counted and timed for /metrics: from the event received to its ack handed back to
        socket.io (which sends it at once); a refusal is counted, not timed."""
        started = time.perf_counter()
        resume = self._wants_numbers(*args)
        reply = await self._dispatch("join", *args)
        ok = isinstance(reply, dict) and reply.get("ok") is True
        if resume is not None:
            self._resumed(args[0], reply if ok else None, resume)
        ROOM_JOINS.labels("ok" if ok else "refused").inc()
        if ok:
            ROOM_JOIN_SECONDS.observe(time.perf_counter() - started)
        return reply

    def _wants_numbers(self, *args: Any) -> schemas.JoinData | None:
        """A join that asks for numbered events (server.realtime.replay): numbered from the moment it
        enters the meeting's rooms, so nothing sent after that goes without its number. Here, where
        the connection is (the meeting's owner may be another process)."""
        if len(args) != 2 or not isinstance(args[1], dict) or not args[1].get("resume"):
            return None
        try:
            body = schemas.parse(schemas.JoinData, args[1])
        except ApiError:
            return None  # the join itself answers the error
        if args[0] not in self.callers:
            return None
        self.server.manager.replay.numbered.add(args[0])
        return body

    def _resumed(self, sid: str, reply: dict[str, Any] | None, body: schemas.JoinData) -> None:
        """The join's `resume` answer (the events the connection missed), or, refused, no numbers."""
        replay = self.server.manager.replay
        caller = self.callers.get(sid)
        if reply is None or caller is None:
            replay.numbered.discard(sid)
            return
        asked = body.resume.model_dump() if isinstance(body.resume, schemas.ResumeData) else True
        reply["resume"] = replay.answer(body.meeting_id, caller.lang, sid, asked)

    async def _dispatch(self, event: str, *args: Any) -> Any:
        sid = args[0]
        caller = self.callers.get(sid)
        if caller is None:
            return None  # refused at connect, or already gone
        if not self.guard.spend(caller.user_id, EVENT_COSTS.get(event, 1)):
            return await self.flooded(caller.user_id, caller.lang)
        return await self.run_event(sid, event, args[1:], forward=self.forwarding is not None)

    async def run_event(self, sid: str, event: str, payload: tuple[Any, ...], forward: bool = False) -> Any:
        """One event of a connection, its budget already spent: here, or at the meeting's owner when
        `forward` (several processes: server.realtime.forwarding)."""
        caller = self.callers.get(sid)
        if caller is None:
            return None
        lang = caller.lang
        handler = self.handlers.get(event)
        try:
            if handler is None:
                raise ApiError(
                    404, "unknown_event", Text("Sự kiện không được hỗ trợ.", "Unsupported event."), details={}
                )
            if len(payload) != 1:
                raise schemas.invalid({"_": "exactly one payload object per event"})
            if forward and self.forwarding is not None:
                reply = await self.forwarding.route(sid, caller, event, payload[0])
                if reply is not None:
                    return reply
            return await handler(sid, payload[0])
        except ApiError as exc:
            if exc.status == 403 or exc.code == "unknown_event":  # an unknown event is a probe too (S2)
                self._log_event_refusal(sid, caller, event, exc)
            return _error(exc, lang)
        except Exception:
            incident = uuid.uuid4().hex[:12]
            log.exception("room event %s failed (incident %s)", event, incident)
            return _error(
                ApiError(
                    500,
                    "internal_error",
                    Text(f"Lỗi hệ thống (mã sự cố {incident}).", f"Internal error (incident {incident})."),
                ),
                lang,
            )

    async def flooded(self, user_id: int, lang: str) -> dict[str, Any]:
        """The user's budget ran out: every connection of theirs is told and closed, transport and
        all, and reconnects are refused until the cool-down ends."""
        retry_after = math.ceil(self.guard.cooling(user_id))
        message = Text(
            f"Gửi quá nhiều sự kiện; kết nối bị ngắt, thử lại sau {retry_after} giây.",
            f"Too many events; the connection is dropped, try again in {retry_after} s.",
        ).in_language(lang)
        details = {"retry_after": retry_after}
        error = {"code": "rate_limited", "message": message, "rule": None, "details": details}
        self.warn_once(("flood", user_id), "room user %s exceeded the event budget; dropped", user_id)
        for sid in self.guard.sids_of(user_id):
            if self.dropping.get(sid) is None:
                await self.emit("error", {"code": "rate_limited", "message": message}, to=sid)
                self.dropping[sid] = self.hub.spawn(self._close_transport(sid))
                self.dropping[sid].add_done_callback(partial(self._dropped, sid))
        return {"ok": False, "error": error}

    def _dropped(self, sid: str, _closing: asyncio.Task[None]) -> None:
        self.dropping.pop(sid, None)

    async def on_malformed_frame(self, eio_sid: str, namespace: str | None, ack_id: int | None) -> None:
        """A frame that could not be decoded: a clear error to its ack, a cost to the sender's budget,
        one log line per connection, and the connection dropped after a few."""
        # Counted in the engine.io connection's environ, which goes with the connection.
        environ = self.server.environ.get(eio_sid) or {}
        count = environ["cellmeet.malformed_frames"] = environ.get("cellmeet.malformed_frames", 0) + 1
        sid = self.server.manager.sid_from_eio_sid(eio_sid, NAMESPACE)
        caller = self.callers.get(sid) if sid is not None else None
        lang = caller.lang if caller else self.settings.lang
        request = environ.get("aiohttp.request")
        address = client_address(request, self.settings) if request is not None else None
        self.warn_once(("malformed", address), "room client %s sent a malformed frame", address)
        if caller is not None and not self.guard.spend(
            caller.user_id, self.guard.limits.malformed_frame_cost
        ):
            reply = await self.flooded(caller.user_id, lang)
        else:
            reply = _error(schemas.malformed_frame(), lang)
        if namespace == NAMESPACE and ack_id is not None and sid is not None:
            await self.server.ack(eio_sid, NAMESPACE, ack_id, reply)
        if count >= self.guard.limits.malformed_frames_max:
            await self.server.close_engine_io(eio_sid)

    def _log_connect_refusal(self, environ: dict[str, Any], refused: Exception) -> None:
        """A refused connection is logged with its address and reason, once a minute per pair."""
        request: web.Request = environ["aiohttp.request"]
        address = client_address(request, self.settings)
        data = refused.error_args.get("data") if hasattr(refused, "error_args") else None
        code = data.get("code") if isinstance(data, dict) else "refused"
        self.warn_once(
            ("connect_refused", address, code), "room connection refused: %s from %s", code, address
        )

    def _log_event_refusal(self, sid: str, caller: Caller, event: str, refused: ApiError) -> None:
        """A room event refused by an authorisation rule: the connection's sid, who, which event of which
        meeting and the decision (ASVS 7.2.2; quality.md S13). Once a minute per user, event and code,
        like the other refusals of the room: a refusal costs its sender little."""
        peer = self.hub.peers.get(sid)
        named = event if refused.code != "unknown_event" else "?"  # made-up names share one line a minute
        self.warn_once(
            ("event_refused", caller.user_id, named, refused.code),
            "room event refused sid=%s user=%s meeting=%s event=%s status=%d code=%s",
            sid,
            caller.user_id,
            peer.meeting_id if peer is not None else None,
            ascii(event)[1:-1],  # the sender's own text: never a raw line break or escape in the log
            refused.status,
            refused.code,
        )

    def warn_once(self, key: tuple[Any, ...], message: str, *args: Any) -> bool:
        """A warning per user or address and per minute, not per frame: an attacker who is refused
        cheaply must not fill the disk with the refusals' log. True when this one was logged."""
        now = asyncio.get_running_loop().time()
        if now < self.warned.get(key, -math.inf):
            return False
        if len(self.warned) >= REFUSALS_REMEMBERED:
            self.warned.clear()
        self.warned[key] = now + WARN_EVERY_SECONDS
        log.warning(message + " (further ones within %d s are not logged)", *args, WARN_EVERY_SECONDS)
        return True

    async def max_cameras(self, meeting_id: int) -> int:
        snapshot = await self.hub.snapshot(self.hub.room(meeting_id))
        return snapshot.rule_set.mesh_video_max_cameras if snapshot is not None else 0


@dataclass
class Caller:
    """Who opened a connection: the user's id (from the signed ticket or the session), the ticket
    if any, the language, and the account once something needed it."""

    user_id: int
    ticket: Ticket | None
    lang: str
    user: User | None = None
