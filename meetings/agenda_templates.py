"""The built-in agenda templates (chương trình sinh hoạt mẫu), as data.

The regular monthly meeting follows R-AGENDA-1..4 (opening, proceedings, closing), the thematic one
R-THEM-1; the extraordinary and party-group templates keep the same opening and closing around
their own business. Every item is ordinary business, so any template may be used online
(R-CONTENT-1). Titles are in Vietnamese (the document language) with an English translation; each
item's notes name the rule it comes from.
"""

from __future__ import annotations

from dataclasses import dataclass

from meetings.decision import Text
from meetings.enums import ItemType, MeetingKind


@dataclass(frozen=True)
class TemplateItem:
    title: Text
    item_type: ItemType = ItemType.ORDINARY
    notes: Text = Text("", "")


@dataclass(frozen=True)
class BuiltinTemplate:
    code: str
    kind: MeetingKind
    name: Text
    items: tuple[TemplateItem, ...]


def _item(vi: str, en: str, part: Text, rules: str) -> TemplateItem:
    return TemplateItem(Text(vi, en), ItemType.ORDINARY, Text(f"{part.vi} ({rules})", f"{part.en} ({rules})"))


_OPENING = Text("Phần mở đầu", "Opening")
_PROCEEDINGS = Text("Phần nội dung", "Proceedings")
_CLOSING = Text("Phần kết thúc", "Closing")

# R-AGENDA-2: the opening of every cell meeting.
_OPENING_ITEMS = (
    _item(
        "Tuyên bố lý do, giới thiệu đại biểu dự họp",
        "Statement of the reason for the meeting and introduction of the guests",
        _OPENING,
        "R-AGENDA-2",
    ),
    _item(
        "Cử thư ký ghi biên bản",
        "Appointment of the minute-taker",
        _OPENING,
        "R-AGENDA-2, R-MIN-2",
    ),
    _item(
        "Báo cáo số đảng viên có mặt, vắng mặt có lý do và vắng mặt không có lý do",
        "Attendance: members present, absent with a reason and absent without a reason",
        _OPENING,
        "R-AGENDA-2",
    ),
    _item(
        "Thông qua chương trình sinh hoạt",
        "Approval of the agenda",
        _OPENING,
        "R-AGENDA-2",
    ),
)

_MINUTES_ADOPTED = _item(
    "Thư ký đọc biên bản; chi bộ thông qua biên bản",
    "The minutes are read out and adopted",
    _CLOSING,
    "R-AGENDA-4, R-MIN-1",
)
_CLOSE = _item("Bế mạc", "Close of the meeting", _CLOSING, "R-AGENDA-4")

REGULAR = BuiltinTemplate(
    "regular",
    MeetingKind.REGULAR,
    Text("Sinh hoạt chi bộ thường kỳ hằng tháng", "Regular monthly cell meeting"),
    (
        *_OPENING_ITEMS,
        _item(
            "Bí thư chi bộ báo cáo kết quả thực hiện nhiệm vụ tháng trước",
            "The secretary reports the results of last month's tasks",
            _PROCEEDINGS,
            "R-AGENDA-3",
        ),
        _item(
            "Thông tin tình hình tư tưởng chính trị trong chi bộ",
            "The political and ideological situation in the cell",
            _PROCEEDINGS,
            "R-AGENDA-3",
        ),
        _item(
            "Phổ biến các văn bản mới của cấp trên",
            "New documents from the higher levels",
            _PROCEEDINGS,
            "R-AGENDA-3",
        ),
        _item(
            "Phương hướng, nhiệm vụ tháng tới và các vấn đề đề nghị thảo luận",
            "Next month's tasks and the points proposed for discussion",
            _PROCEEDINGS,
            "R-AGENDA-3",
        ),
        _item(
            "Đảng viên thảo luận, tự phê bình và đóng góp ý kiến",
            "Members discuss, self-criticise and contribute their views",
            _PROCEEDINGS,
            "R-AGENDA-3",
        ),
        _item(
            "Bí thư chi bộ làm rõ các ý kiến và định hướng",
            "The secretary clarifies the points raised and gives orientation",
            _PROCEEDINGS,
            "R-AGENDA-3",
        ),
        _item(
            "Đồng chí chủ trì kết luận",
            "The chair's conclusions",
            _CLOSING,
            "R-AGENDA-4",
        ),
        _item(
            "Biểu quyết thông qua kết luận (nghị quyết) của chi bộ",
            "Vote on the cell's conclusion (resolution)",
            _CLOSING,
            "R-AGENDA-4, R-VOTE-1",
        ),
        _item(
            "Biểu dương, nhắc nhở đảng viên trong tháng",
            "Commendations and reminders of the month",
            _CLOSING,
            "R-AGENDA-4",
        ),
        _MINUTES_ADOPTED,
        _CLOSE,
    ),
)

THEMATIC = BuiltinTemplate(
    "thematic",
    MeetingKind.THEMATIC,
    Text("Sinh hoạt chuyên đề", "Thematic meeting"),
    (
        *_OPENING_ITEMS,
        _item(
            "Nêu mục đích, yêu cầu của buổi sinh hoạt chuyên đề",
            "The purpose and aims of the thematic meeting",
            _PROCEEDINGS,
            "R-THEM-1",
        ),
        _item(
            "Đảng viên được phân công trình bày dự thảo báo cáo chuyên đề",
            "The assigned member presents the draft topic report",
            _PROCEEDINGS,
            "R-THEM-1",
        ),
        _item(
            "Đảng viên thảo luận, đóng góp ý kiến vào dự thảo báo cáo chuyên đề",
            "Members discuss the draft topic report and contribute their views",
            _PROCEEDINGS,
            "R-THEM-1",
        ),
        _item(
            "Đồng chí chủ trì kết luận",
            "The chair's conclusions",
            _CLOSING,
            "R-AGENDA-4",
        ),
        _item(
            "Hoàn thiện báo cáo chuyên đề, gửi đến đảng viên hoặc các tổ đảng",
            "The topic report is finalised and sent to the members or the party groups",
            _CLOSING,
            "R-THEM-1",
        ),
        _MINUTES_ADOPTED,
        _CLOSE,
    ),
)

EXTRAORDINARY = BuiltinTemplate(
    "extraordinary",
    MeetingKind.EXTRAORDINARY,
    Text("Sinh hoạt chi bộ bất thường", "Extraordinary cell meeting"),
    (
        *_OPENING_ITEMS,
        _item(
            "Nêu vấn đề cần sinh hoạt bất thường",
            "The matter that requires the extraordinary meeting",
            _PROCEEDINGS,
            "R-AGENDA-1",
        ),
        _item(
            "Đảng viên thảo luận, đóng góp ý kiến",
            "Members discuss and contribute their views",
            _PROCEEDINGS,
            "R-AGENDA-1",
        ),
        _item(
            "Đồng chí chủ trì kết luận; chi bộ biểu quyết",
            "The chair's conclusion, and the cell's vote on it",
            _CLOSING,
            "R-AGENDA-4, R-VOTE-1",
        ),
        _MINUTES_ADOPTED,
        _CLOSE,
    ),
)

GROUP = BuiltinTemplate(
    "group",
    MeetingKind.GROUP,
    Text("Sinh hoạt tổ đảng", "Party-group meeting"),
    (
        _item(
            "Khai mạc: tuyên bố lý do, cử người ghi biên bản, điểm danh đảng viên, thông qua chương trình",
            "Opening: the reason for the meeting, the minute-taker, attendance and the agenda",
            _OPENING,
            "R-AGENDA-2",
        ),
        _item(
            "Tổ trưởng tổ đảng báo cáo nội dung sinh hoạt",
            "The party-group leader's report",
            _PROCEEDINGS,
            "R-AGENDA-3",
        ),
        _item(
            "Đảng viên trong tổ thảo luận, đóng góp ý kiến",
            "The group's members discuss and contribute their views",
            _PROCEEDINGS,
            "R-AGENDA-3",
        ),
        _item(
            "Tổ trưởng kết luận; kết luận của tổ được gửi lên chi bộ",
            "The group leader concludes; the group's conclusions are sent to the cell",
            _CLOSING,
            "R-AGENDA-4",
        ),
        _item(
            "Thông qua biên bản tóm tắt buổi sinh hoạt tổ",
            "The short minutes of the group meeting are adopted",
            _CLOSING,
            "R-AGENDA-4, R-MIN-1",
        ),
    ),
)

BUILTIN_TEMPLATES: tuple[BuiltinTemplate, ...] = (REGULAR, THEMATIC, EXTRAORDINARY, GROUP)

_BY_CODE = {template.code: template for template in BUILTIN_TEMPLATES}


def builtin(code: str) -> BuiltinTemplate:
    """The built-in template with this code; KeyError if there is none."""
    try:
        return _BY_CODE[code]
    except KeyError:
        raise KeyError(f"no built-in agenda template {code!r}") from None
