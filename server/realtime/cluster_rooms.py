"""The live rooms as the rest of the server sees them when several processes share them through Redis
(issue 26): the second implementation of the `services.live.LiveRooms` port.

A REST request may land on any process; the meeting's room lives in its owner (server.realtime.cluster).
- Plain pushes (agenda, votes, minutes) are emitted to the meeting's socket.io rooms straight away:
  python-socketio's Redis manager delivers them to the members of every process.
- What changes a room's state (presence and quorum pushed again, a meeting opened or closed, a hand
  answered, a split) is a note to every process, which only the owner of the meeting acts on.
- A logout and a recheck of everyone's access are notes every process acts on, for its own connections.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from server.db.tables import Meeting
from server.i18n import SUPPORTED
from server.realtime.cluster import Cluster, Message
from server.realtime.hub import Hub
from server.realtime.live_room import room_name


class ClusterRooms:
    def __init__(self, hub: Hub, cluster: Cluster) -> None:
        self.hub = hub
        self.cluster = cluster

    def _note(self, op: str, **fields: Any) -> None:
        self.hub.spawn(self.cluster.tell_everyone({"op": op, **fields}))

    # -- the port (services.live.LiveRooms) -------------------------------------------------------

    def has_room(self, meeting_id: int) -> bool:
        return True  # somewhere, perhaps: the pushes find out

    def request_push(self, meeting_id: int, *, changed_elsewhere: bool = False) -> None:
        self._note("request_push", meeting=meeting_id, changed_elsewhere=changed_elsewhere)

    async def meeting_changed(self, meeting: Meeting) -> None:
        self._note("meeting_changed", meeting=meeting.id)

    async def push(self, meeting_id: int, event: str, data: Any) -> None:
        await self.hub.emit(event, data, to=room_name(meeting_id))

    async def push_by_language(self, meeting_id: int, event: str, data: Callable[[str], Any]) -> None:
        for lang in SUPPORTED:
            await self.hub.emit(event, data(lang), to=room_name(meeting_id, lang))

    async def lower_hand(self, meeting_id: int, member_id: int) -> None:
        self._note("lower_hand", meeting=meeting_id, member=member_id)

    async def breakout_changed(self, meeting_id: int, ended: Any = None) -> None:
        self._note("breakout_changed", meeting=meeting_id, ended=ended)

    async def breakout_detail(self, meeting_id: int, event: str, data: dict[str, Any]) -> None:
        self._note("breakout_detail", meeting=meeting_id, event=event, data=data)

    async def drop_session(self, session_id: str, tickets_valid_for: float) -> None:
        self._note("drop_session", session=session_id, valid_for=tickets_valid_for)

    def request_recheck(self) -> None:
        self._note("recheck")

    # -- the notes, as each process acts on them --------------------------------------------------

    async def apply(self, note: Message) -> None:
        op = note.get("op")
        if op == "drop_session":
            await self.hub.drop_session(str(note["session"]), float(note["valid_for"]))
            return
        if op == "recheck":
            self.hub.request_recheck()
            return
        meeting_id = note.get("meeting")
        if not isinstance(meeting_id, int) or meeting_id not in self.cluster.owned:
            return  # the owner acts; the others have no room of it
        if op == "request_push":
            self.hub.request_push(meeting_id, changed_elsewhere=bool(note.get("changed_elsewhere")))
        elif op == "meeting_changed":
            async with self.hub.database.read() as session:
                meeting = await session.get(Meeting, meeting_id)
            if meeting is not None:
                await self.hub.meeting_changed(meeting)
        elif op == "lower_hand":
            await self.hub.lower_hand(meeting_id, int(note["member"]))
        elif op == "breakout_changed":
            await self.hub.breakout_changed(meeting_id, note.get("ended"))
        elif op == "breakout_detail":
            await self.hub.breakout_detail(meeting_id, str(note["event"]), dict(note["data"]))
