"""WeasyPrint and fontTools narrate every PDF at INFO ("Step 1 - Fetching and parsing HTML" ...);
cellmeet keeps only their warnings and errors (issue 23, point 5), in a started server and in the CLI."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from server.logs import QUIET_LIBRARIES
from tests.integration.helpers import cellmeet
from tests.integration.world import World

PERIOD = "from=2026-01-01&to=2026-12-31"


def library_chatter(records: list[logging.LogRecord]) -> list[str]:
    return [
        f"{r.levelname} {r.name} {r.getMessage()}"
        for r in records
        if r.name.split(".")[0] in QUIET_LIBRARIES and r.levelno < logging.WARNING
    ]


async def test_a_started_server_renders_a_pdf_without_library_progress_lines(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # everything the loggers let through is captured
    auditor = await world.as_user("auditor_p")
    pdf = await auditor.request(
        "GET", f"/api/v1/audit/usage/report?org={world.orgs['P']}&{PERIOD}&format=pdf"
    )
    assert pdf.status == 200 and pdf.body.startswith(b"%PDF")
    assert library_chatter(caplog.records) == []
    for name in ("weasyprint", "weasyprint.progress", "fontTools", "fontTools.subset"):
        assert logging.getLogger(name).getEffectiveLevel() == logging.WARNING, name


async def test_the_cli_writes_a_pdf_without_library_progress_lines(
    world: World, database_url: str, tmp_path: Path
) -> None:
    out = tmp_path / "bao-cao.pdf"
    run = await cellmeet(
        tmp_path, database_url, "report", "pilot", "--org", str(world.orgs["P"]),
        "--from", "2026-01-01", "--to", "2026-12-31", "--format", "pdf", "--out", str(out),
    )  # fmt: skip
    assert run.code == 0, run.stderr
    assert out.read_bytes().startswith(b"%PDF")
    # The CLI logs at INFO ("%(asctime)s %(levelname)s %(name)s ..."): none of it from those libraries.
    chatter = [
        line
        for line in run.stderr.splitlines()
        if any(f" {level} {name}" in line for level in ("DEBUG", "INFO") for name in QUIET_LIBRARIES)
    ]
    assert chatter == [], run.stderr
