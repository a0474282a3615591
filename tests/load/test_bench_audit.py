"""`cellmeet bench audit` end to end at a small size: it builds a signed log, runs the real
`cellmeet audit verify` over it and prints real figures. The 100,000-entry run is `make bench-audit`
(docs/performance.md), not a timed test."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def positive(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value) and value > 0


def test_a_small_audit_bench_verifies_its_log_and_reports_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "bench-audit.json"
    argv = [
        "bench",
        "audit",
        "--entries",
        "2500",
        "--checkpoint-every",
        "500",
        "--runs",
        "1",
        "--out",
        str(out),
    ]
    done = subprocess.run(
        [sys.executable, "-m", "server.cli", *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    assert json.loads(out.read_text()) == result
    assert (result["config"]["entries"], result["config"]["checkpoints"]) == (2500, 5)
    for name in ("command", "command_on_an_empty_log", "in_process", "bare", "bare_with_encoding"):
        assert positive(result[name]["median_s"]), name
    assert positive(result["command"]["cpu_median_s"])
    assert all(positive(ratio) for ratio in result["ratio"].values())
    assert result["goal"] == {"command_median_below_s": 5.0, "met": result["command"]["median_s"] < 5.0}
