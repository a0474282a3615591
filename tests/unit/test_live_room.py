"""One live room's state without a server: the events it committed, who meets whom during a split,
hands and cameras as members see them, and the state a join ack carried reused by the next push."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from meetings.attendance import EventKind, PresenceEvent
from server.realtime.live_room import RECORDED_KEPT, Peer, Room, ShownState, room_name

T0 = datetime(2026, 3, 2, 19, 0, tzinfo=UTC)


def _peer(sid: str, member_id: int) -> Peer:
    return Peer(sid, f"p{sid}", member_id, 100 + member_id, f"Đảng viên {member_id}", 7, "vi")


def _seated(*peers: Peer) -> Room:
    room = Room(7)
    room.peers = {p.sid: p for p in peers}
    return room


def test_room_names_per_meeting_and_language() -> None:
    assert room_name(7) == "meeting:7"
    assert room_name(7, "en") == "meeting:7:en"


def test_committed_events_go_into_the_view_and_are_numbered() -> None:
    room = Room(7)
    events: list[PresenceEvent] = []
    room.snapshot = SimpleNamespace(situation=SimpleNamespace(events=events))  # type: ignore[assignment]
    room.record(1, EventKind.JOIN, T0)
    room.record(2, EventKind.JOIN, T0 + timedelta(seconds=1))
    assert events == [PresenceEvent(1, EventKind.JOIN, T0), PresenceEvent(2, EventKind.JOIN, events[1].at)]
    assert room.recorded_count == 2
    assert [number for number, _ in room.recorded] == [1, 2]


def test_a_room_remembers_a_bounded_number_of_its_events() -> None:
    room = Room(7)  # no view yet: the events are only numbered
    for i in range(2 * RECORDED_KEPT + 1):
        room.record(i, EventKind.JOIN, T0)
    assert room.recorded_count == 2 * RECORDED_KEPT + 1
    assert len(room.recorded) == RECORDED_KEPT
    assert room.recorded[-1][0] == room.recorded_count  # the latest are the ones kept


def test_everyone_meets_outside_a_split_and_only_their_group_during_it() -> None:
    a, b, c, late = _peer("a", 1), _peer("b", 2), _peer("c", 3), _peer("d", 4)
    room = _seated(a, b, c, late)
    assert room.may_meet(a, c)
    room.group_of = {1: 0, 2: 0, 3: 1}
    room.breakout = {"active": True, "groups": []}
    room.breakout_ends_at = T0 + timedelta(minutes=10)
    assert room.may_meet(a, b) and not room.may_meet(a, c)
    assert not room.may_meet(a, late)  # registered after the split began: meets only others outside it
    view = room.breakout_view(a, T0 + timedelta(minutes=9, seconds=30))
    assert view is not None
    assert view["mine"] == 0
    assert view["remaining_seconds"] == 30
    assert [p["member_id"] for p in view["peers"]] == [2]
    assert room.breakout_view(a, T0 + timedelta(hours=1))["remaining_seconds"] == 0  # type: ignore[index]


def test_no_breakout_view_outside_a_split() -> None:
    room = _seated(_peer("a", 1))
    assert room.breakout_view(room.peers["a"], T0) is None


def test_hands_in_the_order_raised_and_the_cameras_with_their_limit() -> None:
    room = _seated(_peer("a", 1), _peer("b", 2), _peer("c", 2))
    room.hands[2] = ("Đảng viên 2", T0)
    room.hands[1] = ("Đảng viên 1", T0 + timedelta(seconds=5))
    assert [h["member_id"] for h in room.hands_json()["hands"]] == [2, 1]
    assert room.hands_json()["hands"][0]["raised_at"].startswith("2026-03-02T19:00:00")
    room.cameras = [2]
    assert room.cameras_json(4) == {"member_ids": [2], "max_cameras": 4}
    assert room.sids_of(2) == ["b", "c"]  # a member on two devices
    assert room.peer("pb") is room.peers["b"]
    assert room.peer("nobody") is None


def _view() -> Any:
    return object()


def test_the_push_after_a_join_reuses_its_state_and_skips_who_had_it() -> None:
    shown, view, state = ShownState(), _view(), _view()
    shown.acked(view, 3, state, "a")
    shown.acked(view, 3, state, "b")
    assert shown.take(view, 3) == (state, ["a", "b"])
    assert shown.take(view, 3) == (None, [])  # taken once, then forgotten


def test_a_change_after_the_ack_means_the_push_builds_the_state_again() -> None:
    shown, view = ShownState(), _view()
    shown.acked(view, 3, _view(), "a")
    assert shown.take(view, 4) == (None, [])  # a presence event since
    shown.acked(view, 3, _view(), "a")
    assert shown.take(_view(), 3) == (None, [])  # the view was read again since


def test_an_ack_of_a_newer_view_forgets_who_had_the_older() -> None:
    shown, view, newer_state = ShownState(), _view(), _view()
    shown.acked(view, 3, _view(), "a")
    shown.acked(view, 4, newer_state, "b")
    assert shown.take(view, 4) == (newer_state, ["b"])
