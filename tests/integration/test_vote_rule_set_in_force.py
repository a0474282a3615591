"""Issue 30, point 1, for votes (R-VOTE-1), through the API on SQLite and PostgreSQL: a successor rule set
that asks more than three quarters of the voting base takes effect on 2027-01-01. Cell B's four official
members meet in person the day before and the day itself; three hands of four pass under hd03-2022 and fail
under the successor, and each result, as closed and as read back, cites the set it was decided under."""

from __future__ import annotations

import json
from typing import Any

from server.appkeys import DATABASE
from server.services.rule_sets import import_rule_set
from tests.integration.helpers import meeting_body
from tests.integration.world import World

SUCCESSOR: dict[str, Any] = {
    "name": "hd-2027-votes-test",
    "title": {"vi": "Hướng dẫn thử nghiệm biểu quyết 2027", "en": "Test voting guideline of 2027"},
    "status": "in_force",
    "in_force_from": "2027-01-01",
    "in_force_to": None,
    "supersedes": "hd03-2022",
    "sources": ["Văn bản giả định cho kiểm thử, ngày 01/12/2026"],
    "parameters": {"vote_pass_fraction": "3/4"},
}


async def _three_hands_of_four(world: World, starts_at: str) -> dict[str, Any]:
    """Cell B's in-person meeting on `starts_at`, its four official members checked in: a show of hands,
    three for and one against, closed by the counts; the vote as the API gives it back."""
    sec_b = await world.as_user("sec_b")
    scheduled = await sec_b.post(
        f"/api/v1/orgs/{world.orgs['B']}/meetings", meeting_body("in_person", starts_at=starts_at)
    )
    assert scheduled.status == 201, scheduled.body
    mid = scheduled.body["id"]
    for member in world.members["B"]:
        checked = await sec_b.post(f"/api/v1/meetings/{mid}/checkins", {"member_id": member})
        assert checked.status == 201, checked.body
    opened = await sec_b.post(f"/api/v1/meetings/{mid}/open", {})
    assert opened.status == 200, opened.body
    vote = await sec_b.post(
        f"/api/v1/meetings/{mid}/votes", {"question": "Thông qua nghị quyết", "mode": "show_of_hands"}
    )
    assert vote.status == 201, vote.body
    closed = await sec_b.post(
        f"/api/v1/votes/{vote.body['id']}/counts", {"for": 3, "against": 1, "abstain": 0}
    )
    assert closed.status == 200, closed.body
    read = await sec_b.get(f"/api/v1/votes/{vote.body['id']}")
    assert read.status == 200, read.body
    assert read.body["result"] == closed.body["result"]
    return dict(read.body)


async def test_a_vote_is_decided_under_the_set_in_force_on_the_meetings_date(world: World) -> None:
    async with world.server.app[DATABASE].write() as session:
        await import_rule_set(session, json.dumps(SUCCESSOR).encode(), at=world.server.clock())

    before = await _three_hands_of_four(world, "2026-12-31T20:00:00+07:00")
    assert before["result"]["counts"]["voting_base"] == 4
    assert (before["result"]["rule"], before["result"]["rule_set"]) == ("R-VOTE-1", "hd03-2022")
    assert before["result"]["outcome"] == "passed"  # 3 of 4 is more than half

    after = await _three_hands_of_four(world, "2027-01-01T06:00:00+07:00")  # still 31/12 in UTC
    assert (after["result"]["rule"], after["result"]["rule_set"]) == ("R-VOTE-1", "hd-2027-votes-test")
    assert after["result"]["outcome"] == "failed"  # 3 of 4 is not more than three quarters
