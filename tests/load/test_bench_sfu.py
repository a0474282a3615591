"""`cellmeet bench --sfu` end to end (issue 27): a real Janus in a network namespace, aiortc audio
members in one room and in two, speakers taking turns; the JSON has Janus's CPU per leg, per-track
bitrate and loss, join to first audio, the goals, and the mesh figures beside. The 50-member run
(`make bench-sfu`) is slow."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from server.bench.janus_net import available
from tests.load.bench_run import positive, run_bench

GOALS = ("members_50_loss_pct", "members_50_janus_pct_of_core", "legs_per_core", "join_to_first_audio_p50_s")


def check_phase(phase: dict[str, Any], members: int, rooms: int) -> None:
    assert phase["rooms"] == rooms and phase["members"] == members
    assert sum(phase["members_per_room"]) == members
    assert phase["heard_everyone"] == members, phase["errors"]
    assert phase["errors"] == []
    assert phase["legs"] == sum(n - 1 for n in phase["members_per_room"])
    janus = phase["janus"]
    for key in ("cpu_s", "pct_of_core", "pct_of_core_per_leg", "cpu_s_per_leg_per_s", "legs_per_core"):
        assert janus[key] is not None and janus[key] >= 0, (key, janus)
    tracks = phase["tracks"]
    assert tracks["measured"] > 0
    bitrate = tracks["bitrate_kbps"]
    # Opus lowered to speech's rate (a track whose speaker's turn was cut by a renegotiation may sit
    # below: the median and the 95th percentile are held to it, the maximum too)
    assert 20 <= bitrate["p50"] <= 60 and 20 <= bitrate["p95"] <= 60 and bitrate["max"] <= 60, bitrate
    for key in ("p50", "p95", "max"):
        assert tracks["loss_pct"][key] is not None
    assert tracks["loss_pct_all"] is not None and tracks["packets_received"] > 0
    first = phase["join_to_first_audio_s"]
    assert first["missing"] == 0 and first["count"] == members - rooms
    assert positive(first["p50"]) and positive(first["p95"])
    assert sum(w["members"] for w in phase["workers"]) == members


def check(result: dict[str, Any], members: int, rooms: int) -> None:
    assert result["definitions"]["leg"].startswith("one forwarded audio stream publisher -> subscriber")
    assert result["config"]["member_processes"] >= 1
    check_phase(result["sfu"]["one_room"], members, 1)
    if rooms > 1:
        check_phase(result["sfu"]["rooms"], members, rooms)
    mesh = result["mesh"]
    assert mesh["runs"][0]["members"] == 2 and mesh["works_up_to"] is not None and mesh["works_up_to"] >= 2
    for goal in GOALS:
        assert isinstance(result["goals"][goal]["met"], bool), goal
        assert "value" in result["goals"][goal] and "target" in result["goals"][goal]
    assert result["server_errors"] == []


@pytest.fixture(autouse=True)
def janus_here() -> None:
    missing = available()
    assert missing is None, missing  # never skipped: CI installs janus and runs as root


def test_four_members_one_room_and_two(tmp_path: Path) -> None:
    result = run_bench(
        tmp_path,
        "--sfu",
        "--members", "4", "--sfu-rooms", "2", "--sfu-seconds", "2", "--sfu-mesh-max", "2",
        timeout=60,
    )  # fmt: skip
    check(result, 4, 2)


@pytest.mark.slow
def test_fifty_members(tmp_path: Path) -> None:
    result = run_bench(tmp_path, "--sfu", "--members", "50", timeout=900)
    check(result, 50, 5)
