"""Which media topology a meeting's room uses (issue 20), decided on the server from plain facts.

A room is a browser mesh while it is small; once `min_peers` members are connected it moves to the
SFU, and stays there until the meeting closes: members on phones renegotiating back and forth as
people come and go would lose audio each time, and a room that once reached the size is likely to
reach it again (docs/decisions.md "SFU switch without hysteresis"). A member who asks for low
bandwidth (issue 24) moves a smaller room too: on the SFU they upload once instead of once per member.
Without an SFU configured the room is always a mesh; an SFU that does not answer leaves it a mesh
until it does.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Topology(StrEnum):
    MESH = "mesh"
    SFU = "sfu"


class Reason(StrEnum):
    SFU_NOT_CONFIGURED = "sfu_not_configured"
    BELOW_SFU_SIZE = "below_sfu_size"
    SFU_UNAVAILABLE = "sfu_unavailable"
    ROOM_SIZE = "room_size"
    LOW_BANDWIDTH = "low_bandwidth"


@dataclass(frozen=True)
class Decision:
    mode: Topology
    reason: Reason


def choose(
    *,
    current: Topology,
    connected: int,
    min_peers: int | None,
    sfu_down: bool,
    low_bandwidth: bool = False,
    current_reason: Reason = Reason.ROOM_SIZE,
) -> Decision:
    """The room's topology now. `min_peers` is None when no SFU is configured; `connected` counts
    the members connected to the room (a member on two devices counts once); `low_bandwidth`: a
    member connected now asked for it. Once on the SFU the room keeps its reason (`current_reason`)."""
    if min_peers is None:
        return Decision(Topology.MESH, Reason.SFU_NOT_CONFIGURED)
    if current is Topology.SFU:
        return Decision(Topology.SFU, current_reason)  # no flapping: it stays until the close
    if connected < min_peers and not low_bandwidth:
        return Decision(Topology.MESH, Reason.BELOW_SFU_SIZE)
    if sfu_down:
        return Decision(Topology.MESH, Reason.SFU_UNAVAILABLE)
    return Decision(Topology.SFU, Reason.ROOM_SIZE if connected >= min_peers else Reason.LOW_BANDWIDTH)
