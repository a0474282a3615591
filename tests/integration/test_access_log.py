"""Issue 5: every auditor's read of a unit's records is itself logged, and the unit's secretary sees it.

The province's auditor reads cell A's meetings, attendance and votes; the cell's secretary then finds
exactly those reads (who, what, when) in the unit's access log, newest first, while her own reads,
a member's, a refused read and an attempted write by the auditor left nothing there.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from server.appkeys import DATABASE
from server.audit.verify import verify_database
from server.clock import iso
from tests.integration.helpers import is_vietnamese, running_meeting
from tests.integration.world import World


def log_path(world: World, unit: str, query: str = "") -> str:
    return f"/api/v1/orgs/{world.orgs[unit]}/access-log{query}"


async def access_log(world: World, username: str, unit: str, query: str = "") -> list[dict[str, Any]]:
    reply = await (await world.as_user(username)).get(log_path(world, unit, query))
    assert reply.status == 200, reply.body
    assert reply.body["org_id"] == world.orgs[unit]
    return list(reply.body["entries"])


async def audit_rows(world: World, action: str) -> list[dict[str, Any]]:
    reply = await (await world.as_user("operator")).get("/api/v1/audit/log?after=0")
    assert reply.status == 200, reply.body
    return [e for e in reply.body["entries"] if e["action"] == action]


async def test_the_secretary_sees_exactly_the_auditors_reads(world: World) -> None:
    _, mid, vid = await running_meeting(world, "sec_a", "A", 3)
    auditor, sec_a = await world.as_user("auditor_p"), await world.as_user("sec_a")
    assert await access_log(world, "sec_a", "A") == []

    reads = [
        f"/api/v1/orgs/{world.orgs['A']}/meetings",
        f"/api/v1/meetings/{mid}/attendance",
        f"/api/v1/meetings/{mid}/votes",
        f"/api/v1/votes/{vid}",
    ]
    read_at = []
    for path in reads:
        world.server.clock.advance(minutes=3)
        reply = await auditor.get(path)
        assert reply.status == 200, reply.body
        read_at.append(iso(world.server.clock()))
    attendance = (await auditor.get(f"/api/v1/meetings/{mid}/attendance")).body
    assert "Nguyễn Văn Một" in repr(attendance)
    read_at.append(iso(world.server.clock()))
    reads.append(f"/api/v1/meetings/{mid}/attendance")

    # what leaves no trace: a refused read, a refused write, the unit's own people reading
    world.server.clock.advance(minutes=3)
    assert (await auditor.get(f"/api/v1/orgs/{world.orgs['A']}/grants")).status == 403
    draft = await auditor.get(f"/api/v1/meetings/{mid}/minutes")  # a draft: read once adopted
    assert (draft.status, draft.error_code) == (403, "minutes_not_adopted")
    assert (await auditor.post(f"/api/v1/votes/{vid}/close")).status == 403
    for username in ("sec_a", "deputy_a", "member_a"):
        client = await world.as_user(username)
        for path in reads[1:]:
            assert (await client.get(path)).status == 200, (username, path)

    entries = await access_log(world, "sec_a", "A")
    auditor_id = world.users["auditor_p"]
    assert [(e["actor"], e["at"], e["method"], e["path"], e["target"]) for e in entries] == [
        ({"id": auditor_id, "name": "auditor_p"}, at, "GET", path, path)
        for at, path in reversed(list(zip(read_at, reads, strict=True)))
    ]
    assert [e["seq"] for e in entries] == sorted((e["seq"] for e in entries), reverse=True)

    # the rows are links of the audit hash chain, with the unit, the auditor and the request
    rows = await audit_rows(world, "access.read")
    assert [(r["seq"], r["org"], r["actor"], r["target"], r["data"]) for r in rows] == [
        (e["seq"], world.orgs["A"], auditor_id, e["path"], {"method": "GET", "path": e["path"]})
        for e in reversed(entries)
    ]
    assert (await verify_database(world.server.app[DATABASE])).ok

    # the deputy and the officers above read it too; a plain member may not; another unit does not exist
    for username in ("deputy_a", "admin_c", "approver_c"):
        assert await access_log(world, username, "A") == entries, username
    member = await (await world.as_user("member_a")).get(log_path(world, "A"))
    assert (member.status, member.error_code) == (403, "forbidden")
    operator = await (await world.as_user("operator")).get(log_path(world, "A"))
    assert (operator.status, operator.error_code) == (403, "forbidden")
    for username in ("sec_b", "sec_q", "auditor_q"):
        hidden = await (await world.as_user(username)).get(log_path(world, "A"))
        assert (hidden.status, hidden.error_code) == (404, "not_found"), username
    assert (await world.make_client().get(log_path(world, "A"))).status == 401

    # the auditor may read the log of what it read; that read is not logged (no row per look)
    assert await access_log(world, "auditor_p", "A") == entries
    assert await access_log(world, "auditor_p", "A") == entries
    assert len(await audit_rows(world, "access.read")) == len(entries)

    # paging: after / before a sequence number
    newest, second = entries[0]["seq"], entries[1]["seq"]
    assert await access_log(world, "sec_a", "A", f"?after={second}") == entries[:1]
    assert await access_log(world, "sec_a", "A", f"?before={newest}") == entries[1:]
    assert await access_log(world, "sec_a", "A", f"?after={newest}") == []
    for bad in ("?after=-1", "?after=abc", "?before=1.5", "?after=99999999999"):
        reply = await sec_a.get(log_path(world, "A", bad))
        assert (reply.status, reply.error_code) == (422, "validation_error"), (bad, reply.body)
        assert is_vietnamese(reply.body["error"]["message"]), reply.body
    english = await (await world.as_user("sec_a", "en")).get(log_path(world, "A", "?after=abc"))
    assert (
        english.body["error"]["message"]
        == "'after' must be a sequence number of the log (a whole number, 0 or more)."
    )


async def test_a_subtree_read_is_one_row_for_the_unit_asked_about(world: World) -> None:
    """The meetings of the grassroots committee list cell A's too: one row for the committee, none for A."""
    _, mid, _ = await running_meeting(world, "sec_a", "A", 3)
    auditor = await world.as_user("auditor_p")
    listed = await auditor.get(f"/api/v1/orgs/{world.orgs['G']}/meetings")
    assert listed.status == 200 and [m["id"] for m in listed.body["meetings"]][-1] == mid
    assert (await auditor.get(f"/api/v1/orgs/{world.orgs['P']}/eligibility")).status == 200
    assert await access_log(world, "sec_a", "A") == []
    [committee] = await access_log(world, "admin_c", "G")
    assert committee["path"] == f"/api/v1/orgs/{world.orgs['G']}/meetings"
    [province] = await access_log(world, "auditor_p", "P")
    assert province["path"] == f"/api/v1/orgs/{world.orgs['P']}/eligibility"
    # a page that shows the meeting is a read of the cell too
    page = await auditor.get(f"/meetings/{mid}")
    assert page.status == 200
    assert [e["path"] for e in await access_log(world, "sec_a", "A")] == [f"/meetings/{mid}"]


async def test_no_data_leaves_when_the_read_cannot_be_logged(world: World) -> None:
    """The row is written before the answer is sent: if the database refuses it, the auditor gets a
    500 without the record, and the unit's own people are not affected."""
    _, mid, _ = await running_meeting(world, "sec_a", "A", 3)
    db = world.server.app[DATABASE]
    refuse = (
        [
            "CREATE TRIGGER refuse_access_rows BEFORE INSERT ON audit_events "
            "WHEN NEW.action = 'access.read' BEGIN SELECT RAISE(ABORT, 'access rows refused'); END"
        ]
        if db.is_sqlite
        else [
            "CREATE FUNCTION refuse_access_rows() RETURNS trigger AS $$ BEGIN "
            "IF NEW.action = 'access.read' THEN RAISE EXCEPTION 'access rows refused'; END IF; "
            "RETURN NEW; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER refuse_access_rows BEFORE INSERT ON audit_events "
            "FOR EACH ROW EXECUTE FUNCTION refuse_access_rows()",
        ]
    )
    async with db.write() as session:
        for statement in refuse:
            await session.execute(text(statement))
    auditor = await world.as_user("auditor_p")
    failed = await auditor.get(f"/api/v1/meetings/{mid}/attendance")
    assert (failed.status, failed.error_code) == (500, "internal_error")
    assert "Nguyễn Văn Một" not in repr(failed.body)
    votes = await auditor.get(f"/api/v1/meetings/{mid}/votes")
    assert (votes.status, votes.error_code) == (500, "internal_error")
    secretary = await (await world.as_user("sec_a")).get(f"/api/v1/meetings/{mid}/attendance")
    assert secretary.status == 200 and "Nguyễn Văn Một" in repr(secretary.body)

    async with db.write() as session:
        await session.execute(
            text("DROP TRIGGER refuse_access_rows" + ("" if db.is_sqlite else " ON audit_events"))
        )
    assert (await auditor.get(f"/api/v1/meetings/{mid}/attendance")).status == 200
    assert [e["path"] for e in await access_log(world, "sec_a", "A")] == [
        f"/api/v1/meetings/{mid}/attendance"
    ]
    assert (await verify_database(db)).ok


async def test_the_unit_page_has_the_section_for_its_officers_only(world: World) -> None:
    page = await (await world.as_user("sec_a")).get(f"/orgs/{world.orgs['A']}")
    html = page.body.decode()
    assert page.status == 200
    assert 'id="access-log-section"' in html and "Truy cập của cán bộ kiểm tra" in html
    assert "data-can-read-access-log" in html
    english = await (await world.as_user("sec_a")).get(f"/orgs/{world.orgs['A']}?lang=en")
    assert "Auditor access" in english.body.decode()
    member = (await (await world.as_user("member_a")).get(f"/orgs/{world.orgs['A']}")).body.decode()
    assert "data-can-read-access-log" not in member
