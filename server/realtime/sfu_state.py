"""What the SFU relay keeps about each meeting (its media mode, its Janus room, the connections' handles)
and the refusals it answers with."""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, field

from meetings.decision import Text
from meetings.topology import Reason, Topology
from server.errors import ApiError
from server.media.sfu import RoomKeys, SfuError, SfuUnavailable
from server.realtime.live_room import Peer


@dataclass
class Handles:
    """One connection's handles in Janus."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    publisher: int | None = None
    feed: int | None = None  # its publisher id in the videoroom
    subscriber: int | None = None
    subscribed: set[int] = field(default_factory=set)  # feeds
    video_mids: set[str] = field(default_factory=set)  # the subscriber's video streams
    gone: bool = False  # the connection left: handles made after it are detached at once


@dataclass
class MeetingMedia:
    mode: Topology = Topology.MESH
    reason: Reason = Reason.BELOW_SFU_SIZE
    keys: RoomKeys | None = None
    switching: asyncio.Task[None] | None = None
    down_until: float = -math.inf  # loop time before which Janus is not asked to make the room again
    handles: dict[str, Handles] = field(default_factory=dict)  # by sid
    live: dict[int, Peer] = field(default_factory=dict)  # feed -> its publisher, once media flows
    low_bandwidth: set[str] = field(default_factory=set)  # connections that asked for it (by sid)
    feeds_due: bool = False  # an `sfu-feeds` push waits for the end of its interval
    feeds_told_at: float = -math.inf  # loop time of the last one
    # How its Janus room was made (to make it again, the same, when Janus comes back).
    publishers: int = 0
    max_cameras: int = 0
    # Janus was lost while the room was on it: handles and feeds are gone, negotiation is refused
    # until the room is made again; `stale` handles are detached then (a Janus that only stopped
    # answering for a moment still has them).
    lost: bool = False
    stale: list[int] = field(default_factory=list)


def not_sfu() -> ApiError:
    return ApiError(
        409,
        "not_sfu",
        Text(
            "Phòng họp đang kết nối trực tiếp giữa các thành viên (không qua máy chủ truyền thông).",
            "The meeting room is a direct mesh between members (not on the media server).",
        ),
    )


def janus_lost() -> ApiError:
    return unavailable(SfuUnavailable(None, "Janus was lost; the room waits for it"))


def unavailable(exc: SfuError) -> ApiError:
    return ApiError(
        503,
        "sfu_unavailable",
        Text(
            "Máy chủ truyền thông không trả lời; hãy thử lại sau giây lát.",
            "The media server does not answer; try again in a moment.",
        ),
        details={"janus_code": exc.code},
    )


def no_handle(target: str) -> ApiError:
    return ApiError(
        409,
        "no_sfu_handle",
        Text("Chưa có kết nối này tới máy chủ truyền thông.", "No such connection to the media server yet."),
        details={"target": target},
    )
