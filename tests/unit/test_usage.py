"""Pilot usage figures and flags (meetings.usage): every flag at its boundary, figures, time zones."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meetings.decision import Text
from meetings.enums import (
    Activity,
    ApplicationStatus,
    AttendanceStatus,
    MeetingKind,
    MeetingMode,
    MeetingStatus,
    OrgKind,
    Standing,
    VoteKind,
    VoteOutcome,
)
from meetings.rulesets import HD03_2022
from meetings.usage import (
    Approval,
    ApprovalRecord,
    FlagCode,
    MeetingRecord,
    OrgSummary,
    Period,
    RegisterEntry,
    StoppedQualifying,
    UnitRecord,
    UsageReport,
    VoteRecord,
    approval_on,
    percent,
    usage_report,
)

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
NEW_YORK = ZoneInfo("America/New_York")
YEAR = Period(date(2027, 1, 1), date(2027, 12, 31))
AS_OF = datetime(2028, 2, 1, tzinfo=UTC)
ROOT = OrgSummary(100, "Tỉnh ủy Thử", OrgKind.PROVINCE)
P, LATE, LEFT = AttendanceStatus.PRESENT, AttendanceStatus.LATE, AttendanceStatus.LEFT_EARLY
EXCUSED, UNEXCUSED = AttendanceStatus.ABSENT_EXCUSED, AttendanceStatus.ABSENT_UNEXCUSED
APPROVED_ALL_YEAR = ApprovalRecord(
    ApplicationStatus.APPROVED, datetime(2026, 11, 1, tzinfo=UTC), date(2026, 11, 1), date(2027, 12, 31)
)


def person(member_id: int, activity: Activity = Activity.ACTIVE, special_duty: bool = False) -> RegisterEntry:
    return RegisterEntry(member_id, f"Đảng viên {member_id}", Standing.OFFICIAL, activity, special_duty)


def cell(
    org_id: int = 1,
    *,
    kind: OrgKind = OrgKind.CELL,
    zone: ZoneInfo = HCM,
    register: Sequence[RegisterEntry] = (),
    approvals: Sequence[ApprovalRecord] = (APPROVED_ALL_YEAR,),
    stopped: Sequence[StoppedQualifying] = (),
    registered_at: datetime = datetime(2026, 1, 1, tzinfo=UTC),
) -> UnitRecord:
    return UnitRecord(
        org_id=org_id,
        name=f"Chi bộ {org_id}",
        kind=kind,
        zone=zone,
        rule_set=HD03_2022,
        register=tuple(register) or tuple(person(i) for i in range(1, 5)),
        approvals=tuple(approvals),
        stopped_qualifying=tuple(stopped),
        qualifies=True,
        registered_at=registered_at,
    )


def local(text: str, zone: ZoneInfo = HCM) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=zone)


_ids = iter(range(1, 1_000_000))


def held(
    opened: datetime,
    *,
    unit_id: int = 1,
    minutes: int | None = 90,
    kind: MeetingKind = MeetingKind.REGULAR,
    mode: MeetingMode = MeetingMode.IN_PERSON,
    attendance: dict[int, AttendanceStatus] | None = None,
    adopted_after: timedelta | None = timedelta(hours=2),
    quorate: bool = True,
    override_reason: str | None = None,
    votes: Sequence[VoteRecord] = (),
    meeting_id: int | None = None,
    held_by: str | None = None,
) -> MeetingRecord:
    """A meeting opened at `opened`, closed `minutes` later (None: still open), everyone present."""
    return MeetingRecord(
        meeting_id=meeting_id if meeting_id is not None else next(_ids),
        unit_id=unit_id,
        held_by=held_by or f"Chi bộ {unit_id}",
        kind=kind,
        mode=mode,
        status=MeetingStatus.CLOSED if minutes is not None else MeetingStatus.OPEN,
        scheduled_start=opened,
        opened_at=opened,
        closed_at=opened + timedelta(minutes=minutes) if minutes is not None else None,
        quorate_at_opening=quorate,
        override_reason=override_reason,
        opening_counts={"present_official": 1, "voting_base": 4} if not quorate else {},
        attendance=attendance if attendance is not None else dict.fromkeys(range(1, 5), P),
        votes=tuple(votes),
        minutes_adopted_at=opened + adopted_after if adopted_after is not None else None,
    )


def monthly(unit_id: int = 1, zone: ZoneInfo = HCM, year: int = 2027, **extra: Any) -> list[MeetingRecord]:
    """A regular meeting every month and a thematic one every quarter: nothing for R-FREQ-1 to flag."""
    regular = [held(local(f"{year}-{m:02d}-10T14:00", zone), unit_id=unit_id, **extra) for m in range(1, 13)]
    thematic = [
        held(local(f"{year}-{m:02d}-20T14:00", zone), unit_id=unit_id, kind=MeetingKind.THEMATIC, **extra)
        for m in (2, 5, 8, 11)
    ]
    return regular + thematic


def report(
    units: Sequence[UnitRecord],
    meetings: Sequence[MeetingRecord],
    *,
    period: Period = YEAR,
    as_of: datetime = AS_OF,
    adoption_days_max: int | None = None,
) -> UsageReport:
    return usage_report(ROOT, period, units, meetings, HD03_2022, as_of, adoption_days_max)


def flags_of(result: UsageReport, *codes: FlagCode) -> list[tuple[str, str, int | None, int | None]]:
    return [
        (f.code.value, f.period, f.meeting_id, f.member_id)
        for f in result.flags
        if not codes or f.code in codes
    ]


# --- arithmetic and the period ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("part", "whole", "expected"),
    [
        pytest.param(5, 12, 41.7, id="5 of 12 is 41.7"),
        pytest.param(1, 16, 6.3, id="6.25 rounds half up to 6.3"),
        pytest.param(1, 8, 12.5, id="12.5 stays"),
        pytest.param(2, 3, 66.7, id="two thirds"),
        pytest.param(0, 3, 0.0, id="none of 3"),
        pytest.param(3, 3, 100.0, id="all"),
        pytest.param(0, 0, None, id="nothing to divide is null"),
    ],
)
def test_percentages_have_one_decimal(part: int, whole: int, expected: float | None) -> None:
    assert percent(part, whole) == expected


def test_a_period_knows_its_months_and_its_whole_months_and_quarters() -> None:
    period = Period(date(2027, 1, 15), date(2027, 7, 31))
    assert [m.isoformat() for m in period.months()] == [f"2027-{m:02d}-01" for m in range(1, 8)]
    assert [m.month for m in period.whole_months()] == [2, 3, 4, 5, 6, 7]
    assert period.whole_quarters() == [(2027, 2)]
    assert YEAR.whole_quarters() == [(2027, q) for q in (1, 2, 3, 4)]
    with pytest.raises(ValueError):
        Period(date(2027, 2, 1), date(2027, 1, 31))


# --- approval states --------------------------------------------------------------------------------


def _application(status: ApplicationStatus, applied: str, **dates: Any) -> ApprovalRecord:
    return ApprovalRecord(status, datetime.fromisoformat(applied).replace(tzinfo=UTC), **dates)


VALID = {"valid_from": date(2027, 1, 1), "valid_to": date(2027, 12, 31)}


@pytest.mark.parametrize(
    ("approvals", "day", "expected"),
    [
        pytest.param([], date(2027, 6, 1), Approval.NONE, id="never applied"),
        pytest.param(
            [_application(ApplicationStatus.APPROVED, "2026-12-01", **VALID)],
            date(2027, 6, 1),
            Approval.APPROVED,
            id="a valid approval",
        ),
        pytest.param(
            [_application(ApplicationStatus.APPROVED, "2026-12-01", **VALID)],
            date(2028, 1, 1),
            Approval.NONE,
            id="an approval that ended is no approval",
        ),
        pytest.param(
            [_application(ApplicationStatus.PENDING, "2027-03-01")],
            date(2027, 6, 1),
            Approval.APPLYING,
            id="pending",
        ),
        pytest.param(
            [_application(ApplicationStatus.PENDING, "2027-07-01")],
            date(2027, 6, 1),
            Approval.NONE,
            id="an application made after the day is not seen",
        ),
        pytest.param(
            [
                _application(
                    ApplicationStatus.REVOKED,
                    "2026-12-01",
                    revoked_at=datetime(2027, 5, 1, tzinfo=UTC),
                    **VALID,
                )
            ],
            date(2027, 6, 1),
            Approval.REVOKED,
            id="revoked before the day",
        ),
        pytest.param(
            [
                _application(
                    ApplicationStatus.REVOKED,
                    "2026-12-01",
                    revoked_at=datetime(2027, 9, 1, tzinfo=UTC),
                    **VALID,
                )
            ],
            date(2027, 6, 1),
            Approval.APPROVED,
            id="revoked after the day: approved that day",
        ),
        pytest.param(
            [
                _application(
                    ApplicationStatus.REVOKED,
                    "2026-12-01",
                    revoked_at=datetime(2027, 5, 1, tzinfo=UTC),
                    **VALID,
                ),
                _application(ApplicationStatus.PENDING, "2027-05-10"),
            ],
            date(2027, 6, 1),
            Approval.APPLYING,
            id="applying again after a revocation",
        ),
        pytest.param(
            [_application(ApplicationStatus.REJECTED, "2027-01-10")],
            date(2027, 6, 1),
            Approval.NONE,
            id="rejected",
        ),
    ],
)
def test_approval_state_on_a_day(approvals: list[ApprovalRecord], day: date, expected: Approval) -> None:
    assert approval_on(cell(approvals=approvals), day) is expected


def test_unit_totals_read_the_state_at_the_end_of_the_period_or_today() -> None:
    revoked = _application(
        ApplicationStatus.REVOKED, "2026-12-01", revoked_at=datetime(2027, 10, 1, tzinfo=UTC), **VALID
    )
    units = [
        cell(1, approvals=[APPROVED_ALL_YEAR]),
        cell(2, approvals=[_application(ApplicationStatus.PENDING, "2027-02-01")]),
        cell(3, approvals=[revoked]),
        cell(4, kind=OrgKind.GRASSROOTS, approvals=[]),
    ]
    result = report(units, [])
    assert result.totals["units"] == {
        "total": 4,
        "approved": 1,
        "applying": 1,
        "revoked": 1,
        "not_applied": 1,
    }
    assert [u["approval"] for u in result.units] == ["approved", "applying", "revoked", "none"]
    # the period has not ended: the state is today's, before the revocation
    midway = report(units, [], as_of=datetime(2027, 8, 1, tzinfo=UTC))
    assert midway.totals["units"]["approved"] == 2


# --- R-FREQ-2: short meetings --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minutes", "flagged"),
    [
        pytest.param(89, True, id="89 minutes is short"),
        pytest.param(90, False, id="exactly 90 minutes is enough"),
        pytest.param(91, False, id="91 minutes"),
        pytest.param(None, False, id="a meeting still open is not judged"),
    ],
)
def test_short_meeting(minutes: int | None, flagged: bool) -> None:
    meeting = held(local("2027-03-10T14:00"), minutes=minutes, meeting_id=7)
    result = report([cell()], [*monthly(), meeting])
    found = flags_of(result, FlagCode.SHORT_MEETING)
    assert found == ([("short_meeting", "2027-03-10", 7, None)] if flagged else [])
    if flagged:
        flag = next(f for f in result.flags if f.code is FlagCode.SHORT_MEETING)
        assert flag.rule == "R-FREQ-2" and flag.rule_set == "hd03-2022"
        assert "89 phút, ít hơn 90 phút" in flag.message.vi and "R-FREQ-2" in flag.message.vi
        assert "89 minutes, less than 90" in flag.message.en


def test_the_seconds_of_a_meeting_count_for_its_length() -> None:
    opened = local("2027-03-10T14:00")
    almost = MeetingRecord(
        meeting_id=1,
        unit_id=1,
        held_by="Chi bộ 1",
        kind=MeetingKind.REGULAR,
        mode=MeetingMode.IN_PERSON,
        status=MeetingStatus.CLOSED,
        scheduled_start=opened,
        opened_at=opened,
        closed_at=opened + timedelta(minutes=90) - timedelta(seconds=1),
        attendance=dict.fromkeys(range(1, 5), P),
        minutes_adopted_at=opened,
    )
    assert flags_of(report([cell()], [almost]), FlagCode.SHORT_MEETING) == [
        ("short_meeting", "2027-03-10", 1, None)
    ]


# --- R-ATT-3: attendance ----------------------------------------------------------------------------


def _statuses(present: int, excused: int = 0, unexcused: int = 0) -> dict[int, AttendanceStatus]:
    statuses = [P] * present + [EXCUSED] * excused + [UNEXCUSED] * unexcused
    return dict(enumerate(statuses, start=1))


@pytest.mark.parametrize(
    ("attendance", "flagged"),
    [
        pytest.param(_statuses(17, excused=3), True, id="exactly 85% is not above the target"),
        pytest.param(_statuses(18, excused=2), False, id="90% with excuses only"),
        pytest.param(_statuses(6, excused=1), False, id="6 of 7 is 85.7%"),
        pytest.param(_statuses(19, unexcused=1), True, id="95% but one unexcused absence"),
        pytest.param(_statuses(20), False, id="everyone"),
        pytest.param({1: LATE, 2: LEFT, 3: P}, False, id="late and left early are present"),
    ],
)
def test_low_attendance(attendance: dict[int, AttendanceStatus], flagged: bool) -> None:
    unit = cell(register=[person(i) for i in range(1, 21)])
    meeting = held(local("2027-03-10T14:00"), attendance=attendance, meeting_id=9)
    found = flags_of(report([unit], [meeting]), FlagCode.LOW_ATTENDANCE)
    assert found == ([("low_attendance", "2027-03-10", 9, None)] if flagged else [])


def test_low_attendance_says_why() -> None:
    meeting = held(local("2027-03-10T14:00"), attendance=_statuses(2, excused=1, unexcused=1))
    flag = next(f for f in report([cell()], [meeting]).flags if f.code is FlagCode.LOW_ATTENDANCE)
    assert flag.message.vi.startswith("Buổi sinh hoạt trực tiếp ngày 10/03/2027: có mặt 2/4 đảng viên (50%)")
    assert "không vượt mục tiêu trên 85%" in flag.message.vi
    assert "1 đảng viên vắng mặt không có lý do" in flag.message.vi
    assert flag.message.vi.endswith("(R-ATT-3, hd03-2022).")
    assert "2/4 members present (50%), not above the 85% target; 1 member absent without an excuse" in (
        flag.message.en
    )


def test_exempt_members_are_expected_only_when_they_come() -> None:
    register = [person(1), person(2), person(3, Activity.EXEMPT), person(4, Activity.SUSPENDED)]
    absent_exempt = held(local("2027-03-10T14:00"), attendance={1: P, 2: P, 3: UNEXCUSED, 4: UNEXCUSED})
    present_exempt = held(local("2027-04-10T14:00"), attendance={1: P, 2: P, 3: P, 4: UNEXCUSED})
    result = report([cell(register=register)], [absent_exempt, present_exempt])
    assert result.totals["attendance"] == {
        "expected": 5,
        "present": 5,
        "absent_excused": 0,
        "absent_unexcused": 0,
        "rate_percent": 100.0,
    }
    assert flags_of(result, FlagCode.LOW_ATTENDANCE) == []


def test_attendance_counts_closed_meetings_only() -> None:
    still_open = held(local("2027-03-10T14:00"), minutes=None, attendance={1: UNEXCUSED})
    result = report([cell()], [still_open])
    assert result.totals["meetings"]["total"] == 1
    assert result.totals["attendance"]["expected"] == 0
    assert result.totals["attendance"]["rate_percent"] is None
    assert flags_of(result, FlagCode.LOW_ATTENDANCE) == []


# --- R-ATT-3: excused in a row ------------------------------------------------------------------------


def _series(statuses: Sequence[AttendanceStatus], months: Sequence[int] | None = None) -> list[MeetingRecord]:
    """Meetings on the 10th of successive months where member 4 has the given statuses."""
    chosen = months or range(1, len(statuses) + 1)
    return [
        held(local(f"2027-{m:02d}-10T14:00"), attendance={1: P, 2: P, 3: P, 4: s}, meeting_id=100 + m)
        for m, s in zip(chosen, statuses, strict=True)
    ]


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        pytest.param([EXCUSED] * 3, [], id="3 in a row is the maximum"),
        pytest.param([EXCUSED] * 4, [("2027-04-10", 104)], id="4 in a row is flagged at the 4th"),
        pytest.param([EXCUSED] * 6, [("2027-04-10", 104)], id="one flag for a longer run"),
        pytest.param([EXCUSED, EXCUSED, P, EXCUSED, EXCUSED], [], id="a meeting attended breaks the run"),
        pytest.param(
            [EXCUSED, EXCUSED, UNEXCUSED, EXCUSED, EXCUSED], [], id="an unexcused absence breaks it"
        ),
        pytest.param(
            [EXCUSED] * 4 + [P] + [EXCUSED] * 4,
            [("2027-04-10", 104), ("2027-09-10", 109)],
            id="a second run is a second flag",
        ),
    ],
)
def test_excused_in_a_row(statuses: list[AttendanceStatus], expected: list[tuple[str, int]]) -> None:
    found = flags_of(report([cell()], _series(statuses)), FlagCode.EXCUSED_IN_A_ROW)
    assert found == [("excused_in_a_row", day, meeting, 4) for day, meeting in expected]


@pytest.mark.parametrize(
    "entry",
    [
        pytest.param(person(4, Activity.EXEMPT), id="an exempt member is excepted"),
        pytest.param(person(4, special_duty=True), id="a member on special duty is excepted"),
    ],
)
def test_excused_in_a_row_exceptions(entry: RegisterEntry) -> None:
    unit = cell(register=[person(1), person(2), person(3), entry])
    assert flags_of(report([unit], _series([EXCUSED] * 5)), FlagCode.EXCUSED_IN_A_ROW) == []


def test_excused_in_a_row_counts_within_one_year() -> None:
    period = Period(date(2026, 1, 1), date(2028, 12, 31))
    spread = [
        held(local(day), attendance={1: P, 4: EXCUSED}, meeting_id=i)
        for i, day in enumerate(
            ["2026-03-01T14:00", "2026-09-01T14:00", "2027-01-01T14:00", "2027-03-01T14:00"]
        )
    ]
    # the 4th excused absence is a year after the 1st: the run within one year is 3 long
    assert flags_of(report([cell()], spread, period=period), FlagCode.EXCUSED_IN_A_ROW) == []
    closer = [*spread[:3], held(local("2027-02-28T14:00"), attendance={1: P, 4: EXCUSED}, meeting_id=9)]
    assert flags_of(report([cell()], closer, period=period), FlagCode.EXCUSED_IN_A_ROW) == [
        ("excused_in_a_row", "2027-02-28", 9, 4)
    ]


def test_excused_in_a_row_names_the_member_and_the_run() -> None:
    result = report([cell()], _series([EXCUSED] * 4))
    flag = next(f for f in result.flags if f.code is FlagCode.EXCUSED_IN_A_ROW)
    assert flag.rule == "R-ATT-3"
    assert flag.message.vi.startswith(
        "Đồng chí Đảng viên 4 vắng mặt có lý do 4 buổi sinh hoạt liên tiếp (từ 10/01/2027 đến 10/04/2027)"
    )


# --- R-FREQ-1: months and quarters ---------------------------------------------------------------------


def test_a_cell_that_meets_every_month_and_quarter_is_not_flagged() -> None:
    assert report([cell()], monthly()).flags == []


def test_missing_months_and_quarters_are_flagged() -> None:
    meetings = [
        m for m in monthly() if not (m.kind is MeetingKind.REGULAR and m.opened_at and m.opened_at.month == 3)
    ]
    meetings = [
        m for m in meetings if not (m.kind is MeetingKind.THEMATIC and m.opened_at and m.opened_at.month == 8)
    ]
    assert flags_of(report([cell()], meetings)) == [
        ("no_regular_meeting", "2027-03", None, None),
        ("no_thematic_meeting", "2027-Q3", None, None),
    ]


def test_a_thematic_meeting_does_not_replace_the_regular_one_but_party_groups_do() -> None:
    thematic = [held(local("2027-03-20T14:00"), kind=MeetingKind.THEMATIC)]
    by_group = [held(local("2027-06-05T14:00"), kind=MeetingKind.GROUP, held_by="Tổ đảng 1")]
    meetings = (
        [m for m in monthly() if not (m.opened_at and m.opened_at.month in (3, 6))] + thematic + by_group
    )
    assert flags_of(report([cell()], meetings), FlagCode.NO_REGULAR_MEETING) == [
        ("no_regular_meeting", "2027-03", None, None)
    ]


@pytest.mark.parametrize(
    ("period", "as_of", "expected"),
    [
        pytest.param(
            Period(date(2027, 1, 15), date(2027, 3, 31)),
            AS_OF,
            ["2027-02", "2027-03"],
            id="a month cut by the period's start is not judged",
        ),
        pytest.param(
            Period(date(2027, 1, 1), date(2027, 3, 30)),
            AS_OF,
            ["2027-01", "2027-02"],
            id="a month cut by the period's end is not judged",
        ),
        pytest.param(
            Period(date(2027, 1, 1), date(2027, 3, 31)),
            datetime(2027, 3, 31, 12, tzinfo=UTC),
            ["2027-01", "2027-02"],
            id="a month that has not ended is not judged",
        ),
        pytest.param(
            Period(date(2027, 1, 1), date(2027, 3, 31)),
            datetime(2027, 3, 31, 17, 30, tzinfo=UTC),
            ["2027-01", "2027-02", "2027-03"],
            id="March has ended in Ho Chi Minh City at 00:30 on 1 April",
        ),
    ],
)
def test_only_whole_ended_months_are_judged(period: Period, as_of: datetime, expected: list[str]) -> None:
    found = flags_of(report([cell()], [], period=period, as_of=as_of), FlagCode.NO_REGULAR_MEETING)
    assert [p for _, p, _, _ in found] == expected


def test_months_before_the_unit_was_registered_are_not_judged() -> None:
    unit = cell(registered_at=datetime(2027, 9, 15, tzinfo=UTC))
    assert [p for _, p, _, _ in flags_of(report([unit], []))] == ["2027-10", "2027-11", "2027-12", "2027-Q4"]


def test_grassroots_committees_are_not_judged_by_the_monthly_rule() -> None:
    assert report([cell(kind=OrgKind.GRASSROOTS)], []).flags == []


# --- time zones -----------------------------------------------------------------------------------------


def test_months_and_quarters_are_in_the_units_time_zone() -> None:
    # 20:00 on 31 March in New York is already 1 April in UTC: it is March's and Q1's meeting there
    meetings = [m for m in monthly(zone=NEW_YORK) if not (m.opened_at and m.opened_at.month in (2, 3))]
    evening = local("2027-03-31T20:00", NEW_YORK)
    assert evening.astimezone(UTC).month == 4
    meetings += [
        held(local("2027-02-10T14:00", NEW_YORK)),
        held(evening, kind=MeetingKind.THEMATIC, mode=MeetingMode.ONLINE),
        held(local("2027-03-05T20:00", NEW_YORK)),
    ]
    result = report([cell(zone=NEW_YORK)], meetings)
    assert result.flags == []
    march = next(m for m in result.months if m["month"] == "2027-03")
    assert (march["online"], march["in_person"]) == (1, 1)


@pytest.mark.parametrize(
    ("opened", "inside"),
    [
        pytest.param(
            local("2027-01-01T06:00"), True, id="1 January 06:00 in HCM is 31 December in UTC: inside"
        ),
        pytest.param(local("2026-12-31T23:30"), False, id="31 December 23:30 in HCM: outside"),
        pytest.param(local("2027-12-31T20:00", NEW_YORK), True, id="31 December 20:00 in New York: inside"),
        pytest.param(local("2028-01-01T00:30", NEW_YORK), False, id="1 January 00:30 in New York: outside"),
    ],
)
def test_the_period_holds_the_meetings_opened_on_its_days_in_the_units_time_zone(
    opened: datetime, inside: bool
) -> None:
    zone = opened.tzinfo
    assert isinstance(zone, ZoneInfo)
    result = report([cell(zone=zone)], [held(opened)])
    assert result.totals["meetings"]["total"] == int(inside)


# --- R-ELIG-7: online without qualifying ----------------------------------------------------------------


REVOKED_IN_JUNE = ApprovalRecord(
    ApplicationStatus.REVOKED,
    datetime(2026, 11, 1, tzinfo=UTC),
    date(2026, 11, 1),
    date(2027, 12, 31),
    revoked_at=local("2027-06-01T00:00"),
)
ENDS_IN_JUNE = ApprovalRecord(
    ApplicationStatus.APPROVED, datetime(2026, 11, 1, tzinfo=UTC), date(2026, 11, 1), date(2027, 6, 9)
)
FLAGGED_IN_JUNE = StoppedQualifying(local("2027-06-01T00:00"))
CLEARED_IN_JUNE = StoppedQualifying(local("2027-06-01T00:00"), local("2027-06-05T00:00"))


@pytest.mark.parametrize(
    ("approvals", "stopped", "mode", "expected"),
    [
        pytest.param([APPROVED_ALL_YEAR], [], MeetingMode.ONLINE, None, id="approved and qualifying"),
        pytest.param([], [], MeetingMode.HYBRID, "không có quyết định", id="hybrid without an approval"),
        pytest.param(
            [REVOKED_IN_JUNE], [], MeetingMode.ONLINE, "không có quyết định", id="after a revocation"
        ),
        pytest.param([ENDS_IN_JUNE], [], MeetingMode.ONLINE, "không có quyết định", id="after the validity"),
        pytest.param(
            [APPROVED_ALL_YEAR], [FLAGGED_IN_JUNE], MeetingMode.ONLINE, "không còn đủ điều kiện", id="flagged"
        ),
        pytest.param([APPROVED_ALL_YEAR], [CLEARED_IN_JUNE], MeetingMode.ONLINE, None, id="flag cleared"),
        pytest.param([], [FLAGGED_IN_JUNE], MeetingMode.IN_PERSON, None, id="in person needs nothing"),
    ],
)
def test_online_without_qualifying(
    approvals: list[ApprovalRecord], stopped: list[StoppedQualifying], mode: MeetingMode, expected: str | None
) -> None:
    meeting = held(local("2027-06-10T14:00"), mode=mode, meeting_id=3)
    result = report([cell(approvals=approvals, stopped=stopped)], [meeting])
    found = [f for f in result.flags if f.code is FlagCode.ONLINE_WITHOUT_QUALIFYING]
    if expected is None:
        assert found == []
    else:
        [flag] = found
        assert (flag.rule, flag.period, flag.meeting_id) == ("R-ELIG-7", "2027-06-10", 3)
        assert expected in flag.message.vi and "R-ELIG-7" in flag.message.en


def test_a_meeting_just_before_the_revocation_was_allowed() -> None:
    meeting = held(local("2027-05-31T22:00"), mode=MeetingMode.ONLINE)
    result = report([cell(approvals=[REVOKED_IN_JUNE])], [meeting])
    assert flags_of(result, FlagCode.ONLINE_WITHOUT_QUALIFYING) == []


# --- R-QUOR-1: overrides --------------------------------------------------------------------------------


def test_quorum_overrides_of_the_opening_and_of_votes() -> None:
    below = VoteRecord(1, VoteKind.ORDINARY, "Thông qua kế hoạch", VoteOutcome.FAILED, "Bão, thiếu người")
    fine = VoteRecord(2, VoteKind.MINUTES_ADOPTION, "Thông qua biên bản", VoteOutcome.PASSED)
    still_open = VoteRecord(3, VoteKind.ORDINARY, "Chưa xong")
    overridden = held(
        local("2027-03-10T14:00"),
        quorate=False,
        override_reason="Bão số 9",
        votes=[below, fine],
        meeting_id=5,
    )
    result = report([cell()], [overridden, held(local("2027-04-10T14:00"), votes=[still_open])])
    assert flags_of(result, FlagCode.QUORUM_OVERRIDE) == [
        ("quorum_override", "2027-03-10", 5, None),
        ("quorum_override", "2027-03-10", 5, None),
    ]
    messages = [f.message.vi for f in result.flags if f.code is FlagCode.QUORUM_OVERRIDE]
    assert any(
        "khai mạc khi chưa đủ số đảng viên dự họp (1/4 đảng viên chính thức có mặt)" in m for m in messages
    )
    assert any("«Bão số 9»" in m for m in messages)
    assert any("biểu quyết «Thông qua kế hoạch» được mở khi chưa đủ" in m for m in messages)
    assert result.totals["quorum"] == {"failures": 1, "overrides": 2}
    assert result.totals["votes"] == {"held": 2, "passed": 1, "failed": 1}
    assert result.units[0]["quorum_overrides"] == 2 and result.units[0]["votes_held"] == 2


def test_meetings_and_votes_below_quorum_are_counted_once_each() -> None:
    """Issue 23: `quorum.overrides` adds events; `below_quorum` counts each meeting and each vote once."""
    below = VoteRecord(1, VoteKind.ORDINARY, "Kế hoạch", VoteOutcome.PASSED, "Bão")
    again = VoteRecord(2, VoteKind.ORDINARY, "Dự toán", VoteOutcome.PASSED, "Bão")
    later = VoteRecord(3, VoteKind.ORDINARY, "Nhân sự", VoteOutcome.PASSED, "Có người về sớm")
    meetings = [
        held(local("2027-03-10T14:00"), quorate=False, override_reason="Bão", votes=[below, again]),
        held(local("2027-04-10T14:00"), unit_id=2, votes=[later]),  # quorate at opening, a vote below later
        held(local("2027-05-10T14:00"), unit_id=2),
    ]
    result = report([cell(1), cell(2)], meetings)
    assert result.totals["quorum"] == {"failures": 1, "overrides": 4}  # the events, as before
    assert result.to_json()["below_quorum"] == {
        "meetings": 1,
        "votes": 3,
        "units": [{"id": 1, "meetings": 1, "votes": 2}, {"id": 2, "meetings": 0, "votes": 1}],
    }
    assert result.totals["meetings"]["total"] == 3


# --- R-MIN-1: minutes adopted within the days -------------------------------------------------------------


@pytest.mark.parametrize(
    ("adopted_after", "as_of", "days_max", "expected"),
    [
        pytest.param(timedelta(hours=1), AS_OF, None, None, id="adopted the same day"),
        pytest.param(timedelta(days=7), AS_OF, None, None, id="adopted after exactly 7 days"),
        pytest.param(timedelta(days=8), AS_OF, None, "sau 8 ngày, quá 7 ngày", id="adopted after 8 days"),
        pytest.param(timedelta(days=8), AS_OF, 10, None, id="8 days is within an override of 10"),
        pytest.param(
            None, local("2027-03-17T23:00"), None, None, id="not adopted yet, 7 days on: not late yet"
        ),
        pytest.param(
            None, local("2027-03-18T09:00"), None, "sau 8 ngày vẫn chưa", id="not adopted, 8 days on"
        ),
    ],
)
def test_minutes_not_adopted(
    adopted_after: timedelta | None, as_of: datetime, days_max: int | None, expected: str | None
) -> None:
    meeting = held(local("2027-03-10T14:00"), adopted_after=adopted_after, meeting_id=8)
    result = report([cell()], [meeting], as_of=as_of, adoption_days_max=days_max)
    found = [f for f in result.flags if f.code is FlagCode.MINUTES_NOT_ADOPTED]
    if expected is None:
        assert found == []
    else:
        [flag] = found
        assert (flag.rule, flag.period, flag.meeting_id) == ("R-MIN-1", "2027-03-10", 8)
        assert expected in flag.message.vi


def test_days_to_adoption_are_calendar_days_in_the_units_time_zone() -> None:
    # opened 23:00 in HCM, adopted 01:00 the next morning there: one day, though the same UTC day
    late_evening = held(local("2027-03-10T23:00"), adopted_after=timedelta(hours=2))
    same_day = held(local("2027-04-10T14:00"), adopted_after=timedelta(hours=2))
    ten_days = held(local("2027-05-10T14:00"), adopted_after=timedelta(days=10))
    never = held(local("2027-06-10T14:00"), adopted_after=None)
    result = report([cell()], [late_evening, same_day, ten_days, never], adoption_days_max=None)
    assert result.totals["minutes"] == {
        "adopted": 3,
        "not_adopted": 1,
        "adopted_late": 1,
        "days_to_adoption_median": 1.0,
        "days_to_adoption_max": 10,
    }
    assert result.units[0]["days_to_adoption_median"] == 1.0
    even = report([cell()], [late_evening, same_day])
    assert even.totals["minutes"]["days_to_adoption_median"] == 0.5


# --- the whole report -------------------------------------------------------------------------------------


def test_figures_by_unit_and_by_month() -> None:
    a = cell(1)
    b = cell(2, zone=NEW_YORK, approvals=[])
    meetings = [
        held(local("2027-01-10T14:00"), mode=MeetingMode.ONLINE),
        held(local("2027-01-20T14:00"), mode=MeetingMode.HYBRID, kind=MeetingKind.THEMATIC),
        held(local("2027-02-10T14:00"), attendance={1: P, 2: P, 3: EXCUSED, 4: UNEXCUSED}),
        held(local("2027-02-10T19:00", NEW_YORK), unit_id=2, kind=MeetingKind.EXTRAORDINARY),
    ]
    result = report([a, b], meetings, period=Period(date(2027, 1, 1), date(2027, 3, 31)))
    body = result.to_json()
    assert body["from"] == "2027-01-01" and body["to"] == "2027-03-31"
    assert body["org"] == {"id": 100, "name": "Tỉnh ủy Thử", "kind": "province"}
    assert body["rule_set"] == "hd03-2022"
    assert body["parameters"] == {
        "minutes_adoption_days_max": 7,
        "meeting_min_minutes": 90,
        "attendance_target_percent": 85.0,
        "excused_in_a_row_max": 3,
    }
    totals = body["totals"]
    assert totals["meetings"] == {
        "total": 4,
        "by_kind": {"regular": 2, "thematic": 1, "extraordinary": 1, "group": 0},
        "by_mode": {"online": 1, "hybrid": 1, "in_person": 2},
    }
    assert totals["attendance"] == {
        "expected": 16,
        "present": 14,
        "absent_excused": 1,
        "absent_unexcused": 1,
        "rate_percent": 87.5,
    }
    assert totals["online_share_percent"] == 50.0
    assert body["months"] == [
        {"month": "2027-01", "online": 1, "hybrid": 1, "in_person": 0, "attendance_rate_percent": 100.0},
        {"month": "2027-02", "online": 0, "hybrid": 0, "in_person": 2, "attendance_rate_percent": 75.0},
        {"month": "2027-03", "online": 0, "hybrid": 0, "in_person": 0, "attendance_rate_percent": None},
    ]
    first, second = body["units"]
    assert first == {
        "id": 1,
        "name": "Chi bộ 1",
        "kind": "cell",
        "approval": "approved",
        "qualifies": True,
        "meetings": {"total": 3, "online": 1, "hybrid": 1, "in_person": 1},
        "online_share_percent": 66.7,
        "attendance_rate_percent": 83.3,
        "quorum_overrides": 0,
        "votes_held": 0,
        "minutes_adopted": 3,
        "days_to_adoption_median": 0.0,
        "flags": first["flags"],
    }
    assert second["meetings"] == {"total": 1, "online": 0, "hybrid": 0, "in_person": 1}
    assert second["online_share_percent"] == 0.0 and second["approval"] == "none"
    assert sum(unit["flags"] for unit in body["units"]) == len(body["flags"])


def test_flags_are_sorted_by_unit_period_and_code_and_speak_both_languages() -> None:
    result = report([cell(2), cell(1)], [held(local("2027-05-10T14:00"), unit_id=2, minutes=30)])
    keys = [(f["org_id"], f["period"], f["code"]) for f in result.to_json()["flags"]]
    assert keys == sorted(keys)
    assert keys[0][0] == 1 and keys[-1] == (2, "2027-Q4", "no_thematic_meeting")
    english = result.to_json("en")["flags"]
    vietnamese = result.to_json("vi")["flags"]
    for en, vi in zip(english, vietnamese, strict=True):
        assert set(en) == {
            "code",
            "rule",
            "rule_set",
            "org_id",
            "org_name",
            "period",
            "meeting_id",
            "member_id",
            "message",
        }
        assert en["rule"] in en["message"] and vi["rule"] in vi["message"]
        assert en["message"] != vi["message"]
    assert (
        english[0]["message"] == "No regular meeting in 2027-01 (at least 1 a month) (R-FREQ-1, hd03-2022)."
    )
    assert vietnamese[0]["message"] == (
        "Chi bộ không sinh hoạt thường kỳ trong tháng 01/2027 (mỗi tháng ít nhất 1 lần) "
        "(R-FREQ-1, hd03-2022)."
    )


def test_a_meeting_of_an_unknown_unit_or_never_opened_counts_nowhere() -> None:
    never = MeetingRecord(
        meeting_id=1,
        unit_id=1,
        held_by="Chi bộ 1",
        kind=MeetingKind.REGULAR,
        mode=MeetingMode.ONLINE,
        status=MeetingStatus.SCHEDULED,
        scheduled_start=local("2027-03-10T14:00"),
    )
    elsewhere = held(local("2027-03-10T14:00"), unit_id=99)
    assert (
        report([cell()], [never, elsewhere], as_of=local("2027-03-11T00:00")).totals["meetings"]["total"] == 0
    )


def test_an_override_of_the_adoption_days_shows_in_the_parameters() -> None:
    assert report([], [], adoption_days_max=30).parameters["minutes_adoption_days_max"] == 30
    with pytest.raises(ValueError):
        report([], [], adoption_days_max=-1)


# --- properties -------------------------------------------------------------------------------------------

_statuses_st = st.sampled_from(list(AttendanceStatus))
_meetings_st = st.lists(
    st.builds(
        lambda unit_id, day, minute, kind, mode, closed, statuses: held(
            datetime(2027, 1, 1, 8, tzinfo=UTC) + timedelta(days=day, minutes=minute),
            unit_id=unit_id,
            kind=kind,
            mode=mode,
            minutes=90 if closed else None,
            attendance=dict(enumerate(statuses, start=1)),
        ),
        unit_id=st.sampled_from([1, 2, 3]),
        day=st.integers(-3, 400),
        minute=st.integers(0, 24 * 60),
        kind=st.sampled_from(list(MeetingKind)),
        mode=st.sampled_from(list(MeetingMode)),
        closed=st.booleans(),
        statuses=st.lists(_statuses_st, max_size=6),
    ),
    max_size=40,
)


@given(meetings=_meetings_st)
def test_the_figures_add_up(meetings: list[MeetingRecord]) -> None:
    units = [
        cell(1),
        cell(2, zone=NEW_YORK),
        cell(3, kind=OrgKind.GRASSROOTS, zone=ZoneInfo("Pacific/Kiritimati")),
    ]
    result = report(units, meetings)
    totals = result.totals
    total = totals["meetings"]["total"]
    assert sum(totals["meetings"]["by_mode"].values()) == total
    assert sum(totals["meetings"]["by_kind"].values()) == total
    assert sum(m["online"] + m["hybrid"] + m["in_person"] for m in result.months) == total
    assert sum(u["meetings"]["total"] for u in result.units) == total
    for mode in MeetingMode:
        assert sum(m[mode.value] for m in result.months) == totals["meetings"]["by_mode"][mode.value]
    attendance = totals["attendance"]
    assert attendance["expected"] == (
        attendance["present"] + attendance["absent_excused"] + attendance["absent_unexcused"]
    )
    share = totals["online_share_percent"]
    assert share is None if total == 0 else 0.0 <= share <= 100.0
    assert totals["minutes"]["adopted"] + totals["minutes"]["not_adopted"] == total
    assert len(result.months) == 12
    assert sum(u["flags"] for u in result.units) == len(result.flags)
    assert [f.sort_key() for f in result.flags] == sorted(f.sort_key() for f in result.flags)
    assert all(isinstance(f.message, Text) and f.rule in f.message.vi for f in result.flags)
