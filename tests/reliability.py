"""What each reliability and security test attacked and what held (issue 28; quality.md R1–R9, S1–S16),
written by the tests as JSON and turned into docs/reliability.md by `make test-reliability`
(`python -m tests.reliability_report`), never edited by hand.

A test computes its figures, calls `record(...)`, and only then asserts: a run that failed is in the
report with its failures, not missing from it. A non-test module: tests import it, never each other.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Where the tests write their rows; `make test-reliability` empties it first.
RESULTS = Path(os.environ.get("CELLMEET_RELIABILITY_DIR", ROOT / "var" / "reliability"))


@dataclass(frozen=True)
class Row:
    """One line of quality.md: its title, and why it cannot run here (None: it can)."""

    title: str
    not_here: str | None = None


ROWS: dict[str, Row] = {
    "R1": Row("Hard crash mid-meeting (kill -9), and the crash loop"),
    "R2": Row("Graceful restart (SIGTERM) under load"),
    "R3": Row("Single-client partition and resume"),
    "R4": Row("Lossy and jittery media path (tc netem)"),
    "R5": Row("Soak and leaks"),
    "R6": Row("No blocking on the event loop"),
    "R7": Row("Capacity on 2 cores"),
    "R8": Row("Flood and backpressure"),
    "R9": Row("Concurrent minutes edits"),
    "S1": Row("Unit isolation and role limits (authorisation matrix)"),
    "S2": Row("Every route and event registered, with a permission and a schema"),
    "S3": Row("Revocation is immediate"),
    "S4": Row("Session cookies and lifetime"),
    "S5": Row("Login abuse"),
    "S6": Row("CSRF and cross-site WebSocket hijacking"),
    "S7": Row("Fuzz every socket event and REST body"),
    "S8": Row("Payload and frame limits"),
    "S9": Row("XSS and output encoding in real browsers"),
    "S10": Row("TURN policy"),
    "S11": Row("Encryption on the wire and no third-party contact"),
    "S12": Row("Tamper-evident audit log"),
    "S13": Row("Logging hygiene"),
    "S14": Row("One ballot per eligible member"),
    "S15": Row("Join tickets and links"),
    "S16": Row("Deployment config and dependency hygiene"),
}


@dataclass(frozen=True)
class Result:
    row: str  # "R1" ... "S16"
    test: str  # the pytest node id
    attacked: str  # what was done to the system, in a sentence
    attempts: int  # how many times it was done
    failures: int  # how many of them broke a promise
    figure: str  # the measured figure a reader wants ("p99 41 ms", "0 of 50 writes lost")
    tier: str  # "fast" or "slow"
    finished_at: float = 0.0


def record(
    row: str, test: str, *, attacked: str, attempts: int, failures: int, figure: str, tier: str
) -> Result:
    """Write one result (a later run of the same test and tier replaces it)."""
    assert row in ROWS, f"unknown row {row}: add it to tests/reliability.py ROWS"
    assert tier in ("fast", "slow"), tier
    result = Result(row, test, attacked, attempts, failures, figure, tier, time.time())
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{row}-{tier}-{test}")[:180]
    (RESULTS / f"{name}.json").write_text(json.dumps(asdict(result), ensure_ascii=False, indent=1))
    return result


@dataclass
class Tally:
    """The attempts of many test cases that make one row (a module of parametrised cases, such as the
    authorisation matrix): each case counts what it tried and what broke, before it asserts; the
    module's fixture writes the whole as one result at its end (`write`)."""

    row: str
    test: str  # the module's path (tests/reliability.py `module_id`)
    attacked: str
    tier: str
    attempts: int = 0
    failures: int = 0
    broken: list[str] = field(default_factory=list)

    def count(self, held: bool, what: str = "") -> bool:
        """One attempt; `held`: the promise held. Returns `held`, for the case's own assertion."""
        self.attempts += 1
        if not held:
            self.failures += 1
            self.broken.append(what)
        return held

    def write(self, figure: str) -> Result:
        more = len(self.broken) - 3
        shown = "; ".join(self.broken[:3]) + (f" (+{more} more)" if more > 0 else "")
        return record(
            self.row,
            self.test,
            attacked=self.attacked,
            attempts=self.attempts,
            failures=self.failures,
            figure=figure + (f"; broken: {shown}" if self.broken else ""),
            tier=self.tier,
        )


def module_id(request: object) -> str:
    """The running module's path under tests/ (pass a module-scoped fixture's `request`)."""
    node = getattr(request, "node", None)
    return str(getattr(node, "nodeid", "unknown")).removeprefix("tests/").split("::")[0]


def load(folder: Path = RESULTS) -> list[Result]:
    if not folder.is_dir():
        return []
    return [Result(**json.loads(path.read_text())) for path in sorted(folder.glob("*.json"))]


def node_id(request: object) -> str:
    """The running test's id, without the folder (pass pytest's `request`)."""
    node = getattr(request, "node", None)
    return str(getattr(node, "nodeid", "unknown")).removeprefix("tests/")


def record_unmeasured(row: str, test: str, *, tier: str, error: str, since: float) -> Result | None:
    """A reliability test that failed before it called `record` (a fixture, a set-up step or an
    early assertion broke) still gets its line: one attempt, one failure, the error as its figure.
    Nothing is written when the test recorded its own result since `since` (it measured, then
    asserted)."""
    if any(r.test == test and r.tier == tier and r.finished_at >= since for r in load()):
        return None
    first_line = next((line.strip() for line in error.splitlines() if line.strip()), "no message")
    return record(
        row,
        test,
        attacked="(the test failed before it measured anything)",
        attempts=1,
        failures=1,
        figure=f"FAILED before measuring: {first_line[:300]}",
        tier=tier,
    )
