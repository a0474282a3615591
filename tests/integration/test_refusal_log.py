"""Refused access leaves a trace with the user, the unit and the route (issue 31, part 6; ASVS 7.1.3,
7.2.2): another unit's 404s as well as one's own 403s."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import socketio
from sqlalchemy import func, select

from server.appkeys import DATABASE
from server.audit.refusals import (
    ACCESS_REFUSED,
    ANONYMOUS_LINES_PER_MINUTE,
    AUDIT_ROWS_PER_MINUTE,
    REFUSALS_SUPPRESSED,
)
from server.audit.verify import verify_database
from server.db.tables import AuditEvent
from tests.integration.room_client import RoomClient, link_members, online_meeting
from tests.integration.world import World


async def test_probing_another_unit_and_a_forbidden_write_are_logged_with_the_user(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="cellmeet.security")
    sec_b = await world.as_user("sec_b")
    member_id = world.members["A"][0]
    probed = await sec_b.get(f"/api/v1/members/{member_id}")
    assert probed.status == 404  # indistinguishable from an absent record, for the caller
    member_a = await world.as_user("member_a")
    forbidden = await member_a.patch(f"/api/v1/members/{member_id}", {"activity": "suspended"})
    assert forbidden.status == 403

    lines = [r.getMessage() for r in caplog.records if r.name == "cellmeet.security"]
    unit_a = world.orgs["A"]
    assert any(
        "status=404" in line
        and "route=/api/v1/members/{id}" in line
        and f"user={world.users['sec_b']} (sec_b)" in line
        and f"unit={unit_a}" in line
        for line in lines
    ), lines
    assert any(
        "status=403" in line
        and f"user={world.users['member_a']} (member_a)" in line
        and f"unit={unit_a}" in line
        for line in lines
    ), lines


async def test_a_refused_room_connection_is_logged_with_its_address_and_reason(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="cellmeet.realtime")
    for _ in range(3):
        anonymous = RoomClient(str(world.server.url))
        with pytest.raises(socketio.exceptions.ConnectionError):
            await anonymous.connect()
    lines = [r.getMessage() for r in caplog.records if "room connection refused" in r.getMessage()]
    once = "room connection refused: unauthenticated from 127.0.0.1 (further ones within 60 s are not logged)"
    assert lines == [once]


# --- refusals as rows of the audit chain (ASVS 7.2.2) ------------------------------------------------

MEETING = {
    "kind": "regular",
    "mode": "in_person",
    "title": "Sinh hoạt chi bộ thường kỳ",
    "starts_at": "2026-12-05T14:00:00+07:00",
    "duration_minutes": 120,
}


async def refusal_rows(world: World, after: int = 0) -> list[dict[str, Any]]:
    """The refusal rows of the chain, as the operator reads them with include=refusals."""
    operator = await world.as_user("operator")
    reply = await operator.get(f"/api/v1/audit/log?after={after}&include=refusals")
    assert reply.status == 200, reply.body
    return [e for e in reply.body["entries"] if e["action"] in (ACCESS_REFUSED, REFUSALS_SUPPRESSED)]


async def head(world: World) -> int:
    async with world.server.app[DATABASE].read() as session:
        return int((await session.execute(select(func.max(AuditEvent.seq)))).scalar_one())


async def test_probing_another_unit_and_a_forbidden_write_are_audit_rows(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="cellmeet.security")
    a, b = world.orgs["A"], world.orgs["B"]
    meeting = await (await world.as_user("sec_a")).post(f"/api/v1/orgs/{a}/meetings", MEETING)
    assert meeting.status == 201, meeting.body
    sec_b = await world.as_user("sec_b")
    before = await head(world)
    member, mid = world.members["A"][0], meeting.body["id"]
    probes = [
        await sec_b.get(f"/api/v1/members/{member}"),
        await sec_b.patch(f"/api/v1/members/{member}", {"standing": "probationary"}),
        await sec_b.get(f"/api/v1/meetings/{mid}"),
        await sec_b.get(f"/api/v1/orgs/{a}/meetings"),
    ]
    assert [(p.status, p.error_code) for p in probes] == [(404, "not_found")] * 4
    # a write of the operator's in its own unit: 403
    renamed = await sec_b.patch(f"/api/v1/orgs/{b}", {"name": "Chi bộ khác"})
    assert (renamed.status, renamed.error_code) == (403, "forbidden"), renamed.body
    # an absent record is no refusal: logged, not audited
    absent = await sec_b.get("/api/v1/members/987654")
    assert (absent.status, absent.body) == (404, probes[0].body)

    rows = await refusal_rows(world, before)
    sec_b_id = world.users["sec_b"]
    expected = [
        (a, "GET", "/api/v1/members/{id}", f"/api/v1/members/{member}", 404, "not_found"),
        (a, "PATCH", "/api/v1/members/{id}", f"/api/v1/members/{member}", 404, "not_found"),
        (a, "GET", "/api/v1/meetings/{id}", f"/api/v1/meetings/{mid}", 404, "not_found"),
        (a, "GET", "/api/v1/orgs/{id}/meetings", f"/api/v1/orgs/{a}/meetings", 404, "not_found"),
        (b, "PATCH", "/api/v1/orgs/{id}", f"/api/v1/orgs/{b}", 403, "forbidden"),
    ]
    assert [(r["action"], r["actor"], r["org"], r["target"], r["data"]) for r in rows] == [
        (ACCESS_REFUSED, sec_b_id, org, route, data(method, route, path, status, code))
        for org, method, route, path, status, code in expected
    ]
    # the default view is the record of changes and reads: no refusal in it
    operator = await world.as_user("operator")
    assert (await operator.get(f"/api/v1/audit/log?after={before}")).body["entries"] == []
    # unit A's auditor sees the probes of its unit, unit B's forbidden write too (both in its subtree)
    auditor = await world.as_user("auditor_p")
    seen = (await auditor.get(f"/api/v1/audit/log?after={before}&include=refusals")).body["entries"]
    assert [e["seq"] for e in seen] == [r["seq"] for r in rows]
    verdict = await verify_database(world.server.app[DATABASE])
    assert verdict.ok and verdict.count == await head(world), verdict

    lines = [r for r in caplog.records if r.name == "cellmeet.security" and r.levelno == logging.WARNING]
    mine = [r.getMessage() for r in lines if f"user={sec_b_id} (sec_b)" in r.getMessage()]
    assert len(mine) == 6, mine  # the five refusals and the absent record
    assert sum(f"unit={a}" in line and "status=404" in line for line in mine) == 4, mine
    assert any("status=403" in line and f"unit={b}" in line for line in mine), mine
    assert any("status=404" in line and "/api/v1/members/987654" in line for line in mine), mine


def data(method: str, route: str, path: str, status: int, code: str) -> dict[str, Any]:
    return {"method": method, "route": route, "path": path, "status": status, "code": code}


async def test_refusal_rows_are_limited_per_user_and_the_rest_counted(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="cellmeet.security")
    sec_b, member = await world.as_user("sec_b"), world.members["A"][0]
    before = await head(world)
    for _ in range(AUDIT_ROWS_PER_MINUTE + 5):
        assert (await sec_b.get(f"/api/v1/members/{member}")).status == 404
    rows = await refusal_rows(world, before)
    assert len(rows) == AUDIT_ROWS_PER_MINUTE
    # every refusal is still a log line, and the cut once
    lines = [r.getMessage() for r in caplog.records if r.name == "cellmeet.security"]
    assert sum(f"/api/v1/members/{member}" in line for line in lines) == AUDIT_ROWS_PER_MINUTE + 5
    assert sum("log lines only until the minute ends" in line for line in lines) == 1
    # another user keeps its own budget
    assert (await (await world.as_user("sec_q")).get(f"/api/v1/members/{member}")).status == 404
    assert len(await refusal_rows(world, before)) == AUDIT_ROWS_PER_MINUTE + 1

    world.server.clock.advance(seconds=61)
    last = await head(world)
    assert (await sec_b.get(f"/api/v1/members/{member}")).status == 404
    suppressed, refused = await refusal_rows(world, last)
    assert (suppressed["action"], suppressed["actor"], suppressed["data"]["count"]) == (
        REFUSALS_SUPPRESSED,
        world.users["sec_b"],
        5,
    )
    assert (refused["action"], refused["org"]) == (ACCESS_REFUSED, world.orgs["A"])
    assert (await verify_database(world.server.app[DATABASE])).ok


async def test_without_a_session_a_refusal_is_a_line_per_address_and_no_row(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="cellmeet.security")
    before = await head(world)
    anonymous = world.make_client()
    for _ in range(ANONYMOUS_LINES_PER_MINUTE + 5):
        assert (await anonymous.get("/api/v1/auth/me")).status == 401
    lines = [r.getMessage() for r in caplog.records if r.name == "cellmeet.security"]
    refused = [line for line in lines if "route=/api/v1/auth/me" in line and "status=401" in line]
    assert len(refused) == ANONYMOUS_LINES_PER_MINUTE
    assert "127.0.0.1" not in "\n".join(lines)  # a hash of the address, not the address
    assert sum("not logged until the minute ends" in line for line in lines) == 1
    assert await head(world) == before


async def test_a_failed_login_names_only_an_existing_account(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    typed = "Mat-khau-go-nham-o-truong-ten"  # a password typed into the username field
    client = world.make_client()
    assert (await client.login(typed, "anything-at-all-123")).status == 401
    assert (await client.login("sec_a", "a-wrong-password-here")).status == 401
    logged = "\n".join([r.getMessage() for r in caplog.records] + [caplog.text])
    assert typed not in logged and typed.lower() not in logged.lower()
    failures = [r.getMessage() for r in caplog.records if "login failed" in r.getMessage()]
    assert len(failures) == 2, failures
    assert "unknown account" in failures[0] and "sec_a" not in failures[0]
    assert f"user={world.users['sec_a']} (sec_a)" in failures[1]


async def test_a_refused_room_join_is_an_audit_row_once_a_minute(world: World) -> None:
    meeting_id = await online_meeting(world, "A")
    [(prober_name, _)] = await link_members(world, "B", 1)  # a member of cell B probes cell A's room
    session = await world.as_user(prober_name)
    cookies = session.http.cookie_jar.filter_cookies(world.server.url)
    prober = RoomClient(
        str(world.server.url),
        headers={
            "Cookie": "; ".join(f"{k}={v.value}" for k, v in cookies.items()),
            "Origin": str(world.server.url).rstrip("/"),
        },
    )
    before = await head(world)
    await prober.connect()
    try:
        for _ in range(3):
            reply = await prober.join(meeting_id)
            assert reply["ok"] is False and reply["error"]["code"] == "not_found", reply
    finally:
        await prober.close()
    rows = await refusal_rows(world, before)
    assert [(r["actor"], r["org"], r["target"], r["data"]["code"]) for r in rows] == [
        (world.users[prober_name], world.orgs["A"], "/room join", "not_found")
    ]
    assert rows[0]["data"]["path"] == f"/room join meeting={meeting_id}"
    assert (await verify_database(world.server.app[DATABASE])).ok
