"""The usage report's flags: each names its rule and rule set, and says in both languages what was seen."""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from fractions import Fraction
from typing import Any

from meetings.content import MODE_TEXT
from meetings.decision import Text, count_en
from meetings.enums import AttendanceStatus, MeetingKind
from meetings.usage_held import REMOTE_MODES, AttendanceTally, Held
from meetings.usage_numbers import percent_of, vi_day, vi_number
from meetings.usage_period import Period, add_years, month_start, next_month, quarter_bounds, quarter_of
from meetings.usage_records import UnitRecord, approved_at


class FlagCode(StrEnum):
    NO_REGULAR_MEETING = "no_regular_meeting"
    NO_THEMATIC_MEETING = "no_thematic_meeting"
    SHORT_MEETING = "short_meeting"
    LOW_ATTENDANCE = "low_attendance"
    EXCUSED_IN_A_ROW = "excused_in_a_row"
    ONLINE_WITHOUT_QUALIFYING = "online_without_qualifying"
    QUORUM_OVERRIDE = "quorum_override"
    MINUTES_NOT_ADOPTED = "minutes_not_adopted"


FLAG_RULES: Mapping[FlagCode, str] = {
    FlagCode.NO_REGULAR_MEETING: "R-FREQ-1",
    FlagCode.NO_THEMATIC_MEETING: "R-FREQ-1",
    FlagCode.SHORT_MEETING: "R-FREQ-2",
    FlagCode.LOW_ATTENDANCE: "R-ATT-3",
    FlagCode.EXCUSED_IN_A_ROW: "R-ATT-3",
    FlagCode.ONLINE_WITHOUT_QUALIFYING: "R-ELIG-7",
    FlagCode.QUORUM_OVERRIDE: "R-QUOR-1",
    FlagCode.MINUTES_NOT_ADOPTED: "R-MIN-1",
}


@dataclass(frozen=True)
class Flag:
    code: FlagCode
    rule: str
    rule_set: str
    org_id: int
    org_name: str
    period: str
    message: Text
    meeting_id: int | None = None
    member_id: int | None = None

    def sort_key(self) -> tuple[int, str, str, int, int]:
        return (self.org_id, self.period, self.code.value, self.meeting_id or 0, self.member_id or 0)

    def to_json(self, lang: str = "vi") -> dict[str, Any]:
        return {
            "code": self.code.value,
            "rule": self.rule,
            "rule_set": self.rule_set,
            "org_id": self.org_id,
            "org_name": self.org_name,
            "period": self.period,
            "meeting_id": self.meeting_id,
            "member_id": self.member_id,
            "message": self.message.in_language(lang),
        }


def _flag(
    code: FlagCode,
    unit: UnitRecord,
    period: str,
    message: Text,
    meeting_id: int | None = None,
    member_id: int | None = None,
) -> Flag:
    rule = FLAG_RULES[code]
    return Flag(
        code=code,
        rule=rule,
        rule_set=unit.rule_set.name,
        org_id=unit.org_id,
        org_name=unit.name,
        period=period,
        message=Text(
            f"{message.vi} ({rule}, {unit.rule_set.name}).", f"{message.en} ({rule}, {unit.rule_set.name})."
        ),
        meeting_id=meeting_id,
        member_id=member_id,
    )


def _which(item: Held) -> Text:
    """ "Buổi sinh hoạt trực tuyến ngày 05/03/2027 (Tổ đảng số 1)": the meeting a flag is about."""
    mode = MODE_TEXT[item.record.mode]
    held_by = f" ({item.record.held_by})" if item.record.held_by != item.unit.name else ""
    return Text(
        f"Buổi sinh hoạt {mode.vi} ngày {vi_day(item.day)}{held_by}",
        f"The meeting held {mode.en} on {item.day.isoformat()}{held_by}",
    )


def meeting_flags(item: Held, as_of: datetime, adoption_days_max: int) -> list[Flag]:
    rule_set, unit, record = item.unit.rule_set, item.unit, item.record
    period, which = item.day.isoformat(), _which(item)
    flags: list[Flag] = []

    if record.closed and record.closed_at is not None:
        minutes = (record.closed_at - item.opened_at) // timedelta(minutes=1)
        if record.closed_at - item.opened_at < timedelta(minutes=rule_set.meeting_min_minutes):
            flags.append(
                _flag(
                    FlagCode.SHORT_MEETING,
                    unit,
                    period,
                    Text(
                        f"{which.vi} chỉ kéo dài {minutes} phút, ít hơn {rule_set.meeting_min_minutes} phút",
                        f"{which.en} lasted {minutes} minutes, less than {rule_set.meeting_min_minutes}",
                    ),
                    record.meeting_id,
                )
            )

    attendance = item.attendance
    if attendance is not None and attendance.expected > 0:
        target = rule_set.attendance_target_fraction
        low = Fraction(attendance.present, attendance.expected) <= target
        if low or attendance.unexcused:
            flags.append(_low_attendance(item, attendance, target, low))

    if record.mode in REMOTE_MODES:
        stopped = any(flag.open_at(item.opened_at) for flag in unit.stopped_qualifying)
        approved = approved_at(unit, item.opened_at)
        if stopped or not approved:
            reasons = []
            if not approved:
                reasons.append(
                    Text(
                        "đơn vị không có quyết định phê duyệt thí điểm sinh hoạt trực tuyến còn hiệu lực",
                        "the unit held no valid approval of the online pilot",
                    )
                )
            if stopped:
                reasons.append(
                    Text(
                        "đơn vị đã được báo không còn đủ điều kiện thí điểm (R-ELIG-6)",
                        "the unit had been flagged as no longer qualifying (R-ELIG-6)",
                    )
                )
            flags.append(
                _flag(
                    FlagCode.ONLINE_WITHOUT_QUALIFYING,
                    unit,
                    period,
                    Text(
                        f"{which.vi} được tổ chức khi " + " và ".join(r.vi for r in reasons),
                        f"{which.en} while " + " and ".join(r.en for r in reasons),
                    ),
                    record.meeting_id,
                )
            )

    if not record.quorate_at_opening:
        flags.append(_meeting_override(item, unit, period, which))
    for vote in record.votes:
        if vote.override_reason is not None:
            flags.append(
                _flag(
                    FlagCode.QUORUM_OVERRIDE,
                    unit,
                    period,
                    Text(
                        f"{which.vi}: biểu quyết «{vote.question}» được mở khi chưa đủ số đảng viên dự họp, "
                        f"lý do: «{vote.override_reason}»",
                        f"{which.en}: the vote «{vote.question}» was opened below quorum, "
                        f"reason: «{vote.override_reason}»",
                    ),
                    record.meeting_id,
                )
            )

    adoption_flag = _minutes_flag(item, as_of, adoption_days_max, which)
    if adoption_flag is not None:
        flags.append(adoption_flag)
    return flags


def _low_attendance(item: Held, attendance: AttendanceTally, target: Fraction, low: bool) -> Flag:
    which = _which(item)
    share = f"{attendance.present}/{attendance.expected}"
    rate = attendance.rate
    target_percent = percent_of(target)
    parts_vi = [f"{which.vi}: có mặt {share} đảng viên ({vi_number(rate)}%)"]
    parts_en = [f"{which.en}: {share} members present ({rate:g}%)" if rate is not None else which.en]
    if low:
        parts_vi[0] += f", không vượt mục tiêu trên {vi_number(target_percent)}%"
        parts_en[0] += f", not above the {target_percent:g}% target"
    if attendance.unexcused:
        parts_vi.append(f"{attendance.unexcused} đảng viên vắng mặt không có lý do")
        parts_en.append(f"{count_en(attendance.unexcused, 'member')} absent without an excuse")
    return _flag(
        FlagCode.LOW_ATTENDANCE,
        item.unit,
        item.day.isoformat(),
        Text("; ".join(parts_vi), "; ".join(parts_en)),
        item.record.meeting_id,
    )


def _meeting_override(item: Held, unit: UnitRecord, period: str, which: Text) -> Flag:
    counts = item.record.opening_counts
    present, base = counts.get("present_official"), counts.get("voting_base")
    share_vi = f" ({present}/{base} đảng viên chính thức có mặt)" if present is not None and base else ""
    share_en = f" ({present}/{base} official members present)" if present is not None and base else ""
    reason = item.record.override_reason
    reason_vi = f", lý do: «{reason}»" if reason else ""
    reason_en = f", reason: «{reason}»" if reason else ""
    return _flag(
        FlagCode.QUORUM_OVERRIDE,
        unit,
        period,
        Text(
            f"{which.vi} được khai mạc khi chưa đủ số đảng viên dự họp{share_vi}{reason_vi}",
            f"{which.en} was opened below quorum{share_en}{reason_en}",
        ),
        item.record.meeting_id,
    )


def _minutes_flag(item: Held, as_of: datetime, days_max: int, which: Text) -> Flag | None:
    if item.adoption_days is not None:
        if item.adoption_days <= days_max:
            return None
        message = Text(
            f"Biên bản: {which.vi} được thông qua sau {item.adoption_days} ngày, quá {days_max} ngày",
            f"Minutes: {which.en} were adopted after {item.adoption_days} days, more than {days_max}",
        )
    else:
        waited = (item.unit.local_day(as_of) - item.day).days
        if waited <= days_max:
            return None
        message = Text(
            f"Biên bản: {which.vi} sau {waited} ngày vẫn chưa được thông qua, quá {days_max} ngày",
            f"Minutes: {which.en} are still not adopted after {waited} days, more than {days_max}",
        )
    return _flag(
        FlagCode.MINUTES_NOT_ADOPTED, item.unit, item.day.isoformat(), message, item.record.meeting_id
    )


def excused_in_a_row_flags(unit: UnitRecord, held: Sequence[Held]) -> list[Flag]:
    """R-ATT-3: more than `excused_in_a_row_max` excused absences in a row, within one year."""
    maximum = unit.rule_set.excused_in_a_row_max
    register = {entry.member_id: entry for entry in unit.register}
    closed = [item for item in held if item.attendance is not None]
    runs: dict[int, deque[Held]] = {}
    flagged: set[int] = set()
    flags: list[Flag] = []
    for item in closed:
        for member_id, status in sorted(item.record.attendance.items()):
            entry = register.get(member_id)
            if entry is not None and entry.excepted_from_excuse_rule:
                continue
            run = runs.setdefault(member_id, deque())
            if status is not AttendanceStatus.ABSENT_EXCUSED:
                run.clear()
                flagged.discard(member_id)
                continue
            run.append(item)
            while item.day >= add_years(run[0].day, 1):
                run.popleft()
            if len(run) > maximum and member_id not in flagged:
                flagged.add(member_id)
                name = entry.full_name if entry is not None else f"#{member_id}"
                first = run[-maximum - 1].day
                flags.append(
                    _flag(
                        FlagCode.EXCUSED_IN_A_ROW,
                        unit,
                        item.day.isoformat(),
                        Text(
                            f"Đồng chí {name} vắng mặt có lý do {len(run)} buổi sinh hoạt liên tiếp "
                            f"(từ {vi_day(first)} đến {vi_day(item.day)}), quá {maximum} lần trong một năm",
                            f"{name} was absent with an excuse from {len(run)} meetings in a row "
                            f"({first.isoformat()} to {item.day.isoformat()}), more than {maximum} in a year",
                        ),
                        item.record.meeting_id,
                        member_id,
                    )
                )
    return flags


def frequency_flags(unit: UnitRecord, held: Sequence[Held], period: Period, as_of: datetime) -> list[Flag]:
    """R-FREQ-1 for a cell: a regular meeting every month, a thematic one every quarter."""
    rule_set = unit.rule_set
    today = unit.local_day(as_of)
    since = unit.local_day(unit.registered_at) if unit.registered_at is not None else None
    regular = Counter(month_start(i.day) for i in held if i.record.kind is MeetingKind.REGULAR)
    by_groups = {month_start(i.day) for i in held if i.record.kind is MeetingKind.GROUP}
    thematic = Counter(quarter_of(i.day) for i in held if i.record.kind is MeetingKind.THEMATIC)
    flags: list[Flag] = []
    for first in period.whole_months():
        last = next_month(first) - timedelta(days=1)
        if last >= today or (since is not None and first < since):
            continue
        count = regular[first] + (1 if first in by_groups else 0)
        if count < rule_set.regular_meetings_per_month_min:
            flags.append(
                _flag(
                    FlagCode.NO_REGULAR_MEETING,
                    unit,
                    first.strftime("%Y-%m"),
                    Text(
                        f"Chi bộ không sinh hoạt thường kỳ trong tháng {first.strftime('%m/%Y')} "
                        f"(mỗi tháng ít nhất {rule_set.regular_meetings_per_month_min} lần)",
                        f"No regular meeting in {first.strftime('%Y-%m')} "
                        f"(at least {rule_set.regular_meetings_per_month_min} a month)",
                    ),
                )
            )
    for year, quarter in period.whole_quarters():
        first, last = quarter_bounds(year, quarter)
        if last >= today or (since is not None and first < since):
            continue
        if thematic[(year, quarter)] < rule_set.thematic_meetings_per_quarter_min:
            flags.append(
                _flag(
                    FlagCode.NO_THEMATIC_MEETING,
                    unit,
                    f"{year}-Q{quarter}",
                    Text(
                        f"Chi bộ không sinh hoạt chuyên đề trong quý {quarter}/{year} "
                        f"(mỗi quý ít nhất {rule_set.thematic_meetings_per_quarter_min} lần)",
                        f"No thematic meeting in {year}-Q{quarter} "
                        f"(at least {rule_set.thematic_meetings_per_quarter_min} a quarter)",
                    ),
                )
            )
    return flags
