"""Issue 30, part 1, through the API on SQLite and PostgreSQL: a successor rule set imported from a file with
`cellmeet rule-sets import`; a meeting dated before its in_force_from is decided under hd03-2022 and one on
or after under the successor (the decision cites it); the listing shows both side by side with statuses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.integration.helpers import assert_error, audit_entries, cellmeet, meeting_body
from tests.integration.world import World

SUCCESSOR: dict[str, Any] = {
    "name": "hd-2027-test",
    "title": {"vi": "Hướng dẫn thử nghiệm năm 2027", "en": "Test guideline of 2027"},
    "status": "in_force",
    "in_force_from": "2027-01-01",
    "in_force_to": None,
    "supersedes": "hd03-2022",
    "sources": ["Văn bản giả định cho kiểm thử, ngày 01/12/2026"],
    # More than three quarters of the voting base: 3 of cell B's 4 official members are no longer enough.
    "parameters": {"quorum_fraction": "3/4"},
}
LISTED_KEYS = {"id", "title", "status", "in_force_from", "in_force_to", "superseded_by", "sources"}


async def _import(tmp_path: Path, database_url: str, document: Any, name: str = "rule-set.json") -> Any:
    path = tmp_path / name
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return await cellmeet(tmp_path / "cli", database_url, "rule-sets", "import", str(path))


async def _open_with_three_of_four(world: World, starts_at: str) -> Any:
    """Cell B's meeting on `starts_at`, 3 of its 4 official members checked in, opened by its secretary."""
    client = await world.as_user("sec_b")
    scheduled = await client.post(
        f"/api/v1/orgs/{world.orgs['B']}/meetings", meeting_body("in_person", starts_at=starts_at)
    )
    assert scheduled.status == 201, scheduled.body
    meeting_id = scheduled.body["id"]
    for member in world.members["B"][:3]:
        checked = await client.post(f"/api/v1/meetings/{meeting_id}/checkins", {"member_id": member})
        assert checked.status == 201, checked.body
    return await client.post(f"/api/v1/meetings/{meeting_id}/open", {})


async def test_before_and_after_the_successor_and_the_listing(
    world: World, tmp_path: Path, database_url: str
) -> None:
    operator = await world.as_user("operator")
    before = await operator.get("/api/v1/rule-sets")
    assert before.status == 200, before.body
    assert before.body == [
        {
            "id": "hd03-2022",
            "title": before.body[0]["title"],
            "status": "pilot",
            "in_force_from": "2022-12-27",
            "in_force_to": None,
            "superseded_by": None,
            "sources": ["Hướng dẫn 03-HD/TW ngày 27/12/2022 của Ban Bí thư"],
        }
    ]

    run = await _import(tmp_path, database_url, SUCCESSOR)
    assert run.code == 0, run.stderr
    assert "hd-2027-test" in run.stdout

    # The last day under the pilot: 3 of 4 is more than half, quorate under hd03-2022.
    old = await _open_with_three_of_four(world, "2026-12-31T20:00:00+07:00")
    assert old.status == 200, old.body
    assert old.body["quorum"]["rule"] == "R-QUOR-1"
    assert old.body["quorum"]["rule_set"] == "hd03-2022"
    assert old.body["quorum"]["outcome"] is True

    # The change day itself (in the unit's time zone, though still 31/12 in UTC): the successor decides.
    new = await _open_with_three_of_four(world, "2027-01-01T06:00:00+07:00")
    error = assert_error(new, 409, "not_quorate")
    assert error["rule"] == "R-QUOR-1"
    assert error["details"]["rule_set"] == "hd-2027-test"
    counts = error["details"]["counts"]
    assert (counts["voting_base"], counts["present_official"], counts["needed"]) == (4, 3, 4)

    listed = await operator.get("/api/v1/rule-sets")
    assert listed.status == 200, listed.body
    assert all(set(entry) == LISTED_KEYS for entry in listed.body)
    assert [
        (e["id"], e["status"], e["in_force_from"], e["in_force_to"], e["superseded_by"]) for e in listed.body
    ] == [
        ("hd03-2022", "superseded", "2022-12-27", "2026-12-31", "hd-2027-test"),
        ("hd-2027-test", "in_force", "2027-01-01", None, None),
    ]
    english = await (await world.as_user("operator", "en")).get("/api/v1/rule-sets")
    assert english.body[1]["title"] == "Test guideline of 2027"

    one = await operator.get("/api/v1/rule-sets/hd-2027-test")
    assert one.status == 200, one.body
    assert one.body["status"] == "in_force" and one.body["sources"] == SUCCESSOR["sources"]
    quorum = next(p for p in one.body["parameters"] if p["name"] == "quorum_fraction")
    assert quorum["value"]["fraction"] == "3/4" and quorum["source"] == SUCCESSOR["sources"][0]
    pilot = await operator.get("/api/v1/rule-sets/hd03-2022")
    assert pilot.body["superseded_by"] == "hd-2027-test" and pilot.body["in_force_to"] == "2026-12-31"
    assert [e["data"]["document"]["name"] for e in await audit_entries(world, "rule_set.imported")] == [
        "hd-2027-test"
    ]


async def test_a_bad_file_is_refused_in_both_languages_and_changes_nothing(
    world: World, tmp_path: Path, database_url: str
) -> None:
    overlapping = {**SUCCESSOR, "in_force_from": "2022-01-01"}
    for document, why in [
        (overlapping, "must come into force after hd03-2022"),
        ({**SUCCESSOR, "parameters": {"quorum_fraction": "5/4"}}, "between 0 and 1"),
        ({**SUCCESSOR, "supersedes": "khong-co"}, "must name a known rule set"),
        ("không phải một đối tượng", "must hold a JSON object"),
    ]:
        run = await _import(tmp_path, database_url, document)
        assert run.code == 1, run.stdout
        assert "Tệp bộ quy tắc bị từ chối" in run.stderr or "Tệp phải là" in run.stderr, run.stderr
        assert why in run.stderr, run.stderr
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    run = await cellmeet(tmp_path / "cli", database_url, "rule-sets", "import", str(broken))
    assert run.code == 1 and "not JSON" in run.stderr, run.stderr

    listed = await (await world.as_user("operator")).get("/api/v1/rule-sets")
    assert [(e["id"], e["status"]) for e in listed.body] == [("hd03-2022", "pilot")]
    assert await audit_entries(world, "rule_set.imported") == []
    # The same good file twice: the second is refused, the first stays.
    assert (await _import(tmp_path, database_url, SUCCESSOR)).code == 0
    again = await _import(tmp_path, database_url, SUCCESSOR)
    assert again.code == 1 and "already exists" in again.stderr, again.stderr
