"""The bench's goals (join and fan-out latency, ours against the bare baseline) and whether a run met them."""

from __future__ import annotations

from typing import Any

GOAL_JOIN_P99_MS = 250.0
GOAL_JOIN_RATIO = 1.5
GOAL_FANOUT_P99_MS = 100.0


def ratio_of(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a is not None and b else None


def goals(ours: dict[str, Any], bare: dict[str, Any], members: int) -> dict[str, Any]:
    join_p99 = ours["join_ms"]["p99"]
    ratio = ratio_of(join_p99, bare["join_ms"]["p99"])
    fan_p99 = ours["fanout_ms"]["p99"]
    all_joined = ours["joined"] == members
    return {
        "all_joined": {"value": ours["joined"], "target": members, "met": all_joined},
        "join_p99_ms": {
            "value": join_p99,
            "target": f"< {GOAL_JOIN_P99_MS}",
            "met": all_joined and join_p99 is not None and join_p99 < GOAL_JOIN_P99_MS,
        },
        "join_p99_ratio": {
            "value": ratio,
            "target": f"<= {GOAL_JOIN_RATIO}",
            "met": all_joined and ratio is not None and ratio <= GOAL_JOIN_RATIO,
        },
        "fanout_p99_ms": {
            "value": fan_p99,
            "target": f"< {GOAL_FANOUT_P99_MS}",
            "met": fan_p99 is not None
            and fan_p99 < GOAL_FANOUT_P99_MS
            and ours["fanout_ms"]["delivered"] == ours["fanout_ms"]["expected"],
        },
    }


def more_goals(ours: dict[str, Any]) -> dict[str, Any]:
    """Goals of issue 22 beside `goals` (whose keys stay as they were): presence fan-out during the
    join burst, and the browser's joins held to the ticket joins' bar."""
    presence_p99 = ours["presence_fanout_ms"]["p99"]
    browser_p99 = ours["browser"]["join_ms"]["p99"]
    return {
        "presence_p99_ms": {
            "value": presence_p99,
            "target": f"< {GOAL_FANOUT_P99_MS}",
            "met": presence_p99 is not None
            and presence_p99 < GOAL_FANOUT_P99_MS
            and ours["presence_fanout_ms"]["missing"] == 0,
        },
        "browser_join_p99_ms": {
            "value": browser_p99,
            "target": f"< {GOAL_JOIN_P99_MS}",
            "met": ours["browser"]["joined"] == ours["browser"]["members"]
            and browser_p99 is not None
            and browser_p99 < GOAL_JOIN_P99_MS,
        },
    }
