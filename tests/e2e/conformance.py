"""The conformance checks every page passes: the served HTML and the DOM saved for the Nu Html Checker
(offline, one JVM for all documents), and axe-core run on the page as it shows.

A non-test module, shared by the conformance tests of every page.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.async_api import Page, expect

from tests.e2e.browser import Watch, log_in

NODE_MODULES = Path(__file__).resolve().parents[2] / "web" / "node_modules"
VNU_JAR = NODE_MODULES / "vnu-jar" / "build" / "dist" / "vnu.jar"
AXE_JS = NODE_MODULES / "axe-core" / "axe.min.js"
# Every rule axe runs by default (WCAG 2.x A and AA, best practices), none disabled.
AXE_RUN = "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"


@dataclass
class Findings:
    """The documents saved for the checker and every axe violation, by page."""

    folder: Path
    base: str = ""
    documents: dict[str, str] = field(default_factory=dict)  # content hash -> file name
    axe: dict[str, list[str]] = field(default_factory=dict)
    pages: list[str] = field(default_factory=list)

    def save(self, name: str, html: str) -> None:
        digest = hashlib.sha256(html.encode()).hexdigest()[:16]
        if digest not in self.documents:  # the same served shell is checked once
            (self.folder / f"{name}.html").write_text(html, encoding="utf-8")
            self.documents[digest] = name


async def check(
    page: Page,
    findings: Findings,
    name: str,
    path: str,
    *,
    status: int = 200,
    ready: str | None = "[data-ready=true]",
) -> None:
    """Open `path`, keep the served HTML and the DOM once the page is ready, and run axe on it."""
    response = await page.goto(findings.base + path)
    assert response is not None and response.status == status, (name, response and response.status)
    findings.save(f"{name}.served", await response.text())
    # A page its script fills marks itself ready; a server-rendered one is whole on load.
    if ready is not None:
        await expect(page.locator(ready).first).to_be_attached(timeout=15_000)
    await look(page, findings, name)


async def look(page: Page, findings: Findings, name: str) -> None:
    """The DOM as the scripts left it, for the checker; axe's violations on the page as it shows."""
    findings.save(f"{name}.dom", await page.content())
    if not await page.evaluate("typeof axe !== 'undefined'"):
        tag = await page.add_script_tag(path=str(AXE_JS))
        await tag.evaluate("(script) => script.remove()")  # out of the next DOM snapshot of this page
    violations = await page.evaluate(AXE_RUN)
    findings.pages.append(name)
    findings.axe[name] = [
        f"{v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(" ".join(node["target"]) for node in v["nodes"][:5])
        for v in violations
    ]


def nu_html_checker(folder: Path) -> dict[str, Any]:
    """One JVM for every document; offline (the jar holds its schemas)."""
    files = sorted(str(path) for path in folder.glob("*.html"))
    ran = subprocess.run(
        ["java", "-jar", str(VNU_JAR), "--format", "json", "--stdout", *files],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert ran.stdout, ran.stderr
    return dict(json.loads(ran.stdout))


async def person(watch: Watch, base: str, username: str | None, **options: Any) -> Page:
    """A browser of its own, logged in through the form (anonymous when username is None)."""
    watched = await watch(bypass_csp=True, **options)  # axe is injected as a script tag
    page = await watched.new_page()
    if username is not None:
        await log_in(page, base, username, "/account")
    return page
