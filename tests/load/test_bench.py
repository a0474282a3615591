"""`cellmeet bench` end to end, as a subprocess: every member joins both servers, every hand reaches
every other member, the figures are real numbers. The full 500/50 run is the slow test."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.load.bench_run import positive, run_bench


def check(result: dict[str, Any], members: int, meetings: int, rounds: int) -> None:
    per_meeting = members // meetings
    assert result["config"]["members_per_meeting"] == [per_meeting] * meetings
    for name in ("ours", "bare"):
        side = result[name]
        assert side["joined"] == members, side["errors"]
        assert side["join_ms"]["count"] == members
        assert all(positive(side["join_ms"][k]) for k in ("p50", "p99", "max"))
        assert side["join_ms"]["p50"] <= side["join_ms"]["p99"] <= side["join_ms"]["max"]
        fan = side["fanout_ms"]
        assert fan["expected"] == (per_meeting - 1) * rounds * meetings
        assert fan["delivered"] == fan["expected"]
        assert fan["out_of_order"] == 0 and fan["refused"] == []
        assert positive(fan["p50"]) and positive(fan["p99"])
        assert side["rss"]["all_joined_kib"] > 0 and side["cpu"]["join"]["server_cpu_s"] >= 0
    assert result["ours"]["presence_fanout_ms"]["missing"] == 0
    for key in ("join_p50", "join_p99", "fanout_p50", "fanout_p99"):
        assert positive(result["ratio"][key])
    assert set(result["goals"]) == {"all_joined", "join_p99_ms", "join_p99_ratio", "fanout_p99_ms"}
    assert all(isinstance(goal["met"], bool) for goal in result["goals"].values())
    assert result["server_errors"] == []


def test_small_bench_without_aiortc(tmp_path: Path) -> None:
    result = run_bench(
        tmp_path,
        "--members",
        "20",
        "--meetings",
        "2",
        "--aiortc-peers",
        "0",
        "--rounds",
        "6",
        "--idle-seconds",
        "0.5",
        timeout=60,
    )
    check(result, 20, 2, 6)
    assert result["aiortc"] is None


def test_small_bench_with_two_aiortc_peers(tmp_path: Path) -> None:
    result = run_bench(
        tmp_path,
        "--members",
        "12",
        "--meetings",
        "2",
        "--aiortc-peers",
        "2",
        "--rounds",
        "4",
        "--idle-seconds",
        "0.5",
        timeout=60,
    )
    check(result, 12, 2, 4)
    rtc = result["aiortc"]
    assert rtc["pairs"] == 1 and rtc["connected_pairs"] == 1, rtc
    assert all(positive(ms) for ms in rtc["connect_ms"])
    # Audio flowed both ways (20 ms frames; allow for start-up and a loaded machine).
    assert len(rtc["audio_frames_per_leg"]) == 2
    assert all(frames > rtc["audio_frames_expected_per_leg"] // 2 for frames in rtc["audio_frames_per_leg"])
    assert rtc["errors"] == []


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_full_bench_500_members_in_50_meetings(tmp_path: Path) -> None:
    result = run_bench(tmp_path, "--members", "500", "--meetings", "50", timeout=900)
    check(result, 500, 50, 20)
    assert result["aiortc"]["connected_pairs"] == result["aiortc"]["pairs"] == 1


def test_small_bench_joins_by_cookie_too_and_runs_again_on_postgresql(tmp_path: Path) -> None:
    postgresql = os.environ.get("CELLMEET_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
    result = run_bench(
        tmp_path,
        *("--members", "12", "--meetings", "2", "--aiortc-peers", "0"),
        *("--rounds", "3", "--idle-seconds", "0.2"),
        *("--also-postgresql", postgresql.rsplit("/", 1)[0] + "/"),
        timeout=120,
    )
    for run, database in ((result, "sqlite"), (result["postgresql"], "postgresql")):
        assert run["config"]["database"] == database
        check(run, 12, 2, 3)
        # as many members again, in meetings of their own, joined with a browser's session cookie
        browser = run["ours"]["browser"]
        assert browser["joined"] == browser["members"] == 12, browser["errors"]
        assert all(positive(browser["join_ms"][k]) for k in ("p50", "p99", "max"))
        assert browser["presence_fanout_ms"]["missing"] == 0
        assert positive(run["ratio"]["browser_join_p99"])
        assert set(run["more_goals"]) == {"presence_p99_ms", "browser_join_p99_ms"}
    assert "postgresql" not in result["postgresql"]
