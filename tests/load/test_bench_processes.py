"""`cellmeet bench --processes K` end to end (issue 26): K server processes on one PostgreSQL and one
Redis, and the bare library in the same topology; every member joins, every hand crosses the
processes to every other member, each process's CPU is reported. The 2,000-member run is slow."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.load.bench_run import positive, run_bench


def check(result: dict[str, Any], processes: int, members: int, meetings: int, rounds: int) -> None:
    assert result["config"]["processes"] == processes
    for name in ("ours", "bare"):
        side = result[name]
        assert side["joined"] == members, side["errors"]
        assert all(positive(side["join_ms"][k]) for k in ("p50", "p99", "max"))
        fan = side["fanout_ms"]
        assert fan["expected"] == (members // meetings - 1) * rounds * meetings
        assert fan["delivered"] == fan["expected"] and fan["out_of_order"] == 0
        per_process = side["cpu"]["join"]["per_process"]
        assert len(per_process) == processes
        assert all(p["server_cpu_s"] > 0 for p in per_process)  # every process did part of the joins
        assert len(side["rss_kib"]["all_joined"]) == processes
    for key in ("join_p50", "join_p99", "cpu_per_join", "fanout_p99"):
        assert positive(result["ratio"][key])
    assert result["goals"]["all_joined"]["met"] is True
    assert result["server_errors"] == []


def test_two_processes_small(tmp_path: Path) -> None:
    result = run_bench(
        tmp_path, "--processes", "2", "--members", "60", "--meetings", "6", "--rounds", "3", timeout=240
    )
    check(result, 2, 60, 6, 3)


@pytest.mark.slow
def test_two_processes_2000_members(tmp_path: Path) -> None:
    result = run_bench(tmp_path, "--processes", "2", "--members", "2000", "--meetings", "100", timeout=1500)
    check(result, 2, 2000, 100, 20)
