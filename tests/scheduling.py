"""The order in which the fast suite hands its files to the two workers: the longest first.

`make test` runs `pytest -n 2 --dist loadfile`: each file goes whole to one worker, in the order the files
are queued. pytest-xdist queues them by number of tests unless told not to (`--no-loadscope-reorder`), so
a file with one long browser test (the conformance sweep, about 150 s) was queued last and ran alone while
the other worker sat idle: the last 12 % of a clean-clone run took 13 minutes. Queued longest first, the
short files fill the end on both workers.

The figures are seconds per file (set-up, call and tear-down summed) from a full fast run on this machine
(`--durations=0`, docs/performance.md); only their order matters, and a file not listed counts as short.
A non-test module, read by tests/conftest.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

# Files of the fast tier that take more than about 15 s, from the run of 2026-12-06.
SECONDS_BY_FILE: dict[str, float] = {
    "tests/e2e/test_conformance.py": 150,
    "tests/integration/test_audit_tampering.py": 107,
    "tests/integration/test_audit_checkpoints.py": 98,
    "tests/e2e/test_room_sfu.py": 78,
    "tests/integration/test_usage.py": 78,
    "tests/integration/test_crash_loop.py": 77,
    "tests/e2e/test_operator_page.py": 66,
    "tests/integration/test_room_abuse.py": 62,
    "tests/load/test_bench.py": 60,
    "tests/integration/test_authz_matrix.py": 56,
    "tests/e2e/test_secretary_runs_a_meeting.py": 49,
    "tests/integration/test_openapi_conformance.py": 48,
    "tests/integration/test_rule_set_lifecycle.py": 46,
    "tests/integration/test_room_restart.py": 45,
    "tests/load/test_bench_sfu.py": 41,
    # From a run of 2026-12-07 beside other tests (its figures run high; their order is what counts).
    "tests/integration/test_connection_exhaustion.py": 33,
    "tests/integration/test_soak.py": 29,
    "tests/e2e/test_pages.py": 27,
    "tests/integration/test_sfu_failure.py": 26,
    "tests/integration/test_room.py": 24,
    "tests/integration/test_join_burst_crash.py": 24,
    "tests/integration/test_socket_fuzz_row.py": 24,
    "tests/integration/test_two_processes.py": 23,
    "tests/e2e/test_xss_row.py": 21,
}


class Located(Protocol):
    @property
    def nodeid(self) -> str: ...


def file_of(item: Located) -> str:
    return item.nodeid.split("::", 1)[0]


def longest_files_first(items: Sequence[Located]) -> list[int]:
    """The items' indices reordered so that the files listed above come first, longest first; a file's
    own tests keep their order, and the other files keep theirs after them (a stable sort)."""
    return sorted(range(len(items)), key=lambda i: -SECONDS_BY_FILE.get(file_of(items[i]), 0.0))
