"""The numbered events of a meeting and what a returning connection is replayed (server.realtime.replay)."""

from __future__ import annotations

import pytest

from server.realtime import replay
from server.realtime.replay import ReplayLog, meeting_of


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("room", "found"),
    [
        ("meeting:7", (7, None)),
        ("meeting:7:en", (7, "en")),
        ("sid-abc", None),
        ("meeting:x", None),
        (None, None),
        ("meeting:7:en:x", None),
    ],
)
def test_only_a_meetings_rooms_are_numbered(room: object, found: object) -> None:
    assert meeting_of(room) == found


def test_each_meeting_numbers_its_own_events_in_order() -> None:
    log = ReplayLog(Clock())
    assert [log.number("meeting:1", "hands", {}, [], 10) for _ in range(3)] == [1, 2, 3]
    assert log.number("meeting:2", "hands", {}, [], 10) == 1
    assert log.number("some-sid", "signal", {}, [], 10) is None
    assert (log.current(1), log.current(2), log.current(3)) == (3, 1, 0)


def test_a_return_gets_what_it_missed_in_its_language_and_not_what_skipped_it() -> None:
    log = ReplayLog(Clock())
    log.number("meeting:1", "hands", {"n": 1}, [], 10)  # seen before the cut
    log.number("meeting:1", "quorum", {"lang": "vi"}, [], 10)
    log.number("meeting:1:en", "quorum", {"lang": "en"}, [], 10)
    log.number("meeting:1", "presence", {"n": 4}, ["new-sid"], 10)  # its ack carried it
    log.number("meeting:1", "minutes", {"v": 2}, [], 10)
    answer = log.answer(1, "vi", "new-sid", {"epoch": log.epoch, "last_seq": 1})
    assert answer["seq"] == 5 and answer["epoch"] == log.epoch
    assert [(e["seq"], e["event"], e["data"]) for e in answer["replayed"]] == [
        (2, "quorum", {"lang": "vi"}),
        (5, "minutes", {"v": 2}),
    ]
    assert log.answer(1, "vi", "x", {"epoch": log.epoch, "last_seq": 5})["replayed"] == []


def test_a_first_join_gets_the_current_number_and_nothing_replayed() -> None:
    log = ReplayLog(Clock())
    log.number("meeting:1", "hands", {}, [], 10)
    assert log.answer(1, "vi", "s", True) == {"epoch": log.epoch, "seq": 1}
    assert log.answer(9, "vi", "s", True) == {"epoch": log.epoch, "seq": 0}


@pytest.mark.parametrize("last_seq", [0, 3])
def test_numbers_of_another_process_or_life_are_not_trusted(last_seq: int) -> None:
    log = ReplayLog(Clock())
    log.number("meeting:1", "hands", {}, [], 10)
    answer = log.answer(1, "vi", "s", {"epoch": "another-process", "last_seq": last_seq})
    assert answer["replayed"] is None and answer["reason"] == "other_epoch"
    # a number beyond any given here: another life of this epoch's meeting, not a gap to fill
    assert log.answer(1, "vi", "s", {"epoch": log.epoch, "last_seq": 5})["reason"] == "other_epoch"


def test_events_no_longer_kept_are_said_to_be_missing_not_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(replay, "KEEP_EVENTS", 3)
    log = ReplayLog(Clock())
    for n in range(5):
        log.number("meeting:1", "hands", {"n": n}, [], 10)
    # events 1 and 2 are gone: a return from 1 would miss event 2
    assert log.answer(1, "vi", "s", {"epoch": log.epoch, "last_seq": 1})["reason"] == "too_old"
    kept = log.answer(1, "vi", "s", {"epoch": log.epoch, "last_seq": 2})["replayed"]
    assert [e["seq"] for e in kept] == [3, 4, 5]


def test_bytes_and_age_bound_what_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(replay, "KEEP_BYTES", 25)
    clock = Clock()
    log = ReplayLog(clock)
    for _ in range(3):
        log.number("meeting:1", "minutes", {}, [], 10)
    assert [e.seq for e in log.meetings[1].events] == [2, 3]  # 30 bytes would be over 25
    clock.now += replay.KEEP_SECONDS + 1
    log.number("meeting:1", "hands", {}, [], 1)
    assert [e.seq for e in log.meetings[1].events] == [4]


def test_meetings_gone_quiet_are_forgotten(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(replay, "SWEEP_EVERY", 2)
    clock = Clock()
    log = ReplayLog(clock)
    log.number("meeting:1", "hands", {}, [], 1)
    clock.now += replay.KEEP_SECONDS + 1
    log.number("meeting:2", "hands", {}, [], 1)  # the second append sweeps
    assert set(log.meetings) == {2}
