"""The pilot's periodic report (issue 30 part 4), pure: the quarter asked for, the quarters due, the rule
sets in force during a quarter, and the figures put together from the usage figures and the votes."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from meetings.decision import Text
from meetings.enums import OrgKind, VoteMode, VoteOutcome
from meetings.pilot_report import (
    NOT_OFFICIAL,
    ClosedVote,
    PeriodError,
    Quarter,
    due_quarters,
    parse_quarter,
    pilot_figures,
    report_json,
    sets_in_force,
)
from meetings.ruleset_lifecycle import Lifecycle, Status
from meetings.rulesets import HD03_2022, RuleSet
from meetings.usage import Flag, FlagCode, OrgSummary, Period, UsageReport

TODAY = date(2026, 11, 23)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-Q3", Quarter(2026, 3)),
        ("2026-Q4", Quarter(2026, 4)),  # the current quarter: allowed, in progress
        ("2023-Q1", Quarter(2023, 1)),
        (None, Quarter(2026, 3)),  # the default: the last finished quarter
    ],
)
def test_a_quarter_is_read(raw: str | None, expected: Quarter) -> None:
    assert parse_quarter(raw, TODAY) == expected


@pytest.mark.parametrize(
    ("raw", "vi_words", "en_words"),
    [
        ("2026-3", "dạng YYYY-Qn", "YYYY-Qn"),
        ("2026-Q5", "dạng YYYY-Qn", "YYYY-Qn"),
        ("2026-q3", "dạng YYYY-Qn", "YYYY-Qn"),
        (" 2026-Q3", "dạng YYYY-Qn", "YYYY-Qn"),
        ("2026-Q3x", "dạng YYYY-Qn", "YYYY-Qn"),
        ("", "dạng YYYY-Qn", "YYYY-Qn"),
        ("2027-Q1", "chưa bắt đầu", "has not begun"),
        ("2022-Q4", "trước khi thí điểm bắt đầu", "before the pilot began"),
    ],
)
def test_a_bad_or_future_quarter_is_refused_in_both_languages(raw: str, vi_words: str, en_words: str) -> None:
    with pytest.raises(PeriodError) as refused:
        parse_quarter(raw, TODAY)
    assert vi_words in refused.value.message.vi and en_words in refused.value.message.en


def test_a_quarter_that_begins_today_may_be_asked_for() -> None:
    assert parse_quarter("2027-Q1", date(2027, 1, 1)) == Quarter(2027, 1)


@pytest.mark.parametrize(
    ("quarter", "start", "end", "label", "vi"),
    [
        (Quarter(2026, 1), date(2026, 1, 1), date(2026, 3, 31), "2026-Q1", "Quý 1/2026"),
        (Quarter(2024, 1), date(2024, 1, 1), date(2024, 3, 31), "2024-Q1", "Quý 1/2024"),
        (Quarter(2026, 4), date(2026, 10, 1), date(2026, 12, 31), "2026-Q4", "Quý 4/2026"),
    ],
)
def test_a_quarters_days_and_names(quarter: Quarter, start: date, end: date, label: str, vi: str) -> None:
    assert (quarter.start, quarter.end, quarter.label, quarter.vi_label) == (start, end, label, vi)


@pytest.mark.parametrize(
    ("today", "due"),
    [
        (date(2026, 11, 23), (Quarter(2026, 3), Quarter(2026, 4))),
        (date(2027, 1, 1), (Quarter(2026, 4), Quarter(2027, 1))),
        (date(2026, 3, 31), (Quarter(2025, 4), Quarter(2026, 1))),
    ],
)
def test_the_quarters_due(today: date, due: tuple[Quarter, Quarter]) -> None:
    assert due_quarters(today) == due
    finished, current = due
    assert finished.finished_on(today) and not current.finished_on(today)


def _set(name: str, life: Lifecycle) -> RuleSet:
    return HD03_2022.with_values(name, Text(name, name), {}, "test").with_lifecycle(life)


LINEAGE = {
    "old": _set(
        "old", Lifecycle(Status.SUPERSEDED, date(2022, 12, 27), date(2026, 11, 14), superseded_by="new")
    ),
    "new": _set("new", Lifecycle(Status.IN_FORCE, date(2026, 11, 15))),
}


@pytest.mark.parametrize(
    ("start", "end", "names"),
    [
        (date(2026, 7, 1), date(2026, 9, 30), ["old"]),  # before the change
        (date(2026, 10, 1), date(2026, 12, 31), ["old", "new"]),  # the change inside the quarter
        (date(2026, 10, 1), date(2026, 11, 14), ["old"]),  # the quarter runs, asked the day before
        (date(2027, 1, 1), date(2027, 3, 31), ["new"]),  # after the change
        (date(2020, 1, 1), date(2020, 3, 31), ["old"]),  # before the first set: the first decides
    ],
)
def test_the_rule_sets_in_force_during_a_quarter(start: date, end: date, names: list[str]) -> None:
    assert [s.name for s in sets_in_force(LINEAGE, "old", start, end)] == names
    assert [s.name for s in sets_in_force({"hd03-2022": HD03_2022}, "hd03-2022", start, end)] == ["hd03-2022"]


def _flag(code: FlagCode, rule: str, meeting_id: int) -> Flag:
    return Flag(code, rule, "hd03-2022", 7, "Chi bộ Thử", "2026-11-23", Text("vi", "en"), meeting_id)


def _usage(flags: list[Flag]) -> UsageReport:
    totals: dict[str, Any] = {
        "meetings": {"total": 4, "by_mode": {"online": 1, "hybrid": 1, "in_person": 2}},
        "attendance": {
            "expected": 20,
            "present": 15,
            "absent_excused": 2,
            "absent_unexcused": 3,
            "rate_percent": 75.0,
        },
        "quorum": {"failures": 1, "overrides": 3},
        "minutes": {"adopted": 3, "not_adopted": 1, "adopted_late": 1},
        "online_share_percent": 50.0,
    }
    return UsageReport(
        org=OrgSummary(7, "Chi bộ Thử", OrgKind.CELL),
        period=Period(date(2026, 10, 1), date(2026, 12, 31)),
        rule_set="hd03-2022",
        parameters={"minutes_adoption_days_max": 7, "attendance_target_percent": 85.0},
        totals=totals,
        months=[],
        units=[],
        flags=flags,
        below_quorum={"meetings": 1, "votes": 2},
    )


VOTES = [
    ClosedVote(VoteMode.SHOW_OF_HANDS, VoteOutcome.PASSED),
    ClosedVote(VoteMode.SHOW_OF_HANDS, VoteOutcome.PASSED),
    ClosedVote(VoteMode.PAPER_BALLOT, VoteOutcome.FAILED),
    ClosedVote(VoteMode.ELECTRONIC, VoteOutcome.PASSED),
]
SETS = [{"id": "hd03-2022", "title": "Hướng dẫn 03", "status": "pilot", "in_force_from": "2022-12-27"}]


@pytest.mark.parametrize(
    ("flags", "overdue", "breaches"),
    [
        ([], 0, []),
        (  # one late adoption flagged: none overdue
            [_flag(FlagCode.MINUTES_NOT_ADOPTED, "R-MIN-1", 2)],
            0,
            [{"code": "minutes_not_adopted", "rule": "R-MIN-1", "count": 1}],
        ),
        (  # the late adoption and a meeting whose minutes are still not adopted past the limit
            [
                _flag(FlagCode.MINUTES_NOT_ADOPTED, "R-MIN-1", 2),
                _flag(FlagCode.MINUTES_NOT_ADOPTED, "R-MIN-1", 3),
                _flag(FlagCode.QUORUM_OVERRIDE, "R-QUOR-1", 3),
                _flag(FlagCode.SHORT_MEETING, "R-FREQ-2", 1),
                _flag(FlagCode.SHORT_MEETING, "R-FREQ-2", 3),
            ],
            1,
            [
                {"code": "minutes_not_adopted", "rule": "R-MIN-1", "count": 2},
                {"code": "quorum_override", "rule": "R-QUOR-1", "count": 1},
                {"code": "short_meeting", "rule": "R-FREQ-2", "count": 2},
            ],
        ),
    ],
)
def test_the_figures_cite_their_rules(
    flags: list[Flag], overdue: int, breaches: list[dict[str, Any]]
) -> None:
    figures = pilot_figures(_usage(flags), VOTES, SETS, Quarter(2026, 4), TODAY)
    assert (figures["period"], figures["from"], figures["to"]) == ("2026-Q4", "2026-10-01", "2026-12-31")
    assert figures["in_progress"] is True and figures["rule_set"] == "hd03-2022"
    assert figures["meetings"] == {
        "total": 4,
        "online": 1,
        "hybrid": 1,
        "in_person": 2,
        "online_share_percent": 50.0,
        "rule": "R-ELIG-6",
    }
    assert figures["attendance"]["rate_percent"] == 75.0 and figures["attendance"]["rule"] == "R-ATT-3"
    assert figures["attendance"]["target_percent"] == 85.0
    assert figures["quorum"] == {
        "meetings_quorate": 3,
        "meetings_below_quorum": 1,
        "votes_below_quorum": 2,
        "overrides": 3,
        "rule": "R-QUOR-1",
    }
    assert figures["votes"] == {
        "total": 4,
        "show_of_hands": 2,
        "electronic": 1,
        "paper_ballot": 1,
        "passed": 3,
        "failed": 1,
        "rule": "R-VOTE-4",
    }
    assert figures["minutes"] == {
        "adopted_on_time": 2,
        "adopted_late": 1,
        "not_adopted": 1,
        "not_adopted_overdue": overdue,
        "days_max": 7,
        "rule": "R-MIN-1",
    }
    assert figures["breaches"] == {"total": len(flags), "by_code": breaches}


def test_a_finished_quarter_and_the_json_with_the_notice() -> None:
    usage = _usage([_flag(FlagCode.SHORT_MEETING, "R-FREQ-2", 1)])
    figures = pilot_figures(usage, [], SETS, Quarter(2026, 3), TODAY)
    assert figures["in_progress"] is False and figures["votes"]["total"] == 0
    at = datetime(2026, 11, 23, 8, tzinfo=UTC)
    for lang, notice in (("vi", "không phải biểu mẫu chính thức"), ("en", "not an official form")):
        report = report_json(usage, figures, approving_body=None, generated_at=at, lang=lang)
        assert notice in report["notice"] and report["notice"] == NOT_OFFICIAL.in_language(lang)
        assert report["org"] == {"id": 7, "name": "Chi bộ Thử", "kind": "cell"}
        assert report["flags"][0]["message"] == lang and report["flags"][0]["rule"] == "R-FREQ-2"
        assert report["generated_at"] == "2026-11-23T08:00:00+00:00" and report["approving_body"] is None
