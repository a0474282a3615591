"""Leaving a meeting's room: the peers told at once, the presence ended now or after the grace."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import TYPE_CHECKING

from meetings.attendance import EventKind
from server.realtime.live_room import Peer, Room, room_name
from server.services.presence_batch import PresenceWrite

if TYPE_CHECKING:
    from server.realtime.namespace import RoomNamespace


class Departures:
    """A connection leaves its room: media peers are told at once; attendance ends now (an explicit
    leave) or after the grace, backdated to the drop, unless the member comes back first (R-ATT-2)."""

    def __init__(self, namespace: RoomNamespace) -> None:
        self.ns = namespace
        self.hub = namespace.hub

    async def depart(self, peer: Peer, *, explicit: bool) -> None:
        room = self.hub.room(peer.meeting_id)
        self.hub.spawn(self.ns.sfu.departed(peer))  # its handles in Janus go (none in a mesh)
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
                await self.ns.emit(
                    "cameras",
                    room.cameras_json(await self.ns.max_cameras(peer.meeting_id)),
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
        if self.ns.settings.presence_confirm_seconds is not None:
            return self.ns.settings.presence_confirm_seconds
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
            await self.ns.emit("hands", room.hands_json(), to=room_name(room.meeting_id))
