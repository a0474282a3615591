"""docs/reliability.md is generated from the tests' results: every quality.md row appears, a row
without a result says why, and the check fails on failures or an unexplained missing row."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests import reliability
from tests.reliability_report import main, render


def test_rows_results_and_the_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    results = tmp_path / "results"
    monkeypatch.setattr(reliability, "RESULTS", results)
    reliability.record(
        "R1", "integration/test_x.py::test_kill", attacked="kill -9 | 50 times", attempts=50,
        failures=0, figure="0 of 412 acknowledged writes lost", tier="slow",
    )  # fmt: skip
    reliability.record(
        "R9", "unit/test_y.py::test_edits", attacked="10 editors", attempts=1000, failures=2,
        figure="2 silent losses", tier="fast",
    )  # fmt: skip
    loaded = reliability.load(results)
    text = render(loaded)
    for row_id in reliability.ROWS:
        assert f"| {row_id} " in text, row_id
    assert "kill -9 \\| 50 times" in text  # a cell's pipe cannot break the table
    assert "| 50 | 0 | 0 of 412 acknowledged writes lost |" in text
    assert "not run here: no test has written a result yet" in text  # R2 has none
    out = tmp_path / "reliability.md"
    assert main(["--results", str(results), "--out", str(out)]) == 0
    assert out.read_text() == text
    assert main(["--results", str(results), "--out", str(out), "--check"]) == 1  # R9 failed, rows missing


def test_a_test_failing_before_it_measures_still_gets_its_line(tmp_path: Path) -> None:
    """tests/conftest.py records a failed reliability test that never called `record` (here its
    fixture breaks), and leaves alone one that recorded and then failed its assertion."""
    results = tmp_path / "results"
    (tmp_path / "test_attacked.py").write_text(
        "import pytest\n"
        "from tests.reliability import node_id, record\n"
        'RELIABILITY_ROW = "R3"\n'
        "@pytest.fixture\n"
        "def network():\n"
        '    raise RuntimeError("no namespace for the partition")\n'
        "@pytest.mark.reliability\n"
        "def test_never_measures(network):\n"
        "    pass\n"
        "@pytest.mark.reliability\n"
        "def test_measures_then_fails(request):\n"
        '    record("R3", node_id(request), attacked="cut", attempts=3, failures=1,\n'
        '           figure="1 lost", tier="fast")\n'
        "    assert False\n"
    )
    env = {**os.environ, "CELLMEET_RELIABILITY_DIR": str(results), "PYTHONPATH": str(reliability.ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.conftest", "-q", "-p", "no:cacheprovider",
         "--rootdir", str(tmp_path), "-c", os.devnull, str(tmp_path / "test_attacked.py")],
        env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    assert "1 failed" in done.stdout and "1 error" in done.stdout, done.stdout + done.stderr
    by_test = {result.test: result for result in reliability.load(results)}
    measured = "test_attacked.py::test_measures_then_fails"
    assert set(by_test) == {measured, "test_attacked.py::test_never_measures"}, by_test
    unmeasured = by_test["test_attacked.py::test_never_measures"]
    assert (unmeasured.row, unmeasured.attempts, unmeasured.failures, unmeasured.tier) == ("R3", 1, 1, "fast")
    assert "no namespace for the partition" in unmeasured.figure
    assert (by_test[measured].attempts, by_test[measured].failures) == (3, 1)  # its own line, kept


def test_a_tally_writes_the_cases_of_a_module_as_one_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    results = tmp_path / "results"
    monkeypatch.setattr(reliability, "RESULTS", results)
    tally = reliability.Tally("S1", "integration/test_m.py", "every route as every actor", "fast")
    assert tally.count(True) and tally.count(True)
    for n in range(5):
        assert not tally.count(False, f"route {n} answered 200")
    written = tally.write("7 attempts")
    assert (written.row, written.test, written.attempts, written.failures) == (
        "S1",
        "integration/test_m.py",
        7,
        5,
    )
    assert (
        written.figure
        == "7 attempts; broken: route 0 answered 200; route 1 answered 200; route 2 answered 200 (+2 more)"
    )
    assert reliability.load(results) == [written]


def test_a_tallied_module_gets_one_line_with_its_failed_cases(tmp_path: Path) -> None:
    """A module whose fixture writes one row for all its cases (the authorisation matrix): failed cases
    are counted there, not given a line each."""
    results = tmp_path / "results"
    (tmp_path / "test_matrix.py").write_text(
        "import pytest\n"
        "from tests.reliability import Tally, module_id\n"
        'RELIABILITY_ROW = "S1"\n'
        "RELIABILITY_TALLIED = True\n"
        "pytestmark = pytest.mark.reliability\n"
        '@pytest.fixture(scope="module")\n'
        "def matrix(request):\n"
        "    before = request.session.testsfailed\n"
        '    tally = Tally("S1", module_id(request), "every route", "fast")\n'
        "    yield tally\n"
        "    tally.failures = request.session.testsfailed - before\n"
        '    tally.write(f"{tally.attempts} requests")\n'
        '@pytest.mark.parametrize("n", range(4))\n'
        "def test_case(matrix, n):\n"
        "    matrix.attempts += 1\n"
        "    assert n % 2 == 0\n"
    )
    env = {**os.environ, "CELLMEET_RELIABILITY_DIR": str(results), "PYTHONPATH": str(reliability.ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.conftest", "-q", "-p", "no:cacheprovider",
         "--rootdir", str(tmp_path), "-c", os.devnull, str(tmp_path / "test_matrix.py")],
        env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    assert "2 failed, 2 passed" in done.stdout, done.stdout + done.stderr
    written = reliability.load(results)
    assert [(r.row, r.test, r.attempts, r.failures) for r in written] == [("S1", "test_matrix.py", 4, 2)]
