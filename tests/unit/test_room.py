"""The live room's rules without a server: admission, places, the close, the quorum now, the window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meetings.attendance import EventKind, PresenceEvent
from meetings.enums import Activity, AttendanceStatus, MeetingMode, MeetingStatus, Standing
from meetings.register import MemberFacts
from meetings.room import (
    NOWHERE,
    Door,
    Place,
    Presence,
    Refusal,
    Timing,
    admission,
    attendance_at,
    attendance_window,
    changes_place,
    closing_events,
    current_states,
    place_of,
    present_now,
    quorum_decision,
)
from meetings.rulesets import HD03_2022

T0 = datetime(2026, 3, 2, 19, 0, tzinfo=UTC)
J, L, CI, CO = EventKind.JOIN, EventKind.LEAVE, EventKind.CHECKIN, EventKind.CHECKOUT
SCH, OPN, CLS, CNC = (
    MeetingStatus.SCHEDULED,
    MeetingStatus.OPEN,
    MeetingStatus.CLOSED,
    MeetingStatus.CANCELLED,
)
ONLINE, HYBRID, IN_PERSON = MeetingMode.ONLINE, MeetingMode.HYBRID, MeetingMode.IN_PERSON


def _t(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def _ev(member: int, kind: EventKind, minutes: float) -> PresenceEvent:
    return PresenceEvent(member, kind, _t(minutes))


@pytest.mark.parametrize(
    ("door", "activity", "expected"),
    [
        pytest.param(
            Door(SCH, ONLINE, True), Activity.ACTIVE, None, id="a summoned member enters a scheduled room"
        ),
        pytest.param(
            Door(OPN, HYBRID, True), Activity.EXEMPT, None, id="an exempt member may attend (R-BASE-2)"
        ),
        pytest.param(Door(OPN, ONLINE, True), None, Refusal.NOT_SUMMONED, id="not summoned"),
        pytest.param(
            Door(CLS, IN_PERSON, False), None, Refusal.NOT_SUMMONED, id="not summoned is said first"
        ),
        pytest.param(Door(OPN, ONLINE, True), Activity.SUSPENDED, Refusal.SUSPENDED, id="R-BASE-1 suspended"),
        pytest.param(
            Door(CNC, ONLINE, False), Activity.SUSPENDED, Refusal.SUSPENDED, id="suspended before cancelled"
        ),
        pytest.param(Door(CNC, ONLINE, True), Activity.ACTIVE, Refusal.CANCELLED, id="a cancelled meeting"),
        pytest.param(
            Door(CNC, IN_PERSON, False), Activity.ACTIVE, Refusal.CANCELLED, id="cancelled before mode"
        ),
        pytest.param(Door(CLS, ONLINE, True), Activity.ACTIVE, Refusal.CLOSED, id="a closed meeting"),
        pytest.param(Door(CLS, ONLINE, False), Activity.ACTIVE, Refusal.CLOSED, id="closed before approval"),
        pytest.param(
            Door(SCH, IN_PERSON, True), Activity.ACTIVE, Refusal.IN_PERSON, id="in person has no room"
        ),
        pytest.param(
            Door(OPN, HYBRID, False), Activity.ACTIVE, Refusal.NOT_APPROVED, id="R-ELIG-6 no approval"
        ),
    ],
)
def test_admission(door: Door, activity: Activity | None, expected: Refusal | None) -> None:
    assert admission(door, activity) is expected


def test_refusals_cite_their_rules_and_codes() -> None:
    assert Refusal.SUSPENDED.rule == "R-BASE-1"
    assert Refusal.NOT_APPROVED.rule == "R-ELIG-6"
    assert Refusal.CLOSED.rule is None
    assert [r.value for r in Refusal][:5] == [
        "not_a_member",
        "member_suspended",
        "meeting_cancelled",
        "meeting_closed",
        "not_online",
    ]


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        pytest.param([], NOWHERE, id="no event: nowhere"),
        pytest.param([(J, 0)], Place(True, False), id="joined"),
        pytest.param([(J, 0), (L, 5)], NOWHERE, id="joined then left"),
        pytest.param([(CI, 0), (J, 1)], Place(True, True), id="on site and online at once"),
        pytest.param([(CI, 0), (CO, 3), (J, 4)], Place(True, False), id="checked out then joined"),
        pytest.param([(J, 0), (J, 1), (L, 2)], NOWHERE, id="the last online event decides"),
    ],
)
def test_place_after_events(events: list[tuple[EventKind, float]], expected: Place) -> None:
    stored = [_ev(7, kind, at) for kind, at in events]
    assert place_of(stored, 7) == expected
    assert place_of(stored, 8) == NOWHERE


@pytest.mark.parametrize(
    ("events", "kind", "changes"),
    [
        pytest.param([], J, True, id="a first join is written"),
        pytest.param([(J, 0)], J, False, id="a join of a member online is not (reconnect after restart)"),
        pytest.param([(J, 0)], L, True, id="a leave of a member online is"),
        pytest.param([], L, False, id="a leave of a member not online is not"),
        pytest.param([(J, 0)], CI, True, id="a check-in of a member online is"),
        pytest.param([(CI, 0)], CI, False, id="a second check-in is not"),
        pytest.param([(CI, 0), (CO, 1)], CO, False, id="a second check-out is not"),
    ],
)
def test_changes_place(events: list[tuple[EventKind, float]], kind: EventKind, changes: bool) -> None:
    assert changes_place([_ev(1, k, at) for k, at in events], 1, kind) is changes


def test_the_close_ends_every_open_presence_in_member_order() -> None:
    events = [_ev(3, J, 0), _ev(1, CI, 0), _ev(1, J, 1), _ev(2, J, 0), _ev(2, L, 4)]
    at = _t(60)
    assert closing_events(events, at) == [
        PresenceEvent(1, L, at),
        PresenceEvent(1, CO, at),
        PresenceEvent(3, L, at),
    ]
    assert current_states([*events, *closing_events(events, at)]) == {
        1: NOWHERE,
        2: NOWHERE,
        3: NOWHERE,
    }


@given(st.lists(st.tuples(st.integers(1, 4), st.sampled_from(list(EventKind))), max_size=30))
def test_after_the_close_nobody_is_anywhere(spec: list[tuple[int, EventKind]]) -> None:
    events = [_ev(member, kind, i) for i, (member, kind) in enumerate(spec)]
    closed = [*events, *closing_events(events, _t(len(spec)))]
    assert all(place == NOWHERE for place in current_states(closed).values())


def _facts(*standings: Standing) -> list[MemberFacts]:
    return [MemberFacts(member_id=i + 1, standing=s) for i, s in enumerate(standings)]


OFF, PROB = Standing.OFFICIAL, Standing.PROBATIONARY


@pytest.mark.parametrize(
    ("facts", "online", "excused", "quorate", "counts"),
    [
        pytest.param(
            _facts(OFF, OFF, OFF), {1, 2}, set(), True, (3, 2, 2), id="R-QUOR-1 2 of 3 is more than half"
        ),
        pytest.param(
            _facts(OFF, OFF, OFF, OFF), {1, 2}, set(), False, (4, 2, 3), id="R-QUOR-1 2 of 4 is not"
        ),
        pytest.param(
            _facts(OFF, OFF, PROB), {1, 3}, set(), False, (2, 1, 2), id="R-BASE-4 probationary never count"
        ),
        pytest.param(
            _facts(OFF, OFF, OFF), {1}, {3}, False, (3, 1, 2), id="R-BASE-2 excused stay in the base"
        ),
        pytest.param(
            _facts(OFF, OFF), {1, 2, 9}, set(), True, (2, 2, 2), id="an unsummoned join is not present"
        ),
    ],
)
def test_quorum_now(
    facts: list[MemberFacts], online: set[int], excused: set[int], quorate: bool, counts: tuple[int, int, int]
) -> None:
    presence = Presence(facts, [_ev(m, J, 0) for m in sorted(online)], frozenset(excused), HD03_2022)
    decision = quorum_decision(presence)
    assert decision.outcome is quorate
    assert decision.rule == "R-QUOR-1"
    assert decision.rule_set == HD03_2022.name
    assert (
        decision.counts["voting_base"],
        decision.counts["present_official"],
        decision.counts["needed"],
    ) == counts
    assert decision.details["present_member_ids"] == sorted(present_now(presence))


def test_a_member_gone_within_the_grace_is_still_present_for_the_quorum() -> None:
    # R-ATT-2: a drop shorter than the disconnect grace is not an absence, and the room waits for
    # the grace before writing the leave, so the member counts until then.
    events = [_ev(1, J, 0), _ev(2, J, 0), _ev(2, L, 10)]
    presence = Presence(_facts(OFF, OFF, OFF), events, frozenset(), HD03_2022)
    assert present_now(presence) == {1}


@pytest.mark.parametrize(
    ("timing", "at", "window"),
    [
        pytest.param(Timing(_t(0), None, None), _t(-30), (_t(-30), _t(-30), _t(-30)), id="before the start"),
        pytest.param(Timing(_t(0), None, None), _t(10), (_t(0), _t(10), _t(10)), id="late, not yet opened"),
        pytest.param(
            Timing(_t(0), _t(5), None), _t(20), (_t(5), _t(20), _t(5)), id="R-ATT-1 the call is the opening"
        ),
        pytest.param(Timing(_t(0), _t(5), _t(65)), _t(200), (_t(5), _t(65), _t(5)), id="closed: the record"),
        pytest.param(
            Timing(_t(0), _t(5), None), _t(4), (_t(5), _t(5), _t(5)), id="a clock behind the opening"
        ),
    ],
)
def test_attendance_window(timing: Timing, at: datetime, window: tuple[datetime, datetime, datetime]) -> None:
    assert attendance_window(timing, at) == window


def test_an_open_meeting_shows_who_is_connected_as_the_close_will_record_them() -> None:
    facts = _facts(OFF, OFF, OFF)
    events = [_ev(1, J, 5), _ev(2, J, 40)]
    presence = Presence(facts, events, frozenset({3}), HD03_2022)
    open_now = attendance_at(presence, Timing(_t(0), _t(5), None), _t(41))
    assert open_now[1].status is AttendanceStatus.PRESENT
    assert open_now[2].status is AttendanceStatus.LATE  # connected, never absent while the room is open
    assert open_now[3].status is AttendanceStatus.ABSENT_EXCUSED
    closed = attendance_at(presence, Timing(_t(0), _t(5), _t(41)), _t(41))
    assert closed[2].status is AttendanceStatus.ABSENT_UNEXCUSED  # the record judges the final intervals
