"""Issue 23, point 1: the audit log page pages its rows, keeps the filter across pages, refuses what it
does not understand without hiding the log, says when the chain is broken, and shows a member nothing."""

from __future__ import annotations

import re

from sqlalchemy import text

from server.appkeys import DATABASE
from server.pages.audit_page import CHAIN_CHECK
from tests.integration.helpers import schedule
from tests.integration.world import World

SEQ = re.compile(r'<li data-seq="(\d+)" data-action="([a-z_.]+)"')
OLDER = re.compile(r'<a id="older" rel="next" href="([^"]+)"')


async def test_the_log_pages_fifty_rows_at_a_time_and_keeps_the_filter(world: World) -> None:
    meeting = await schedule(world, "sec_a", "A")
    assert meeting.status == 201, meeting.body
    sec_a, path = await world.as_user("sec_a"), f"/api/v1/meetings/{meeting.body['id']}/excuses"
    for number in range(55):  # each change of the excuse is an audit row
        excuse = {"member_id": world.members["A"][4], "reason": f"Đi công tác lần {number}"}
        assert (await sec_a.post(path, excuse)).status in (200, 201)

    first = await sec_a.get(f"/orgs/{world.orgs['A']}/audit?action=attendance")
    assert first.status == 200
    html = first.body.decode() if isinstance(first.body, bytes) else str(first.body)
    rows = SEQ.findall(html)
    assert len(rows) == 50 and {action for _, action in rows} == {"excuse.submitted"}
    seqs = [int(seq) for seq, _ in rows]
    assert seqs == sorted(seqs, reverse=True)
    assert "sec_a xin vắng buổi sinh hoạt «" in html
    older = OLDER.search(html)
    assert older is not None and "action=attendance" in older.group(1)

    second = await sec_a.get(older.group(1).replace("&amp;", "&"))
    rest = [int(seq) for seq, _ in SEQ.findall(str(second.body.decode()))]
    assert len(rest) == 5 and max(rest) < min(seqs)
    assert OLDER.search(second.body.decode()) is None


async def test_a_filter_not_understood_is_named_and_the_log_still_shows(world: World) -> None:
    assert (await schedule(world, "sec_a", "A")).status == 201
    sec_a = await world.as_user("sec_a")
    answer = await sec_a.get(
        f"/orgs/{world.orgs['A']}/audit?unit={world.orgs['B']}&action=nothing&from=12-2026"
    )
    html = answer.body.decode()
    assert answer.status == 200
    assert 'id="filter-error"' in html and "unit, action, from" in html
    assert "meeting.scheduled" in [action for _, action in SEQ.findall(html)]
    units = set(re.findall(r'data-unit-id="(\d*)"', html))
    assert units <= {str(world.orgs["A"]), str(world.orgs["A1"])}  # the cell and its party group, never B


async def test_a_tampered_row_shows_the_chain_broken(world: World) -> None:
    assert (await schedule(world, "sec_a", "A")).status == 201
    world.server.app[CHAIN_CHECK].seconds = 0  # look again at every view
    sec_a = await world.as_user("sec_a")
    intact = (await sec_a.get(f"/orgs/{world.orgs['A']}/audit")).body.decode()
    assert 'data-ok="true"' in intact
    async with world.server.app[DATABASE].write() as session:
        await session.execute(
            text("UPDATE audit_events SET target = 'meeting:999999' WHERE action = 'meeting.scheduled'")
        )
    broken = (await sec_a.get(f"/orgs/{world.orgs['A']}/audit")).body.decode()
    assert 'data-ok="false"' in broken and "Bị hỏng" in broken


async def test_a_member_and_another_cell_get_no_log(world: World) -> None:
    await world.as_user("member_a")
    for username, unit in (("member_a", "A"), ("sec_b", "A"), ("sec_a", "G")):
        client = await world.as_user(username)
        assert (await client.get(f"/orgs/{world.orgs[unit]}/audit")).status == 404, (username, unit)
