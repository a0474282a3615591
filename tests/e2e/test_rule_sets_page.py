"""Issue 30 point 1 in the browser: from the home page the operator opens the rule sets, sees the pilot
set and its successor side by side with the changed parameter marked; the page, as served and as shown,
is valid HTML (Nu Html Checker) with no axe-core violation."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from server.appkeys import DATABASE
from server.services.rule_sets import import_rule_set
from tests.e2e.browser import Watched
from tests.e2e.conformance import Findings, look, nu_html_checker, person
from tests.integration.world import World

Watch = Callable[..., Awaitable[Watched]]
SUCCESSOR: dict[str, Any] = {
    "name": "hd-2027-browser-test",
    "title": {"vi": "Hướng dẫn thử nghiệm năm 2027", "en": "Test guideline of 2027"},
    "status": "in_force",
    "in_force_from": "2027-01-01",
    "in_force_to": None,
    "supersedes": "hd03-2022",
    "sources": ["Văn bản giả định cho kiểm thử"],
    "parameters": {"quorum_fraction": "3/4"},
}


@pytest.mark.browser
async def test_the_operator_reads_the_rule_sets_side_by_side(
    world: World, watch: Watch, tmp_path: Path
) -> None:
    async with world.server.app[DATABASE].write() as session:
        await import_rule_set(session, json.dumps(SUCCESSOR).encode(), at=world.server.clock())
    base = str(world.server.url)
    findings = Findings(tmp_path)
    page = await person(watch, base, "operator")
    await page.goto(base + "/")
    async with page.expect_response(lambda r: r.url.endswith("/rule-sets")) as served:
        await page.get_by_role(
            "link", name="Các quy định hệ thống áp dụng, đặt cạnh nhau (bộ quy tắc)"
        ).click()
    findings.save("rule-sets.served", await (await served.value).text())

    table = page.get_by_role("table", name="Các bộ quy tắc đặt cạnh nhau")
    await expect(table.get_by_role("columnheader")).to_have_text(
        ["Tham số", "Quy tắc", "hd03-2022", "hd-2027-browser-test"]
    )
    quorum = table.locator('tr[data-parameter="quorum_fraction"]')
    await expect(quorum.get_by_role("cell")).to_have_text(["R-QUOR-1", "1/2", "3/4 (đã thay đổi)"])
    await expect(table.locator("[data-changed]")).to_have_count(1)

    await look(page, findings, "rule-sets")
    report = nu_html_checker(tmp_path)
    errors = [m for m in report["messages"] if m["type"] in ("error", "non-document-error")]
    assert (errors, findings.axe["rule-sets"]) == ([], [])
