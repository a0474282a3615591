"""The live rooms as the rest of the server sees them: a port that the realtime layer implements
(`server.realtime.hub.Hub`, one process's rooms), so the API and the services tell the rooms of a change
without importing the realtime layer. A second implementation (several processes on Redis) plugs in
here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from server.db.tables import Meeting


class LiveRooms(Protocol):
    def has_room(self, meeting_id: int) -> bool:
        """Whether the meeting has a live room in this process (nothing to tell otherwise)."""
        ...

    def request_push(self, meeting_id: int, *, changed_elsewhere: bool = False) -> None:
        """Presence and quorum pushed again; `changed_elsewhere`: the room reads its view again."""
        ...

    async def meeting_changed(self, meeting: Meeting) -> None:
        """After an opening or a closing: the new status, then the attendance it changed."""
        ...

    async def push(self, meeting_id: int, event: str, data: Any) -> None:
        """An event to everyone in the meeting's room."""
        ...

    async def push_by_language(self, meeting_id: int, event: str, data: Callable[[str], Any]) -> None:
        """An event whose text depends on the language."""
        ...

    async def lower_hand(self, meeting_id: int, member_id: int) -> None:
        """The member was given the floor: their hand is answered."""
        ...

    async def breakout_changed(self, meeting_id: int, ended: Any = None) -> None:
        """A split began, changed or ended."""
        ...

    async def breakout_detail(self, meeting_id: int, event: str, data: dict[str, Any]) -> None:
        """A broadcast or a group's notes, to the whole meeting."""
        ...

    async def drop_session(self, session_id: str, tickets_valid_for: float) -> None:
        """A logout (or an account disabled) ends the session's live connections and its tickets."""
        ...
