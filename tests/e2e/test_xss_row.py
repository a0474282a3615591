"""quality.md row S9 (issue 29): XSS and output encoding in real browsers.

The vectors of tests/e2e/xss_vectors.py go in through the API, as the people of the test world write
them, into every field a person writes and a page shows: account and member names, unit and group names,
the meeting's title and place, agenda titles and notes, an excuse's reason, vote questions, the minutes,
breakout group names and the chair's breakout messages (the room's only chat). Then every page that
shows them is opened in Chromium, and the room takes the vote, the minutes and the breakout as live
updates over its socket. Each vector sets `window.__xss` to its own number if it ever runs.

Held: `window.__xss` stays undefined on every page and after every live update; no CSP violation
(every context counts them from an init script, tests/e2e/browser.py CSP_WATCH); every page's CSP
allows no inline script; and a sample of the vectors is shown, as text, where it should be.

`javascript:` vectors that would only run on a click are shown as text, never as links: a page that made
a link of one would fail the sample check (the text would be the link's, not the vector's).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import pytest
from playwright.async_api import Page, Response, expect

from tests.e2e.browser import Watch, Watched, log_in
from tests.e2e.xss_vectors import FAST, VECTORS, number
from tests.integration.harness import ApiClient
from tests.integration.helpers import approve_a
from tests.integration.world import PASSWORD, World
from tests.reliability import node_id, record

RELIABILITY_ROW = "S9"

# The vectors a page is expected to show, missing from its text (whitespace folded as HTML folds it);
# text inputs' values count as shown.
MISSING = """
(expected) => {
  const fold = (s) => s.replace(/[\\s\\u0085]+/g, " ").trim();
  const parts = [document.body.innerText];
  for (const el of document.querySelectorAll("input, textarea")) parts.push(el.value);
  const all = fold(parts.join("\\n"));
  return expected.filter((text) => !all.includes(fold(text)));
}
"""


def pack(vectors: list[str], limit: int) -> list[str]:
    """The vectors joined by new lines into as few texts of at most `limit` characters as hold them."""
    texts: list[str] = [""]
    for vector in vectors:
        joined = f"{texts[-1]}\n{vector}" if texts[-1] else vector
        if len(joined) <= limit:
            texts[-1] = joined
        else:
            texts.append(vector)
    return texts


@dataclass
class Planted:
    """Where the vectors went: the meeting, the people, and what each page must show."""

    meeting_id: int
    chair: ApiClient
    member: str  # the username of the member who sits in the room in the browser
    names: list[str]  # members' full names
    agenda: list[str]  # agenda titles
    minutes: str
    questions: list[str]
    groups: list[str]
    messages: list[str]


@dataclass
class Run:
    """What the browsers saw: each page rendered, the vectors that ran, the violations, the text missing."""

    vectors: list[str]
    rendered: list[str] = field(default_factory=list)
    executed: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    csp_inline: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    contexts: list[Watched] = field(default_factory=list)

    async def look(self, page: Page, name: str, expected: list[str] = ()) -> None:  # type: ignore[assignment]
        """After the page (or a live update) has shown: nothing ran, no violation, the sample is text."""
        await asyncio.sleep(0.3)  # an error event of a broken image fires after the load
        self.rendered.append(name)
        ran = await page.evaluate("window.__xss")
        if ran is not None:
            self.executed.append(f"{name}: vector {ran}")
        for violation in await page.evaluate("window.__cspViolations || []"):
            self.violations.append(f"{name}: {violation}")
        for text in await page.evaluate(MISSING, list(expected)):
            self.missing.append(f"{name}: vector {number(text)} {text!r}")

    def check_csp(self, response: Response | None, name: str) -> None:
        assert response is not None, name
        policy = response.headers.get("content-security-policy", "")
        script = next((d for d in policy.split(";") if d.strip().startswith("script-src")), "")
        if not script or "'unsafe-inline'" in script or "'unsafe-eval'" in script:
            self.csp_inline.append(f"{name}: {script or 'no script-src'}")


def failed_loads(watched: Watched) -> list[str]:
    """Chromium's "Failed to load resource" errors: an injected image or frame that reached the DOM."""
    return [error for error in watched.console_errors if error.startswith("Failed to load resource")]


async def plant(world: World, vectors: list[str]) -> Planted:
    """Every user-written field of cell A filled with vectors, through the API as its real writers."""
    operator, sec_a = await world.as_user("operator"), await world.as_user("sec_a")
    cell = world.orgs["A"]
    await approve_a(world)  # before the register grows: the pilot's approval counts its members
    # Accounts with hostile display names (the operator creates them), linked to cell A's first members.
    usernames = ["xss_mot", "xss_hai", "xss_ba"]
    for index, username in enumerate(usernames):
        account = {"username": username, "password": PASSWORD, "full_name": vectors[-1 - index]}
        created = await operator.post("/api/v1/users", account)
        assert created.status == 201, created.body
        world.users[username] = created.body["id"]
    names = list(vectors)
    members = list(world.members["A"])
    for index, member_id in enumerate(members[:5]):
        body: dict[str, object] = {"full_name": names[index]}
        if index < len(usernames):
            body["user_id"] = world.users[usernames[index]]
        patched = await sec_a.patch(f"/api/v1/members/{member_id}", body)
        assert patched.status == 200, patched.body
    for name in names[5:]:
        added = await sec_a.post(
            f"/api/v1/orgs/{cell}/members", {"full_name": name, "standing": "probationary"}
        )
        assert added.status == 201, added.body
    # The unit's and its party group's names (a leader above renames them), and two more groups.
    admin = await world.as_user("admin_c")
    renamed = await admin.patch(f"/api/v1/orgs/{cell}", {"name": "Chi bộ " + vectors[6]})
    assert renamed.status == 200, renamed.body
    for name in vectors[7:9]:
        group = await sec_a.post(f"/api/v1/orgs/{cell}/groups", {"name": name})
        assert group.status == 201, group.body
    meeting = await sec_a.post(
        f"/api/v1/orgs/{cell}/meetings",
        {
            "kind": "regular",
            "mode": "online",
            "title": vectors[9],
            "place": vectors[10],
            "starts_at": "2026-12-05T14:00:00+07:00",
            "duration_minutes": 120,
            "chair_id": members[0],
            "minute_taker_id": members[1],
        },
    )
    assert meeting.status == 201, meeting.body
    meeting_id = int(meeting.body["id"])
    # Agenda: a title per vector (at most 50 items), and every vector again in the items' notes.
    titles = vectors[:50]
    notes = pack(vectors, 4000)
    items = [
        {"title": title, "item_type": "ordinary", "notes": notes[i] if i < len(notes) else ""}
        for i, title in enumerate(titles)
    ]
    put = await sec_a.put(f"/api/v1/meetings/{meeting_id}/agenda", {"items": items})
    assert put.status == 200, put.body
    excuse = {"member_id": members[4], "reason": pack(vectors, 1000)[0]}
    assert (await sec_a.post(f"/api/v1/meetings/{meeting_id}/excuses", excuse)).status == 201
    return Planted(
        meeting_id=meeting_id,
        chair=await world.as_user("xss_mot"),
        member="xss_ba",
        names=names,
        agenda=titles,
        minutes="\n".join(vectors),
        questions=pack(vectors, 1000)[:3],
        groups=vectors[11:13],
        messages=vectors[13:16],
    )


async def opened(world: World, path: str, body: dict[str, object]) -> dict[str, object]:
    """A meeting or a vote opened, with an override only when the server asks for one (quorum)."""
    sec_a = await world.as_user("sec_a")
    reply = await sec_a.post(path, body)
    if reply.status == 409:
        reply = await sec_a.post(path, {**body, "override_reason": "Thử nghiệm S9"})
    assert reply.status in (200, 201), reply.body
    return dict(reply.body)


async def visit(
    run: Run, page: Page, base: str, name: str, path: str, ready: str | None, expected: list[str]
) -> None:
    response = await page.goto(base + path)
    assert response is not None and response.status == 200, (name, response and response.status)
    run.check_csp(response, name)
    if ready is not None:
        await expect(page.locator(ready).first).to_be_attached(timeout=15_000)
    await run.look(page, name, expected)


async def as_person(run: Run, watch: Watch, base: str, username: str, path: str) -> Page:
    watched = await watch()
    run.contexts.append(watched)
    page = await watched.new_page()
    await log_in(page, base, username, path)
    return page


async def room_with_live_updates(run: Run, world: World, watch: Watch, planted: Planted) -> None:
    """A member in the room while the meeting opens, votes are opened and closed, the minutes are
    written and the meeting splits into groups with the chair's messages: each arrives over the socket."""
    base, meeting_id = str(world.server.url), planted.meeting_id
    path = f"/meetings/{meeting_id}/room"
    page = await as_person(run, watch, base, planted.member, path)
    await expect(page.locator("#room")).to_have_attribute("data-ready", "true")
    await run.look(page, "room (before joining)")
    await page.get_by_role("button", name="Vào phòng họp").click()
    await expect(page.locator("#room")).to_have_attribute("data-state", "joined")
    await run.look(page, "room (joined)")

    await opened(world, f"/api/v1/meetings/{meeting_id}/open", {})
    current = await planted.chair.post(f"/api/v1/meetings/{meeting_id}/agenda/current", {"index": 1})
    assert current.status == 200, current.body
    await expect(page.locator("#room")).to_contain_text(planted.agenda[1].split("\n")[0].strip()[:20])
    await run.look(page, "room (meeting opened, current item)", [planted.agenda[1]])

    for index, question in enumerate(planted.questions):
        vote = await opened(
            world, f"/api/v1/meetings/{meeting_id}/votes", {"question": question, "kind": "ordinary"}
        )
        await expect(page.locator("#vote-panel")).to_have_attribute("data-state", "open")
        await run.look(page, f"room (vote {index + 1} opened)", [question])
        sec_a = await world.as_user("sec_a")
        closed = await sec_a.post(f"/api/v1/votes/{vote['id']}/close", {})
        assert closed.status == 200, closed.body
        await expect(page.locator("#vote-panel")).not_to_have_attribute("data-state", "open")
        await run.look(page, f"room (vote {index + 1} closed)")

    taker = await world.as_user("xss_hai")
    fields = {"opening": planted.minutes, "conclusions": planted.minutes[:20_000]}
    fields |= {f"item:{i}": title for i, title in enumerate(planted.agenda)}
    saved = await taker.put(f"/api/v1/meetings/{meeting_id}/minutes", {"version": 0, "fields": fields})
    assert saved.status == 200, saved.body
    await expect(page.locator("#minutes-panel")).to_contain_text(run.vectors[0].strip()[:10])
    await run.look(page, "room (minutes edit pushed)", [planted.agenda[2]])

    members = world.members["A"]
    groups = [
        {"name": planted.groups[0], "member_ids": members[:2]},
        {"name": planted.groups[1], "member_ids": members[2:5]},
    ]
    split = await planted.chair.post(
        f"/api/v1/meetings/{meeting_id}/breakout", {"source": "ad_hoc", "groups": groups, "minutes": 10}
    )
    assert split.status in (200, 201), split.body
    await expect(page.locator("#breakout-group")).to_be_visible()
    await run.look(page, "room (breakout started)", [planted.groups[1]])
    for message in planted.messages:
        sent = await planted.chair.post(
            f"/api/v1/meetings/{meeting_id}/breakout/broadcast", {"text": message}
        )
        assert sent.status in (200, 201), sent.body
    await expect(page.locator("#breakout-messages li")).to_have_count(len(planted.messages))
    await run.look(page, "room (breakout messages)", planted.messages)
    ended = await planted.chair.post(f"/api/v1/meetings/{meeting_id}/breakout/end", {})
    assert ended.status == 200, ended.body
    await expect(page.locator("#breakout-panel")).to_be_hidden()
    await run.look(page, "room (breakout ended)")


async def every_page(run: Run, world: World, watch: Watch, planted: Planted) -> None:
    base, meeting = str(world.server.url), planted.meeting_id
    cell, group, province = world.orgs["A"], world.orgs["A1"], world.orgs["P"]
    secretary = await as_person(run, watch, base, "sec_a", "/")
    pages = [
        ("home (secretary)", "/", "#tree[data-ready=true]", []),
        ("unit page", f"/orgs/{cell}", "#unit[data-ready=true]", planted.names),
        ("party group page", f"/orgs/{group}", "#unit[data-ready=true]", []),
        ("meeting page", f"/meetings/{meeting}", "#meeting[data-ready=true]", planted.agenda),
        ("minutes page", f"/meetings/{meeting}/minutes", "#minutes-page[data-ready=true]", planted.agenda),
        ("monthly record", f"/orgs/{cell}/record?month=2026-12", None, []),
        ("account", "/account", "#account[data-ready=true]", []),
    ]
    for name, path, ready, expected in pages:
        await visit(run, secretary, base, name, path, ready, expected)
    member = await as_person(run, watch, base, planted.member, "/")
    await visit(run, member, base, "home (member)", "/", "#tree[data-ready=true]", [])
    await visit(
        run, member, base, "meeting page (member)", f"/meetings/{meeting}", "#meeting[data-ready=true]", []
    )
    auditor = await as_person(run, watch, base, "auditor_p", "/")
    await visit(run, auditor, base, "audit log", f"/orgs/{province}/audit", None, [])
    usage = f"/orgs/{cell}/usage?from=2026-01-01&to=2026-12-31"
    await visit(run, auditor, base, "usage", usage, None, [])
    operator = await as_person(run, watch, base, "operator", "/")
    await visit(run, operator, base, "operator page", "/admin", "#admin[data-ready=true]", [])


async def control(watch: Watch, base: str) -> tuple[list[str], object]:
    """The detectors themselves: a vector put into a page as markup is blocked by the CSP and reported;
    with the CSP bypassed, the same vector runs and sets `window.__xss` (so a 0 above means something)."""
    vector = "<img src=x onerror=window.__xss=1>"
    put = f"document.body.insertAdjacentHTML('beforeend', {vector!r})"
    guarded = await (await watch()).new_page()
    await guarded.goto(base + "/login")
    await guarded.evaluate(put)
    await guarded.wait_for_function("window.__cspViolations.length > 0", timeout=5_000)
    blocked = await guarded.evaluate("[window.__xss, ...window.__cspViolations]")
    bare = await (await watch(bypass_csp=True)).new_page()
    await bare.goto(base + "/login")
    await bare.evaluate(put)
    await bare.wait_for_function("window.__xss !== undefined", timeout=5_000)
    return blocked, await bare.evaluate("window.__xss")


async def s9(
    request: pytest.FixtureRequest, world: World, watch: Watch, vectors: list[str], tier: str
) -> None:
    started = time.monotonic()
    run = Run(vectors)
    planted = await plant(world, vectors)
    await room_with_live_updates(run, world, watch, planted)
    await every_page(run, world, watch, planted)
    seconds = time.monotonic() - started
    blocked, ran = await control(watch, str(world.server.url))
    loads = [error for watched in run.contexts for error in failed_loads(watched)]
    console = [
        error
        for watched in run.contexts
        for error in watched.console_errors + watched.page_errors
        if not error.startswith("Failed to load resource")
    ]
    failures = len(run.executed) + len(run.violations)
    shown = "; ".join((run.executed + run.violations)[:3])
    record(
        "S9",
        node_id(request),
        attacked=(
            f"{len(vectors)} XSS vectors written through the API into names, unit and group names, meeting "
            "title and place, agenda titles and notes, an excuse, vote questions, minutes, breakout group "
            "names and messages; every page showing them and every live room update rendered in Chromium"
        ),
        attempts=len(vectors) * len(run.rendered),
        failures=failures,
        figure=(
            f"{len(run.executed)} vectors ran, {len(run.violations)} CSP violations, "
            f"{len(run.csp_inline)} pages allowing inline script, "
            f"{len(run.missing)} sampled texts not shown, "
            f"{len(console)} script errors, {len(loads)} failed loads, "
            f"over {len(run.rendered)} renders ({seconds:.0f} s)" + (f"; {shown}" if shown else "")
        ),
        tier=tier,
    )
    assert blocked[0] is None and any("script-src" in v for v in blocked[1:]) and ran == 1, (blocked, ran)
    assert run.executed == [], run.executed
    assert run.violations == [], run.violations
    assert run.csp_inline == [], run.csp_inline
    assert run.missing == [], run.missing[:10]
    assert console == [], console[:10]
    assert loads == [], loads[:10]
    for watched in run.contexts:
        await watched.assert_clean(expected_failures=len(failed_loads(watched)))


@pytest.mark.browser
@pytest.mark.reliability
@pytest.mark.timeout(300)
async def test_forty_vectors_on_the_main_pages_and_live_updates(
    request: pytest.FixtureRequest, world: World, watch: Watch
) -> None:
    await s9(request, world, watch, FAST, "fast")


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.reliability
@pytest.mark.timeout(600)
async def test_two_hundred_vectors_on_every_page_and_live_update(
    request: pytest.FixtureRequest, world: World, watch: Watch
) -> None:
    await s9(request, world, watch, VECTORS, "slow")
