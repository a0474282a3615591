"""The `/room` socket.io namespace: who may connect, what each event may do, and what the room is told.

Every client event answers through its ack, `{"ok": true, ...}` or `{"ok": false, "error": {...}}`
(docs/api.md "The live room"). A client never names a room: the server puts a connection in its
meeting's rooms at `join`, after checking the caller against the register, and every later event
acts only inside that meeting.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import socketio
from aiohttp import web

from meetings.attendance import EventKind
from meetings.decision import Text
from meetings.enums import Choice
from server.api.context import ACTOR
from server.api.errors import ApiError
from server.auth.identity import Actor
from server.auth.tickets import Ticket, TicketError, verify
from server.clock import iso
from server.db.tables import Meeting, User
from server.i18n import request_language
from server.media.turn import member_ice_servers
from server.realtime import schemas
from server.realtime.hub import NAMESPACE, Hub, Peer, Room, room_name
from server.realtime.limits import TokenBucket
from server.realtime.pushes import push_vote
from server.services.presence import admit, online_leave, record_online
from server.services.votes import ballot_as
from server.settings import Settings

log = logging.getLogger("cellmeet.realtime")

Handler = Callable[[str, Any], Awaitable[dict[str, Any]]]

_REFUSALS = {
    "unauthenticated": Text("Cần đăng nhập để vào phòng họp.", "Log in to enter the meeting room."),
    "invalid_ticket": Text("Vé vào phòng họp không hợp lệ.", "The join ticket is not valid."),
    "ticket_expired": Text("Vé vào phòng họp đã hết hạn.", "The join ticket has expired."),
}


def _error(exc: ApiError, lang: str) -> dict[str, Any]:
    return {"ok": False, **exc.body(lang)}


def _refuse(code: str, lang: str) -> socketio.exceptions.ConnectionRefusedError:
    message = _REFUSALS[code].in_language(lang)
    return socketio.exceptions.ConnectionRefusedError(message, {"code": code, "message": message})


def _not_joined() -> ApiError:
    return ApiError(
        409, "not_joined", Text("Bạn chưa vào phòng họp.", "You have not joined the meeting room.")
    )


class RoomNamespace(socketio.AsyncNamespace):
    def __init__(self, hub: Hub, settings: Settings) -> None:
        super().__init__(NAMESPACE)
        self.hub = hub
        self.settings = settings
        self.handlers: dict[str, Handler] = {
            "join": self.on_join,
            "signal": self.on_signal,
            "hand": self.on_hand,
            "camera": self.on_camera,
            "ballot": self.on_ballot,
            "leave": self.on_leave,
        }
        self.buckets: dict[str, TokenBucket] = {}
        # sid -> (user, ticket or None, language): what on_connect established.
        self.callers: dict[str, tuple[User, Ticket | None, str]] = {}

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
            async with self.hub.database.read() as session:
                user = await session.get(User, ticket.user_id)
            if user is None:
                raise _refuse("invalid_ticket", lang)
        else:
            # The identity middleware has already checked the session cookie of the upgrade request.
            actor: Actor | None = request.get(ACTOR)
            if actor is None or actor.via != "session":
                raise _refuse("unauthenticated", lang)
            user = actor.user
            if actor.session is not None:
                self.hub.sessions[sid] = actor.session.id
        self.callers[sid] = (user, ticket, lang)
        self.buckets[sid] = TokenBucket(self.settings.room_events_per_second, self.settings.room_event_burst)

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        self.callers.pop(sid, None)
        self.buckets.pop(sid, None)
        self.hub.sessions.pop(sid, None)
        peer = self.hub.peers.get(sid)
        if peer is not None:
            await self._depart(peer, explicit=False)

    async def trigger_event(self, event: str, *args: Any) -> Any:
        if event in ("connect", "disconnect"):
            return await super().trigger_event(event, *args)
        sid = args[0]
        caller = self.callers.get(sid)
        lang = caller[2] if caller else self.settings.lang
        bucket = self.buckets.get(sid)
        if bucket is None or not bucket.take(time.monotonic()):
            return await self._flooded(sid, lang)
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

    async def _flooded(self, sid: str, lang: str) -> dict[str, Any]:
        message = Text(
            "Gửi quá nhiều sự kiện; kết nối bị ngắt.", "Too many events; the connection is dropped."
        ).in_language(lang)
        log.warning("room connection %s exceeded its event budget; dropped", sid)
        await self.emit("error", {"code": "rate_limited", "message": message}, to=sid)
        self.hub.spawn(self.disconnect(sid))
        return {
            "ok": False,
            "error": {"code": "rate_limited", "message": message, "rule": None, "details": {}},
        }

    # -- events ----------------------------------------------------------------------------------

    def _joined(self, sid: str) -> Peer:
        peer = self.hub.peers.get(sid)
        if peer is None:
            raise _not_joined()
        return peer

    async def on_join(self, sid: str, data: Any) -> dict[str, Any]:
        body = schemas.parse(schemas.JoinData, data)
        user, ticket, lang = self.callers[sid]
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
        async with room.lock:
            at = self.hub.clock()
            snapshot = await self.hub.snapshot(room)
            attendee = snapshot.attendee(user.id) if snapshot is not None else None  # type: ignore[arg-type]
            if attendee is None:
                # Not admitted by the room's view: the database decides, and explains a refusal.
                async with self.hub.database.read() as session:
                    attendee = await admit(session, user, body.meeting_id, at)
                self.hub.invalidate(body.meeting_id)  # a member added since the view was read
                snapshot = await self.hub.snapshot(room)
                assert snapshot is not None
            if ticket is not None and ticket.member_id != attendee.member_id:
                raise _refuse_ticket_member()
            if not snapshot.online(attendee.member_id):
                async with self.hub.database.write() as session:
                    await record_online(
                        session,
                        attendee.meeting,
                        attendee.member_id,
                        EventKind.JOIN,
                        user_id=user.id,
                        at=at,
                        why="room",
                    )
                snapshot.record(attendee.member_id, EventKind.JOIN, at)
            meeting = snapshot.meeting
            pending = room.pending_leaves.pop(attendee.member_id, None)
            if pending is not None:
                pending.cancel()  # back within the grace: the interval goes on (R-ATT-2)
            if current is None:
                current = Peer(
                    sid=sid,
                    peer_id=secrets.token_urlsafe(9),
                    member_id=attendee.member_id,
                    user_id=user.id,  # type: ignore[arg-type]
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
            room.grace_seconds = float(snapshot.rule_set.disconnect_grace_seconds)
            max_cameras = snapshot.rule_set.mesh_video_max_cameras
            hands = room.hands_json()["hands"]
            cameras = room.cameras_json(max_cameras)
            agenda = {"items": snapshot.agenda, "current": None}
        self.hub.request_push(body.meeting_id)
        return {
            "ok": True,
            "self": {**current.json(), "is_chair": meeting.chair_id == attendee.member_id},
            "peers": others,
            "media": {
                "mode": "mesh",
                "ice_servers": member_ice_servers(
                    self.settings.ice_servers,
                    self.settings.turn_secret.value if self.settings.turn_secret else None,
                    member_id=attendee.member_id,
                    meeting_id=body.meeting_id,
                    now=at,
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

    async def _max_cameras(self, meeting_id: int) -> int:
        snapshot = await self.hub.snapshot(self.hub.room(meeting_id))
        return snapshot.rule_set.mesh_video_max_cameras if snapshot is not None else 0

    async def on_ballot(self, sid: str, data: Any) -> dict[str, Any]:
        """The connection's own member votes (R-VOTE-2), in a vote of the joined meeting only."""
        peer = self._joined(sid)
        body = schemas.parse(schemas.BallotData, data)
        user, _, lang = self.callers[sid]
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

    async def on_leave(self, sid: str, data: Any) -> dict[str, Any]:
        peer = self._joined(sid)
        schemas.parse(schemas.LeaveData, data if data is not None else {})
        await self._depart(peer, explicit=True)
        await self.leave_room(sid, room_name(peer.meeting_id))
        await self.leave_room(sid, room_name(peer.meeting_id, peer.lang))
        return {"ok": True}

    # -- departures ------------------------------------------------------------------------------

    async def _depart(self, peer: Peer, *, explicit: bool) -> None:
        """A connection leaves the room: media peers are told at once; attendance ends now (explicit)
        or after the grace, backdated to the drop, unless the member comes back first (R-ATT-2)."""
        room = self.hub.room(peer.meeting_id)
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
        async with self.hub.database.write() as session:
            written = await online_leave(session, room.meeting_id, member_id, user_id=user_id, at=at, why=why)
        if written and room.snapshot is not None:
            room.snapshot.record(member_id, EventKind.LEAVE, at)
        if room.hands.pop(member_id, None) is not None:
            await self.emit("hands", room.hands_json(), to=room_name(room.meeting_id))


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
