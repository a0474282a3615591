"""The room's budgets (server.realtime.guard) and depth-capped JSON (server.realtime.safe_json), table-tested
with a clock the test moves."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.realtime import safe_json
from server.realtime.guard import RoomGuard, RoomLimits

LIMITS = RoomLimits(
    events_per_second=20.0,
    event_burst=100,
    cooldown_seconds=30.0,
    connections_per_user=6,
    refused_join_cost=10,
    malformed_frame_cost=10,
    malformed_frames_max=3,
    connects_per_address_per_second=2.0,
    connect_burst_per_address=60,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_budget_is_the_users_and_tripping_it_cools_them_down() -> None:
    clock = Clock()
    guard = RoomGuard(LIMITS, clock)
    assert all(guard.spend(7) for _ in range(100))  # the burst
    assert not guard.spend(7)  # the 101st trips it
    assert guard.cooling(7) == pytest.approx(30.0)
    clock.now += 29.0
    assert not guard.spend(7)  # still cooling, whatever the connection
    assert guard.spend(8)  # another user is untouched
    clock.now += 1.5
    assert guard.cooling(7) == 0.0 and guard.spend(7)


@pytest.mark.parametrize(
    ("seconds", "allowed"),
    [(0.0, 100), (1.0, 120), (5.0, 200)],
)
def test_at_most_the_burst_plus_the_rate(seconds: float, allowed: int) -> None:
    clock = Clock()
    guard = RoomGuard(LIMITS, clock)
    taken = 0
    steps = 1000
    for step in range(steps + 1):
        clock.now = 1000.0 + seconds * step / steps
        while guard.cooling(1) == 0.0 and guard.spend(1):
            taken += 1
        if guard.cooling(1):
            break
    assert taken <= allowed + 1


def test_costs_weigh_on_the_budget() -> None:
    guard = RoomGuard(LIMITS, Clock())
    assert all(guard.spend(1, 10) for _ in range(10))
    assert not guard.spend(1, 10)


def test_connections_per_user() -> None:
    guard = RoomGuard(LIMITS, Clock())
    assert all(guard.connect(1, f"s{i}") for i in range(6))
    assert not guard.connect(1, "s6")
    guard.disconnect(1, "s0")
    assert guard.connect(1, "s6")
    assert sorted(guard.sids_of(1)) == sorted(f"s{i}" for i in range(1, 7))


def test_connection_attempts_per_address() -> None:
    clock = Clock()
    guard = RoomGuard(LIMITS, clock)
    assert all(guard.admit_address("10.0.0.1") for _ in range(60))
    assert not guard.admit_address("10.0.0.1")
    assert guard.admit_address("10.0.0.2")
    assert guard.address_retry_after("10.0.0.1") == 1
    clock.now += 0.5
    assert guard.admit_address("10.0.0.1")


def test_a_cooling_users_browser_session_is_known_without_the_database() -> None:
    guard = RoomGuard(LIMITS, Clock())
    guard.remember_session("session-hash", 5)
    assert guard.session_cooling("session-hash") == 0.0
    while guard.spend(5):
        pass
    assert guard.session_cooling("session-hash") > 0.0
    assert guard.session_cooling("unknown") == 0.0


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        ("{}", 1),
        ('["hand",{"raised":true}]', 2),
        ('["signal",{"candidate":"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}]', 2),  # inside a string
        ('["x","\\"[[[[["]', 1),  # an escaped quote does not end the string
        ("[" * 40 + "]" * 40, 40),
    ],
)
def test_nesting_depth(text: str, depth: int) -> None:
    assert safe_json.nesting_depth(text) == depth


def test_deep_json_is_refused_and_shallow_json_reads_as_usual() -> None:
    with pytest.raises(safe_json.TooDeep):
        safe_json.loads("[" * 20_000 + "]" * 20_000)
    with pytest.raises(ValueError):
        safe_json.loads("[" * 33 + "]" * 33)
    assert safe_json.loads("[" * 32 + "]" * 32) is not None
    assert safe_json.loads(b'{"a": [1, 2]}') == {"a": [1, 2]}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=30,
)


@given(json_values)
def test_whatever_json_of_modest_depth_reads_back(value: object) -> None:
    text = json.dumps(value)
    if safe_json.nesting_depth(text) <= safe_json.MAX_DEPTH:
        assert safe_json.loads(text) == value
