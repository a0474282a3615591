"""What a joined member does in the room: signalling, hands, cameras, low bandwidth, ballots, the SFU's
negotiation, leaving and reporting a failed connection. Each acts only inside the joined meeting."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from meetings.decision import Text
from meetings.enums import Choice
from server.auth.identity import Actor
from server.errors import ApiError
from server.metrics import ROOM_ICE_FAILURES
from server.realtime import schemas
from server.realtime.live_room import Peer, room_name
from server.realtime.room_entry import not_joined
from server.services.room_pushes import push_vote
from server.services.votes import ballot_as

if TYPE_CHECKING:
    from server.realtime.namespace import RoomNamespace


class RoomEvents:
    def __init__(self, namespace: RoomNamespace) -> None:
        self.ns = namespace
        self.hub = namespace.hub

    async def joined(self, sid: str) -> Peer:
        """The connection's place in its meeting, once any running recheck of access is done: a
        member revoked mid-meeting acts no more, even in the moment before their socket closes."""
        await self.hub.access_settled()
        peer = self.hub.peers.get(sid)
        if peer is None:
            raise not_joined()
        return peer

    async def on_signal(self, sid: str, data: Any) -> dict[str, Any]:
        peer = await self.joined(sid)
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
        await self.ns.emit("signal", relayed, to=target.sid)
        return {"ok": True}

    async def on_hand(self, sid: str, data: Any) -> dict[str, Any]:
        peer = await self.joined(sid)
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
            await self.ns.emit("hands", hands, to=room_name(peer.meeting_id))
        return {"ok": True, **hands}

    async def _is_chair(self, peer: Peer) -> bool:
        snapshot = await self.hub.snapshot(self.hub.room(peer.meeting_id))
        return snapshot is not None and snapshot.meeting.chair_id == peer.member_id

    async def on_camera(self, sid: str, data: Any) -> dict[str, Any]:
        peer = await self.joined(sid)
        body = schemas.parse(schemas.CameraData, data)
        room = self.hub.room(peer.meeting_id)
        async with room.lock:
            max_cameras = await self.ns.max_cameras(peer.meeting_id)
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
            await self.ns.emit("cameras", cameras, to=room_name(peer.meeting_id))
        return {"ok": True, "cameras": cameras}

    async def on_low_bandwidth(self, sid: str, data: Any) -> dict[str, Any]:
        """The member switched low bandwidth on or off (issue 24): one upload instead of one per
        member, so a mesh room moves to the SFU when one is configured. The answer says where the
        room is now; a move that takes longer comes as the `media` push."""
        peer = await self.joined(sid)
        body = schemas.parse(schemas.LowBandwidthData, data)
        room = self.hub.room(peer.meeting_id)
        snapshot = await self.hub.snapshot(room)
        max_cameras = snapshot.rule_set.mesh_video_max_cameras if snapshot is not None else 0
        summoned = len(snapshot.situation.members) if snapshot is not None else 0
        await self.ns.sfu.set_low_bandwidth(room, sid, body.on, max_cameras, summoned)
        return {"ok": True, "topology": self.ns.sfu.topology_json(peer.meeting_id)}

    async def on_ballot(self, sid: str, data: Any) -> dict[str, Any]:
        """The connection's own member votes (R-VOTE-2), in a vote of the joined meeting only."""
        peer = await self.joined(sid)
        body = schemas.parse(schemas.BallotData, data)
        user, lang = await self.ns.user_of(sid), self.ns.callers[sid].lang
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
        await self.hub.access_settled()
        peer = self.hub.peers.get(sid)
        if meeting_id is not None and (peer is None or peer.meeting_id != meeting_id):
            await self.ns.entry.admit_or_refuse(
                await self.ns.user_of(sid), meeting_id, self.ns.callers[sid].lang
            )
            raise not_joined()
        if peer is None:
            raise not_joined()
        return peer

    async def on_sfu_publish(self, sid: str, data: Any) -> dict[str, Any]:
        body = schemas.parse(schemas.SfuPublishData, data)
        peer = await self._sfu_peer(sid, body.meeting_id)
        if body.description.type != "offer":
            raise schemas.invalid({"description.type": "an offer is published"})
        return await self.ns.sfu.publish(peer, body.description.model_dump())

    async def on_sfu_subscribe(self, sid: str, data: Any) -> dict[str, Any]:
        body = schemas.parse(schemas.SfuSubscribeData, data if data is not None else {})
        peer = await self._sfu_peer(sid, body.meeting_id)
        return await self.ns.sfu.subscribe(peer, self.hub.room(peer.meeting_id))

    async def on_sfu_answer(self, sid: str, data: Any) -> dict[str, Any]:
        body = schemas.parse(schemas.SfuAnswerData, data)
        peer = await self._sfu_peer(sid, None)
        if body.description.type != "answer":
            raise schemas.invalid({"description.type": "an answer to the subscriber's offer"})
        return await self.ns.sfu.answer(peer, body.description.model_dump())

    async def on_sfu_candidate(self, sid: str, data: Any) -> dict[str, Any]:
        body = schemas.parse(schemas.SfuCandidateData, data)
        peer = await self._sfu_peer(sid, None)
        return await self.ns.sfu.candidate(peer, body.target, body.candidate)

    async def on_leave(self, sid: str, data: Any) -> dict[str, Any]:
        peer = await self.joined(sid)
        schemas.parse(schemas.LeaveData, data if data is not None else {})
        await self.ns.departures.depart(peer, explicit=True)
        await self.ns.leave_room(sid, room_name(peer.meeting_id))
        await self.ns.leave_room(sid, room_name(peer.meeting_id, peer.lang))
        return {"ok": True}

    async def on_ice_failed(self, sid: str, data: Any) -> dict[str, Any]:
        """The page saw one of its peer connections fail (ICE): counted for /metrics, by the room's
        media mode only (no meeting or member in the labels). Costs the sender's budget as any event."""
        peer = await self.joined(sid)
        schemas.parse(schemas.IceFailedData, data if data is not None else {})
        ROOM_ICE_FAILURES.labels(self.ns.sfu.topology_json(peer.meeting_id)["mode"]).inc()
        return {"ok": True}
