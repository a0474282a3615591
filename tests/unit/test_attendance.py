"""Attendance: presence intervals and statuses (R-ATT-2)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from meetings.attendance import (
    EventKind,
    Interval,
    PresenceEvent,
    attendance,
    attendance_counts,
    intervals,
)
from meetings.enums import AttendanceStatus
from meetings.rulesets import HD03_2022

T0 = datetime(2026, 3, 2, 19, 0, tzinfo=UTC)
HOUR = 3600
J, L, CI, CO = EventKind.JOIN, EventKind.LEAVE, EventKind.CHECKIN, EventKind.CHECKOUT


def _t(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def _events(*spec: tuple[EventKind, float], member: int = 1) -> list[PresenceEvent]:
    return [PresenceEvent(member, kind, _t(at)) for kind, at in spec]


def _spans(result: list[Interval]) -> list[tuple[float, float | None]]:
    return [
        ((i.start - T0).total_seconds(), None if i.end is None else (i.end - T0).total_seconds())
        for i in result
    ]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        pytest.param([(J, 0), (L, 600)], [(0, 600)], id="R-ATT-2 a single interval"),
        pytest.param([(J, 0)], [(0, None)], id="R-ATT-2 still connected is an open interval"),
        pytest.param([(J, 0), (L, 600), (J, 660), (L, 900)], [(0, 900)], id="R-ATT-2 a 60 s drop is one"),
        pytest.param(
            [(J, 0), (L, 600), (J, 721), (L, 900)], [(0, 600), (721, 900)], id="R-ATT-2 a 121 s drop is two"
        ),
        pytest.param(
            [(J, 0), (L, 600), (J, 720), (L, 900)],
            [(0, 600), (720, 900)],
            id="R-ATT-2 exactly 120 s is not shorter than 120 s, so an absence",
        ),
        pytest.param(
            [(J, 0), (L, 600), (J, 719.999), (L, 900)], [(0, 900)], id="R-ATT-2 just under 120 s is one"
        ),
        pytest.param(
            [(J, 0), (J, 300), (L, 600)], [(0, 600)], id="R-ATT-2 a duplicate join while present is ignored"
        ),
        pytest.param(
            [(L, 0), (J, 100), (L, 600), (L, 700)],
            [(100, 600)],
            id="R-ATT-2 a leave without a join is ignored",
        ),
        pytest.param(
            [(CI, 0), (J, 300), (L, 900), (CO, 1200)],
            [(0, 1200)],
            id="R-ATT-2 checkin and online overlap merge",
        ),
        pytest.param(
            [(J, 0), (CI, 500), (L, 600), (CO, 1200), (J, 1500)],
            [(0, 1200), (1500, None)],
            id="R-ATT-2 present while either online or on site",
        ),
        pytest.param([(CI, 0)], [(0, None)], id="R-ATT-2 checkin counts until the end"),
        pytest.param(
            [(J, 600), (L, 900), (J, 0), (L, 300)], [(0, 300), (600, 900)], id="R-ATT-2 events are sorted"
        ),
    ],
)
def test_intervals(spec: list[tuple[EventKind, float]], expected: list[tuple[float, float | None]]) -> None:
    result = intervals(_events(*spec), HD03_2022)
    assert _spans(result[1]) == expected


def test_intervals_are_per_member() -> None:
    events = _events((J, 0), (L, 100)) + _events((J, 50), member=2)
    result = intervals(events, HD03_2022)
    assert _spans(result[1]) == [(0, 100)]
    assert _spans(result[2]) == [(50, None)]


@pytest.mark.parametrize(
    ("spec", "call", "excused", "status"),
    [
        pytest.param([(J, 0), (L, HOUR)], None, False, AttendanceStatus.PRESENT, id="R-ATT-2 whole meeting"),
        pytest.param(
            [(J, 0), (L, HOUR)],
            None,
            True,
            AttendanceStatus.PRESENT,
            id="R-ATT-2 excused but came is present",
        ),
        pytest.param(
            [(J, 900), (L, 900 + 1800)],
            None,
            False,
            AttendanceStatus.PRESENT,
            id="R-ATT-2 exactly 50% of the duration is present",
        ),
        pytest.param(
            [(J, 900), (L, 900 + 0.49 * HOUR)],
            None,
            False,
            AttendanceStatus.ABSENT_UNEXCUSED,
            id="R-ATT-2 49% of the duration is absent",
        ),
        pytest.param(
            [(J, 0), (L, 300), (J, HOUR - 300)],
            100,
            False,
            AttendanceStatus.PRESENT,
            id="R-ATT-2 present at the attendance call with little time is present",
        ),
        pytest.param(
            [(J, 900), (L, 1000)],
            950,
            False,
            AttendanceStatus.LEFT_EARLY,
            id="R-ATT-2 present at the call, then gone, is present but left early",
        ),
        pytest.param(
            [(J, 900), (L, 1000)],
            1000,
            False,
            AttendanceStatus.ABSENT_UNEXCUSED,
            id="R-ATT-2 gone at the instant of the call is not present at it",
        ),
        pytest.param(
            [(J, 16 * 60), (L, HOUR)], None, False, AttendanceStatus.LATE, id="R-ATT-2 late at 16 min"
        ),
        pytest.param(
            [(J, 15 * 60), (L, HOUR)],
            None,
            False,
            AttendanceStatus.PRESENT,
            id="R-ATT-2 15 min exactly is not late",
        ),
        pytest.param(
            [(J, 0), (L, HOUR - 16 * 60)], None, False, AttendanceStatus.LEFT_EARLY, id="R-ATT-2 left early"
        ),
        pytest.param(
            [(J, 0), (L, HOUR - 15 * 60)],
            None,
            False,
            AttendanceStatus.PRESENT,
            id="R-ATT-2 leaving 15 min exactly before the end is not early",
        ),
        pytest.param(
            [(J, 16 * 60), (L, HOUR - 16 * 60)],
            1200,
            False,
            AttendanceStatus.LATE,
            id="R-ATT-2 late and left early is late",
        ),
        pytest.param([], None, True, AttendanceStatus.ABSENT_EXCUSED, id="R-ATT-2 excused absence"),
        pytest.param([], None, False, AttendanceStatus.ABSENT_UNEXCUSED, id="R-ATT-2 unexcused absence"),
        pytest.param(
            [(J, 0), (L, 600)],
            None,
            True,
            AttendanceStatus.ABSENT_EXCUSED,
            id="R-ATT-2 excused, came briefly",
        ),
        pytest.param(
            [(J, -600), (L, 1200)],
            None,
            False,
            AttendanceStatus.ABSENT_UNEXCUSED,
            id="R-ATT-2 time before the start does not count",
        ),
    ],
)
def test_status(
    spec: list[tuple[EventKind, float]], call: float | None, excused: bool, status: AttendanceStatus
) -> None:
    result = attendance(
        [1],
        _events(*spec),
        frozenset({1}) if excused else frozenset(),
        T0,
        _t(HOUR),
        HD03_2022,
        None if call is None else _t(call),
    )
    assert result[1].status is status


def test_member_with_no_events() -> None:
    result = attendance([1, 2], _events((J, 0)), frozenset({2}), T0, _t(HOUR), HD03_2022)
    member = result[2]
    assert member.status is AttendanceStatus.ABSENT_EXCUSED
    assert member.intervals == [] and member.present_seconds == 0
    assert member.first_present is None and member.last_present is None


def test_details_and_ongoing_meeting() -> None:
    events = _events((J, -300), (L, 600), (J, 660)) + _events((J, 100), member=9)
    result = attendance([1], events, frozenset(), T0, _t(1200), HD03_2022)
    assert set(result) == {1}
    member = result[1]
    assert member.status is AttendanceStatus.PRESENT
    assert _spans(member.intervals) == [(0, 1200)]
    assert member.present_seconds == 1200
    assert member.first_present == T0 and member.last_present == _t(1200)


def test_counts() -> None:
    events = _events((J, 0)) + _events((J, 20 * 60), member=2) + _events((J, 0), (L, 1800), member=3)
    result = attendance([1, 2, 3, 4, 5], events, frozenset({4}), T0, _t(HOUR), HD03_2022)
    assert attendance_counts(result) == {
        "present": 1,
        "late": 1,
        "left_early": 1,
        "absent_excused": 1,
        "absent_unexcused": 1,
        "present_total": 3,
    }


def test_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        PresenceEvent(1, J, datetime(2026, 3, 2))
    with pytest.raises(ValueError):
        attendance([1], [], frozenset(), _t(10), T0, HD03_2022)
    with pytest.raises(ValueError):
        attendance([1], [], frozenset(), T0, _t(10), HD03_2022, _t(20))


def test_zero_length_meeting_has_nobody_present_by_time() -> None:
    result = attendance([1], _events((J, -10)), frozenset(), T0, T0, HD03_2022)
    assert result[1].status is AttendanceStatus.ABSENT_UNEXCUSED


# --- properties -------------------------------------------------------------------------------

MEMBERS = (1, 2, 3)
_offsets = st.integers(min_value=-600, max_value=HOUR + 600)
_event = st.builds(
    lambda member, kind, at: PresenceEvent(member, kind, _t(at)),
    st.sampled_from(MEMBERS),
    st.sampled_from(list(EventKind)),
    _offsets,
)
_online_event = st.builds(
    lambda member, kind, at: PresenceEvent(member, kind, _t(at)),
    st.sampled_from(MEMBERS),
    st.sampled_from([J, L]),
    _offsets,
)
_call = st.none() | st.integers(min_value=0, max_value=HOUR).map(_t)


@settings(max_examples=200)
@given(st.lists(_event, max_size=30))
def test_intervals_sorted_and_disjoint(events: list[PresenceEvent]) -> None:
    for member_intervals in intervals(events, HD03_2022).values():
        for i in member_intervals:
            assert i.end is None or i.start < i.end
        for before, after in zip(member_intervals, member_intervals[1:], strict=False):
            assert before.end is not None
            assert before.end < after.start


@settings(max_examples=200)
@given(st.lists(_event, max_size=30), _call)
def test_present_seconds_within_duration(events: list[PresenceEvent], call: datetime | None) -> None:
    result = attendance(MEMBERS, events, frozenset({2}), T0, _t(HOUR), HD03_2022, call)
    assert set(result) == set(MEMBERS)
    for member in result.values():
        assert 0 <= member.present_seconds <= HOUR
    assert sum(m.present_seconds for m in result.values()) <= len(MEMBERS) * HOUR
    counts = attendance_counts(result)
    assert counts["present_total"] + counts["absent_excused"] + counts["absent_unexcused"] == len(MEMBERS)


@settings(max_examples=200)
@given(st.lists(_online_event, max_size=20), _offsets, _call, st.data())
def test_short_drop_inside_an_interval_changes_nothing(
    events: list[PresenceEvent], first_join: int, call: datetime | None, data: st.DataObject
) -> None:
    """R-ATT-2: a leave then a join less than the grace later, inside a presence interval."""
    events = [*events, PresenceEvent(1, J, _t(first_join))]
    before = attendance(MEMBERS, events, frozenset(), T0, _t(HOUR), HD03_2022, call)
    merged = intervals(events, HD03_2022)[1]
    assume(merged)
    chosen = data.draw(st.sampled_from(merged))
    end = chosen.end or _t(HOUR + 1200)
    # Place the drop between two consecutive event instants of the member, strictly inside.
    instants = sorted({e.at for e in events if e.member_id == 1 and chosen.start < e.at < end})
    points = [chosen.start, *instants, end]
    index = data.draw(st.integers(min_value=0, max_value=len(points) - 2))
    low, high = points[index], points[index + 1]
    room_us = (high - low) // timedelta(microseconds=1)
    assume(room_us >= 3)
    grace_us = HD03_2022.disconnect_grace_seconds * 1_000_000
    start_us = data.draw(st.integers(min_value=1, max_value=room_us - 2))
    length_us = data.draw(st.integers(min_value=1, max_value=min(grace_us - 1, room_us - start_us - 1)))
    leave_at = low + timedelta(microseconds=start_us)
    join_at = leave_at + timedelta(microseconds=length_us)
    assert chosen.start < leave_at < join_at < end
    after_events = [*events, PresenceEvent(1, L, leave_at), PresenceEvent(1, J, join_at)]
    after = attendance(MEMBERS, after_events, frozenset(), T0, _t(HOUR), HD03_2022, call)
    assert {m: a.status for m, a in after.items()} == {m: a.status for m, a in before.items()}
    assert intervals(after_events, HD03_2022)[1] == merged
