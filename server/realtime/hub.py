"""Every live room of this process (server.realtime.live_room): their views, the pushes to them, the
logout of a session's connections and the recheck of everyone's access.

The database holds every fact that ends up in a record (joins and leaves); this holds only what
lives as long as the connections do. One `asyncio.Lock` per meeting serialises the room's mutations
in arrival order (asyncio locks are fair), so `async_handlers=True` cannot reorder a join and a leave.
Rooms are never dropped while the process runs (a few hundred bytes each): dropping one while a
handler still waits on its lock would let two handlers of the same meeting run at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine, Sequence
from datetime import datetime
from typing import Any

import socketio
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.tickets import session_ref
from server.clock import Clock, as_utc, iso
from server.db.engine import Database
from server.db.tables import Meeting
from server.i18n import SUPPORTED
from server.metrics import forget_live_rooms, watch_live_rooms
from server.realtime.live_room import Peer, Room, room_name
from server.realtime.views import ViewLoader
from server.services import breakout
from server.services.presence import Snapshot, load_snapshot, load_snapshots
from server.services.presence_batch import PresenceBatcher

log = logging.getLogger("cellmeet.realtime")

NAMESPACE = "/room"
# At most one presence/quorum push per meeting per interval (tech-notes: bursts to big rooms queue).
PUSH_INTERVAL_SECONDS = 0.1
# How old the room's view of its meeting may grow before it is read again (services.presence.Snapshot):
# a change made elsewhere (a member's standing, an excuse, a revoked approval) reaches the room within it.
SNAPSHOT_MAX_AGE_SECONDS = 5.0


async def _read_views(
    session: AsyncSession, meeting_ids: Sequence[int], at: datetime
) -> dict[int, Snapshot | None]:
    """Several rooms' views in one set of queries; a lone room's (outside a burst, the usual case)
    through `load_snapshot`, the same queries for one meeting."""
    if len(meeting_ids) == 1:
        return {meeting_ids[0]: await load_snapshot(session, meeting_ids[0], at)}
    return dict(await load_snapshots(session, meeting_ids, at))


class Hub:
    """The rooms of this process and the pushes to them."""

    def __init__(self, sio: socketio.AsyncServer, database: Database, clock: Clock) -> None:
        self.sio = sio
        self.database = database
        self.clock = clock
        # Joins of every room written together, each acknowledged after its batch's commit.
        self.presence_writes = PresenceBatcher(database)
        # The rooms' views of their meetings, read together when several rooms ask at once.
        self.views = ViewLoader(database, clock, _read_views)
        self.rooms: dict[int, Room] = {}
        self.peers: dict[str, Peer] = {}  # by sid, joined connections only
        self.sessions: dict[str, str] = {}  # sid -> session_ref of its web session, for logout
        # session_ref -> until when (unix seconds) tickets of that logged-out session are refused.
        self.ended_sessions: dict[str, float] = {}
        # Set by the namespace: every joined connection checked against the database again.
        self.recheck_access: Callable[[], Coroutine[Any, Any, None]] | None = None
        self._recheck_task: asyncio.Task[Any] | None = None
        self._recheck_again = False
        self._tasks: set[asyncio.Task[Any]] = set()
        # Tasks waiting to start (a push at the end of its room's quiet interval): cancelled at close.
        self._timers: set[asyncio.TimerHandle] = set()
        # Set at shutdown: departures then write nothing (a restart is handled like a crash, by the
        # members' reconnects and the sweep after the restart), and no new task starts.
        self.closing = False
        watch_live_rooms(self)  # /metrics: rooms open and members connected

    def live_counts(self) -> tuple[int, int]:
        """(rooms with a joined connection, members connected in them: once per room however many
        devices), for the gauges of /metrics."""
        members_of: dict[int, set[int]] = {}
        for peer in list(self.peers.values()):
            members_of.setdefault(peer.meeting_id, set()).add(peer.member_id)
        return len(members_of), sum(len(members) for members in members_of.values())

    def room(self, meeting_id: int) -> Room:
        found = self.rooms.get(meeting_id)
        if found is None:
            found = self.rooms[meeting_id] = Room(meeting_id)
        return found

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """A background task that is kept referenced, logged if it fails, and cancelled at shutdown."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("realtime task failed", exc_info=task.exception())

    async def close(self) -> None:
        self.closing = True
        forget_live_rooms(self)
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def emit(self, event: str, data: Any, *, to: str, skip_sid: str | list[str] | None = None) -> None:
        await self.sio.emit(event, data, to=to, skip_sid=skip_sid, namespace=NAMESPACE)

    async def refresh(self, room: Room) -> None:
        """Call it before taking room.lock. A room without a view waits for it to be read, outside the
        lock; a view older than its maximum age is read again in the background while the room goes
        on with the old one (never the lock held, nobody waiting on the read)."""
        if room.snapshot is None:
            await self._read_view(room)
            return
        self._reread_if_old(room)

    def _reread_if_old(self, room: Room) -> None:
        stale = asyncio.get_running_loop().time() - room.snapshot_at > SNAPSHOT_MAX_AGE_SECONDS
        if stale and not room.rereading and not self.closing:
            room.rereading = True
            self.spawn(self._reread(room))

    async def _reread(self, room: Room) -> None:
        try:
            await self._read_view(room)
        finally:
            room.rereading = False

    async def _read_view(self, room: Room) -> None:
        """Read the view outside the lock; then, under the lock for a moment, add the events the room
        committed since the read began and put it in place. A view invalidated meanwhile (a REST
        change) is dropped: `snapshot` reads it again under the lock."""
        loop = asyncio.get_running_loop()
        generation, mark, started = room.snapshot_generation, room.recorded_count, loop.time()
        loaded = await self.views.load(room.meeting_id)
        if loaded is None:
            return
        async with room.lock:
            newer = room.snapshot is not None and room.snapshot_at > started
            if newer or generation != room.snapshot_generation:
                return  # another caller's newer read is in place, or REST changed the meeting meanwhile
            since = [event for number, event in room.recorded if number > mark]
            if room.recorded_count - mark > len(since):
                return  # more events than the room remembers: read under the lock instead
            have = set(loaded.situation.events)
            loaded.situation.events.extend(event for event in since if event not in have)
            room.snapshot, room.snapshot_at = loaded, loop.time()

    async def snapshot(self, room: Room) -> Snapshot | None:
        """The room's view of its meeting. Call it holding room.lock: a view missing (never read, or
        invalidated by a REST change) is read now, and then contains every join and leave the room
        has committed; one older than its maximum age serves while it is read again in the background
        (callers `refresh` before the lock, so the read here is rare)."""
        loop = asyncio.get_running_loop()
        while room.snapshot is None:
            generation = room.snapshot_generation
            loaded = await self.views.load(room.meeting_id)
            if loaded is None:
                return None
            if generation == room.snapshot_generation:
                room.snapshot, room.snapshot_at = loaded, loop.time()
            # else: a change was committed while this was read (a REST close, say): read again.
        self._reread_if_old(room)
        return room.snapshot

    def invalidate(self, meeting_id: int) -> None:
        room = self.rooms.get(meeting_id)
        if room is not None:
            room.snapshot = None
            room.snapshot_generation += 1

    def request_push(self, meeting_id: int, *, changed_elsewhere: bool = False) -> None:
        """Push presence and quorum: at once after a quiet interval, else at the end of the interval.
        `changed_elsewhere`: presence changed outside the room (REST), so its view is read again."""
        if changed_elsewhere:
            self.invalidate(meeting_id)
        room = self.rooms.get(meeting_id)
        if room is None or room.push_scheduled or self.closing:
            return
        room.push_scheduled = True
        loop = asyncio.get_running_loop()
        delay = max(0.0, room.last_push + PUSH_INTERVAL_SECONDS - loop.time())
        if delay == 0.0:
            self.spawn(self._push(room))
        else:
            self.spawn_later(delay, lambda: self._push(room))

    def spawn_later(self, delay: float, make: Callable[[], Coroutine[Any, Any, Any]]) -> None:
        """`spawn(make())` in `delay` seconds, unless the hub has closed by then (no task would be left
        to await it: its coroutine is not even made)."""

        def due() -> None:
            self._timers.discard(timer)
            if not self.closing:
                self.spawn(make())

        timer = asyncio.get_running_loop().call_later(delay, due)
        self._timers.add(timer)

    async def _push(self, room: Room) -> None:
        # Changes from here on need another push: they may miss the state read below.
        room.push_scheduled = False
        room.last_push = asyncio.get_running_loop().time()
        await self.refresh(room)
        async with room.lock:
            snapshot = await self.snapshot(room)
            if snapshot is None:
                return
            state, told = room.shown.take(snapshot, room.recorded_count)
            if state is None:
                state = snapshot.state(self.clock())
        # Those whose join ack already carried this very state do not get it again.
        await self.emit("presence", state.presence, to=room_name(room.meeting_id), skip_sid=told)
        for lang in SUPPORTED:
            quorum = state.quorum.to_json(lang)
            await self.emit("quorum", quorum, to=room_name(room.meeting_id, lang), skip_sid=told)

    async def load_breakout(self, room: Room) -> None:
        """Call it holding room.lock: the split of a room seen for the first time in this process."""
        if room.breakout_loaded:
            return
        async with self.database.read() as session:
            found = await breakout.current(session, room.meeting_id)
        self._set_breakout(room, found)

    def _set_breakout(self, room: Room, found: tuple[Any, Any] | None) -> None:
        room.breakout_loaded = True
        if found is None:
            room.breakout, room.breakout_ends_at, room.group_of = None, None, None
        else:
            split, groups = found
            room.breakout = breakout.breakout_json(split, groups, self.clock())
            room.breakout_ends_at = as_utc(split.ends_at)
            room.group_of = breakout.group_of(groups)

    async def breakout_changed(self, meeting_id: int, ended: Any = None) -> None:
        """After a split began, changed or ended (REST): each connection gets its own view, with the
        peers it now meets; the client drops the connections it no longer may hold and opens the new.
        The committed split is read under the room's lock, so of two changes pushed at once the room
        always ends with the later (never a rolled-back or overtaken one)."""
        room = self.rooms.get(meeting_id)
        if room is None:
            return
        async with room.lock:
            async with self.database.read() as session:
                self._set_breakout(room, await breakout.current(session, meeting_id))
            at = self.clock()
            for peer in list(room.peers.values()):
                view = room.breakout_view(peer, at)
                if view is None:
                    others = [p.json() for p in room.peers.values() if p.sid != peer.sid]
                    view = {"active": False, "ended": ended, "mine": None, "peers": others}
                await self.emit("breakout", view, to=peer.sid)

    async def breakout_detail(self, meeting_id: int, event: str, data: dict[str, Any]) -> None:
        """A broadcast (`breakout-message`) or a group's saved notes (`breakout-notes`) to the whole
        meeting; the room's copy of the split takes it too, for the connections that join later."""
        room = self.rooms.get(meeting_id)
        if room is None:
            return
        async with room.lock:
            if room.breakout is not None:
                if event == "breakout-message":
                    room.breakout["messages"] = [*room.breakout["messages"], data][-breakout.MESSAGES_MAX :]
                else:
                    for group in room.breakout["groups"]:
                        # Two saves pushed at once may arrive in either order: keep the later version.
                        if group["index"] == data["index"] and data["notes_version"] > group["notes_version"]:
                            group["notes"], group["notes_version"] = data["notes"], data["notes_version"]
            await self.emit(event, data, to=room_name(meeting_id))

    async def emit_to_meeting_peers(self, room: Room, event: str, data: Any, about: Peer) -> None:
        """An event about one peer to the connections that may meet it (all, unless split)."""
        if room.group_of is None:
            await self.emit(event, data, to=room_name(room.meeting_id), skip_sid=about.sid)
            return
        for other in list(room.peers.values()):
            if other.sid != about.sid and room.may_meet(about, other):
                await self.emit(event, data, to=other.sid)

    async def meeting_changed(self, meeting: Meeting) -> None:
        """After an opening or a closing (REST): the new status, then the attendance it changed."""
        assert meeting.id is not None
        room = self.rooms.get(meeting.id)
        if room is None:
            return
        self.invalidate(meeting.id)
        room.breakout_loaded = False  # a close ends any split: read again at the next join
        await self.emit(
            "meeting-state",
            {
                "status": meeting.status,
                "opened_at": iso(meeting.opened_at) if meeting.opened_at else None,
                "closed_at": iso(meeting.closed_at) if meeting.closed_at else None,
            },
            to=room_name(meeting.id),
        )
        self.request_push(meeting.id)

    def has_room(self, meeting_id: int) -> bool:
        return meeting_id in self.rooms

    async def push(self, meeting_id: int, event: str, data: Any) -> None:
        """An event to everyone in the meeting's room (REST changes: agenda, votes, minutes)."""
        if meeting_id in self.rooms:
            await self.emit(event, data, to=room_name(meeting_id))

    async def push_by_language(self, meeting_id: int, event: str, data: Callable[[str], Any]) -> None:
        """An event whose text depends on the language (decisions explain themselves in it)."""
        if meeting_id in self.rooms:
            for lang in SUPPORTED:
                await self.emit(event, data(lang), to=room_name(meeting_id, lang))

    async def lower_hand(self, meeting_id: int, member_id: int) -> None:
        """The chair gave the member the floor: their hand is answered."""
        room = self.rooms.get(meeting_id)
        if room is None:
            return
        async with room.lock:
            if room.hands.pop(member_id, None) is not None:
                await self.emit("hands", room.hands_json(), to=room_name(meeting_id))

    async def drop_session(self, session_id: str, tickets_valid_for: float) -> None:
        """A logout ends the session's live connections too, those opened with its join tickets
        included, and its tickets not yet used are refused from now on."""
        ref = session_ref(session_id)
        now = time.time()
        for old in [r for r, until in self.ended_sessions.items() if until <= now]:
            del self.ended_sessions[old]
        self.ended_sessions[ref] = now + tickets_valid_for
        for sid in [sid for sid, owner in self.sessions.items() if owner == ref]:
            await self.sio.disconnect(sid, namespace=NAMESPACE)

    def request_recheck(self) -> None:
        """After a change of a member's standing or link, a grant, a user or a unit's approval: the
        live connections are checked again at once (one run at a time; a change during a run
        gets another run)."""
        if self.recheck_access is None or self.closing:
            return
        if self._recheck_task is not None and not self._recheck_task.done():
            self._recheck_again = True
            return
        self._recheck_task = self.spawn(self._recheck())

    async def access_settled(self) -> None:
        """Returns once no recheck of access is running: an event that arrives after a change of
        access was answered is judged after the change has reached the live rooms (quality.md S3),
        not in the moment between the answer and the closing of the revoked connection."""
        while (task := self._recheck_task) is not None and not task.done():
            await asyncio.wait({task})

    async def _recheck(self) -> None:
        assert self.recheck_access is not None
        while True:
            self._recheck_again = False
            for meeting_id in list(self.rooms):
                self.invalidate(meeting_id)
            await self.recheck_access()
            if not self._recheck_again:
                return
