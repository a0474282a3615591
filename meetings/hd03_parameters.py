"""The built-in rule set's values (Hướng dẫn 03-HD/TW of 2022, the Party Charter), each with its source."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from meetings.enums import ItemType, MeetingMode, OrgKind, RemoteReason, VoteKind
from meetings.ruleset_parameters import Confidence, Parameter

_HD03 = "Hướng dẫn 03-HD/TW ngày 27/12/2022 của Ban Bí thư"
_CHARTER = "Điều lệ Đảng và các quy định, hướng dẫn thi hành"
_PLATFORM = "Mặc định của nền tảng (chưa tìm thấy văn bản quy định)"
_CELL_LIFE = "Quy định, hướng dẫn về sinh hoạt chi bộ (rules.md chưa ghi số văn bản)"


def _p(name: str, value: Any, rule: str, source: str, confidence: Confidence) -> Parameter:
    return Parameter(name, value, f"{source} (rules.md {rule})", confidence, rule)


_C, _S, _D = Confidence.CONFIRMED, Confidence.SECONDARY, Confidence.PLATFORM_DEFAULT

HD03_PARAMETERS = (
    _p(
        "eligible_org_kinds",
        frozenset({OrgKind.GRASSROOTS, OrgKind.CELL}),
        "R-ELIG-1",
        f"{_HD03}, phần 1",
        _C,
    ),
    _p("eligibility_fraction", Fraction(1, 2), "R-ELIG-2", f"{_HD03}, phần 1: hơn một nửa", _C),
    _p("probationary_count_for_eligibility", True, "R-ELIG-2", f"{_PLATFORM}: dự bị vẫn là đảng viên", _D),
    _p(
        "special_character_reasons",
        frozenset(
            {
                RemoteReason.ABROAD,
                RemoteReason.MULTI_PROVINCE,
                RemoteReason.FAR_FROM_HOME,
                RemoteReason.STUDENT_SUMMER,
                RemoteReason.ARMED_FORCES,
                RemoteReason.HEALTH,
                RemoteReason.FOREST_RANGER,
                RemoteReason.SEAFARER_OFFSHORE_ISLAND,
            }
        ),
        "R-ELIG-3",
        f"{_HD03}, phần 1: tính chất đặc thù",
        _C,
    ),
    _p(
        "special_circumstance_reasons",
        frozenset({RemoteReason.DISASTER, RemoteReason.EPIDEMIC, RemoteReason.OTHER_CIRCUMSTANCE}),
        "R-ELIG-4",
        f"{_PLATFORM}: hoàn cảnh đặc biệt",
        _D,
    ),
    _p("group_pilot_org_kinds", frozenset({OrgKind.CELL}), "R-GROUP-2", f"{_HD03}, phần 2", _S),
    _p("group_pilot_min_members", 50, "R-GROUP-2", f"{_HD03}, phần 2 (nguồn thứ cấp)", _S),
    _p("group_meetings_per_year_max", 3, "R-GROUP-3", f"{_HD03}, phần 2 (nguồn thứ cấp)", _S),
    _p("regular_meetings_per_month_min", 1, "R-FREQ-1", f"{_CELL_LIFE}: sinh hoạt thường kỳ", _C),
    _p("thematic_meetings_per_quarter_min", 1, "R-FREQ-1", f"{_CELL_LIFE}: sinh hoạt chuyên đề", _C),
    _p("meeting_min_minutes", 90, "R-FREQ-2", f"{_CELL_LIFE}: thời lượng sinh hoạt", _C),
    _p("combined_meeting_min_minutes", 120, "R-FREQ-2", f"{_CELL_LIFE}: thường kỳ kết hợp chuyên đề", _C),
    _p("documents_lead_days", 1, "R-FREQ-3", f"{_CELL_LIFE}, năm 2025: gửi tài liệu trước", _C),
    _p(
        "content_barred_item_types",
        frozenset(
            {
                ItemType.PERSONNEL,
                ItemType.ELECTION,
                ItemType.DISCIPLINE,
                ItemType.ADMISSION,
                ItemType.STATE_SECRET,
            }
        ),
        "R-CONTENT-1",
        f"{_PLATFORM}; quy định bảo vệ bí mật nhà nước",
        _D,
    ),
    _p(
        "content_barred_vote_kinds",
        frozenset({VoteKind.ADMISSION, VoteKind.RECOGNITION}),
        "R-CONTENT-1",
        f"{_PLATFORM}: kết nạp, công nhận đảng viên chính thức",
        _D,
    ),
    _p(
        "content_barred_modes",
        frozenset({MeetingMode.ONLINE, MeetingMode.HYBRID}),
        "R-CONTENT-1",
        f"{_PLATFORM}: trực tuyến và kết hợp",
        _D,
    ),
    _p("excused_stay_in_voting_base", True, "R-BASE-3", f"{_PLATFORM}: loại trừ chỉ áp dụng cho đại hội", _D),
    _p("present_min_fraction", Fraction(1, 2), "R-ATT-2", f"{_PLATFORM}: có mặt", _D),
    _p("late_after_minutes", 15, "R-ATT-2", f"{_PLATFORM}: đến muộn", _D),
    _p("left_early_minutes", 15, "R-ATT-2", f"{_PLATFORM}: về sớm", _D),
    _p("disconnect_grace_seconds", 120, "R-ATT-2", f"{_PLATFORM}: mất kết nối ngắn", _D),
    _p("attendance_target_fraction", Fraction(17, 20), "R-ATT-3", f"{_CELL_LIFE}: trên 85% có mặt", _C),
    _p("excused_in_a_row_max", 3, "R-ATT-3", f"{_CELL_LIFE}: vắng có lý do liên tiếp", _C),
    _p("quorum_fraction", Fraction(1, 2), "R-QUOR-1", f"{_PLATFORM}, suy từ R-VOTE-1", _D),
    _p("vote_pass_fraction", Fraction(1, 2), "R-VOTE-1", f"{_CHARTER}: quá nửa", _C),
    _p("two_thirds_fraction", Fraction(2, 3), "R-VOTE-3", f"{_CHARTER}: ít nhất hai phần ba", _C),
    _p(
        "two_thirds_vote_kinds",
        frozenset({VoteKind.ADMISSION, VoteKind.RECOGNITION}),
        "R-VOTE-3",
        f"{_CHARTER}: kết nạp, công nhận đảng viên chính thức",
        _C,
    ),
    _p("mesh_video_max_cameras", 4, "architecture.md", f"{_PLATFORM}: mạng lưới ngang hàng", _D),
    _p("minutes_adoption_days_max", 7, "R-MIN-1", f"{_PLATFORM}: thời hạn thông qua biên bản", _D),
    # A member heard through another member's radio or phone (issue 30): present for the record only.
    _p("relayed_count_for_quorum", False, "R-ATT-4", f"{_PLATFORM}: tham dự qua chuyển tiếp", _D),
    _p("relayed_may_vote", False, "R-ATT-4", f"{_PLATFORM}: tham dự qua chuyển tiếp", _D),
)
