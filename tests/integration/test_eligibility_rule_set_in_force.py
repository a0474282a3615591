"""Issue 30, point 1, for eligibility (R-ELIG-2) and pilot applications, through the API on SQLite and
PostgreSQL: a successor rule set asking that more than three quarters of the register cannot meet in
person takes effect on 2026-12-01. Cell A (4 of 6 cannot) qualifies under hd03-2022 the day before and no
longer from that day in its own time zone; the application made then records the successor's decision and
the approver cannot approve it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from server.appkeys import DATABASE
from server.services.rule_sets import import_rule_set
from tests.integration.helpers import apply, decide, decision
from tests.integration.world import World

YEAR = 365 * 24 * 3600
SUCCESSOR: dict[str, Any] = {
    "name": "hd-2026-12-eligibility-test",
    "title": {"vi": "Hướng dẫn thử nghiệm tháng 12/2026", "en": "Test guideline of December 2026"},
    "status": "in_force",
    "in_force_from": "2026-12-01",
    "in_force_to": None,
    "supersedes": "hd03-2022",
    "sources": ["Văn bản giả định cho kiểm thử, ngày 20/11/2026"],
    "parameters": {"eligibility_fraction": "3/4"},
}


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"session_idle_seconds": YEAR, "session_absolute_seconds": YEAR}  # the clock moves a week


async def test_eligibility_is_decided_under_the_set_in_force_on_the_units_day(world: World) -> None:
    async with world.server.app[DATABASE].write() as session:
        await import_rule_set(session, json.dumps(SUCCESSOR).encode(), at=world.server.clock())
    path = f"/api/v1/orgs/{world.orgs['A']}/eligibility"
    sec_a = await world.as_user("sec_a")

    world.server.clock.now = datetime(2026, 11, 30, 16, 59, tzinfo=UTC)  # 23:59 on 30/11 in Hà Nội
    before = (await sec_a.get(path)).body
    assert (before["outcome"], before["rule"], before["rule_set"]) == (True, "R-ELIG-2", "hd03-2022")
    assert (before["counts"]["register"], before["counts"]["cannot_meet_in_person"]) == (6, 4)

    world.server.clock.now = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)  # 00:00 on 1/12 in Hà Nội
    after = (await sec_a.get(path)).body
    assert (after["outcome"], after["rule"]) == (False, "R-ELIG-2")
    assert after["rule_set"] == "hd-2026-12-eligibility-test"

    application = await apply(world, "sec_a", "A")
    recorded = application["eligibility"]
    assert (recorded["outcome"], recorded["rule_set"]) == (False, "hd-2026-12-eligibility-test")
    refused = await decide(
        await world.as_user("approver_c"), application["id"], decision(valid_from="2026-12-01")
    )
    assert refused.status == 409 and refused.body["error"]["rule"] == "R-ELIG-2", refused.body
