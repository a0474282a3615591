"""The audit log page (issue 23) passes the same checks as every other page: valid HTML for the Nu Html
Checker, no axe-core violation, as the auditor and as a cell's secretary, filtered and not."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.e2e.browser import Watch, open_below_quorum_and_vote
from tests.e2e.conformance import AXE_JS, VNU_JAR, Findings, check, nu_html_checker, person
from tests.integration.world import World


@pytest.mark.browser
async def test_the_audit_log_page_is_valid_html_without_axe_violations(
    world: World, watch: Watch, tmp_path: Path
) -> None:
    if not VNU_JAR.exists() or not AXE_JS.exists() or shutil.which("java") is None:
        pytest.fail("the Nu Html Checker, axe-core or java is missing: run `make setup` (see .ci/run)")
    (tmp_path / "documents").mkdir()
    findings = Findings(tmp_path / "documents")
    await open_below_quorum_and_vote(world)
    base = findings.base = str(world.server.url)
    province, cell_b = world.orgs["P"], world.orgs["B"]
    auditor = await person(watch, base, "auditor_p")
    await check(auditor, findings, "audit-province", f"/orgs/{province}/audit", ready=None)
    filtered = f"/orgs/{province}/audit?unit={cell_b}&action=meetings&from=2026-12-01&to=2026-12-31"
    await check(auditor, findings, "audit-filtered", filtered, ready=None)
    await check(auditor, findings, "audit-bad-filter", f"/orgs/{province}/audit?action=x&from=1", ready=None)
    secretary = await person(watch, base, "sec_b", viewport={"width": 360, "height": 740})
    await check(secretary, findings, "audit-cell-phone", f"/orgs/{cell_b}/audit", ready=None)
    await check(secretary, findings, "org-cell-with-reads", f"/orgs/{cell_b}")

    report = nu_html_checker(findings.folder)
    errors = [
        f"{m.get('url', '').rsplit('/', 1)[-1]}:{m.get('lastLine', '?')}: {m.get('message')}"
        for m in report["messages"]
        if m["type"] in ("error", "non-document-error") or m.get("subType") == "fatal"
    ]
    violations = {name: found for name, found in findings.axe.items() if found}
    assert len(findings.pages) == 5, findings.pages
    assert (errors, violations) == ([], {})
