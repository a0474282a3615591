"""The room's media topology (meetings.topology, issue 20): mesh below the size, SFU from it on, never
back; no SFU configured or an SFU down keeps the mesh."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meetings.topology import Reason, Topology, choose

MESH, SFU = Topology.MESH, Topology.SFU


@pytest.mark.parametrize(
    ("current", "connected", "min_peers", "sfu_down", "mode", "reason"),
    [
        (MESH, 40, None, False, MESH, Reason.SFU_NOT_CONFIGURED),
        (MESH, 1, 6, False, MESH, Reason.BELOW_SFU_SIZE),
        (MESH, 5, 6, False, MESH, Reason.BELOW_SFU_SIZE),
        (MESH, 6, 6, False, SFU, Reason.ROOM_SIZE),
        (MESH, 7, 6, False, SFU, Reason.ROOM_SIZE),
        (MESH, 6, 6, True, MESH, Reason.SFU_UNAVAILABLE),
        (MESH, 5, 6, True, MESH, Reason.BELOW_SFU_SIZE),
        (SFU, 2, 6, False, SFU, Reason.ROOM_SIZE),  # members left: it stays
        (SFU, 0, 6, True, SFU, Reason.ROOM_SIZE),
    ],
)
def test_the_topology_table(
    current: Topology, connected: int, min_peers: int | None, sfu_down: bool, mode: Topology, reason: Reason
) -> None:
    decision = choose(current=current, connected=connected, min_peers=min_peers, sfu_down=sfu_down)
    assert (decision.mode, decision.reason) == (mode, reason)


@given(
    counts=st.lists(st.integers(min_value=0, max_value=60), min_size=1, max_size=40),
    min_peers=st.integers(min_value=2, max_value=50),
)
def test_no_flapping(counts: list[int], min_peers: int) -> None:
    """Whatever the comings and goings, the room moves to the SFU at most once, at the first count
    that reaches the size, and never moves back."""
    mode = MESH
    switches = 0
    for connected in counts:
        decided = choose(current=mode, connected=connected, min_peers=min_peers, sfu_down=False).mode
        switches += decided is not mode
        mode = decided
    assert switches <= 1
    assert (mode is SFU) == any(count >= min_peers for count in counts)


@pytest.mark.parametrize(
    ("current", "connected", "min_peers", "sfu_down", "mode", "reason"),
    [
        (MESH, 2, None, False, MESH, Reason.SFU_NOT_CONFIGURED),  # nothing to move to
        (MESH, 2, 6, False, SFU, Reason.LOW_BANDWIDTH),  # one upload instead of one per member
        (MESH, 1, 6, False, SFU, Reason.LOW_BANDWIDTH),
        (MESH, 2, 6, True, MESH, Reason.SFU_UNAVAILABLE),
        (MESH, 6, 6, False, SFU, Reason.ROOM_SIZE),  # the size alone would have moved it
    ],
)
def test_a_member_on_low_bandwidth_moves_a_small_room_to_the_sfu(
    current: Topology, connected: int, min_peers: int | None, sfu_down: bool, mode: Topology, reason: Reason
) -> None:
    decision = choose(
        current=current, connected=connected, min_peers=min_peers, sfu_down=sfu_down, low_bandwidth=True
    )
    assert (decision.mode, decision.reason) == (mode, reason)


def test_the_room_keeps_the_reason_it_moved_for() -> None:
    kept = choose(current=SFU, connected=1, min_peers=6, sfu_down=False, current_reason=Reason.LOW_BANDWIDTH)
    assert (kept.mode, kept.reason) == (SFU, Reason.LOW_BANDWIDTH)
