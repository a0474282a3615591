"""Issue 5's acceptance: a province's year of meetings, built through the API, and its usage figures.

Province P (auditor_p) holds, under committee C: grassroots committee G with cells A (Ho Chi Minh City,
50 members: its 6 and 44 probationary seafarers registered here, approved, revoked in October; large
enough to meet by party group, and approved for it, R-GROUP-2) and B (4 members, never approved, only
applying), and a cell D added here in New York (2 members abroad, approved; one member's reason is
cleared in November, so D stops qualifying). Over 2027 (one meeting before it, as an edge): A meets
mostly on site and hybrid, its party group once (its one member: the group meeting replaces February's
cell meeting); B meets in person until May with one member excused every time; D meets online
every month. One online meeting is refused without an approval, one meeting opens below quorum, one
set of minutes is adopted late and one never. Every figure and flag is written out below by hand.

The clock is walked through the year in jumps (sessions are given a lifetime longer than the year);
attendance comes from on-site check-ins and, for online members, real `/room` socket joins.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event

from server.appkeys import DATABASE
from tests.integration.group_cells import import_members, seafarers
from tests.integration.harness import ApiClient
from tests.integration.helpers import apply, decide, decision
from tests.integration.room_client import RoomClient, joined, link_members
from tests.integration.world import World

HCM, NEW_YORK = ZoneInfo("Asia/Ho_Chi_Minh"), ZoneInfo("America/New_York")
PERIOD = "from=2027-01-01&to=2027-12-31"
READ_AT = datetime(2028, 1, 15, 3, 0, tzinfo=UTC)
YEARS = 3 * 365 * 24 * 3600
D_NAME = "Chi bộ Lưu học sinh tại Hoa Kỳ"
Event = tuple[datetime, Callable[[], Awaitable[Any]]]


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {
        "presence_confirm_seconds": 0.2,
        "session_idle_seconds": YEARS,
        "session_absolute_seconds": YEARS,
    }


@dataclass
class Year:
    """The world plus what this test adds: cell D, its people, the meetings held, in order."""

    world: World
    secretaries: dict[str, str] = field(default_factory=lambda: {"A": "sec_a", "A1": "sec_a", "B": "sec_b"})
    accounts: dict[int, str] = field(default_factory=dict)  # member id -> username, for online joins
    officials: dict[str, list[int]] = field(default_factory=dict)
    meetings: dict[str, int] = field(default_factory=dict)
    adoption_votes: dict[str, int] = field(default_factory=dict)
    applications: dict[str, int] = field(default_factory=dict)

    def at(self, when: datetime) -> None:
        clock = self.world.server.clock
        assert when >= clock.now, f"the year's events must run in order: {when} is before {clock.now}"
        clock.now = when.astimezone(UTC)

    async def client(self, unit: str) -> ApiClient:
        return await self.world.as_user(self.secretaries[unit])


@contextmanager
def counting_statements(world: World) -> Iterator[list[str]]:
    """The SQL statements the server runs meanwhile (it runs in this process, on this engine)."""
    engine = world.server.app[DATABASE].engine.sync_engine
    statements: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement[:80])

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", note)


def local(text: str, zone: ZoneInfo = HCM) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=zone)


async def ok(reply_coro: Awaitable[Any], status: int = 200) -> Any:
    reply = await reply_coro
    assert reply.status == status, reply.body
    return reply.body


async def set_up(world: World) -> Year:
    year = Year(world)
    operator = await world.as_user("operator")
    d = await ok(
        operator.post(
            "/api/v1/orgs",
            {"name": D_NAME, "kind": "cell", "parent_id": world.orgs["C"], "timezone": "America/New_York"},
        ),
        201,
    )
    world.orgs["D"] = d["id"]
    await world.add_user("sec_d")
    await ok(
        operator.post(
            f"/api/v1/orgs/{d['id']}/grants", {"user_id": world.users["sec_d"], "role": "secretary"}
        ),
        201,
    )
    year.secretaries["D"] = "sec_d"
    sec_d = await world.as_user("sec_d")
    world.members["D"] = []
    for index, name in enumerate(["Phan Văn Một Mỹ", "Lý Thị Hai Mỹ"]):
        username = f"d_member_{index}"
        await world.add_user(username)
        body = {
            "full_name": name,
            "standing": "official",
            "remote_reason": "abroad",
            "user_id": world.users[username],
        }
        member = await ok(sec_d.post(f"/api/v1/orgs/{d['id']}/members", body), 201)
        world.members["D"].append(member["id"])
        year.accounts[member["id"]] = username
    for username, member_id in await link_members(world, "A", 3):  # Một, Hai, Ba get accounts
        year.accounts[member_id] = username
    # A's 44 probationary seafarers, on board at every meeting of the cell: they are summoned and present,
    # never in the voting base (R-BASE-4), and make A a cell of 50 that may meet by party group
    await import_members(world, seafarers(44, standing="dự bị"))
    a = world.members["A"]
    year.officials = {
        "A": [a[0], a[1], a[2], a[3], a[5]],
        "A1": [a[5]],
        "B": world.members["B"],
        "D": world.members["D"],
    }

    # A and D are approved for 2027; B applies and is never decided (it does not qualify)
    approver = await world.as_user("approver_c")
    valid = decision(valid_from="2026-11-20", valid_to="2027-12-31")
    for unit, secretary in (("A", "sec_a"), ("D", "sec_d"), ("B", "sec_b")):
        application = await apply(world, secretary, unit)
        year.applications[unit] = application["id"]
        if unit != "B":
            assert (await decide(approver, application["id"], valid)).status == 200
    # A may also meet by party group in 2027 (R-GROUP-2); the usage figures count online approvals only
    by_groups = await apply(world, "sec_a", "A", kind="group")
    assert (await decide(approver, by_groups["id"], valid)).status == 200
    return year


async def hold(
    year: Year,
    name: str,
    unit: str,
    opens: datetime,
    *,
    kind: str = "regular",
    mode: str = "in_person",
    minutes: int = 90,
    online: tuple[int, ...] = (),
    excused: tuple[int, ...] = (),
    late: tuple[int, ...] = (),
    override: str | None = None,
    failed_vote: bool = False,
    adopt: bool | None = True,
    scheduled: int | None = None,
) -> int:
    """Schedule (unless `scheduled`), check in everyone of the unit not online, excused or late, join the
    online ones over `/room`, open, vote, close after `minutes`. The minutes' adoption vote is held unless
    `adopt` is None; the minutes are adopted at the close when `adopt` is True, later (by the caller)
    when it is False."""
    world, secretary = year.world, await year.client(unit)
    year.at(opens)
    if scheduled is None:
        body = {
            "kind": kind,
            "mode": mode,
            "title": f"Sinh hoạt {name}",
            "starts_at": opens.isoformat(),
            "duration_minutes": minutes,
        }
        scheduled = (await ok(secretary.post(f"/api/v1/orgs/{world.orgs[unit]}/meetings", body), 201))["id"]
    mid = int(scheduled)
    year.meetings[name] = mid
    everyone = year.officials["A1"] if unit == "A1" else world.members[unit]
    for member_id in excused:
        await ok(
            secretary.post(
                f"/api/v1/meetings/{mid}/excuses", {"member_id": member_id, "reason": "Đi công tác"}
            ),
            201,
        )
    on_site = [m for m in everyone if m not in online and m not in excused and m not in late]
    for member_id in on_site:
        await ok(secretary.post(f"/api/v1/meetings/{mid}/checkins", {"member_id": member_id}), 201)
    rooms: list[RoomClient] = []
    try:
        for member_id in online:
            room, _ = await joined(world, year.accounts[member_id], mid)
            rooms.append(room)
        opened = await ok(
            secretary.post(f"/api/v1/meetings/{mid}/open", {"override_reason": override} if override else {})
        )
        assert opened["quorum"]["outcome"] is (override is None), opened
        if late:
            year.at(opens + timedelta(minutes=20))
            for member_id in late:
                await ok(secretary.post(f"/api/v1/meetings/{mid}/checkins", {"member_id": member_id}), 201)
        voters = [m for m in year.officials[unit] if m in on_site or m in online or m in late]
        if failed_vote:
            question = "Tăng mức đóng góp quỹ"
            await vote(year, unit, mid, question, "ordinary", voters, online, for_count=2, outcome="failed")
        if adopt is not None:
            year.adoption_votes[name] = await vote(
                year,
                unit,
                mid,
                "Thông qua biên bản",
                "minutes_adoption",
                voters,
                online,
                for_count=len(voters),
                outcome="passed",
            )
        year.at(opens + timedelta(minutes=minutes))
        await ok(secretary.post(f"/api/v1/meetings/{mid}/close", {}))
    finally:
        for room in rooms:
            await room.close()
    if adopt:
        await adopt_minutes(year, name, unit)
    return mid


async def vote(
    year: Year,
    unit: str,
    mid: int,
    question: str,
    kind: str,
    voters: list[int],
    online: tuple[int, ...],
    *,
    for_count: int,
    outcome: str,
) -> int:
    """The chair records the ballots of the members on site; the online members cast their own."""
    chair = await year.client(unit)
    opened = await ok(chair.post(f"/api/v1/meetings/{mid}/votes", {"question": question, "kind": kind}), 201)
    ballots = f"/api/v1/votes/{opened['id']}/ballots"
    for index, member_id in enumerate(voters):
        choice = "for" if index < for_count else "against"
        if member_id in online:
            member = await year.world.as_user(year.accounts[member_id])
            await ok(member.post(ballots, {"choice": choice}), 201)
        else:
            await ok(chair.post(ballots, {"member_id": member_id, "choice": choice}), 201)
    closed = await ok(chair.post(f"/api/v1/votes/{opened['id']}/close", {}))
    assert closed["result"]["outcome"] == outcome, closed
    return int(opened["id"])


async def adopt_minutes(year: Year, name: str, unit: str) -> None:
    client = await year.client(unit)
    path = f"/api/v1/meetings/{year.meetings[name]}/minutes/adopt"
    adopted = await ok(client.post(path, {"vote_id": year.adoption_votes[name]}))
    assert adopted["status"] == "adopted", adopted


async def live_the_year(year: Year) -> None:
    """Every event of the year, each at its own instant, in the order they happen."""
    world = year.world
    a, b, d = world.members["A"], world.members["B"], world.members["D"]
    sec_a, sec_d = await year.world.as_user("sec_a"), await year.world.as_user("sec_d")

    # scheduled in advance while A is approved: it will open after the approval was revoked
    a10 = await ok(
        sec_a.post(
            f"/api/v1/orgs/{world.orgs['A']}/meetings",
            {
                "kind": "regular",
                "mode": "hybrid",
                "title": "Sinh hoạt tháng 10",
                "starts_at": local("2027-10-13T14:00").isoformat(),
                "duration_minutes": 90,
            },
        ),
        201,
    )

    async def revoke_a() -> None:
        approver = await world.as_user("approver_c")
        path = f"/api/v1/pilot-applications/{year.applications['A']}/revoke"
        await ok(approver.post(path, {"reason": "Chi bộ đã trở về sinh hoạt tại trụ sở"}))

    async def a_november() -> None:
        refused = await sec_a.post(
            f"/api/v1/orgs/{world.orgs['A']}/meetings",
            {
                "kind": "regular",
                "mode": "online",
                "title": "Sinh hoạt tháng 11 trực tuyến",
                "starts_at": local("2027-11-10T14:00").isoformat(),
                "duration_minutes": 90,
            },
        )
        assert (refused.status, refused.body["error"]["rule"]) == (409, "R-ELIG-6"), refused.body
        await hold(year, "A-11", "A", local("2027-11-10T14:00"))

    async def d_stops_qualifying() -> None:
        await ok(sec_d.patch(f"/api/v1/members/{d[1]}", {"remote_reason": None}))
        flags = await ok(
            (await world.as_user("approver_c")).get(f"/api/v1/orgs/{world.orgs['D']}/eligibility-flags")
        )
        assert len(flags["flags"]) == 1

    def meeting(name: str, unit: str, when: datetime, **options: Any) -> Event:
        return when, lambda: hold(year, name, unit, when, **options)

    def d_online(name: str, when: str, **options: Any) -> Event:
        return meeting(name, "D", local(when, NEW_YORK), mode="online", online=tuple(d), **options)

    def d_adopts(name: str, when: str) -> Event:
        return local(when, NEW_YORK), lambda: adopt_minutes(year, name, "D")

    override = "Bão số 3, tàu về cảng muộn; chi ủy thống nhất khai mạc"
    events: list[Event] = [
        # A, Ho Chi Minh City; 1 January 06:00 there is still 31 December in UTC
        meeting("A-01", "A", local("2027-01-01T06:00"), mode="hybrid"),
        meeting("A-T1", "A", local("2027-01-20T14:00"), kind="thematic"),
        meeting("A1-G", "A1", local("2027-02-10T14:00"), kind="group", adopt=None),  # its party group
        meeting("A-03", "A", local("2027-03-10T14:00"), mode="hybrid", failed_vote=True),
        meeting("A-04", "A", local("2027-04-07T14:00")),
        meeting("A-T2", "A", local("2027-05-05T14:00"), kind="thematic", mode="hybrid"),
        meeting("A-05", "A", local("2027-05-12T14:00"), late=(a[2], a[3], a[5]), override=override),
        meeting("A-06", "A", local("2027-06-09T14:00"), mode="hybrid", online=(a[2],)),  # Ba online
        meeting("A-07", "A", local("2027-07-07T14:00")),
        meeting("A-T3", "A", local("2027-08-04T14:00"), kind="thematic"),
        meeting("A-08", "A", local("2027-08-11T14:00"), mode="hybrid"),
        meeting("A-09", "A", local("2027-09-08T14:00")),
        (local("2027-10-10T09:00"), revoke_a),
        meeting("A-10", "A", local("2027-10-13T14:00"), mode="hybrid", scheduled=a10["id"]),
        (local("2027-11-10T14:00"), a_november),
        meeting("A-12", "A", local("2027-12-08T14:00")),
        # B, in person, its member Chín excused every time; its May meeting lasts an hour
        meeting("B-01", "B", local("2027-01-13T14:00"), excused=(b[3],)),
        meeting("B-02", "B", local("2027-02-17T14:00"), excused=(b[3],)),
        meeting("B-03", "B", local("2027-03-17T14:00"), excused=(b[3],)),
        meeting("B-04", "B", local("2027-04-14T14:00"), excused=(b[3],)),
        meeting("B-05", "B", local("2027-05-19T14:00"), excused=(b[3],), minutes=60),
        # D, New York, at 20:00 there: already the next day in UTC
        d_online("D-00", "2026-12-31T20:00"),  # 2027 in UTC, 2026 in New York: outside the period
        d_online("D-01", "2027-01-14T20:00"),
        d_online("D-02", "2027-02-11T20:00"),
        meeting("D-03", "D", local("2027-03-11T20:00", NEW_YORK), mode="hybrid", online=(d[1],)),
        d_online("D-T1", "2027-03-31T20:00", kind="thematic"),  # April and Q2 in UTC
        d_online("D-04", "2027-04-15T20:00"),
        meeting("D-05", "D", local("2027-05-13T20:00", NEW_YORK)),
        d_online("D-T2", "2027-06-03T20:00", kind="thematic"),
        d_online("D-06", "2027-06-17T20:00", adopt=False),
        d_adopts("D-06", "2027-06-27T21:30"),  # 10 days later: late
        d_online("D-07", "2027-07-15T20:00"),
        meeting("D-08", "D", local("2027-08-12T20:00", NEW_YORK), mode="hybrid", online=(d[1],)),
        d_online("D-T3", "2027-09-02T20:00", kind="thematic", adopt=False),
        d_adopts("D-T3", "2027-09-09T21:00"),  # exactly 7 days later: on time
        d_online("D-09", "2027-09-16T20:00"),
        meeting("D-T4", "D", local("2027-10-07T20:00", NEW_YORK), kind="thematic"),
        d_online("D-10", "2027-10-14T20:00"),
        d_online("D-11", "2027-11-11T20:00"),
        (local("2027-11-20T12:00", NEW_YORK), d_stops_qualifying),
        d_online("D-12", "2027-12-31T20:00"),  # 2028 in UTC, 2027 in New York: inside, and flagged
    ]
    for when, happen in sorted(events, key=lambda event: event[0]):
        year.at(when)
        await happen()


def expected_flags(year: Year) -> list[tuple[str, str, str, str, int | None, int | None]]:
    """(code, rule, unit, period, meeting, member), sorted by unit, period and code, as the API sorts them."""
    m, b3 = year.meetings, year.world.members["B"][3]
    return [
        ("minutes_not_adopted", "R-MIN-1", "A", "2027-02-10", m["A1-G"], None),  # the group's, never adopted
        ("quorum_override", "R-QUOR-1", "A", "2027-05-12", m["A-05"], None),
        ("online_without_qualifying", "R-ELIG-7", "A", "2027-10-13", m["A-10"], None),  # after the revocation
        ("no_thematic_meeting", "R-FREQ-1", "A", "2027-Q4", None, None),
        ("low_attendance", "R-ATT-3", "B", "2027-01-13", m["B-01"], None),  # 3 of 4: 75 %
        ("low_attendance", "R-ATT-3", "B", "2027-02-17", m["B-02"], None),
        ("low_attendance", "R-ATT-3", "B", "2027-03-17", m["B-03"], None),
        ("excused_in_a_row", "R-ATT-3", "B", "2027-04-14", m["B-04"], b3),  # the 4th in a row, not the 3rd
        ("low_attendance", "R-ATT-3", "B", "2027-04-14", m["B-04"], None),
        ("low_attendance", "R-ATT-3", "B", "2027-05-19", m["B-05"], None),
        ("short_meeting", "R-FREQ-2", "B", "2027-05-19", m["B-05"], None),  # 60 minutes
        *[("no_regular_meeting", "R-FREQ-1", "B", f"2027-{month:02d}", None, None) for month in range(6, 13)],
        *[
            ("no_thematic_meeting", "R-FREQ-1", "B", f"2027-Q{quarter}", None, None)
            for quarter in range(1, 5)
        ],
        ("minutes_not_adopted", "R-MIN-1", "D", "2027-06-17", m["D-06"], None),  # adopted after 10 days
        (
            "online_without_qualifying",
            "R-ELIG-7",
            "D",
            "2027-12-31",
            m["D-12"],
            None,
        ),  # flagged since November
    ]


def flag_keys(
    body: dict[str, Any], orgs: dict[str, int]
) -> list[tuple[str, str, str, str, int | None, int | None]]:
    unit_of = {org_id: key for key, org_id in orgs.items()}
    return [
        (f["code"], f["rule"], unit_of[f["org_id"]], f["period"], f["meeting_id"], f["member_id"])
        for f in body["flags"]
    ]


def unit_row(world: World, key: str, **figures: Any) -> dict[str, Any]:
    names = {
        "G": "Đảng bộ Công ty Vận tải Biển",
        "A": "Chi bộ Tàu Biển Đông 01",
        "B": "Chi bộ Văn phòng",
        "D": D_NAME,
    }
    return {
        "id": world.orgs[key],
        "name": names[key],
        "kind": "grassroots" if key == "G" else "cell",
        **figures,
    }


def month(number: int, online: int, hybrid: int, in_person: int, rate: float) -> dict[str, Any]:
    return {
        "month": f"2027-{number:02d}",
        "online": online,
        "hybrid": hybrid,
        "in_person": in_person,
        "attendance_rate_percent": rate,
    }


async def test_a_year_of_a_province_in_figures_and_flags(world: World) -> None:
    year = await set_up(world)
    await live_the_year(year)
    year.at(READ_AT)
    province = world.orgs["P"]
    auditor = await world.as_user("auditor_p")
    with counting_statements(world) as statements:
        reply = await auditor.get(f"/api/v1/audit/usage?org={province}&{PERIOD}")
    assert reply.status == 200, reply.body
    body = reply.body
    # a handful of queries, not one per meeting or member: 20 measured, with the caller's authentication,
    # the authorisation and the auditor's access-log row; 36 meetings would make hundreds otherwise
    assert len(statements) <= 30, statements

    assert body["org"] == {"id": province, "name": "Tỉnh ủy Thử Nghiệm", "kind": "province"}
    assert (body["from"], body["to"], body["rule_set"]) == ("2027-01-01", "2027-12-31", "hd03-2022")
    assert body["parameters"] == {
        "minutes_adoption_days_max": 7,
        "meeting_min_minutes": 90,
        "attendance_target_percent": 85.0,
        "excused_in_a_row_max": 3,
    }
    assert body["totals"] == {
        # A revoked in October, B still applying, D approved, G never applied
        "units": {"total": 4, "approved": 1, "applying": 1, "revoked": 1, "not_applied": 1},
        # A 15 (its party group's one included), B 5, D 16; D's meeting of 31 December 2026 is outside
        "meetings": {
            "total": 36,
            "by_kind": {"regular": 28, "thematic": 7, "extraordinary": 0, "group": 1},
            "by_mode": {"online": 12, "hybrid": 8, "in_person": 16},
        },
        # A 14 × 50 + 1 (the group's), B 5 × 4, D 16 × 2; B's excused member 5 times
        "attendance": {
            "expected": 753,
            "present": 748,
            "absent_excused": 5,
            "absent_unexcused": 0,
            "rate_percent": 99.3,
        },
        "quorum": {"failures": 1, "overrides": 1},
        # one adoption vote in every meeting but the group's, and A's failed vote in March
        "votes": {"held": 36, "passed": 35, "failed": 1},
        "minutes": {
            "adopted": 35,
            "not_adopted": 1,
            "adopted_late": 1,
            "days_to_adoption_median": 0.0,
            "days_to_adoption_max": 10,
        },
        "online_share_percent": 55.6,  # (12 online + 8 hybrid) of 36
    }
    assert body["months"] == [
        month(1, 1, 1, 2, 99.1),  # 105 of 106: A's two meetings 2 × 50, B 3 of 4, D 2
        month(2, 1, 0, 2, 85.7),  # 6 of 7: A met by its party group (1), B 3 of 4, D 2
        month(3, 1, 2, 1, 98.3),  # 57 of 58; D's thematic of 31 March 20:00 New York time is March's
        month(4, 1, 0, 2, 98.2),  # 55 of 56
        month(5, 0, 1, 3, 99.1),  # 105 of 106
        month(6, 2, 1, 0, 100.0),
        month(7, 1, 0, 1, 100.0),
        month(8, 0, 2, 1, 100.0),
        month(9, 2, 0, 1, 100.0),
        month(10, 1, 1, 1, 100.0),
        month(11, 1, 0, 1, 100.0),
        month(12, 1, 0, 1, 100.0),  # D's meeting of 31 December 20:00 New York time is December's
    ]
    no_meetings = {"total": 0, "online": 0, "hybrid": 0, "in_person": 0}
    assert body["units"] == [
        unit_row(
            world,
            "G",
            approval="none",
            qualifies=True,  # 49 of its 54 members cannot meet in person (A's seafarers)
            meetings=no_meetings,
            online_share_percent=None,
            attendance_rate_percent=None,
            quorum_overrides=0,
            votes_held=0,
            minutes_adopted=0,
            days_to_adoption_median=None,
            flags=0,
        ),
        unit_row(
            world,
            "A",
            approval="revoked",
            qualifies=True,
            meetings={"total": 15, "online": 0, "hybrid": 6, "in_person": 9},
            online_share_percent=40.0,
            attendance_rate_percent=100.0,
            quorum_overrides=1,
            votes_held=15,
            minutes_adopted=14,
            days_to_adoption_median=0.0,
            flags=4,
        ),
        unit_row(
            world,
            "B",
            approval="applying",
            qualifies=False,
            meetings={"total": 5, "online": 0, "hybrid": 0, "in_person": 5},
            online_share_percent=0.0,
            attendance_rate_percent=75.0,
            quorum_overrides=0,
            votes_held=5,
            minutes_adopted=5,
            days_to_adoption_median=0.0,
            flags=18,
        ),
        unit_row(
            world,
            "D",
            approval="approved",
            qualifies=False,  # one of its two members can meet in person since November
            meetings={"total": 16, "online": 12, "hybrid": 2, "in_person": 2},
            online_share_percent=87.5,
            attendance_rate_percent=100.0,
            quorum_overrides=0,
            votes_held=16,
            minutes_adopted=16,
            days_to_adoption_median=0.0,
            flags=2,
        ),
    ]
    assert flag_keys(body, world.orgs) == expected_flags(year)
    names = {
        world.orgs["A"]: "Chi bộ Tàu Biển Đông 01",
        world.orgs["B"]: "Chi bộ Văn phòng",
        world.orgs["D"]: D_NAME,
    }
    assert all(f["rule_set"] == "hd03-2022" and f["org_name"] == names[f["org_id"]] for f in body["flags"])
    messages = {(f["code"], f["period"]): f["message"] for f in body["flags"]}
    assert messages[("quorum_override", "2027-05-12")] == (
        "Buổi sinh hoạt trực tiếp ngày 12/05/2027 được khai mạc khi chưa đủ số đảng viên dự họp "
        "(2/5 đảng viên chính thức có mặt), lý do: «Bão số 3, tàu về cảng muộn; chi ủy thống nhất khai mạc» "
        "(R-QUOR-1, hd03-2022)."
    )
    assert messages[("excused_in_a_row", "2027-04-14")] == (
        "Đồng chí Vũ Thị Chín vắng mặt có lý do 4 buổi sinh hoạt liên tiếp (từ 13/01/2027 đến 14/04/2027), "
        "quá 3 lần trong một năm (R-ATT-3, hd03-2022)."
    )
    assert messages[("minutes_not_adopted", "2027-06-17")] == (
        "Biên bản: Buổi sinh hoạt trực tuyến ngày 17/06/2027 được thông qua sau 10 ngày, quá 7 ngày "
        "(R-MIN-1, hd03-2022)."
    )
    assert messages[("minutes_not_adopted", "2027-02-10")].startswith(
        "Biên bản: Buổi sinh hoạt trực tiếp ngày 10/02/2027 (Tổ đảng số 1) "
        "sau 339 ngày vẫn chưa được thông qua"
    )
    assert "không có quyết định phê duyệt" in messages[("online_without_qualifying", "2027-10-13")]
    assert "không còn đủ điều kiện" in messages[("online_without_qualifying", "2027-12-31")]

    # in English, on request; the same figures
    english = await auditor.get(f"/api/v1/audit/usage?org={province}&{PERIOD}&lang=en")
    assert english.status == 200 and english.body["totals"] == body["totals"]
    assert (
        english.body["flags"][3]["message"]
        == "No thematic meeting in 2027-Q4 (at least 1 a quarter) (R-FREQ-1, hd03-2022)."
    )

    # the rule set's 7 days can be widened for a review: the late adoption (10 days) is then on time
    wider = await ok(auditor.get(f"/api/v1/audit/usage?org={province}&{PERIOD}&adoption_days=10"))
    assert wider["parameters"]["minutes_adoption_days_max"] == 10
    assert wider["totals"]["minutes"]["adopted_late"] == 0
    assert [k for k in flag_keys(wider, world.orgs) if k[0] == "minutes_not_adopted"] == [
        expected_flags(year)[0]
    ]

    # the approver above reads the committee's subtree (the same units); a cell's secretary reads the cell
    committee = await ok(
        (await world.as_user("approver_c")).get(f"/api/v1/audit/usage?org={world.orgs['C']}&{PERIOD}")
    )
    assert committee["org"]["kind"] == "committee"
    assert (committee["totals"], committee["units"], committee["flags"]) == (
        body["totals"],
        body["units"],
        body["flags"],
    )
    cell = await ok((await world.as_user("sec_a")).get(f"/api/v1/audit/usage?org={world.orgs['A']}&{PERIOD}"))
    assert cell["units"] == [body["units"][1]]
    assert flag_keys(cell, world.orgs) == expected_flags(year)[:4]
    assert cell["totals"]["meetings"]["total"] == 15

    # a plain member may not; another province's auditor does not see the province at all
    member = await (await world.as_user("member_a")).get(
        f"/api/v1/audit/usage?org={world.orgs['A']}&{PERIOD}"
    )
    assert (member.status, member.error_code) == (403, "forbidden")
    other = await (await world.as_user("auditor_q")).get(f"/api/v1/audit/usage?org={province}&{PERIOD}")
    assert (other.status, other.error_code) == (404, "not_found")


BAD_QUERIES = [
    (
        "from=2027-12-31&to=2027-01-01",
        "to",
        "Kỳ báo cáo không hợp lệ: ngày bắt đầu (31/12/2027) sau ngày kết thúc",
    ),
    ("from=2027-02-30&to=2027-12-31", "from", "'from' phải là một ngày có thật, dạng YYYY-MM-DD"),
    ("from=2027-1-1&to=2027-12-31", "from", "'from' phải là một ngày có thật, dạng YYYY-MM-DD"),
    ("from=2022-01-01&to=2027-01-01", "to", "Kỳ báo cáo dài quá 5 năm"),
    (f"{PERIOD}&adoption_days=0", "adoption_days", "'adoption_days' phải là một số nguyên từ 1 đến 365"),
    (f"{PERIOD}&adoption_days=366", "adoption_days", "'adoption_days' phải là một số nguyên từ 1 đến 365"),
]


async def test_a_bad_query_is_refused_in_the_callers_language(world: World) -> None:
    auditor = await world.as_user("auditor_p")
    province = world.orgs["P"]
    for query, field_name, message in BAD_QUERIES:
        reply = await auditor.get(f"/api/v1/audit/usage?org={province}&{query}")
        assert (reply.status, reply.error_code) == (422, "validation_error"), (query, reply.body)
        assert reply.body["error"]["message"].startswith(message), (query, reply.body)
        assert field_name in reply.body["error"]["details"]["fields"]
    for org in ("", "org=", "org=abc", "org=0", "org=99999999999"):
        reply = await auditor.get(f"/api/v1/audit/usage?{org}&{PERIOD}")
        assert (reply.status, reply.body["error"]["message"]) == (
            422,
            "'org' phải là mã số của một tổ chức đảng.",
        ), org
    english = await (await world.as_user("auditor_p", "en")).get(
        f"/api/v1/audit/usage?org={province}&from=2027-12-31&to=2027-01-01"
    )
    assert english.status == 422
    assert (
        english.body["error"]["message"]
        == "Invalid period: it starts (2027-12-31) after it ends (2027-01-01)."
    )
    # exactly five years is allowed; without dates the period is this year to today, in the unit's zone
    five = await ok(auditor.get(f"/api/v1/audit/usage?org={province}&from=2022-01-01&to=2026-12-31"))
    assert len(five["months"]) == 60
    default = await ok(auditor.get(f"/api/v1/audit/usage?org={province}"))
    assert (default["from"], default["to"]) == ("2026-01-01", "2026-11-23")
    assert (await auditor.get(f"/api/v1/audit/usage?org=987654&{PERIOD}")).status == 404
