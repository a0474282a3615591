"""The `/room` socket.io namespace: who may connect, what each event may do, and what the room is told.

Every client event answers through its ack, `{"ok": true, ...}` or `{"ok": false, "error": {...}}`
(docs/api.md "The live room"). A client never names a room: the server puts a connection in its
meeting's rooms at `join`, after checking the caller against the register, and every later event
acts only inside that meeting.
"""

from __future__ import annotations

import asyncio
import logging
import math
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import socketio
from aiohttp import web

from meetings.attendance import EventKind
from meetings.decision import Text
from meetings.enums import Choice
from server.audit.refusals import Refusal, RefusalLog
from server.auth.authz import REFUSED_UNIT
from server.auth.client_address import client_address
from server.auth.identity import ACTOR, Actor
from server.auth.tickets import Ticket, TicketError, session_ref, verify
from server.clock import iso
from server.db.tables import Meeting, User
from server.errors import ApiError
from server.i18n import request_language
from server.media.sfu import JanusClient
from server.media.turn import member_ice_servers
from server.metrics import ROOM_ICE_FAILURES, ROOM_JOIN_SECONDS, ROOM_JOINS
from server.realtime import schemas
from server.realtime.guard import RoomGuard
from server.realtime.hub import NAMESPACE, SNAPSHOT_MAX_AGE_SECONDS, Hub, Peer, Room, room_name
from server.realtime.sfu_relay import SfuRelay
from server.services.presence import admit
from server.services.presence_batch import PresenceWrite
from server.services.room_pushes import push_vote
from server.services.votes import ballot_as
from server.settings import Settings

log = logging.getLogger("cellmeet.realtime")

# Refused joins (and warnings given) remembered at once, at most (the memory is cleared when full).
REFUSALS_REMEMBERED = 10_000
WARN_EVERY_SECONDS = 60
# Events told to the whole room cost the budget more than the others: a hand raised or a camera
# turned on is a person's act, seldom more than one a second, and each one is sent to every member.
EVENT_COSTS = {"hand": 5, "camera": 5}

Handler = Callable[[str, Any], Awaitable[dict[str, Any]]]

_REFUSALS = {
    "unauthenticated": Text("Cần đăng nhập để vào phòng họp.", "Log in to enter the meeting room."),
    "invalid_ticket": Text("Vé vào phòng họp không hợp lệ.", "The join ticket is not valid."),
    "ticket_expired": Text("Vé vào phòng họp đã hết hạn.", "The join ticket has expired."),
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


def _not_joined() -> ApiError:
    return ApiError(
        409, "not_joined", Text("Bạn chưa vào phòng họp.", "You have not joined the meeting room.")
    )


class RoomNamespace(socketio.AsyncNamespace):
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
        self.handlers: dict[str, Handler] = {
            "join": self.on_join,
            "signal": self.on_signal,
            "hand": self.on_hand,
            "camera": self.on_camera,
            "ballot": self.on_ballot,
            "leave": self.on_leave,
            "ice-failed": self.on_ice_failed,
            "low-bandwidth": self.on_low_bandwidth,
            "sfu-publish": self.on_sfu_publish,
            "sfu-subscribe": self.on_sfu_subscribe,
            "sfu-answer": self.on_sfu_answer,
            "sfu-candidate": self.on_sfu_candidate,
        }
        self.guard = guard
        self.refusal_log = refusals if refusals is not None else RefusalLog()
        self.dropping: dict[str, asyncio.Task[None]] = {}  # sid -> the closing of a flooder's connection
        self.warned: dict[tuple[Any, ...], float] = {}  # what was warned about -> until when it is quiet
        self.used_tickets: dict[str, float] = {}  # join ticket -> its expiry (unix seconds)
        # (user, meeting) -> the refusal of the last join and the database generation it was read at.
        self.refusals: dict[tuple[int, int], tuple[ApiError, int, float]] = {}
        # sid -> who connected, as on_connect established it.
        self.callers: dict[str, Caller] = {}

    # -- connection ---------------------------------------------------------------------------

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        request: web.Request = environ["aiohttp.request"]
        lang = request_language(request, self.settings.lang)
        ticket: Ticket | None = None
        token = auth.get("token") if isinstance(auth, dict) else None
        if token is not None:
            try:
                ticket = verify(self.settings.secret_key.value, token, self.hub.clock())
            except TicketError as exc:
                raise _refuse(exc.code, lang) from exc
            # A cooling user is refused before anything else is done for them.
            self._check_budget(sid, ticket.user_id, lang)
            self._use_ticket(token, ticket, lang)
            # The signed ticket names the user: the account is read only when a decision needs more
            # than its id (a join the room's view does not admit, a ballot), never on every connect.
            caller = Caller(ticket.user_id, ticket, lang)
        else:
            # The identity middleware has already checked the session cookie of the upgrade request.
            actor: Actor | None = request.get(ACTOR)
            if actor is None or actor.via != "session" or actor.user.id is None:
                raise _refuse("unauthenticated", lang)
            caller = Caller(actor.user.id, None, lang, actor.user)
            self._check_budget(sid, caller.user_id, lang)
        if not self.guard.connect(caller.user_id, sid):
            raise _refuse("too_many_connections", lang, limit=self.guard.limits.connections_per_user)
        if ticket is not None and ticket.session_ref is not None:
            self.hub.sessions[sid] = ticket.session_ref
        elif token is None and actor.session is not None:
            self.hub.sessions[sid] = session_ref(actor.session.id)
            self.guard.remember_session(actor.session.id, caller.user_id)
        self.callers[sid] = caller

    async def _user(self, sid: str) -> User:
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
        if caller is not None:
            self.guard.disconnect(caller.user_id, sid)
        self.hub.sessions.pop(sid, None)
        peer = self.hub.peers.get(sid)
        if peer is not None:
            await self._depart(peer, explicit=False)

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
        reply = await self._dispatch("join", *args)
        ok = isinstance(reply, dict) and reply.get("ok") is True
        ROOM_JOINS.labels("ok" if ok else "refused").inc()
        if ok:
            ROOM_JOIN_SECONDS.observe(time.perf_counter() - started)
        return reply

    async def _dispatch(self, event: str, *args: Any) -> Any:
        sid = args[0]
        caller = self.callers.get(sid)
        if caller is None:
            return None  # refused at connect, or already gone
        lang = caller.lang
        if not self.guard.spend(caller.user_id, EVENT_COSTS.get(event, 1)):
            return await self._flooded(caller.user_id, lang)
        handler = self.handlers.get(event)
        try:
            if handler is None:
                raise ApiError(
                    404, "unknown_event", Text("Sự kiện không được hỗ trợ.", "Unsupported event."), details={}
                )
            if len(args) != 2:
                raise schemas.invalid({"_": "exactly one payload object per event"})
            return await handler(sid, args[1])
        except ApiError as exc:
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

    async def _flooded(self, user_id: int, lang: str) -> dict[str, Any]:
        """The user's budget ran out: every connection of theirs is told and closed, transport and
        all, and reconnects are refused until the cool-down ends."""
        retry_after = math.ceil(self.guard.cooling(user_id))
        message = Text(
            f"Gửi quá nhiều sự kiện; kết nối bị ngắt, thử lại sau {retry_after} giây.",
            f"Too many events; the connection is dropped, try again in {retry_after} s.",
        ).in_language(lang)
        details = {"retry_after": retry_after}
        error = {"code": "rate_limited", "message": message, "rule": None, "details": details}
        self._warn_once(("flood", user_id), "room user %s exceeded the event budget; dropped", user_id)
        for sid in self.guard.sids_of(user_id):
            if self.dropping.get(sid) is None:
                await self.emit("error", {"code": "rate_limited", "message": message}, to=sid)
                self.dropping[sid] = self.hub.spawn(self._close_transport(sid))
                self.dropping[sid].add_done_callback(lambda _, sid=sid: self.dropping.pop(sid, None))
        return {"ok": False, "error": error}

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
        self._warn_once(("malformed", address), "room client %s sent a malformed frame", address)
        if caller is not None and not self.guard.spend(
            caller.user_id, self.guard.limits.malformed_frame_cost
        ):
            reply = await self._flooded(caller.user_id, lang)
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
        self._warn_once(
            ("connect_refused", address, code), "room connection refused: %s from %s", code, address
        )

    def _warn_once(self, key: tuple[Any, ...], message: str, *args: Any) -> bool:
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

    # -- events ----------------------------------------------------------------------------------

    def _joined(self, sid: str) -> Peer:
        peer = self.hub.peers.get(sid)
        if peer is None:
            raise _not_joined()
        return peer

    async def on_join(self, sid: str, data: Any) -> dict[str, Any]:
        body = schemas.parse(schemas.JoinData, data)
        caller = self.callers[sid]
        user_id, ticket, lang = caller.user_id, caller.ticket, caller.lang
        current = self.hub.peers.get(sid)
        if current is not None and current.meeting_id != body.meeting_id:
            raise ApiError(
                409,
                "already_joined",
                Text(
                    "Kết nối này đã ở trong một phòng họp khác.",
                    "This connection is in another meeting room.",
                ),
            )
        if ticket is not None and ticket.meeting_id != body.meeting_id:
            raise ApiError(
                403,
                "ticket_mismatch",
                Text("Vé này dành cho buổi sinh hoạt khác.", "This ticket is for another meeting."),
            )
        room = self.hub.room(body.meeting_id)
        if (user_id, body.meeting_id) not in self.refusals:
            # The room's first join (or the first after a change or after its maximum age): the view
            # it needs anyway is read now, outside the lock, and admits the caller without the
            # separate admission queries (a refusal below still asks the database, outside the lock).
            await self.hub.refresh(room)
        known = room.snapshot is not None and room.snapshot.attendee(user_id) is not None
        if not known:
            await self._admit_or_refuse(await self._user(sid), body.meeting_id, lang)
        async with room.lock:
            at = self.hub.clock()
            snapshot = await self.hub.snapshot(room)
            attendee = snapshot.attendee(user_id) if snapshot is not None else None
            if attendee is None:
                # Not admitted by the room's view: the database decides, and explains a refusal.
                user = await self._user(sid)
                async with self.hub.database.read() as session:
                    attendee = await admit(session, user, body.meeting_id, at)
                self.hub.invalidate(body.meeting_id)  # a member added since the view was read
                snapshot = await self.hub.snapshot(room)
                assert snapshot is not None
            if ticket is not None and ticket.member_id != attendee.member_id:
                raise _refuse_ticket_member()
            if not snapshot.online(attendee.member_id):
                await self.hub.presence_writes.write(
                    PresenceWrite(
                        meeting_id=body.meeting_id,
                        org_id=attendee.meeting.org_id,
                        member_id=attendee.member_id,
                        kind=EventKind.JOIN,
                        user_id=user_id,
                        at=at,
                        why="room",
                    )
                )
                room.record(attendee.member_id, EventKind.JOIN, at)
            meeting = snapshot.meeting
            pending = room.pending_leaves.pop(attendee.member_id, None)
            if pending is not None:
                pending.cancel()  # back within the grace: the interval goes on (R-ATT-2)
            if current is None:
                current = Peer(
                    sid=sid,
                    peer_id=secrets.token_urlsafe(9),
                    member_id=attendee.member_id,
                    user_id=user_id,
                    full_name=attendee.member.full_name,
                    meeting_id=body.meeting_id,
                    lang=lang,
                )
                room.peers[sid] = current
                self.hub.peers[sid] = current
                await self.enter_room(sid, room_name(body.meeting_id))
                await self.enter_room(sid, room_name(body.meeting_id, lang))
                await self.hub.load_breakout(room)
                # During a split only the newcomer's group hears of it (and it of them).
                await self.hub.emit_to_meeting_peers(room, "peer-joined", current.json(), current)
            else:
                await self.hub.load_breakout(room)
            others = [p.json() for p in room.peers.values() if p.sid != sid and room.may_meet(current, p)]
            breakout_view = room.breakout_view(current, at)
            state = snapshot.state(at)
            room.shown.acked(snapshot, room.recorded_count, state, sid)
            room.grace_seconds = float(snapshot.rule_set.disconnect_grace_seconds)
            max_cameras = snapshot.rule_set.mesh_video_max_cameras
            hands = room.hands_json()["hands"]
            cameras = room.cameras_json(max_cameras)
            agenda = {"items": snapshot.agenda, "current": None}
            summoned = len(snapshot.situation.members)
        self.hub.request_push(body.meeting_id)
        # Outside the room's lock: Janus is never waited on while the room is held.
        if body.low_bandwidth:
            await self.sfu.set_low_bandwidth(room, sid, True, max_cameras, summoned)
        else:
            await self.sfu.after_join(room, max_cameras, summoned)
        topology = self.sfu.topology_json(body.meeting_id)
        return {
            "ok": True,
            "self": {**current.json(), "is_chair": meeting.chair_id == attendee.member_id},
            "peers": others,
            # Why the room is a mesh or on the SFU (issue 20): no SFU configured, the room below its
            # size, Janus not answering, or the room's size. Apart from `media`, whose keys existing
            # clients compare whole.
            "topology": topology,
            "media": {
                "mode": topology["mode"],
                "ice_servers": member_ice_servers(
                    self.settings.ice_servers,
                    self.settings.turn_secret.value if self.settings.turn_secret else None,
                    member_id=attendee.member_id,
                    meeting_id=body.meeting_id,
                    now=at,
                    ttl_seconds=self.settings.turn_ttl_seconds,
                )[0],
                "max_cameras": max_cameras,
            },
            "state": {
                "meeting": _meeting_json(meeting),
                "presence": state.presence,
                "quorum": state.quorum.to_json(lang),
                "hands": hands,
                "cameras": cameras,
                "agenda": agenda,
                "breakout": breakout_view,
            },
        }

    async def _admit_or_refuse(self, user: User, meeting_id: int, lang: str) -> None:
        """Ask the database, outside the room's lock, whether the caller may enter; remember a refusal
        until the next committed change, so a flood of refused joins costs no database read and
        never holds the room up. A refusal costs the caller more of their budget than an event."""
        assert user.id is not None
        refusal = self.refusals.get((user.id, meeting_id))
        now = asyncio.get_running_loop().time()
        # Stale after a commit here, or after the room's view would be (a change in another process).
        if refusal is None or refusal[1] != self.hub.database.generation or now > refusal[2]:
            REFUSED_UNIT.set(None)  # admit() marks another unit's meeting
            try:
                async with self.hub.database.read() as session:
                    await admit(session, user, meeting_id, self.hub.clock())
                self.refusals.pop((user.id, meeting_id), None)
                return
            except ApiError as exc:
                if len(self.refusals) >= REFUSALS_REMEMBERED:
                    self.refusals.clear()
                refusal = (exc, self.hub.database.generation, now + SNAPSHOT_MAX_AGE_SECONDS)
                self.refusals[(user.id, meeting_id)] = refusal
        # Probing another unit's meetings leaves a trace (ASVS 7.2.2), once a minute per user and meeting:
        # a log line and an access.refused row of the audit chain, as for a refused REST request.
        if self._warn_once(
            ("join_refused", user.id, meeting_id),
            "room join refused: user %s (%s), meeting %s: %s",
            user.id,
            user.username,
            meeting_id,
            refusal[0].code,
        ):
            await self.refusal_log.refused(
                self.hub.database,
                Refusal(
                    method="SOCKET",
                    route="/room join",
                    path=f"/room join meeting={meeting_id}",
                    status=refusal[0].status,
                    code=refusal[0].code,
                    unit=REFUSED_UNIT.get(),
                ),
                user_id=user.id,
                username=user.username,
                at=self.hub.clock(),
            )
        if not self.guard.spend(user.id, self.guard.limits.refused_join_cost - 1):
            await self._flooded(user.id, lang)
        raise refusal[0]

    async def on_signal(self, sid: str, data: Any) -> dict[str, Any]:
        peer = self._joined(sid)
        body = schemas.parse(schemas.SignalData, data)
        room = self.hub.room(peer.meeting_id)
        target = room.peer(body.to)
        if target is None or target.sid == sid:
            raise ApiError(
                404,
                "unknown_peer",
                Text("Không có người này trong phòng họp.", "No such peer in the meeting room."),
            )
        if not room.may_meet(peer, target):
            # The meeting is split into groups: media stays inside each group (meetings.breakout).
            raise ApiError(
                403,
                "other_group",
                Text("Người này đang ở nhóm thảo luận khác.", "This member is in another discussion group."),
            )
        # Relayed as received: the server neither reads nor rewrites descriptions and candidates.
        relayed: dict[str, Any] = {"from": peer.peer_id}
        for key in ("description", "candidate"):
            if key in data:
                relayed[key] = data[key]
        await self.emit("signal", relayed, to=target.sid)
        return {"ok": True}

    async def on_hand(self, sid: str, data: Any) -> dict[str, Any]:
        peer = self._joined(sid)
        body = schemas.parse(schemas.HandData, data)
        room = self.hub.room(peer.meeting_id)
        async with room.lock:
            whose = peer.member_id
            if body.member_id is not None and body.member_id != peer.member_id:
                if body.raised or not await self._is_chair(peer):
                    raise ApiError(
                        403,
                        "forbidden",
                        Text(
                            "Chỉ chủ trì hạ tay người khác.", "Only the chair lowers another member's hand."
                        ),
                    )
                whose = body.member_id
            if body.raised and whose not in room.hands:
                room.hands[whose] = (peer.full_name, self.hub.clock())
            elif not body.raised:
                room.hands.pop(whose, None)
            hands = room.hands_json()
            await self.emit("hands", hands, to=room_name(peer.meeting_id))
        return {"ok": True, **hands}

    async def _is_chair(self, peer: Peer) -> bool:
        snapshot = await self.hub.snapshot(self.hub.room(peer.meeting_id))
        return snapshot is not None and snapshot.meeting.chair_id == peer.member_id

    async def on_camera(self, sid: str, data: Any) -> dict[str, Any]:
        peer = self._joined(sid)
        body = schemas.parse(schemas.CameraData, data)
        room = self.hub.room(peer.meeting_id)
        async with room.lock:
            max_cameras = await self._max_cameras(peer.meeting_id)
            if body.on and peer.member_id not in room.cameras:
                if len(room.cameras) >= max_cameras:
                    raise ApiError(
                        409,
                        "camera_limit",
                        Text(
                            f"Đã có {max_cameras} người bật hình; chỉ nghe và nói được.",
                            f"{max_cameras} members already send video; audio only for now.",
                        ),
                        details={"max_cameras": max_cameras, "member_ids": list(room.cameras)},
                    )
                room.cameras.append(peer.member_id)
            elif not body.on and peer.member_id in room.cameras:
                room.cameras.remove(peer.member_id)
            cameras = room.cameras_json(max_cameras)
            await self.emit("cameras", cameras, to=room_name(peer.meeting_id))
        return {"ok": True, "cameras": cameras}

    async def on_low_bandwidth(self, sid: str, data: Any) -> dict[str, Any]:
        """The member switched low bandwidth on or off (issue 24): one upload instead of one per
        member, so a mesh room moves to the SFU when one is configured. The answer says where the
        room is now; a move that takes longer comes as the `media` push."""
        peer = self._joined(sid)
        body = schemas.parse(schemas.LowBandwidthData, data)
        room = self.hub.room(peer.meeting_id)
        snapshot = await self.hub.snapshot(room)
        max_cameras = snapshot.rule_set.mesh_video_max_cameras if snapshot is not None else 0
        summoned = len(snapshot.situation.members) if snapshot is not None else 0
        await self.sfu.set_low_bandwidth(room, sid, body.on, max_cameras, summoned)
        return {"ok": True, "topology": self.sfu.topology_json(peer.meeting_id)}

    async def _max_cameras(self, meeting_id: int) -> int:
        snapshot = await self.hub.snapshot(self.hub.room(meeting_id))
        return snapshot.rule_set.mesh_video_max_cameras if snapshot is not None else 0

    async def on_ballot(self, sid: str, data: Any) -> dict[str, Any]:
        """The connection's own member votes (R-VOTE-2), in a vote of the joined meeting only."""
        peer = self._joined(sid)
        body = schemas.parse(schemas.BallotData, data)
        user, lang = await self._user(sid), self.callers[sid].lang
        try:
            async with self.hub.database.write() as session:
                vote = await ballot_as(
                    session,
                    Actor(user=user, via="room"),
                    body.vote_id,
                    Choice(body.choice),
                    None,
                    self.hub.clock(),
                    lang,
                    meeting_id=peer.meeting_id,
                )
        except ApiError as error:
            if error.code == "not_found":
                raise ApiError(
                    404, "vote_not_found", Text("Không có biểu quyết này.", "No such vote.")
                ) from None
            raise
        await push_vote(self.hub.database, self.hub, "vote-progress", body.vote_id)
        return {"ok": True, "vote": vote}

    # -- the SFU (server.realtime.sfu_relay) ----------------------------------------------------

    async def _sfu_peer(self, sid: str, meeting_id: int | None) -> Peer:
        """The joined connection asking for a handle in Janus. Asked for another meeting, the
        refusal is the one a join would get (another unit's meeting: not found, and audited)."""
        peer = self.hub.peers.get(sid)
        if meeting_id is not None and (peer is None or peer.meeting_id != meeting_id):
            await self._admit_or_refuse(await self._user(sid), meeting_id, self.callers[sid].lang)
            raise _not_joined()
        if peer is None:
            raise _not_joined()
        return peer

    async def on_sfu_publish(self, sid: str, data: Any) -> dict[str, Any]:
        body = schemas.parse(schemas.SfuPublishData, data)
        peer = await self._sfu_peer(sid, body.meeting_id)
        if body.description.type != "offer":
            raise schemas.invalid({"description.type": "an offer is published"})
        return await self.sfu.publish(peer, body.description.model_dump())

    async def on_sfu_subscribe(self, sid: str, data: Any) -> dict[str, Any]:
        body = schemas.parse(schemas.SfuSubscribeData, data if data is not None else {})
        peer = await self._sfu_peer(sid, body.meeting_id)
        return await self.sfu.subscribe(peer, self.hub.room(peer.meeting_id))

    async def on_sfu_answer(self, sid: str, data: Any) -> dict[str, Any]:
        body = schemas.parse(schemas.SfuAnswerData, data)
        peer = await self._sfu_peer(sid, None)
        if body.description.type != "answer":
            raise schemas.invalid({"description.type": "an answer to the subscriber's offer"})
        return await self.sfu.answer(peer, body.description.model_dump())

    async def on_sfu_candidate(self, sid: str, data: Any) -> dict[str, Any]:
        body = schemas.parse(schemas.SfuCandidateData, data)
        peer = await self._sfu_peer(sid, None)
        return await self.sfu.candidate(peer, body.target, body.candidate)

    async def on_leave(self, sid: str, data: Any) -> dict[str, Any]:
        peer = self._joined(sid)
        schemas.parse(schemas.LeaveData, data if data is not None else {})
        await self._depart(peer, explicit=True)
        await self.leave_room(sid, room_name(peer.meeting_id))
        await self.leave_room(sid, room_name(peer.meeting_id, peer.lang))
        return {"ok": True}

    async def on_ice_failed(self, sid: str, data: Any) -> dict[str, Any]:
        """The page saw one of its peer connections fail (ICE): counted for /metrics, by the room's
        media mode only (no meeting or member in the labels). Costs the sender's budget as any event."""
        peer = self._joined(sid)
        schemas.parse(schemas.IceFailedData, data if data is not None else {})
        ROOM_ICE_FAILURES.labels(self.sfu.topology_json(peer.meeting_id)["mode"]).inc()
        return {"ok": True}

    # -- revocation --------------------------------------------------------------------------------

    async def recheck(self) -> None:
        """Every joined connection is checked against the database as a new join would be; those
        refused now (a member suspended or unlinked, the unit's approval revoked, the meeting no
        longer online) are told why, their presence ends now, and they are closed."""
        joined: dict[tuple[int, int], list[Peer]] = {}
        for peer in list(self.hub.peers.values()):
            joined.setdefault((peer.user_id, peer.meeting_id), []).append(peer)
        for (user_id, meeting_id), peers in joined.items():
            async with self.hub.database.read() as session:
                user = await session.get(User, user_id)
                try:
                    if user is None:
                        raise _not_joined()
                    attendee = await admit(session, user, meeting_id, self.hub.clock())
                    if attendee.member_id != peers[0].member_id:
                        raise schemas.access_revoked()  # linked to another member record since
                    continue
                except ApiError as exc:
                    refusal = exc
            for peer in peers:
                await self._revoke(peer, refusal)

    async def _revoke(self, peer: Peer, refusal: ApiError) -> None:
        caller = self.callers.get(peer.sid)
        lang = caller.lang if caller else self.settings.lang
        log.info(
            "room access of user %s to meeting %s revoked (%s)", peer.user_id, peer.meeting_id, refusal.code
        )
        await self.emit(
            "error", {**schemas.access_revoked().body(lang)["error"], "reason": refusal.code}, to=peer.sid
        )
        await self._depart(peer, explicit=True)
        self.callers.pop(peer.sid, None)  # later events of the closing connection are refused
        await self.server.close_transport(peer.sid, NAMESPACE)

    # -- departures ------------------------------------------------------------------------------

    async def _depart(self, peer: Peer, *, explicit: bool) -> None:
        """A connection leaves the room: media peers are told at once; attendance ends now (explicit)
        or after the grace, backdated to the drop, unless the member comes back first (R-ATT-2)."""
        room = self.hub.room(peer.meeting_id)
        self.hub.spawn(self.sfu.departed(peer))  # its handles in Janus go (none in a mesh)
        async with room.lock:
            room.peers.pop(peer.sid, None)
            self.hub.peers.pop(peer.sid, None)
            if self.hub.closing:
                return
            at = self.hub.clock()
            await self.hub.emit_to_meeting_peers(
                room, "peer-left", {"peer_id": peer.peer_id, "member_id": peer.member_id}, peer
            )
            if room.sids_of(peer.member_id):
                return  # the member is still here on another connection
            if peer.member_id in room.cameras:
                room.cameras.remove(peer.member_id)
                await self.emit(
                    "cameras",
                    room.cameras_json(await self._max_cameras(peer.meeting_id)),
                    to=room_name(peer.meeting_id),
                )
            if explicit:
                await self._end_presence(room, peer.member_id, peer.user_id, at, why="left")
            elif peer.member_id not in room.pending_leaves:
                room.pending_leaves[peer.member_id] = self.hub.spawn(
                    self._confirm_leave(room, peer.member_id, peer.user_id, at)
                )
        self.hub.request_push(peer.meeting_id)

    async def _confirm_leave(self, room: Room, member_id: int, user_id: int, dropped_at: datetime) -> None:
        await asyncio.sleep(self.confirm_seconds(room))
        async with room.lock:
            room.pending_leaves.pop(member_id, None)
            if room.sids_of(member_id):
                return
            await self._end_presence(room, member_id, user_id, dropped_at, why="dropped")
        self.hub.request_push(room.meeting_id)

    def confirm_seconds(self, room: Room) -> float:
        if self.settings.presence_confirm_seconds is not None:
            return self.settings.presence_confirm_seconds
        return room.grace_seconds

    async def _end_presence(
        self, room: Room, member_id: int, user_id: int, at: datetime, *, why: str
    ) -> None:
        # Through the group commit with the joins: whether the member is still online and the meeting
        # still live is decided in the writing transaction (a close may have ended everything).
        written = await self.hub.presence_writes.write(
            PresenceWrite(room.meeting_id, None, member_id, EventKind.LEAVE, user_id, at, why, if_online=True)
        )
        if written:
            room.record(member_id, EventKind.LEAVE, at)
        if room.hands.pop(member_id, None) is not None:
            await self.emit("hands", room.hands_json(), to=room_name(room.meeting_id))


@dataclass
class Caller:
    """Who opened a connection: the user's id (from the signed ticket or the session), the ticket
    if any, the language, and the account once something needed it."""

    user_id: int
    ticket: Ticket | None
    lang: str
    user: User | None = None


def _refuse_ticket_member() -> ApiError:
    return ApiError(403, "ticket_mismatch", Text("Vé này không phải của bạn.", "This ticket is not yours."))


def _meeting_json(meeting: Meeting) -> dict[str, Any]:
    return {
        "id": meeting.id,
        "title": meeting.title,
        "kind": meeting.kind,
        "mode": meeting.mode,
        "status": meeting.status,
        "starts_at": iso(meeting.starts_at),
        "opened_at": iso(meeting.opened_at) if meeting.opened_at else None,
        "closed_at": iso(meeting.closed_at) if meeting.closed_at else None,
        "chair_id": meeting.chair_id,
        "minute_taker_id": meeting.minute_taker_id,
    }
