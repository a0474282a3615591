"""Issue 6, part 2: meetings by party group in place of the cell's monthly meeting (R-GROUP-2..4).

Cell A (Ho Chi Minh City) grows to 50 members in three groups: A1 holds its 6 members (Một and Hai
lead it; the world's linked member joins online), A2 and A3 hold 22 imported seafarers each. Each group
meets once in December 2026 with its own attendance (on-site check-ins, one online join, excuses, a late
arrival, an early departure, absences), its own quorum, and short minutes whose conclusion is written and
adopted; the cell's monthly record shows all three. Then the rules: no group meeting for a cell of 49
members or without a `group` approval (R-GROUP-2), none in a fourth month of a calendar year (R-GROUP-3).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from meetings.agenda_templates import builtin
from server.api.errors import ApiError
from server.appkeys import DATABASE
from server.db.tables import AuditEvent, Meeting
from server.services.meetings import schedule
from server.services.orgs import get_org
from tests.documents import docx_text, norm
from tests.integration.group_cells import (
    GROUP_APPROVAL,
    add_group,
    approve_groups,
    import_members,
    schedule_group_meeting,
    seafarers,
)
from tests.integration.helpers import apply, approve_a, decide
from tests.integration.room_client import RoomClient, joined
from tests.integration.world import World

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
YEARS = 3 * 365 * 24 * 3600
CONCLUDING_ITEM = (
    3  # "Tổ trưởng kết luận; kết luận của tổ được gửi lên chi bộ" in the built-in group template
)


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {
        "presence_confirm_seconds": 0.2,
        "session_idle_seconds": YEARS,
        "session_absolute_seconds": YEARS,
    }


async def ok(reply_coro: Any, status: int = 200) -> Any:
    reply = await reply_coro
    assert reply.status == status, reply.body
    return reply.body


async def count(world: World, table: Any) -> int:
    async with world.server.app[DATABASE].read() as session:
        return int((await session.execute(select(func.count()).select_from(table))).scalar_one())


def record_path(world: World, month: str) -> str:
    return f"/api/v1/orgs/{world.orgs['A']}/monthly-record?month={month}"


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=HCM)


async def three_groups(world: World) -> dict[str, list[int]]:
    """A1 = the cell's 6 members, A2 = 20 official and 2 probationary seafarers, A3 = 22 official ones."""
    await add_group(world, "A2", "Tổ đảng số 2")
    await add_group(world, "A3", "Tổ đảng số 3")
    sec_a = await world.as_user("sec_a")
    a1 = list(world.members["A"][:6])
    for member_id in a1[:5]:  # the sixth, linked to member_a, is in A1 already
        await ok(sec_a.patch(f"/api/v1/members/{member_id}", {"group_id": world.orgs["A1"]}))
    a2 = await import_members(
        world, seafarers(20, "Tổ đảng số 2") + seafarers(2, "Tổ đảng số 2", "dự bị", start=21)
    )
    a3 = await import_members(world, seafarers(22, "Tổ đảng số 3"))
    return {"A1": a1, "A2": a2, "A3": a3}


@dataclass
class Sitting:
    """How one group meeting goes: who is where, and what its minutes conclude."""

    group: str
    opens: datetime
    chair: int
    taker: int
    officials: list[int]
    on_site: list[int]
    conclusion: str
    online: dict[int, str] = field(default_factory=dict)  # member id -> username
    excused: list[int] = field(default_factory=list)
    late: list[int] = field(default_factory=list)
    leaves_early: list[int] = field(default_factory=list)
    chairs_conclusions: str = ""
    meeting_id: int = 0
    adoption_vote: int = 0


async def hold(world: World, sitting: Sitting, rooms: list[RoomClient]) -> None:
    """Schedule, excuse, check in and join, open, adopt the minutes' vote, write the conclusions, close."""
    sec_a, clock = await world.as_user("sec_a"), world.server.clock
    scheduled = await ok(
        schedule_group_meeting(
            world,
            sitting.group,
            sitting.opens.isoformat(),
            mode="hybrid" if sitting.online else "in_person",
            chair_id=sitting.chair,
            minute_taker_id=sitting.taker,
        ),
        201,
    )
    mid = sitting.meeting_id = int(scheduled["id"])
    for member_id in sitting.excused:
        await ok(
            sec_a.post(f"/api/v1/meetings/{mid}/excuses", {"member_id": member_id, "reason": "Đi biển"}), 201
        )
    clock.now = sitting.opens.astimezone(UTC)
    for member_id in sitting.on_site:
        await ok(sec_a.post(f"/api/v1/meetings/{mid}/checkins", {"member_id": member_id}), 201)
    for username in sitting.online.values():
        room, _ = await joined(world, username, mid)
        rooms.append(room)
    opened = await ok(sec_a.post(f"/api/v1/meetings/{mid}/open", {}))
    assert opened["quorum"]["outcome"] is True, opened
    clock.advance(minutes=20)
    for member_id in sitting.late:
        await ok(sec_a.post(f"/api/v1/meetings/{mid}/checkins", {"member_id": member_id}), 201)
    present = set(sitting.on_site) | set(sitting.online) | set(sitting.late)
    vote = await ok(
        sec_a.post(
            f"/api/v1/meetings/{mid}/votes", {"question": "Thông qua biên bản", "kind": "minutes_adoption"}
        ),
        201,
    )
    for member_id in [m for m in sitting.officials if m in present]:
        if member_id in sitting.online:
            member = await world.as_user(sitting.online[member_id])
            await ok(member.post(f"/api/v1/votes/{vote['id']}/ballots", {"choice": "for"}), 201)
        else:
            body = {"member_id": member_id, "choice": "for"}
            await ok(sec_a.post(f"/api/v1/votes/{vote['id']}/ballots", body), 201)
    closed = await ok(sec_a.post(f"/api/v1/votes/{vote['id']}/close", {}))
    assert closed["result"]["outcome"] == "passed", closed
    sitting.adoption_vote = int(vote["id"])
    fields = {f"item:{CONCLUDING_ITEM}": sitting.conclusion}
    if sitting.chairs_conclusions:
        fields["conclusions"] = sitting.chairs_conclusions
    minutes = await ok(sec_a.get(f"/api/v1/meetings/{mid}/minutes"))
    await ok(sec_a.put(f"/api/v1/meetings/{mid}/minutes", {"version": minutes["version"], "fields": fields}))
    clock.advance(minutes=40)
    for member_id in sitting.leaves_early:
        await ok(sec_a.post(f"/api/v1/meetings/{mid}/checkouts", {"member_id": member_id}), 201)
    clock.advance(minutes=30)
    await ok(sec_a.post(f"/api/v1/meetings/{mid}/close", {}))


def attendance(**counts: int) -> dict[str, int]:
    full = {"present": 0, "late": 0, "left_early": 0, "absent_excused": 0, "absent_unexcused": 0, **counts}
    full["present_total"] = full["present"] + full["late"] + full["left_early"]
    return full


async def test_three_groups_meet_in_one_month_and_the_cells_record_shows_them(
    world: World, rooms: list[RoomClient]
) -> None:
    groups = await three_groups(world)
    a1, a2, a3 = groups["A1"], groups["A2"], groups["A3"]
    await approve_a(world)  # online: A1 meets hybrid, its linked member joins from the ship
    await approve_groups(world)
    sec_a = await world.as_user("sec_a")

    # the chair and the minute-taker of a group meeting are members of that group
    for wrong in ({"chair_id": a3[0]}, {"minute_taker_id": world.members["B"][0]}):
        reply = await schedule_group_meeting(world, "A2", "2026-12-11T14:00:00+07:00", **wrong)
        assert (reply.status, reply.error_code) == (422, "validation_error"), reply.body

    sittings = [
        Sitting(  # hybrid: Một, Hai, Bốn on board the training ship, the linked member online, Ba excused
            "A1",
            local("2026-12-10T14:00"),
            chair=a1[0],
            taker=a1[1],
            officials=[a1[0], a1[1], a1[2], a1[3], a1[5]],
            on_site=[a1[0], a1[1], a1[3]],
            online={a1[5]: "member_a"},
            excused=[a1[2]],
            conclusion="Tổ 1 đề nghị chi bộ tổ chức học tập nghị quyết trực tuyến cho thuyền viên đi biển.",
            chairs_conclusions="Giao tổ trưởng báo cáo chi bộ trước ngày 15/12/2026.",
        ),
        Sitting(  # 16 officials and both probationary members on time, one late, one leaves early
            "A2",
            local("2026-12-11T14:00"),
            chair=a2[0],
            taker=a2[1],
            officials=a2[:20],
            on_site=a2[:16] + a2[20:],
            excused=[a2[16], a2[17]],
            late=[a2[19]],
            leaves_early=[a2[15]],
            conclusion="Tổ 2 thống nhất phân công đảng viên kèm cặp thuyền viên mới.",
        ),
        Sitting(  # 12 of 22: just quorate
            "A3",
            local("2026-12-12T09:00"),
            chair=a3[0],
            taker=a3[1],
            officials=a3,
            on_site=a3[:12],
            excused=a3[12:17],
            conclusion="Tổ 3 kiến nghị chi bộ bổ sung chỉ tiêu kết nạp đảng viên năm 2027.",
        ),
    ]
    for sitting in sittings:
        await hold(world, sitting, rooms)
    # the cell's own thematic meeting of the month, still to come
    thematic = await ok(
        sec_a.post(
            f"/api/v1/orgs/{world.orgs['A']}/meetings",
            {
                "kind": "thematic",
                "mode": "in_person",
                "title": "Sinh hoạt chuyên đề quý IV",
                "starts_at": "2026-12-20T14:00:00+07:00",
                "duration_minutes": 120,
            },
        ),
        201,
    )
    by_group = {s.group: s for s in sittings}

    # each group's own attendance: its members only
    expected_attendance = {
        "A1": attendance(present=4, absent_excused=1, absent_unexcused=1),  # Năm never came
        "A2": attendance(present=17, late=1, left_early=1, absent_excused=2, absent_unexcused=1),
        "A3": attendance(present=12, absent_excused=5, absent_unexcused=5),
    }
    for key, sitting in by_group.items():
        got = await ok(sec_a.get(f"/api/v1/meetings/{sitting.meeting_id}/attendance"))
        assert {m["member_id"] for m in got["members"]} == set(groups[key])
        assert got["counts"] == {**expected_attendance[key], "summoned": len(groups[key])}, key
        agenda = await ok(sec_a.get(f"/api/v1/meetings/{sitting.meeting_id}/agenda"))
        assert [i["title"] for i in agenda["items"]] == [i.title.vi for i in builtin("group").items]

    # short minutes of a group: the group named with its cell, the group's totals
    a2_minutes = await ok(sec_a.get(f"/api/v1/meetings/{by_group['A2'].meeting_id}/minutes"))
    assert a2_minutes["document"]["unit"] == {
        "name": "Tổ đảng số 2 (Chi bộ Tàu Biển Đông 01)",
        "parent_name": "Đảng bộ Công ty Vận tải Biển",
    }
    assert a2_minutes["document"]["totals"] == {"members": 22, "official": 20, "probationary": 2}
    docx = await sec_a.get(f"/api/v1/meetings/{by_group['A2'].meeting_id}/minutes.docx")
    assert docx.status == 200
    text, _ = docx_text(docx.body)
    for phrase in (
        "BIÊN BẢN SINH HOẠT TỔ ĐẢNG (DỰ THẢO)",
        "TỔ ĐẢNG SỐ 2 (CHI BỘ TÀU BIỂN ĐÔNG 01)",
        "T/M TỔ ĐẢNG",
    ):
        assert norm(phrase) in text, phrase
    assert by_group["A2"].conclusion in text

    record_path = f"/api/v1/orgs/{world.orgs['A']}/monthly-record?month=2026-12"
    # before the adoption an auditor of the province sees the record but not the drafts' conclusions
    auditor = await world.as_user("auditor_p")
    early = await ok(auditor.get(record_path))
    assert [m["conclusions"] for m in early["meetings"]] == [None, None, None, None]
    assert [m["minutes_status"] for m in early["meetings"]] == ["draft"] * 4

    for sitting in sittings:
        adopted = await ok(
            sec_a.post(
                f"/api/v1/meetings/{sitting.meeting_id}/minutes/adopt", {"vote_id": sitting.adoption_vote}
            )
        )
        assert adopted["status"] == "adopted"
    world.server.clock.now = datetime(2026, 12, 28, 3, 0, tzinfo=UTC)

    record = await ok(sec_a.get(record_path))
    assert record["org"] == {
        "id": world.orgs["A"],
        "name": "Chi bộ Tàu Biển Đông 01",
        "kind": "cell",
        "timezone": "Asia/Ho_Chi_Minh",
    }
    assert (record["month"], record["rule_set"], record["held_by_groups"]) == ("2026-12", "hd03-2022", True)
    assert record["groups"] == [
        {
            "id": world.orgs[key],
            "name": name,
            "dissolved_at": None,
            "met": True,
            "meeting_ids": [by_group[key].meeting_id],
        }
        for key, name in (("A1", "Tổ đảng số 1"), ("A2", "Tổ đảng số 2"), ("A3", "Tổ đảng số 3"))
    ]
    assert record["group_months_used"] == {
        "rule": "R-GROUP-3",
        "year": 2026,
        "months": ["2026-12"],
        "used": 1,
        "max": 3,
    }
    assert [m["id"] for m in record["meetings"]] == [s.meeting_id for s in sittings] + [thematic["id"]]
    quorum_counts = {"A1": (5, 4, 3), "A2": (20, 16, 11), "A3": (22, 12, 12)}
    for entry, sitting in zip(record["meetings"], sittings, strict=False):
        assert entry["held_by"] == {
            "id": world.orgs[sitting.group],
            "name": {"A1": "Tổ đảng số 1", "A2": "Tổ đảng số 2", "A3": "Tổ đảng số 3"}[sitting.group],
            "kind": "group",
        }
        assert (entry["kind"], entry["status"], entry["minutes_status"]) == ("group", "closed", "adopted")
        assert entry["mode"] == ("hybrid" if sitting.group == "A1" else "in_person")
        assert entry["attendance"] == {
            **expected_attendance[sitting.group],
            "summoned": len(groups[sitting.group]),
        }
        base, present_official, needed = quorum_counts[sitting.group]
        assert entry["quorum"]["outcome"] is True and entry["quorum"]["rule"] == "R-QUOR-1"
        assert entry["quorum"]["counts"] == {
            "voting_base": base,
            "present_official": present_official,
            "needed": needed,
        }
        assert entry["quorum"]["overridden"] is False
        concluded = [
            {
                "field": f"item:{CONCLUDING_ITEM}",
                "title": "Tổ trưởng kết luận; kết luận của tổ được gửi lên chi bộ",
                "text": sitting.conclusion,
            }
        ]
        if sitting.chairs_conclusions:
            concluded.append(
                {"field": "conclusions", "title": "Kết luận của chủ trì", "text": sitting.chairs_conclusions}
            )
        assert entry["conclusions"] == concluded, sitting.group
    cell_meeting = record["meetings"][3]
    assert cell_meeting["held_by"] == {
        "id": world.orgs["A"],
        "name": "Chi bộ Tàu Biển Đông 01",
        "kind": "cell",
    }
    assert (cell_meeting["kind"], cell_meeting["status"], cell_meeting["quorum"]) == (
        "thematic",
        "scheduled",
        None,
    )
    assert cell_meeting["attendance"]["summoned"] == 50
    assert cell_meeting["conclusions"] == []

    # adopted: the auditor reads the conclusions too; a member of the cell reads the record
    audited = (await ok(auditor.get(record_path)))["meetings"]
    assert audited[:3] == record["meetings"][:3]
    assert audited[3]["conclusions"] is None  # the thematic meeting's minutes are still a draft
    assert (await ok((await world.as_user("member_a")).get(record_path)))["meetings"] == record["meetings"]
    # another month holds none of them; November has no group meeting
    november = await ok(sec_a.get(record_path.replace("2026-12", "2026-11")))
    assert (november["meetings"], november["held_by_groups"]) == ([], False)
    assert [g["met"] for g in november["groups"]] == [False, False, False]

    # a group dissolved after its meeting stays in the record of the months it existed, not after
    await ok(sec_a.post(f"/api/v1/groups/{world.orgs['A3']}/dissolve", {}))
    after = await ok(sec_a.get(record_path))
    assert after["meetings"] == record["meetings"]
    assert after["groups"][2]["dissolved_at"] == "2026-12-28T03:00:00Z"
    # and its meeting's attendance still names everyone it summoned: fixed at the close, it does not
    # follow the register (the members are in no group now)
    kept = await ok(sec_a.get(f"/api/v1/meetings/{by_group['A3'].meeting_id}/attendance"))
    assert {m["member_id"] for m in kept["members"]} == set(groups["A3"])
    assert kept["counts"] == {**expected_attendance["A3"], "summoned": len(groups["A3"])}
    kept_minutes = await ok(sec_a.get(f"/api/v1/meetings/{by_group['A3'].meeting_id}/minutes"))
    assert kept_minutes["document"]["totals"]["members"] == len(groups["A3"])
    january = await ok(sec_a.get(record_path.replace("2026-12", "2027-01")))
    assert [g["id"] for g in january["groups"]] == [world.orgs["A1"], world.orgs["A2"]]

    # refusals: a malformed month, a unit that is not a cell, another cell's secretary
    for bad in ("2026-13", "2026-1", "12-2026", "2026-12-01", "tháng-12"):
        reply = await sec_a.get(record_path.replace("2026-12", bad))
        assert (reply.status, reply.error_code) == (422, "validation_error"), bad
        assert "month" in reply.body["error"]["details"]["fields"]
    group_record = await sec_a.get(f"/api/v1/orgs/{world.orgs['A1']}/monthly-record?month=2026-12")
    assert (group_record.status, group_record.error_code) == (422, "invalid_org_kind")
    other = await (await world.as_user("sec_b")).get(record_path)
    assert (other.status, other.error_code) == (404, "not_found")

    # the page: the month's record, every group's conclusions, links to each meeting and its minutes
    page = await sec_a.get(f"/orgs/{world.orgs['A']}/record?month=2026-12")
    assert page.status == 200
    html = page.body.decode()
    for sitting in sittings:
        assert sitting.conclusion in html
        assert f'href="/meetings/{sitting.meeting_id}"' in html
        assert f'href="/meetings/{sitting.meeting_id}/minutes"' in html
    assert "Tháng này chi bộ sinh hoạt theo tổ đảng." in html
    english = await (await world.as_user("sec_a", "en")).get(f"/orgs/{world.orgs['A']}/record?month=2026-12")
    assert "This month the cell met by its party groups." in english.body.decode()
    org_page = await sec_a.get(f"/orgs/{world.orgs['A']}")
    assert f'href="/orgs/{world.orgs["A"]}/record"' in org_page.body.decode()
    bad_page = await sec_a.get(f"/orgs/{world.orgs['A']}/record?month=2026-99")
    assert bad_page.status == 200 and "YYYY-MM" in bad_page.body.decode()
    assert (await sec_a.get(f"/orgs/{world.orgs['A1']}/record")).status == 404


async def test_a_cell_of_49_members_or_without_approval_holds_no_group_meeting(world: World) -> None:
    sec_a = await world.as_user("sec_a")
    await add_group(world, "A2", "Tổ đảng số 2")
    await import_members(world, seafarers(43, "Tổ đảng số 2"))  # 6 + 43 = 49
    eligibility = await ok(sec_a.get(f"/api/v1/orgs/{world.orgs['A']}/group-eligibility"))
    assert (eligibility["outcome"], eligibility["counts"]["members"]) == (False, 49)
    application = await apply(world, "sec_a", "A", kind="group")
    approver = await world.as_user("approver_c")
    refused_approval = await decide(approver, application["id"], GROUP_APPROVAL)
    assert (refused_approval.status, refused_approval.body["error"]["rule"]) == (409, "R-GROUP-2")

    meetings, audit = await count(world, Meeting), await count(world, AuditEvent)
    refused = await schedule_group_meeting(world, "A1", "2026-12-10T14:00:00+07:00")
    assert (await count(world, Meeting), await count(world, AuditEvent)) == (meetings, audit)
    assert (refused.status, refused.error_code, refused.body["error"]["rule"]) == (
        409,
        "not_group_eligible",
        "R-GROUP-2",
    )
    assert refused.body["error"]["details"]["counts"] == {"members": 49, "groups": 2, "min_members": 50}
    assert "R-GROUP-2" in refused.body["error"]["message"] and "49" in refused.body["error"]["message"]
    english = await (await world.as_user("sec_a", "en")).post(
        f"/api/v1/orgs/{world.orgs['A1']}/meetings",
        {
            "kind": "group",
            "mode": "in_person",
            "title": "Sinh hoạt tổ",
            "starts_at": "2026-12-10T14:00:00+07:00",
            "duration_minutes": 90,
        },
    )
    assert english.body["error"]["message"].startswith("A party-group meeting cannot be scheduled")

    # the fiftieth member: the cell qualifies, but it holds no approval yet
    await import_members(world, seafarers(1, "Tổ đảng số 2", start=44))
    not_approved = await schedule_group_meeting(world, "A1", "2026-12-10T14:00:00+07:00")
    assert (not_approved.status, not_approved.error_code, not_approved.body["error"]["rule"]) == (
        409,
        "group_not_approved",
        "R-GROUP-2",
    )
    assert "10/12/2026" in not_approved.body["error"]["message"]
    # an ONLINE approval is not a group approval
    await approve_a(world)
    assert (await schedule_group_meeting(world, "A1", "2026-12-10T14:00:00+07:00")).error_code == (
        "group_not_approved"
    )
    assert await count(world, Meeting) == meetings

    await ok(decide(approver, application["id"], GROUP_APPROVAL))
    accepted = await ok(schedule_group_meeting(world, "A1", "2026-12-10T14:00:00+07:00"), 201)
    assert accepted["kind"] == "group" and accepted["agenda_template_id"] is not None
    # outside the approval's validity (it ends on 31/12/2028): refused on the meeting's own date
    late = await schedule_group_meeting(world, "A2", "2029-01-10T14:00:00+07:00")
    assert (late.status, late.error_code) == (409, "group_not_approved")
    # a member exempted from party work leaves the active register: 49 again
    await ok(sec_a.patch(f"/api/v1/members/{world.members['A'][-1]}", {"activity": "exempt"}))
    again = await schedule_group_meeting(world, "A2", "2026-12-11T14:00:00+07:00")
    assert (again.status, again.error_code) == (409, "not_group_eligible")
    assert await count(world, Meeting) == meetings + 1


async def test_group_meetings_in_a_fourth_month_of_a_year_are_refused(world: World) -> None:
    await three_groups(world)
    await approve_groups(world)
    sec_a = await world.as_user("sec_a")
    january = await ok(schedule_group_meeting(world, "A1", "2027-01-13T14:00:00+07:00"), 201)
    february = await ok(schedule_group_meeting(world, "A2", "2027-02-17T14:00:00+07:00"), 201)
    march = await ok(schedule_group_meeting(world, "A3", "2027-03-17T14:00:00+07:00"), 201)

    meetings, audit = await count(world, Meeting), await count(world, AuditEvent)
    # 31 March 20:00 UTC is already 1 April in Ho Chi Minh City: a fourth month
    fourth = await schedule_group_meeting(world, "A1", "2027-03-31T20:00:00Z")
    assert (fourth.status, fourth.error_code, fourth.body["error"]["rule"]) == (
        409,
        "group_months_exceeded",
        "R-GROUP-3",
    )
    details = fourth.body["error"]["details"]
    assert details["counts"] == {"year": 2027, "months_used": 3, "max": 3}
    assert (details["month"], details["months_used"]) == ("2027-04", ["2027-01", "2027-02", "2027-03"])
    message = fourth.body["error"]["message"]
    assert "04/2027" in message and "01/2027, 02/2027, 03/2027" in message and "R-GROUP-3" in message
    assert (await count(world, Meeting), await count(world, AuditEvent)) == (meetings, audit)

    # an hour earlier it is still 31 March there: a month already used, by another group, counts once
    same_month = await ok(schedule_group_meeting(world, "A1", "2027-03-31T16:00:00Z"), 201)
    another_in_february = await ok(schedule_group_meeting(world, "A3", "2027-02-18T14:00:00+07:00"), 201)
    next_year = await ok(schedule_group_meeting(world, "A2", "2028-01-12T14:00:00+07:00"), 201)

    # moving a meeting re-checks R-GROUP-3 without counting the meeting itself: into a month used is fine,
    # into a fourth month of 2027 is not, and a refused move changes nothing
    moved = await ok(
        sec_a.patch(f"/api/v1/meetings/{same_month['id']}", {"starts_at": "2027-01-20T14:00:00+07:00"})
    )
    assert moved["starts_at"] == "2027-01-20T07:00:00Z"
    into_may = await sec_a.patch(
        f"/api/v1/meetings/{next_year['id']}", {"starts_at": "2027-05-12T14:00:00+07:00"}
    )
    assert (into_may.status, into_may.body["error"]["rule"]) == (409, "R-GROUP-3")
    unchanged = await ok(sec_a.get(f"/api/v1/meetings/{next_year['id']}"))
    assert unchanged["starts_at"] == "2028-01-12T07:00:00Z"
    # March's only meeting moved to April: April takes March's place, so March would now be a fourth month
    await ok(sec_a.patch(f"/api/v1/meetings/{march['id']}", {"starts_at": "2027-04-14T14:00:00+07:00"}))
    record = await ok(sec_a.get(record_path(world, "2027-02")))
    assert record["group_months_used"]["months"] == ["2027-01", "2027-02", "2027-04"]
    assert [m["id"] for m in record["meetings"]] == [february["id"], another_in_february["id"]]
    assert record["held_by_groups"] is False  # scheduled, not held yet
    assert (await schedule_group_meeting(world, "A1", "2027-03-10T14:00:00+07:00")).status == 409
    assert [m["id"] for m in (await ok(sec_a.get(record_path(world, "2027-01"))))["meetings"]] == [
        january["id"],
        same_month["id"],
    ]


async def test_two_schedulings_at_once_cannot_both_take_the_last_month(world: World) -> None:
    await three_groups(world)
    await approve_groups(world)
    await ok(schedule_group_meeting(world, "A1", "2027-01-13T14:00:00+07:00"), 201)
    await ok(schedule_group_meeting(world, "A2", "2027-02-17T14:00:00+07:00"), 201)

    # Two transactions, the first held open after it took the last month: the second waits for the cell's
    # row (PostgreSQL) or for the one writer (SQLite), then counts the first's month and is refused.
    database, clock, user = world.server.app[DATABASE], world.server.clock, world.users["sec_a"]
    first_took_it, let_first_commit = asyncio.Event(), asyncio.Event()

    def values(starts_at: str) -> dict[str, Any]:
        return {
            "kind": "group",
            "mode": "in_person",
            "title": "Sinh hoạt tổ",
            "starts_at": datetime.fromisoformat(starts_at),
            "duration_minutes": 90,
        }

    async def first() -> None:
        async with database.write() as session:
            group = await get_org(session, world.orgs["A1"])
            await schedule(
                session, group, values("2027-03-10T14:00:00+07:00"), actor_user_id=user, at=clock()
            )
            first_took_it.set()
            await let_first_commit.wait()

    async def second() -> None:
        await first_took_it.wait()
        async with database.write() as session:
            group = await get_org(session, world.orgs["A2"])
            await schedule(
                session, group, values("2027-04-14T14:00:00+07:00"), actor_user_id=user, at=clock()
            )

    first_task, second_task = asyncio.create_task(first()), asyncio.create_task(second())
    await first_took_it.wait()
    await asyncio.sleep(0.3)
    assert not second_task.done()
    let_first_commit.set()
    await first_task
    with pytest.raises(ApiError) as refused:
        await second_task
    assert (refused.value.status, refused.value.rule) == (409, "R-GROUP-3")
    assert await count(world, Meeting) == 3

    # and over HTTP: of three new months asked for at once, none is taken (the year is full)
    replies = await asyncio.gather(
        schedule_group_meeting(world, "A1", "2027-05-12T14:00:00+07:00"),
        schedule_group_meeting(world, "A2", "2027-06-09T14:00:00+07:00"),
        schedule_group_meeting(world, "A3", "2027-03-11T14:00:00+07:00"),  # March: already used
    )
    assert [reply.status for reply in replies] == [409, 409, 201], [r.body for r in replies]
    assert await count(world, Meeting) == 4
