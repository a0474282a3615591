"""Issue 30 point 1, the page: `/rule-sets` shows every rule set side by side — status, days in force,
successor, sources, and each parameter's value in every set, the ones a successor changed marked — on
SQLite and PostgreSQL, in Vietnamese or English, to anyone signed in; a visitor is sent to the login."""

from __future__ import annotations

import json
import re
from typing import Any

from server.appkeys import DATABASE
from server.services.rule_sets import import_rule_set
from tests.integration.world import World

SUCCESSOR: dict[str, Any] = {
    "name": "hd-2027-page-test",
    "title": {"vi": "Hướng dẫn thử nghiệm năm 2027", "en": "Test guideline of 2027"},
    "status": "in_force",
    "in_force_from": "2027-01-01",
    "in_force_to": None,
    "supersedes": "hd03-2022",
    "sources": ["Văn bản giả định cho kiểm thử, ngày 01/12/2026"],
    "parameters": {"quorum_fraction": "3/4"},
}


def _row(html: str, parameter: str) -> str:
    found = re.search(rf'<tr data-parameter="{parameter}">(.*?)</tr>', html, re.S)
    assert found, parameter
    return found.group(1)


async def test_the_sets_side_by_side_with_what_changed(world: World) -> None:
    member = await world.as_user("member_a")
    alone = (await member.get("/rule-sets")).body.decode()
    assert 'data-rule-set="hd03-2022"' in alone and 'data-status="pilot"' in alone
    assert "thí điểm" in alone and "Hướng dẫn 03-HD/TW ngày 27/12/2022 của Ban Bí thư" in alone
    assert "data-changed" not in alone  # a set that succeeds none changed nothing

    async with world.server.app[DATABASE].write() as session:
        await import_rule_set(session, json.dumps(SUCCESSOR).encode(), at=world.server.clock())

    page = await member.get("/rule-sets")
    assert page.status == 200
    html = page.body.decode()
    columns = re.findall(r'<th scope="col" data-rule-set="([^"]+)">', html)
    assert columns == ["hd03-2022", "hd-2027-page-test"]  # the lineage in order, side by side
    assert re.findall(r'data-status="([a-z_]+)"', html) == ["superseded", "in_force"]
    assert "đến 2026-12-31" in html and "từ 2027-01-01" in html
    quorum = _row(html, "quorum_fraction")
    assert "R-QUOR-1" in quorum and "1/2" in quorum and "3/4" in quorum
    assert quorum.count('data-changed="true"') == 1 and "(đã thay đổi)" in quorum
    assert 'data-changed="true"' not in _row(html, "vote_pass_fraction")  # unchanged: not marked
    assert html.count('data-changed="true"') == 1

    english = (await (await world.as_user("operator", "en")).get("/rule-sets")).body.decode()
    assert "The rule sets side by side" in english and "(changed)" in english and "superseded" in english

    visitor = await world.make_client().get("/rule-sets")  # the redirect followed: the login form
    assert visitor.status == 200 and 'name="password"' in visitor.body.decode()
    assert "data-rule-set" not in visitor.body.decode()
