"""Meeting by party group in place of the cell's monthly meeting (R-GROUP-3), and the conclusions the
cell's monthly record takes from a group's minutes (R-GROUP-4)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meetings.decision import Text
from meetings.groups import Conclusion, Month, conclusions, group_month_allowed, local_month, meeting_month
from meetings.rulesets import HD03_2022

HCM, NEW_YORK = ZoneInfo("Asia/Ho_Chi_Minh"), ZoneInfo("America/New_York")
ONCE_A_YEAR = HD03_2022.with_values(
    "test-groups-once",
    Text("Thử: một lần một năm", "Test: once a year"),
    {"group_meetings_per_year_max": 1},
    "t",
)


def months(*texts: str) -> list[Month]:
    return [Month.parse(text) for text in texts]


@pytest.mark.parametrize(
    ("used", "month", "allowed", "months_used"),
    [
        pytest.param([], "2027-01", True, 0, id="R-GROUP-3 the first month of a year"),
        pytest.param(["2027-01", "2027-03"], "2027-05", True, 2, id="R-GROUP-3 a third month"),
        pytest.param(
            ["2027-01", "2027-03", "2027-05"], "2027-06", False, 3, id="R-GROUP-3 a fourth month is refused"
        ),
        pytest.param(
            ["2027-01", "2027-03", "2027-05"],
            "2027-03",
            True,
            3,
            id="R-GROUP-3 another group in a month already used counts once",
        ),
        pytest.param(
            ["2027-01", "2027-01", "2027-03", "2027-03"],
            "2027-05",
            True,
            2,
            id="R-GROUP-3 several groups in one month count once",
        ),
        pytest.param(
            ["2027-01", "2027-03", "2027-05"], "2028-01", True, 0, id="R-GROUP-3 January of the next year"
        ),
        pytest.param(
            ["2026-10", "2026-11", "2026-12"],
            "2027-01",
            True,
            0,
            id="R-GROUP-3 last year's months not counted",
        ),
        pytest.param(
            ["2026-12", "2027-02", "2027-04", "2028-01"],
            "2027-06",
            True,
            2,
            id="R-GROUP-3 only the meeting's calendar year counts",
        ),
    ],
)
def test_months_a_year_in_place_of_the_monthly_meeting(
    used: list[str], month: str, allowed: bool, months_used: int
) -> None:
    decision = group_month_allowed(months(*used), Month.parse(month), HD03_2022)
    assert decision.outcome is allowed
    assert (decision.rule, decision.rule_set) == ("R-GROUP-3", "hd03-2022")
    assert decision.counts == {"year": int(month[:4]), "months_used": months_used, "max": 3}
    assert decision.details["already_used"] is (month in used)
    assert "R-GROUP-3" in decision.explanation.vi and "R-GROUP-3" in decision.explanation.en


def test_a_refusal_lists_the_months_used_in_both_languages() -> None:
    decision = group_month_allowed(months("2027-05", "2027-01", "2027-03"), Month(2027, 8), HD03_2022)
    assert decision.outcome is False
    assert decision.details == {
        "month": "2027-08",
        "months_used": ["2027-01", "2027-03", "2027-05"],
        "already_used": False,
    }
    assert decision.explanation.vi == (
        "Không được sinh hoạt theo tổ đảng thay cho sinh hoạt chi bộ trong tháng 08/2027: năm 2027 chi bộ "
        "đã sinh hoạt theo tổ đảng 3/3 tháng (01/2027, 03/2027, 05/2027), tối đa 3 tháng một năm (R-GROUP-3)."
    )
    assert decision.explanation.en == (
        "Party groups may not meet in place of the cell in 08/2027: the cell's groups already met in "
        "3 of 3 months (01/2027, 03/2027, 05/2027) of 2027, at most 3 a year (R-GROUP-3)."
    )


def test_the_maximum_is_the_rule_sets() -> None:
    assert group_month_allowed([], Month(2027, 2), ONCE_A_YEAR).outcome is True
    second = group_month_allowed(months("2027-02"), Month(2027, 3), ONCE_A_YEAR)
    assert (second.outcome, second.rule_set, second.counts["max"]) == (False, "test-groups-once", 1)
    assert group_month_allowed(months("2027-02"), Month(2027, 2), ONCE_A_YEAR).outcome is True


@pytest.mark.parametrize(
    ("instant", "zone", "month"),
    [
        pytest.param(
            datetime(2026, 3, 31, 20, 0, tzinfo=UTC), HCM, "2026-04", id="31 March 20:00 UTC is April in HCM"
        ),
        pytest.param(
            datetime(2026, 3, 31, 16, 59, tzinfo=UTC), HCM, "2026-03", id="23:59 in HCM is still March"
        ),
        pytest.param(datetime(2026, 3, 31, 17, 0, tzinfo=UTC), HCM, "2026-04", id="midnight in HCM is April"),
        pytest.param(
            datetime(2027, 1, 1, 1, 0, tzinfo=UTC), NEW_YORK, "2026-12", id="New Year in UTC, not New York"
        ),
        pytest.param(
            datetime(2026, 12, 31, 17, 0, tzinfo=UTC), HCM, "2027-01", id="New Year in HCM, not UTC"
        ),
    ],
)
def test_the_month_is_the_cells_local_month(instant: datetime, zone: ZoneInfo, month: str) -> None:
    assert str(local_month(instant, zone)) == month


def test_a_month_boundary_in_the_cells_time_zone_decides_r_group_3() -> None:
    # January, February and March are used in Ho Chi Minh City; 31 March 20:00 UTC is already April there
    used = months("2026-01", "2026-02", "2026-03")
    late_march_utc = local_month(datetime(2026, 3, 31, 20, 0, tzinfo=UTC), HCM)
    assert group_month_allowed(used, late_march_utc, HD03_2022).outcome is False
    still_march = local_month(datetime(2026, 3, 31, 16, 0, tzinfo=UTC), HCM)
    assert group_month_allowed(used, still_march, HD03_2022).outcome is True


def test_a_meeting_belongs_to_the_month_it_was_opened_in() -> None:
    scheduled = datetime(2026, 3, 31, 16, 30, tzinfo=UTC)  # 23:30 on 31 March in HCM
    opened = datetime(2026, 3, 31, 17, 10, tzinfo=UTC)  # 00:10 on 1 April
    assert meeting_month(scheduled, None, HCM) == Month(2026, 3)
    assert meeting_month(scheduled, opened, HCM) == Month(2026, 4)


def test_months_parse_and_print() -> None:
    assert Month.parse("2027-03") == Month(2027, 3)
    assert (str(Month(2027, 3)), Month(2027, 3).text) == ("2027-03", "03/2027")
    assert Month(2027, 12).next() == Month(2028, 1) and Month(2027, 1).next() == Month(2027, 2)
    for bad in ("2027-13", "2027-00", "2027-3", "27-03", "2027-03-01", "", "２０２７-03"):
        with pytest.raises(ValueError):
            Month.parse(bad)
    with pytest.raises(ValueError):
        local_month(datetime(2027, 3, 1), HCM)


@given(st.lists(st.tuples(st.integers(2026, 2028), st.integers(1, 12)), max_size=60))
def test_accepted_one_by_one_never_more_than_the_maximum_months_a_year(asked: list[tuple[int, int]]) -> None:
    accepted: list[Month] = []
    for year, number in asked:
        month = Month(year, number)
        decision = group_month_allowed(accepted, month, HD03_2022)
        distinct = {m for m in accepted if m.year == year}
        # a refusal happens exactly when the month is new and the year is full
        assert decision.outcome is (month in distinct or len(distinct) < 3)
        if decision.outcome:
            accepted.append(month)
    for year in {m.year for m in accepted}:
        assert len({m for m in accepted if m.year == year}) <= 3


GROUP_AGENDA = [
    "Khai mạc: tuyên bố lý do, cử người ghi biên bản, điểm danh đảng viên, thông qua chương trình",
    "Tổ trưởng tổ đảng báo cáo nội dung sinh hoạt",
    "Đảng viên trong tổ thảo luận, đóng góp ý kiến",
    "Tổ trưởng kết luận; kết luận của tổ được gửi lên chi bộ",
    "Thông qua biên bản tóm tắt buổi sinh hoạt tổ",
]


def test_conclusions_are_the_concluding_items_and_the_chairs_conclusions() -> None:
    fields = {
        "opening": "Khai mạc lúc 14 giờ.",
        "item:1": "Báo cáo tình hình tháng.",
        "item:3": "  Tổ thống nhất đề nghị chi bộ bổ sung kế hoạch học tập.\n",
        "conclusions": "Giao tổ trưởng báo cáo chi bộ.",
    }
    assert conclusions(GROUP_AGENDA, fields) == [
        Conclusion("item:3", GROUP_AGENDA[3], "Tổ thống nhất đề nghị chi bộ bổ sung kế hoạch học tập."),
        Conclusion("conclusions", "Kết luận của chủ trì", "Giao tổ trưởng báo cáo chi bộ."),
    ]


def test_unwritten_conclusions_are_left_out() -> None:
    assert conclusions(GROUP_AGENDA, {"item:3": "  ", "item:1": "Báo cáo."}) == []
    assert conclusions([], {"conclusions": "Kết luận."}) == [
        Conclusion("conclusions", "Kết luận của chủ trì", "Kết luận.")
    ]
    # the word is matched whatever its case or Unicode form (a title typed in decomposed form)
    decomposed = "KẾT LUẬN của tổ".replace("Ế", "E\u0302\u0301").replace("Ậ", "A\u0323\u0302")
    assert conclusions([decomposed], {"item:0": "Đồng ý."}) == [Conclusion("item:0", decomposed, "Đồng ý.")]
