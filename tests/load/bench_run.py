"""`cellmeet bench` run as an operator runs it, for the bench tests (a non-test module: both bench test
modules import it, never one another)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def run_bench(tmp_path: Path, *args: str, timeout: float) -> dict[str, Any]:
    """The JSON it printed, checked to be the same as the file it wrote."""
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, "-m", "server.cli", "bench", *args, "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    printed = json.loads(done.stdout)
    assert json.loads(out.read_text()) == printed
    return printed


def positive(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value) and value > 0
