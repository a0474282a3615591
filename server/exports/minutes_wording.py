"""The minutes' fixed words (titles, headings, labels) and the lines, signatures and addenda of a document."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

PARTY = "ĐẢNG CỘNG SẢN VIỆT NAM"
TITLE = "BIÊN BẢN"
DRAFT_MARK = "DỰ THẢO"
DRAFT_TITLE = f"{TITLE} ({DRAFT_MARK})"
# A party group's short minutes (R-GROUP-4): titled as such, signed for the group.
GROUP_TITLE = "BIÊN BẢN SINH HOẠT TỔ ĐẢNG"
GROUP_CHAIR_ROLES = ("T/M TỔ ĐẢNG", "CHỦ TRÌ")
ADDENDA_HEADING = "PHỤ LỤC ĐÍNH CHÍNH"
MINUTE_TAKER_ROLE = "THƯ KÝ"
CHAIR_ROLES = ("T/M CHI BỘ", "CHỦ TRÌ")
HASH_LABEL = "Mã băm SHA-256"

HEADING_FACTS = "I. THỜI GIAN, ĐỊA ĐIỂM, THÀNH PHẦN"
HEADING_CONTENT = "II. NỘI DUNG HỘI NGHỊ"
HEADING_CONCLUSIONS = "III. KẾT LUẬN CỦA CHỦ TRÌ"
HEADING_ADOPTION = "IV. THÔNG QUA BIÊN BẢN"

METHODS = {"open": "biểu quyết công khai", "secret": "bỏ phiếu kín"}
OUTCOMES = {"passed": "Thông qua", "failed": "Không thông qua"}
NONE_TEXT = "không có"
NOT_WRITTEN = "(chưa ghi)"
OVERRIDE_LABEL = "Lý do tiến hành khi chưa đủ số đảng viên theo quy định: "
VOTE_MODE_LABEL = "Cách biểu quyết: "
COUNTED_BY_LABEL = "Ban kiểm phiếu: "
VOTE_OVERRIDE_LABEL = "Lý do biểu quyết khi chưa đủ số đảng viên theo quy định: "

Style = Literal["heading", "item", "text", "bullet", "label"]


@dataclass(frozen=True)
class Line:
    """One paragraph of the body; `label` is printed bold before `text` (e.g. "Chủ trì: ")."""

    text: str
    style: Style = "text"
    label: str = ""


@dataclass(frozen=True)
class Signature:
    roles: tuple[str, ...]
    full_name: str
    signed: str  # "(Đã ký số lúc ...)" or ""


@dataclass(frozen=True)
class Addendum:
    heading: str
    text: list[str]
    hash_line: str


@dataclass
class MinutesText:
    parent_name: str
    unit_name: str
    number: str
    date_line: str
    title: str
    meeting_title: str
    draft: bool
    body: list[Line] = field(default_factory=list)
    signatures: list[Signature] = field(default_factory=list)
    addenda: list[Addendum] = field(default_factory=list)
    hash_line: str = ""
