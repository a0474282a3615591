"""The rooms through a Janus failure (issue 27): what the SFU watch's news means for the meetings.

Janus lost (killed, stopped, restarted): its rooms and every member's handles are gone. Each room on
the SFU is told at once, in each member's language. A room small enough for a mesh (fewer members
connected than `CELLMEET_SFU_MIN_PEERS`) goes back to the mesh, the push carrying whom each member
now meets directly; a larger room waits for Janus, its members' audio paused. Nothing of this touches
the room itself: nobody leaves, so attendance, hands and votes go on as they were.

Janus answering again: every waiting room is made again (the same number, secret and pin: they are
derived from the server's key) and told, and its members publish and subscribe anew, without leaving.
A room that went back to the mesh stays there until a join finds it at the SFU's size again, as any
mesh room (no renegotiation back and forth for members on phones).

At this server's start, the rooms it made before a restart that Janus still holds are reclaimed: their
meetings are on the SFU from their first join again.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from meetings.decision import Text
from meetings.topology import Reason, Topology
from server.media.sfu import SfuError
from server.realtime.hub import Hub
from server.realtime.live_room import Room
from server.realtime.sfu_relay import SfuRelay
from server.realtime.sfu_state import MeetingMedia

log = logging.getLogger("cellmeet.sfu")

LOST_WAITING = Text(
    "Mất kết nối tới máy chủ truyền thông của đơn vị. Âm thanh và hình ảnh tạm dừng; cuộc họp, điểm danh"
    " và biểu quyết vẫn tiếp tục. Âm thanh sẽ tự kết nối lại khi máy chủ hoạt động trở lại.",
    "The unit's media server was lost. Audio and video are paused; the meeting, attendance and votes go"
    " on. Audio reconnects by itself when the server answers again.",
)
LOST_TO_MESH = Text(
    "Mất kết nối tới máy chủ truyền thông của đơn vị. Phòng họp đủ nhỏ nên âm thanh chuyển sang kết nối"
    " trực tiếp giữa các thành viên; cuộc họp, điểm danh và biểu quyết vẫn tiếp tục.",
    "The unit's media server was lost. The room is small enough: audio now goes directly between"
    " members; the meeting, attendance and votes go on.",
)
BACK = Text(
    "Máy chủ truyền thông đã hoạt động trở lại; âm thanh và hình ảnh đang được kết nối lại.",
    "The media server answers again; audio and video are reconnecting.",
)


class SfuRecovery:
    """Listens to the SFU watch (server.media.sfu_watch) for one process's rooms."""

    def __init__(self, relay: SfuRelay, hub: Hub) -> None:
        self.relay = relay
        self.hub = hub
        self.reclaimed = False

    async def sfu_lost(self) -> None:
        for meeting_id, media in list(self.relay.meetings.items()):
            if media.mode is not Topology.SFU or media.lost:
                continue
            self._forget_handles(media)
            room = self.hub.rooms.get(meeting_id)
            connected = len({peer.member_id for peer in room.peers.values()}) if room is not None else 0
            if connected < self.relay.settings.sfu_min_peers:
                # Small enough for the mesh: the members meet directly until a join reaches the size.
                media.mode, media.reason, media.keys = Topology.MESH, Reason.SFU_UNAVAILABLE, None
                media.down_until = math.inf  # until Janus answers again
            else:
                media.lost = True
            log.warning(
                "SFU: Janus lost during meeting %s (%d members connected): %s",
                meeting_id,
                connected,
                "back to the mesh" if media.mode is Topology.MESH else "waiting for Janus",
            )
            if room is not None:
                await self._tell(room, media, "lost")

    async def sfu_answering(self) -> None:
        client = self.relay.client_of()
        if client is None:
            return
        if not self.reclaimed:
            self.reclaimed = True
            try:
                self.relay.reclaimable = set(await client.own_rooms())
            except SfuError as exc:
                log.warning("SFU: could not list the rooms to reclaim (%s)", exc)
        for meeting_id, media in list(self.relay.meetings.items()):
            stale, media.stale = media.stale, []
            for handle in stale:
                await client.detach(handle)  # Janus that only paused still has them
            if media.mode is Topology.MESH and media.down_until == math.inf:
                media.down_until = -math.inf  # a later join at the size may move the room again
            if not media.lost:
                continue
            try:
                media.keys = await client.create_room(
                    meeting_id, publishers=media.publishers, video=media.max_cameras > 0
                )
            except SfuError as exc:
                log.warning("SFU: the room of meeting %s could not be made again yet (%s)", meeting_id, exc)
                return  # the next probe tries again
            media.lost = False
            log.info("SFU: the room of meeting %s is made again; its members renegotiate", meeting_id)
            room = self.hub.rooms.get(meeting_id)
            if room is not None:
                await self._tell(room, media, "back")

    @staticmethod
    def _forget_handles(media: MeetingMedia) -> None:
        for handles in media.handles.values():
            handles.gone = True  # a negotiation still under way detaches what it made
            media.stale.extend(h for h in (handles.publisher, handles.subscriber) if h is not None)
        media.handles.clear()
        media.live.clear()

    async def _tell(self, room: Room, media: MeetingMedia, what: str) -> None:
        """Each connection in its own language; back on the mesh, with whom it meets directly (the
        smaller peer id offers, so two never both offer)."""
        text = BACK if what == "back" else LOST_TO_MESH if media.mode is Topology.MESH else LOST_WAITING
        for peer in list(room.peers.values()):
            push: dict[str, Any] = {
                "mode": media.mode.value,
                "reason": (Reason.SFU_UNAVAILABLE if media.lost else media.reason).value,
                "max_cameras": media.max_cameras,
                "sfu": what,
                "message": text.in_language(peer.lang),
            }
            if media.mode is Topology.MESH:
                push["peers"] = [
                    other.json()
                    for other in room.peers.values()
                    if other.sid != peer.sid and room.may_meet(peer, other)
                ]
            await self.hub.emit("media", push, to=peer.sid)
