"""State pushes to a meeting's room after REST changes: votes and minutes, through the live-rooms port.

Each reads what was committed in a transaction of its own, so the room never sees a change that
was rolled back, and each does nothing when nobody is in the room of this process.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from server.db.engine import Database
from server.db.tables import Meeting, Vote
from server.services.live import LiveRooms
from server.services.minutes import minutes_json
from server.services.orgs import get_org
from server.services.vote_results import vote_json


async def push_vote(database: Database, rooms: LiveRooms | None, event: str, vote_id: int) -> None:
    """`vote-opened`, `vote-progress` or `vote-closed`; each language gets its own explanation."""
    if rooms is None:
        return
    by_lang: dict[str, Any] = {}
    async with database.read() as session:
        vote = await session.get(Vote, vote_id)
        assert vote is not None
        if not rooms.has_room(vote.meeting_id):
            return
        meeting = await session.get(Meeting, vote.meeting_id)
        assert meeting is not None
        org = await get_org(session, meeting.org_id)
        for code in ("vi", "en"):
            by_lang[code] = await vote_json(session, vote, org, code)
    await rooms.push_by_language(vote.meeting_id, event, lambda code: by_lang[code])


async def push_minutes(database: Database, rooms: LiveRooms | None, meeting_id: int, at: datetime) -> None:
    """The whole minutes, after a change of the facts they show (a vote closed, an opinion reserved)."""
    if rooms is None or not rooms.has_room(meeting_id):
        return
    async with database.read() as session:
        meeting = await session.get(Meeting, meeting_id)
        assert meeting is not None
        minutes = await minutes_json(session, meeting, await get_org(session, meeting.org_id), at)
    await rooms.push(meeting_id, "minutes", minutes)


async def push_texts(rooms: LiveRooms | None, meeting_id: int, minutes: dict[str, Any]) -> None:
    """After a text edit: the version and texts only (the facts did not change)."""
    if rooms is not None:
        await rooms.push(
            meeting_id,
            "minutes",
            {key: minutes[key] for key in ("meeting_id", "version", "status", "fields")},
        )
