"""One meeting's live room in this process: its connections (peers), hands, cameras, the view of its
meeting, the presence events it committed, and its split into groups as the connections see it."""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from meetings.attendance import EventKind, PresenceEvent
from meetings.breakout import may_meet
from server.clock import iso
from server.services.presence import RoomState, Snapshot

# How many of its own presence events a room remembers for a view read outside its lock; a read that
# overlapped more (hundreds of joins to one room within one read) is dropped and read under the lock.
RECORDED_KEPT = 500


def room_name(meeting_id: int, lang: str | None = None) -> str:
    return f"meeting:{meeting_id}" if lang is None else f"meeting:{meeting_id}:{lang}"


@dataclass
class Peer:
    """One joined connection."""

    sid: str
    peer_id: str
    member_id: int
    user_id: int
    full_name: str
    meeting_id: int
    lang: str

    def json(self) -> dict[str, Any]:
        return {"peer_id": self.peer_id, "member_id": self.member_id, "full_name": self.full_name}


@dataclass
class ShownState:
    """The presence and quorum a join ack just carried, computed once for the ack and the push: the
    push after the join reuses it while nothing has changed since, and skips the connections whose
    ack carried it (issue 22: the state was built twice per join and sent back to the joiner)."""

    snapshot: Snapshot | None = None
    recorded: int = -1
    state: RoomState | None = None
    told: list[str] = field(default_factory=list)

    def acked(self, snapshot: Snapshot, recorded: int, state: RoomState, sid: str) -> None:
        """A join ack carried `state`, the view's as of `recorded` room events."""
        if self.snapshot is not snapshot or self.recorded != recorded:
            self.snapshot, self.recorded, self.told = snapshot, recorded, []
        self.state = state
        self.told.append(sid)

    def take(self, snapshot: Snapshot, recorded: int) -> tuple[RoomState | None, list[str]]:
        """For a push: the acked state and who had it, if nothing changed since; then forgotten."""
        fresh = self.snapshot is snapshot and self.recorded == recorded
        found = (self.state, self.told) if fresh else (None, [])
        self.snapshot, self.state, self.told = None, None, []
        return found


@dataclass
class Room:
    meeting_id: int
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    peers: dict[str, Peer] = field(default_factory=dict)  # by sid
    hands: dict[int, tuple[str, datetime]] = field(
        default_factory=dict
    )  # member -> (name, raised at), in order
    cameras: list[int] = field(default_factory=list)  # members sending video, in order
    pending_leaves: dict[int, asyncio.Task[None]] = field(default_factory=dict)
    grace_seconds: float = 120.0  # the rule set's disconnect grace (R-ATT-2), set at each join
    snapshot: Snapshot | None = None
    snapshot_at: float = -math.inf  # event-loop time of its loading
    # Bumped by each invalidation: a view whose loading overlapped one may predate the change.
    snapshot_generation: int = 0
    last_push: float = -math.inf
    push_scheduled: bool = False
    # The presence events this room committed, numbered: a view read outside the lock takes those
    # committed after its read began (hub.refresh). Only the latest RECORDED_KEPT are kept.
    recorded: list[tuple[int, PresenceEvent]] = field(default_factory=list)
    recorded_count: int = 0
    rereading: bool = False  # an old view is being read again in the background
    shown: ShownState = field(default_factory=lambda: ShownState())
    # A split into groups (server.services.breakout): its state as the REST API shows it, and who is
    # in which group. Read from the database at the room's first join, then set by every change.
    breakout_loaded: bool = False
    breakout: dict[str, Any] | None = None
    breakout_ends_at: datetime | None = None
    group_of: dict[int, int] | None = None

    def record(self, member_id: int, kind: EventKind, at: datetime) -> None:
        """A presence event this room has just committed: into its view, and into the numbered list
        a view being read outside the lock is completed from."""
        event = PresenceEvent(member_id, kind, at)
        if self.snapshot is not None:
            self.snapshot.situation.events.append(event)
        self.recorded_count += 1
        self.recorded.append((self.recorded_count, event))
        if len(self.recorded) > 2 * RECORDED_KEPT:
            del self.recorded[:-RECORDED_KEPT]

    def may_meet(self, a: Peer, b: Peer) -> bool:
        """Whether two connections may signal each other (always, unless the meeting is split)."""
        return may_meet(self.group_of, a.member_id, b.member_id)

    def breakout_view(self, peer: Peer, at: datetime) -> dict[str, Any] | None:
        """The split as this connection sees it at `at`: its own group, the peers it meets, and the
        seconds left (devices count down from these: their own clocks may be wrong)."""
        if self.breakout is None or self.breakout_ends_at is None:
            return None
        mine = self.group_of.get(peer.member_id) if self.group_of is not None else None
        peers = [p.json() for p in self.peers.values() if p.sid != peer.sid and self.may_meet(peer, p)]
        left = max(0, int((self.breakout_ends_at - at).total_seconds()))
        return {**self.breakout, "remaining_seconds": left, "mine": mine, "peers": peers}

    def sids_of(self, member_id: int) -> list[str]:
        return [sid for sid, peer in self.peers.items() if peer.member_id == member_id]

    def peer(self, peer_id: str) -> Peer | None:
        return next((p for p in self.peers.values() if p.peer_id == peer_id), None)

    def hands_json(self) -> dict[str, Any]:
        return {
            "hands": [
                {"member_id": member_id, "full_name": name, "raised_at": iso(at)}
                for member_id, (name, at) in self.hands.items()
            ]
        }

    def cameras_json(self, max_cameras: int) -> dict[str, Any]:
        return {"member_ids": list(self.cameras), "max_cameras": max_cameras}
