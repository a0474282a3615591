"""Attendance of a meeting still in progress (R-ATT-2, issue 18 item 3): shown as the close will record
it, a member connected now is present or late, never absent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meetings.attendance import EventKind, PresenceEvent, attendance
from meetings.enums import AttendanceStatus
from meetings.rulesets import HD03_2022

T0 = datetime(2026, 3, 2, 19, 0, tzinfo=UTC)  # the opening, which is the attendance call
MIN = 60
HOUR = 3600
J, L, CI, CO = EventKind.JOIN, EventKind.LEAVE, EventKind.CHECKIN, EventKind.CHECKOUT
P, LATE = AttendanceStatus.PRESENT, AttendanceStatus.LATE
LEFT, AX, AU = AttendanceStatus.LEFT_EARLY, AttendanceStatus.ABSENT_EXCUSED, AttendanceStatus.ABSENT_UNEXCUSED


def _t(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def _status(
    spec: list[tuple[EventKind, float]], now: float, *, excused: bool, in_progress: bool
) -> AttendanceStatus:
    events = [PresenceEvent(1, kind, _t(at)) for kind, at in spec]
    result = attendance(
        [1],
        events,
        frozenset({1}) if excused else frozenset(),
        T0,
        _t(now),
        HD03_2022,
        T0,
        in_progress=in_progress,
    )
    return result[1].status


@pytest.mark.parametrize(
    ("spec", "now", "excused", "live", "closed_now"),
    [
        pytest.param(
            [(J, 2 * MIN)], 2 * MIN, False, P, AU, id="joined 2 min after the opening, this instant"
        ),
        pytest.param([(J, 2 * MIN)], 3 * MIN, False, P, AU, id="joined 2 min after, 1 of 3 min connected"),
        pytest.param([(J, 2 * MIN)], 30 * MIN, False, P, P, id="joined 2 min after, by time too"),
        pytest.param([(J, 15 * MIN)], 16 * MIN, False, P, AU, id="joined 15 min after exactly: not late"),
        pytest.param([(J, 16 * MIN)], 16 * MIN, False, LATE, AU, id="joined 16 min after: late"),
        pytest.param([(J, 16 * MIN)], 17 * MIN, False, LATE, AU, id="joined 16 min after, a minute on: late"),
        pytest.param([(J, 50 * MIN)], 60 * MIN, False, LATE, AU, id="very late, still connected: late"),
        pytest.param([(CI, 5 * MIN)], 6 * MIN, False, P, AU, id="checked in on site 5 min after"),
        pytest.param([(J, 5 * MIN)], 6 * MIN, True, P, AX, id="excused but came: present"),
        pytest.param([(J, -MIN)], 0, False, P, P, id="in the room at the opening (the call)"),
        pytest.param(
            [(J, 2 * MIN), (L, 3 * MIN)], 13 * MIN, False, AU, AU, id="came briefly and left: absent by time"
        ),
        pytest.param(
            [(J, 2 * MIN), (L, 3 * MIN)], 13 * MIN, True, AX, AX, id="came briefly, left, excused: excused"
        ),
        pytest.param(
            [(J, 2 * MIN), (L, 3 * MIN), (J, 10 * MIN)],
            11 * MIN,
            False,
            P,
            AU,
            id="came, left beyond the grace, back: judged from the first coming",
        ),
        pytest.param(
            [(J, 20 * MIN), (L, 21 * MIN), (J, 30 * MIN)],
            31 * MIN,
            False,
            LATE,
            AU,
            id="first came 20 min after, back now: late",
        ),
        pytest.param(
            [(J, -MIN), (L, 30 * MIN)], 60 * MIN, False, LEFT, LEFT, id="at the call, gone 30 min: left early"
        ),
        pytest.param([], 10 * MIN, False, AU, AU, id="never came"),
        pytest.param([], 10 * MIN, True, AX, AX, id="never came, excused"),
    ],
)
def test_status_while_in_progress(
    spec: list[tuple[EventKind, float]],
    now: float,
    excused: bool,
    live: AttendanceStatus,
    closed_now: AttendanceStatus,
) -> None:
    assert _status(spec, now, excused=excused, in_progress=True) is live
    # Without the projection (a meeting that ended at `now`) only the time so far counts.
    assert _status(spec, now, excused=excused, in_progress=False) is closed_now


def test_a_member_who_just_joined_has_no_time_yet_but_a_first_presence() -> None:
    events = [PresenceEvent(1, J, _t(2 * MIN))]
    member = attendance([1], events, frozenset(), T0, _t(2 * MIN), HD03_2022, T0, in_progress=True)[1]
    assert member.status is P
    assert member.intervals == [] and member.present_seconds == 0
    assert member.first_present == _t(2 * MIN)


@settings(max_examples=200)
@given(
    st.integers(min_value=0, max_value=HOUR // 2),
    st.integers(min_value=0, max_value=HOUR),
    st.booleans(),
)
def test_the_live_status_of_who_stays_is_the_status_at_the_close(
    joined_at: int, seen_at: int, excused: bool
) -> None:
    """Who joins within the first half of a one-hour meeting and stays to its close is shown, at any
    moment after joining, with the status the close records."""
    now = max(joined_at, seen_at)
    live = _status([(J, joined_at)], now, excused=excused, in_progress=True)
    at_close = _status([(J, joined_at), (L, HOUR)], HOUR, excused=excused, in_progress=False)
    assert live is at_close
    assert live in (P, LATE)
