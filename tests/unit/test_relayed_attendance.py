"""Relayed attendance (R-ATT-4): a member heard through another member's radio or phone is present for
attendance and the record, and counts for quorum and votes only when the rule set allows it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meetings.attendance import EventKind, PresenceEvent, attendance
from meetings.decision import Text
from meetings.enums import AttendanceStatus, Standing, VoteMode
from meetings.register import MemberFacts
from meetings.relays import Channel, Relay, RelayContext, check_relay, relay_intervals, relayed_phrase
from meetings.room import Presence, quorum_decision
from meetings.rulesets import HD03_2022, RuleSet
from meetings.vote_modes import check_counts

T0 = datetime(2026, 12, 6, 19, 0, tzinfo=UTC)  # the opening
END = T0 + timedelta(minutes=120)
ALLOWING = HD03_2022.with_values(
    "relays-allowed",
    Text("Bộ thử cho phép chuyển tiếp", "A test set allowing relays"),
    {"relayed_count_for_quorum": True, "relayed_may_vote": True},
    "test",
)
QUORUM_ONLY = HD03_2022.with_values(
    "relays-quorum", Text("Chỉ tính đủ số", "Quorum only"), {"relayed_count_for_quorum": True}, "test"
)


def _t(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def _relay(member: int, start: float, end: float, by: int = 1, channel: Channel = Channel.RADIO) -> Relay:
    return Relay(member, by, channel, _t(start), _t(end))


def test_the_built_in_set_leaves_relayed_members_out_by_default() -> None:
    for name in ("relayed_count_for_quorum", "relayed_may_vote"):
        parameter = HD03_2022.parameters[name]
        assert parameter.value is False
        assert parameter.rule == "R-ATT-4" and parameter.confidence.value == "platform_default"


@pytest.mark.parametrize(
    ("relays", "status", "present_minutes"),
    [
        pytest.param([(0, 120)], AttendanceStatus.PRESENT, 120, id="the whole meeting by radio: present"),
        pytest.param([(30, 120)], AttendanceStatus.LATE, 90, id="from 30 minutes in: late"),
        pytest.param(
            [(0, 60)], AttendanceStatus.LEFT_EARLY, 60, id="half the meeting from the call: left early"
        ),
        pytest.param(
            [(10, 50)], AttendanceStatus.ABSENT_UNEXCUSED, 40, id="40 minutes, after the call: absent"
        ),
        pytest.param([(0, 40), (40, 120)], AttendanceStatus.PRESENT, 120, id="two relays back to back"),
    ],
)
def test_a_relay_is_presence_for_attendance(
    relays: list[tuple[float, float]], status: AttendanceStatus, present_minutes: int
) -> None:
    result = attendance(
        [1, 2],
        [PresenceEvent(1, EventKind.JOIN, T0), PresenceEvent(1, EventKind.LEAVE, END)],
        frozenset(),
        T0,
        END,
        HD03_2022,
        attendance_call_at=T0,
        relays=relay_intervals(_relay(2, start, end) for start, end in relays),
    )
    assert result[2].status is status
    assert result[2].present_seconds == present_minutes * 60
    assert result[2].relayed and not result[1].relayed


def test_a_relay_joins_the_members_own_connection() -> None:
    own = [PresenceEvent(2, EventKind.JOIN, T0), PresenceEvent(2, EventKind.LEAVE, _t(40))]
    result = attendance(
        [2],
        own,
        frozenset(),
        T0,
        END,
        HD03_2022,
        attendance_call_at=T0,
        relays=relay_intervals([_relay(2, 30, 120)]),
    )
    assert result[2].status is AttendanceStatus.PRESENT
    assert result[2].present_seconds == 120 * 60
    assert [(i.start, i.end) for i in result[2].intervals] == [(T0, END)]


def test_a_relay_running_now_shows_the_member_as_the_close_will_record_them() -> None:
    # 50 minutes into the meeting a relay started at 45 runs to the planned end: late, not absent.
    result = attendance(
        [2],
        [],
        frozenset(),
        T0,
        _t(50),
        HD03_2022,
        attendance_call_at=T0,
        in_progress=True,
        relays=relay_intervals([_relay(2, 45, 120)]),
    )
    assert result[2].status is AttendanceStatus.LATE


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 110), st.integers(1, 60)), min_size=1, max_size=4))
def test_a_relay_never_makes_a_member_less_present(spans: list[tuple[int, int]]) -> None:
    relays = [(start, min(start + length, 120)) for start, length in spans]
    relays = [r for r in relays if r[0] < r[1]]
    events = [PresenceEvent(2, EventKind.JOIN, _t(20)), PresenceEvent(2, EventKind.LEAVE, _t(70))]
    plain = attendance([2], events, frozenset(), T0, END, HD03_2022, attendance_call_at=T0)
    relayed = attendance(
        [2],
        events,
        frozenset(),
        T0,
        END,
        HD03_2022,
        attendance_call_at=T0,
        relays=relay_intervals(_relay(2, a, b) for a, b in relays),
    )
    assert relayed[2].present_seconds >= plain[2].present_seconds
    assert relayed[2].relayed is bool(relays)


def _presence(rule_set: RuleSet, relays: list[Relay]) -> Presence:
    # Five official members and a probationary one; 1 and 2 are connected, 3 and 6 heard by radio.
    facts = [MemberFacts(i, Standing.OFFICIAL) for i in range(1, 6)] + [MemberFacts(6, Standing.PROBATIONARY)]
    events = [PresenceEvent(1, EventKind.JOIN, T0), PresenceEvent(2, EventKind.JOIN, T0)]
    return Presence(facts, events, frozenset(), rule_set, relays=relays)


@pytest.mark.parametrize(
    ("rule_set", "quorate", "present_official", "counted", "left_out", "may_vote"),
    [
        pytest.param(HD03_2022, False, 2, 0, 1, 2, id="by default the relayed official is left out"),
        pytest.param(ALLOWING, True, 3, 1, 0, 3, id="a set allowing it counts them and lets them vote"),
        pytest.param(QUORUM_ONLY, True, 3, 1, 0, 2, id="counted for quorum, may not vote"),
    ],
)
def test_relayed_members_in_the_quorum(
    rule_set: RuleSet, quorate: bool, present_official: int, counted: int, left_out: int, may_vote: int
) -> None:
    relays = [_relay(3, 10, 120), _relay(6, 10, 120)]
    decision = quorum_decision(_presence(rule_set, relays), _t(30))
    assert decision.rule == "R-QUOR-1" and decision.rule_set == rule_set.name
    assert decision.outcome is quorate
    assert decision.counts["voting_base"] == 5
    assert decision.counts["present_official"] == present_official
    assert decision.counts["relayed"] == 2  # the probationary member too, though never official
    assert decision.counts["relayed_official"] == 1
    assert (decision.counts["relayed_counted"], decision.counts["relayed_left_out"]) == (counted, left_out)
    assert decision.counts["officials_may_vote"] == may_vote
    assert "R-ATT-4" in decision.explanation.vi and "R-ATT-4" in decision.explanation.en


def test_a_relay_that_is_not_running_changes_nothing() -> None:
    presence = _presence(ALLOWING, [_relay(3, 10, 20)])
    decision = quorum_decision(presence, _t(30))
    assert decision.counts["relayed"] == 0 and decision.counts["present_official"] == 2
    assert decision.counts["officials_may_vote"] == 2
    assert "R-ATT-4" not in decision.explanation.en
    assert quorum_decision(presence).counts == decision.counts  # without an instant no relay runs


@pytest.mark.parametrize(
    ("rule_set", "accepted"),
    [
        pytest.param(HD03_2022, False, id="default: 3 hands of 2 voting officials"),
        pytest.param(ALLOWING, True),
    ],
)
def test_show_of_hands_counts_relayed_officials_only_when_allowed(rule_set: RuleSet, accepted: bool) -> None:
    decision = quorum_decision(_presence(rule_set, [_relay(3, 0, 120)]), _t(30))
    counts = check_counts(
        VoteMode.SHOW_OF_HANDS, 3, 0, 0, decision.counts["officials_may_vote"], (), rule_set
    )
    assert counts.outcome is accepted
    if not accepted:
        assert counts.rule == "R-VOTE-2" and counts.details["reason"] == "exceeds_present"


def _context(**changes: object) -> RelayContext:
    base: dict[str, object] = {
        "summoned": frozenset({1, 2, 3}),
        "opened_at": T0,
        "closed_at": None,
        "now": _t(60),
        "scheduled_end": END,
        "minutes_adopted": False,
        "relays": (),
        "presence": {1: relay_intervals([_relay(1, 0, 50, by=2)])[1]},
    }
    base.update(changes)
    return RelayContext(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("relay", "context", "reason", "conflict"),
    [
        pytest.param(_relay(2, 10, 40), _context(), None, False, id="a good relay"),
        pytest.param(_relay(2, 10, 120), _context(), None, False, id="running on to the planned end"),
        pytest.param(_relay(2, 10, 40), _context(opened_at=None), "meeting_not_opened", True, id="scheduled"),
        pytest.param(
            _relay(2, 10, 40), _context(minutes_adopted=True), "minutes_adopted", True, id="adopted"
        ),
        pytest.param(_relay(9, 10, 40), _context(), "not_summoned", False, id="member not summoned"),
        pytest.param(_relay(2, 10, 40, by=9), _context(), "relayer_not_summoned", False, id="relayer not"),
        pytest.param(_relay(1, 10, 40, by=1), _context(), "same_member", False, id="relays themselves"),
        pytest.param(_relay(2, -5, 40), _context(), "outside_meeting", False, id="before the opening"),
        pytest.param(_relay(2, 70, 90), _context(), "outside_meeting", False, id="starts after now"),
        pytest.param(_relay(2, 10, 130), _context(), "outside_meeting", False, id="after the planned end"),
        pytest.param(
            _relay(2, 10, 40), _context(closed_at=_t(30)), "outside_meeting", False, id="after the close"
        ),
        pytest.param(_relay(2, 55, 58), _context(), "relayer_absent", False, id="relayer gone at 50"),
        pytest.param(
            _relay(2, 30, 45), _context(relays=(_relay(2, 10, 35),)), "relay_overlap", True, id="overlap"
        ),
        pytest.param(
            _relay(2, 35, 45), _context(relays=(_relay(2, 10, 35),)), None, False, id="back to back"
        ),
    ],
)
def test_check_relay(relay: Relay, context: RelayContext, reason: str | None, conflict: bool) -> None:
    refusal = check_relay(relay, context)
    if reason is None:
        assert refusal is None
        return
    assert refusal is not None and refusal.reason == reason and refusal.conflict is conflict
    assert refusal.text.vi.endswith("(R-ATT-4).") and refusal.text.en.endswith("(R-ATT-4).")
    assert refusal.text.vi != refusal.text.en


def test_a_relay_runs_forward_in_aware_time() -> None:
    with pytest.raises(ValueError):
        Relay(2, 1, Channel.PHONE, _t(10), _t(10))
    with pytest.raises(ValueError):
        Relay(2, 1, Channel.PHONE, datetime(2026, 12, 6, 19), _t(10))


def test_the_minutes_say_how_and_through_whom() -> None:
    said = relayed_phrase("Trần Thị Hai", "radio", "Nguyễn Văn Một")
    assert said.vi == "đ/c Trần Thị Hai tham dự qua bộ đàm, do đ/c Nguyễn Văn Một chuyển tiếp"
    assert said.en == "Trần Thị Hai took part by radio, relayed by Nguyễn Văn Một"
    assert "điện thoại" in relayed_phrase("A", "phone", "B").vi


def test_a_meeting_without_a_relay_reads_as_before_r_att_4() -> None:
    """Clients compare the quorum's counts whole: where no relay was recorded they keep their old keys."""
    decision = quorum_decision(_presence(ALLOWING, []), _t(30))
    assert set(decision.counts) == {
        "voting_base",
        "present_official",
        "needed",
        "present",
        "present_probationary",
        "summoned",
        "excused",
    }
