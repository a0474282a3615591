"""Issue 21 point 4: every page, as each kind of user sees it, is valid HTML by the Nu Html Checker and has
no axe-core violation — both the HTML the server sends and the DOM once the page's scripts have run.

The tools come from web/node_modules (devDependencies, installed by `make setup`), never from the network:
the checker's jar runs once over every saved document (one JVM start), axe-core is injected into each page.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from tests.e2e.browser import Watched
from tests.e2e.conformance import AXE_JS, VNU_JAR, Findings, check, look, nu_html_checker, person
from tests.integration.helpers import approve_a, schedule
from tests.integration.room_client import link_members
from tests.integration.world import PASSWORD, World

Watch = Callable[..., Awaitable[Watched]]
AGENDA = {"items": [{"title": "Thông qua chương trình"}, {"title": "Tình hình tháng 11"}]}
PERIOD = "from=2026-01-01&to=2026-12-31"


@pytest.fixture
def tools() -> None:
    if not VNU_JAR.exists() or not AXE_JS.exists():
        pytest.fail("vnu-jar and axe-core are missing from web/node_modules: run `make setup`")
    if shutil.which("java") is None:
        pytest.fail("java is missing (the Nu Html Checker is a jar): apt-get install -y default-jre-headless")


@pytest.fixture
async def findings(tmp_path: Path) -> AsyncIterator[Findings]:
    folder = tmp_path / "documents"
    folder.mkdir()
    yield Findings(folder)


async def meetings(world: World) -> tuple[int, int, int, list[tuple[str, int]]]:
    """Cell A: a meeting to come (Một chairs, Hai takes the minutes) and one held and closed; cell B: one in
    person, held with everyone checked in."""
    people = await link_members(world, "A", 3)
    await approve_a(world)
    roles = {"chair_id": people[0][1], "minute_taker_id": people[1][1]}
    live = await schedule(world, "sec_a", "A", mode="online", **roles)
    held = await schedule(world, "sec_a", "A", mode="hybrid", starts_at="2026-11-25T14:00:00+07:00", **roles)
    in_person = await schedule(world, "sec_b", "B", mode="in_person")
    for made in (live, held, in_person):
        assert made.status == 201, made.body
    sec_a, sec_b = await world.as_user("sec_a"), await world.as_user("sec_b")
    for meeting in (live, held):
        put = await sec_a.put(f"/api/v1/meetings/{meeting.body['id']}/agenda", AGENDA)
        assert put.status == 200, put.body
    excuse = {"member_id": world.members["A"][4], "reason": "Đi công tác xa"}
    assert (await sec_a.post(f"/api/v1/meetings/{live.body['id']}/excuses", excuse)).status == 201
    held_id = held.body["id"]
    assert (await sec_a.post(f"/api/v1/meetings/{held_id}/open", {"override_reason": "Thử"})).status == 200
    assert (await sec_a.post(f"/api/v1/meetings/{held_id}/close", {})).status == 200
    for member_id in world.members["B"]:
        checked_in = await sec_b.post(
            f"/api/v1/meetings/{in_person.body['id']}/checkins", {"member_id": member_id}
        )
        assert checked_in.status == 201, checked_in.body
    assert (await sec_b.post(f"/api/v1/meetings/{in_person.body['id']}/open", {})).status == 200
    assert (await sec_b.post(f"/api/v1/meetings/{in_person.body['id']}/close", {})).status == 200
    return int(live.body["id"]), int(held_id), int(in_person.body["id"]), people


async def join_room(page: Page, base: str, meeting_id: int) -> None:
    await page.goto(f"{base}/meetings/{meeting_id}/room")
    await page.get_by_role("button", name="Vào phòng họp").click()
    await expect(page.locator("#room")).to_have_attribute("data-state", "joined")


@pytest.mark.browser
# About 45 pages in seven browsers and one JVM: 90 s alone on a two-core machine, more beside the other
# worker; the suite's 120 s would cut it short (a timeout, not a finding).
@pytest.mark.timeout(360)
async def test_every_page_is_valid_html_without_axe_violations(
    world: World, watch: Watch, findings: Findings, tools: None
) -> None:
    base = findings.base = str(world.server.url)
    live, held, in_person, people = await meetings(world)
    (chair_name, _), (taker_name, _), (member_name, _) = people
    orgs = world.orgs

    # Anonymous: the login form (in both languages), a page that does not exist, the form without script.
    anonymous = await person(watch, base, None)
    await check(anonymous, findings, "login", "/login?next=/orgs/1", ready=None)
    await check(anonymous, findings, "not-found-anonymous", "/no-such-page", status=404, ready=None)
    await check(anonymous, findings, "login-en", "/login?lang=en", ready=None)
    no_script = await person(watch, base, None, java_script_enabled=False)
    await no_script.goto(base + "/login")
    await no_script.get_by_label("Tên đăng nhập").fill("sec_a")
    await no_script.get_by_label("Mật khẩu").fill(PASSWORD)
    async with no_script.expect_response(lambda r: r.request.method == "POST") as posted:
        await no_script.get_by_role("button", name="Đăng nhập").click()
    assert (await posted.value).status == 400
    findings.save("login-without-script.served", await (await posted.value).text())
    findings.save("login-without-script.dom", await no_script.content())

    # The secretary of cell A: the tree, the account, the cell, its party group, the record, the meetings.
    secretary = await person(watch, base, "sec_a")
    await check(secretary, findings, "home-secretary", "/", ready="#tree[data-ready=true]")
    await check(secretary, findings, "account", "/account")
    await check(secretary, findings, "org-cell-secretary", f"/orgs/{orgs['A']}")
    await check(secretary, findings, "org-group-secretary", f"/orgs/{orgs['A1']}")
    await check(secretary, findings, "record", f"/orgs/{orgs['A']}/record?month=2026-11", ready=None)
    await check(
        secretary, findings, "record-bad-month", f"/orgs/{orgs['A']}/record?month=11-2026", ready=None
    )
    await check(secretary, findings, "meeting-scheduled-secretary", f"/meetings/{live}")
    await check(secretary, findings, "meeting-held-secretary", f"/meetings/{held}")
    await check(secretary, findings, "minutes-draft-secretary", f"/meetings/{live}/minutes")
    await check(secretary, findings, "minutes-held-secretary", f"/meetings/{held}/minutes")
    await check(secretary, findings, "not-found-org", "/orgs/999999", status=404, ready=None)
    await check(secretary, findings, "not-found-signed-in", "/no-such-page", status=404, ready=None)

    # Other roles: a member, the other cell's secretary, the committee's approver and admin, the province's
    # auditor (the pilot dashboard; not summoned to the room), the operator, someone with no unit at all.
    member = await person(watch, base, "member_a")
    await check(member, findings, "home-member", "/", ready="#tree[data-ready=true]")
    await check(member, findings, "org-cell-member", f"/orgs/{orgs['A']}")
    await check(member, findings, "meeting-member", f"/meetings/{live}")
    await check(member, findings, "room-prejoin", f"/meetings/{live}/room", ready="#room[data-ready=true]")
    other = await person(watch, base, "sec_b")
    await check(other, findings, "org-cell-b", f"/orgs/{orgs['B']}")
    await check(other, findings, "meeting-in-person", f"/meetings/{in_person}")
    await check(other, findings, "minutes-in-person", f"/meetings/{in_person}/minutes")
    approver = await person(watch, base, "approver_c")
    await check(approver, findings, "org-committee-approver", f"/orgs/{orgs['C']}")
    admin = await person(watch, base, "admin_c")
    await check(admin, findings, "org-grassroots-admin", f"/orgs/{orgs['G']}")
    auditor = await person(watch, base, "auditor_p")
    await check(auditor, findings, "org-province-auditor", f"/orgs/{orgs['P']}")
    await check(auditor, findings, "usage-province", f"/orgs/{orgs['P']}/usage?{PERIOD}", ready=None)
    await check(auditor, findings, "usage-cell", f"/orgs/{orgs['A']}/usage?{PERIOD}", ready=None)
    bad_period = f"/orgs/{orgs['P']}/usage?from=2026-12-31&to=2026-01-01"
    await check(auditor, findings, "usage-bad-period", bad_period, ready=None)
    await check(auditor, findings, "minutes-auditor", f"/meetings/{held}/minutes")
    await check(auditor, findings, "room-refused", f"/meetings/{live}/room", status=403, ready=None)
    operator = await person(watch, base, "operator")
    await check(operator, findings, "home-operator", "/", ready="#tree[data-ready=true]")
    await check(operator, findings, "org-province-operator", f"/orgs/{orgs['P']}")
    outsider = await person(watch, base, "outsider")
    await check(outsider, findings, "home-outsider", "/", ready="#tree[data-ready=true]")

    # The room, joined: the chair, the minute-taker and a member; the meeting opened and a vote open.
    chair = await person(watch, base, chair_name)
    await check(chair, findings, "minutes-held-chair", f"/meetings/{held}/minutes")
    taker = await person(watch, base, taker_name)
    voter = await person(watch, base, member_name, viewport={"width": 360, "height": 740})
    for page in (chair, taker, voter):
        await join_room(page, base, live)
    sec_api = await world.as_user("sec_a")
    assert (await sec_api.post(f"/api/v1/meetings/{live}/open", {})).status == 200
    chair_api = await world.as_user(chair_name)
    assert (await chair_api.post(f"/api/v1/meetings/{live}/agenda/current", {"index": 1})).status == 200
    vote = await chair_api.post(
        f"/api/v1/meetings/{live}/votes", {"question": "Thông qua", "kind": "ordinary"}
    )
    assert vote.status == 201, vote.body
    await expect(voter.locator("#vote-panel")).to_have_attribute("data-state", "open")
    await expect(chair.locator("#chair-panel")).to_be_visible()
    await expect(taker.locator("#minutes-panel")).to_have_attribute("data-mode", "edit")
    for name, page in (("room-chair", chair), ("room-minute-taker", taker), ("room-member", voter)):
        await look(page, findings, name)
    assert (await chair_api.post(f"/api/v1/votes/{vote.body['id']}/close", {})).status == 200
    await expect(voter.locator("#vote-result")).to_be_visible()
    await look(voter, findings, "room-member-vote-closed")

    # Split into groups, from the chair's page.
    await chair.get_by_label("Chia theo").select_option("ad_hoc")
    await chair.get_by_label("Số nhóm").fill("2")
    await chair.get_by_role("button", name="Chia nhóm thảo luận").click()
    await expect(voter.locator("#breakout-panel")).to_be_visible()
    await expect(chair.locator("#breakout-running")).to_be_visible()
    await look(chair, findings, "room-chair-groups")
    await look(voter, findings, "room-member-groups")
    await chair.get_by_role("button", name="Đưa mọi người trở lại phòng chung").click()
    await expect(voter.locator("#breakout-panel")).to_be_hidden()

    # A member leaves.
    await voter.get_by_role("button", name="Rời phòng họp").click()
    await expect(voter.locator("#left")).to_be_visible()
    await look(voter, findings, "room-left")

    # The Nu Html Checker over every document at once: errors fail, warnings are reported.
    started = time.monotonic()
    report = nu_html_checker(findings.folder)
    print(f"Nu Html Checker: {len(findings.documents)} documents in {time.monotonic() - started:.1f} s")
    errors, warnings = [], []
    for message in report["messages"]:
        where = re.sub(r"^.*/", "", message.get("url", "")) + f":{message.get('lastLine', '?')}"
        text = f"{where}: {message.get('message')} [{message.get('extract', '').strip()[:120]}]"
        if message["type"] in ("error", "non-document-error") or message.get("subType") == "fatal":
            errors.append(text)
        else:
            warnings.append(text)
    print("Nu Html Checker warnings:", *warnings, sep="\n  ")
    print("Nu Html Checker errors:", *errors, sep="\n  ")
    violations = {name: found for name, found in findings.axe.items() if found}
    assert len(findings.pages) >= 40, findings.pages
    assert (errors, violations) == ([], {}), "\n".join(
        [
            "Nu Html Checker errors:",
            *errors,
            "axe-core violations:",
            json.dumps(violations, ensure_ascii=False, indent=1),
        ]
    )
