"""Entering a meeting's room: the `join` event, the admission asked of the database and its refusals
remembered, and the revocation of connections a new join would refuse."""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from meetings.attendance import EventKind
from meetings.decision import Text
from server.audit.refusals import Refusal
from server.auth.authz import REFUSED_UNIT
from server.clock import iso
from server.db.tables import Meeting, User
from server.errors import ApiError
from server.media.turn import member_ice_servers
from server.realtime import schemas
from server.realtime.hub import NAMESPACE, SNAPSHOT_MAX_AGE_SECONDS
from server.realtime.live_room import Peer, Room, room_name
from server.services.presence import Attendee, RoomState, Snapshot, admit
from server.services.presence_batch import PresenceWrite

if TYPE_CHECKING:
    from server.realtime.namespace import RoomNamespace

log = logging.getLogger("cellmeet.realtime")

# Refused joins remembered at once, at most (the memory is cleared when full).
REFUSALS_REMEMBERED = 10_000


def not_joined() -> ApiError:
    return ApiError(
        409, "not_joined", Text("Bạn chưa vào phòng họp.", "You have not joined the meeting room.")
    )


@dataclass
class JoinView:
    """What a join's ack shows of the room, taken under the room's lock."""

    meeting: Meeting
    state: RoomState
    others: list[dict[str, Any]]
    breakout: dict[str, Any] | None
    hands: list[dict[str, Any]]
    cameras: dict[str, Any]
    agenda: dict[str, Any]
    max_cameras: int
    summoned: int


class RoomEntry:
    """Who enters which room. A join the room's view admits costs one small write; any other asks
    the database outside the room's lock, and a refusal is remembered until the next committed
    change, so a flood of refused joins costs no database read and never holds the room up."""

    def __init__(self, namespace: RoomNamespace) -> None:
        self.ns = namespace
        self.hub = namespace.hub
        # (user, meeting) -> the refusal of the last join, the database generation it was read at,
        # and the event-loop time after which it is read again.
        self.refusals: dict[tuple[int, int], tuple[ApiError, int, float]] = {}

    async def on_join(self, sid: str, data: Any) -> dict[str, Any]:
        body = schemas.parse(schemas.JoinData, data)
        caller = self.ns.callers[sid]
        current = self.hub.peers.get(sid)
        _check_connection(current, caller.ticket.meeting_id if caller.ticket else None, body.meeting_id)
        room = self.hub.room(body.meeting_id)
        if (caller.user_id, body.meeting_id) not in self.refusals:
            # The room's first join (or the first after a change or after its maximum age): the view
            # it needs anyway is read now, outside the lock, and admits the caller without the
            # separate admission queries (a refusal below still asks the database, outside the lock).
            await self.hub.refresh(room)
        known = room.snapshot is not None and room.snapshot.attendee(caller.user_id) is not None
        if not known:
            await self.admit_or_refuse(await self.ns.user_of(sid), body.meeting_id, caller.lang)
        async with room.lock:
            at = self.hub.clock()
            snapshot, attendee = await self._attendee(sid, room, at)
            if caller.ticket is not None and caller.ticket.member_id != attendee.member_id:
                raise ApiError(
                    403, "ticket_mismatch", Text("Vé này không phải của bạn.", "This ticket is not yours.")
                )
            await self._record_join(room, snapshot, attendee, caller.user_id, at)
            current = await self._seat(sid, room, current, attendee, caller.lang)
            view = self._view(sid, room, snapshot, current, at)
        self.hub.request_push(body.meeting_id)
        # Outside the room's lock: Janus is never waited on while the room is held.
        if body.low_bandwidth:
            await self.ns.sfu.set_low_bandwidth(room, sid, True, view.max_cameras, view.summoned)
        else:
            await self.ns.sfu.after_join(room, view.max_cameras, view.summoned)
        return self._reply(current, attendee, view, caller.lang, at)

    async def _attendee(self, sid: str, room: Room, at: datetime) -> tuple[Snapshot, Attendee]:
        """The room's view and the caller's member record; not admitted by the view, the database
        decides (a member added since the view was read), and explains a refusal."""
        caller = self.ns.callers[sid]
        snapshot = await self.hub.snapshot(room)
        attendee = snapshot.attendee(caller.user_id) if snapshot is not None else None
        if snapshot is None or attendee is None:
            user = await self.ns.user_of(sid)
            async with self.hub.database.read() as session:
                attendee = await admit(session, user, room.meeting_id, at)
            self.hub.invalidate(room.meeting_id)
            snapshot = await self.hub.snapshot(room)
            assert snapshot is not None  # the meeting exists: admit found it
        return snapshot, attendee

    async def _record_join(
        self, room: Room, snapshot: Snapshot, attendee: Attendee, user_id: int, at: datetime
    ) -> None:
        """The member's presence starts, unless it is already running (a second tab, a reconnect);
        a leave waiting for the grace is called off (R-ATT-2: the interval goes on)."""
        if not snapshot.online(attendee.member_id):
            await self.hub.presence_writes.write(
                PresenceWrite(
                    meeting_id=room.meeting_id,
                    org_id=attendee.meeting.org_id,
                    member_id=attendee.member_id,
                    kind=EventKind.JOIN,
                    user_id=user_id,
                    at=at,
                    why="room",
                )
            )
            room.record(attendee.member_id, EventKind.JOIN, at)
        pending = room.pending_leaves.pop(attendee.member_id, None)
        if pending is not None:
            pending.cancel()

    async def _seat(self, sid: str, room: Room, current: Peer | None, attendee: Attendee, lang: str) -> Peer:
        """The connection's peer in the room, made at its first join and announced."""
        if current is not None:
            await self.hub.load_breakout(room)
            return current
        peer = Peer(
            sid=sid,
            peer_id=secrets.token_urlsafe(9),
            member_id=attendee.member_id,
            user_id=self.ns.callers[sid].user_id,
            full_name=attendee.member.full_name,
            meeting_id=room.meeting_id,
            lang=lang,
        )
        room.peers[sid] = peer
        self.hub.peers[sid] = peer
        await self.ns.enter_room(sid, room_name(room.meeting_id))
        await self.ns.enter_room(sid, room_name(room.meeting_id, lang))
        await self.hub.load_breakout(room)
        # During a split only the newcomer's group hears of it (and it of them).
        await self.hub.emit_to_meeting_peers(room, "peer-joined", peer.json(), peer)
        return peer

    def _view(self, sid: str, room: Room, snapshot: Snapshot, peer: Peer, at: datetime) -> JoinView:
        state = snapshot.state(at)
        room.shown.acked(snapshot, room.recorded_count, state, sid)
        room.grace_seconds = float(snapshot.rule_set.disconnect_grace_seconds)
        max_cameras = snapshot.rule_set.mesh_video_max_cameras
        return JoinView(
            meeting=snapshot.meeting,
            state=state,
            others=[p.json() for p in room.peers.values() if p.sid != sid and room.may_meet(peer, p)],
            breakout=room.breakout_view(peer, at),
            hands=room.hands_json()["hands"],
            cameras=room.cameras_json(max_cameras),
            agenda={"items": snapshot.agenda, "current": None},
            max_cameras=max_cameras,
            summoned=len(snapshot.situation.members),
        )

    def _reply(
        self, peer: Peer, attendee: Attendee, view: JoinView, lang: str, at: datetime
    ) -> dict[str, Any]:
        settings = self.ns.settings
        topology = self.ns.sfu.topology_json(peer.meeting_id)
        return {
            "ok": True,
            "self": {**peer.json(), "is_chair": view.meeting.chair_id == attendee.member_id},
            "peers": view.others,
            # Why the room is a mesh or on the SFU (issue 20): no SFU configured, the room below its
            # size, Janus not answering, or the room's size. Apart from `media`, whose keys existing
            # clients compare whole.
            "topology": topology,
            "media": {
                "mode": topology["mode"],
                "ice_servers": member_ice_servers(
                    settings.ice_servers,
                    settings.turn_secret.value if settings.turn_secret else None,
                    member_id=attendee.member_id,
                    meeting_id=peer.meeting_id,
                    now=at,
                    ttl_seconds=settings.turn_ttl_seconds,
                )[0],
                "max_cameras": view.max_cameras,
            },
            "state": {
                "meeting": meeting_json(view.meeting),
                "presence": view.state.presence,
                "quorum": view.state.quorum.to_json(lang),
                "hands": view.hands,
                "cameras": view.cameras,
                "agenda": view.agenda,
                "breakout": view.breakout,
            },
        }

    async def admit_or_refuse(self, user: User, meeting_id: int, lang: str) -> None:
        """Ask the database, outside the room's lock, whether the caller may enter; a refusal costs
        the caller more of their budget than an event, and is remembered (see the class notes)."""
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
        await self._trace_refusal(user, meeting_id, refusal[0])
        guard = self.ns.guard
        if not guard.spend(user.id, guard.limits.refused_join_cost - 1):
            await self.ns.flooded(user.id, lang)
        raise refusal[0]

    async def _trace_refusal(self, user: User, meeting_id: int, refusal: ApiError) -> None:
        """Probing another unit's meetings leaves a trace (ASVS 7.2.2), once a minute per user and
        meeting: a log line and an access.refused row of the audit chain, as for a refused REST request."""
        assert user.id is not None
        if self.ns.warn_once(
            ("join_refused", user.id, meeting_id),
            "room join refused: user %s (%s), meeting %s: %s",
            user.id,
            user.username,
            meeting_id,
            refusal.code,
        ):
            await self.ns.refusal_log.refused(
                self.hub.database,
                Refusal(
                    method="SOCKET",
                    route="/room join",
                    path=f"/room join meeting={meeting_id}",
                    status=refusal.status,
                    code=refusal.code,
                    unit=REFUSED_UNIT.get(),
                ),
                user_id=user.id,
                username=user.username,
                at=self.hub.clock(),
            )

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
                        raise not_joined()
                    attendee = await admit(session, user, meeting_id, self.hub.clock())
                    if attendee.member_id != peers[0].member_id:
                        raise schemas.access_revoked()  # linked to another member record since
                    continue
                except ApiError as exc:
                    refusal = exc
            for peer in peers:
                await self._revoke(peer, refusal)

    async def _revoke(self, peer: Peer, refusal: ApiError) -> None:
        caller = self.ns.callers.get(peer.sid)
        lang = caller.lang if caller else self.ns.settings.lang
        log.info(
            "room access of user %s to meeting %s revoked (%s)", peer.user_id, peer.meeting_id, refusal.code
        )
        await self.ns.emit(
            "error", {**schemas.access_revoked().body(lang)["error"], "reason": refusal.code}, to=peer.sid
        )
        await self.ns.departures.depart(peer, explicit=True)
        self.ns.callers.pop(peer.sid, None)  # later events of the closing connection are refused
        forwarding = self.ns.forwarding
        if forwarding is not None and forwarding.is_remote(peer.sid):
            forwarding.remote.pop(peer.sid, None)
            await self.ns.server.disconnect(peer.sid, namespace=NAMESPACE)  # through its process
        else:
            await self.ns.server.close_transport(peer.sid, NAMESPACE)


def _check_connection(current: Peer | None, ticket_meeting_id: int | None, meeting_id: int) -> None:
    """A connection is in one meeting's room; a ticket opens the room of its own meeting only."""
    if current is not None and current.meeting_id != meeting_id:
        raise ApiError(
            409,
            "already_joined",
            Text(
                "Kết nối này đã ở trong một phòng họp khác.",
                "This connection is in another meeting room.",
            ),
        )
    if ticket_meeting_id is not None and ticket_meeting_id != meeting_id:
        raise ApiError(
            403,
            "ticket_mismatch",
            Text("Vé này dành cho buổi sinh hoạt khác.", "This ticket is for another meeting."),
        )


def meeting_json(meeting: Meeting) -> dict[str, Any]:
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
