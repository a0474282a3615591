"""The wording and the tables of the pilot review report (báo cáo sơ kết / tổng kết thí điểm), in Vietnamese.

The report is built from the usage figures exactly as `GET /api/v1/audit/usage` returns them (docs/api.md
"Usage figures"); XLSX, CSV and PDF all read their headings, column kinds and summary sentences from
here, so the three files cannot say different things.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

Kind = Literal["text", "int", "percent", "days", "yes_no", "month"]

TITLE = "BÁO CÁO SƠ KẾT THÍ ĐIỂM SINH HOẠT ĐẢNG TRỰC TUYẾN"
BASIS = "Theo Hướng dẫn 03-HD/TW ngày 27/12/2022"

KIND_NAMES = {
    "province": "Đảng bộ tỉnh",
    "committee": "Đảng ủy",
    "grassroots": "Đảng bộ cơ sở",
    "cell": "Chi bộ",
}
APPROVAL_NAMES = {
    "approved": "Được phép",
    "applying": "Đang đề nghị",
    "revoked": "Đã thu hồi",
    "none": "Chưa đề nghị",
}


@dataclass(frozen=True)
class Column:
    heading: str
    kind: Kind
    value: Callable[[Mapping[str, Any]], Any]
    width: int = 14


def vn_date(day: str) -> str:
    """2026-03-31 → 31/03/2026."""
    parsed = date.fromisoformat(day)
    return f"{parsed.day:02d}/{parsed.month:02d}/{parsed.year}"


def vn_number(value: float | int | None, decimals: int = 1) -> str:
    """A number as Vietnamese writes it: a decimal comma, no trailing ",0"; "—" for nothing."""
    if value is None:
        return "—"
    if isinstance(value, int) or float(value).is_integer():
        return f"{int(value):,}".replace(",", ".")
    return f"{value:.{decimals}f}".replace(".", ",")


def month_date(month: str) -> date:
    year, number = month.split("-")
    return date(int(year), int(number), 1)


def display(value: Any, kind: Kind) -> str:
    """How a cell reads in the CSV and the PDF (the XLSX keeps the number and formats it)."""
    if value is None:
        return "—" if kind != "text" else ""
    if kind == "percent":
        return f"{vn_number(value)}%"
    if kind in ("int", "days"):
        return vn_number(value)
    if kind == "yes_no":
        return "Có" if value else "Không"
    if kind == "month":
        return f"{month_date(str(value)):%m/%Y}"
    return str(value)


MONTH_COLUMNS: tuple[Column, ...] = (
    Column("Tháng", "month", lambda m: m["month"], 10),
    Column("Trực tuyến", "int", lambda m: m["online"], 11),
    Column("Kết hợp", "int", lambda m: m["hybrid"], 11),
    Column("Trực tiếp", "int", lambda m: m["in_person"], 11),
    Column("Tổng số buổi", "int", lambda m: m["online"] + m["hybrid"] + m["in_person"], 12),
    Column("Tỷ lệ có mặt", "percent", lambda m: m["attendance_rate_percent"], 12),
)

UNIT_COLUMNS: tuple[Column, ...] = (
    Column("Đơn vị", "text", lambda u: u["name"], 30),
    Column("Loại", "text", lambda u: KIND_NAMES.get(u["kind"], u["kind"]), 14),
    Column("Thí điểm trực tuyến", "text", lambda u: APPROVAL_NAMES.get(u["approval"], u["approval"]), 16),
    Column("Còn đủ điều kiện", "yes_no", lambda u: u["qualifies"], 12),
    Column("Tổng số buổi", "int", lambda u: u["meetings"]["total"], 10),
    Column("Trực tuyến", "int", lambda u: u["meetings"]["online"], 10),
    Column("Kết hợp", "int", lambda u: u["meetings"]["hybrid"], 10),
    Column("Trực tiếp", "int", lambda u: u["meetings"]["in_person"], 10),
    Column("Tỷ lệ trực tuyến", "percent", lambda u: u["online_share_percent"], 12),
    Column("Tỷ lệ có mặt", "percent", lambda u: u["attendance_rate_percent"], 12),
    Column("Khai mạc khi chưa đủ số lượng", "int", lambda u: u["meetings_below_quorum"], 14),
    Column("Biểu quyết khi chưa đủ số lượng", "int", lambda u: u["votes_below_quorum"], 14),
    Column("Số lần biểu quyết", "int", lambda u: u["votes_held"], 12),
    Column("Biên bản đã thông qua", "int", lambda u: u["minutes_adopted"], 12),
    Column("Số ngày đến khi thông qua (trung vị)", "days", lambda u: u["days_to_adoption_median"], 14),
    Column("Số cảnh báo", "int", lambda u: u["flags"], 10),
)

FLAG_COLUMNS: tuple[Column, ...] = (
    Column("Đơn vị", "text", lambda f: f["org_name"], 28),
    Column("Kỳ", "text", lambda f: f["period"], 10),
    Column("Quy định", "text", lambda f: f["rule"], 11),
    Column("Mã cảnh báo", "text", lambda f: f["code"], 24),
    Column("Buổi sinh hoạt số", "int", lambda f: f["meeting_id"], 10),
    Column("Đảng viên số", "int", lambda f: f["member_id"], 10),
    Column("Nội dung", "text", lambda f: f["message"], 70),
)


def below_quorum(usage: Mapping[str, Any]) -> tuple[int, int]:
    """(meetings opened below quorum, votes opened below quorum), each counted once (R-QUOR-1).

    Every meeting not quorate at its opening was opened with an override, and `quorum.overrides` adds
    the votes opened below quorum: a document without `below_quorum` still gives both figures.
    """
    if "below_quorum" in usage:
        return int(usage["below_quorum"]["meetings"]), int(usage["below_quorum"]["votes"])
    quorum = usage["totals"]["quorum"]
    return int(quorum["failures"]), int(quorum["overrides"]) - int(quorum["failures"])


def unit_rows(usage: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The units' rows with their meetings and votes opened below quorum (None when not reported)."""
    split = {row["id"]: row for row in usage.get("below_quorum", {}).get("units", [])}
    return [
        {
            **unit,
            "meetings_below_quorum": split.get(unit["id"], {}).get("meetings"),
            "votes_below_quorum": split.get(unit["id"], {}).get("votes"),
        }
        for unit in usage["units"]
    ]


# How each figure is counted, printed beside it in every file (docs/api.md "Usage figures").
DEFINITIONS: dict[str, str] = {
    "Số đơn vị": "Chi bộ và đảng bộ cơ sở thuộc phạm vi báo cáo.",
    "Đơn vị được phép sinh hoạt trực tuyến": "Có quyết định cho phép còn hiệu lực vào cuối kỳ "
    "(hoặc hôm nay nếu kỳ chưa kết thúc).",
    "Đơn vị đang đề nghị": "Chưa được phép, có đề nghị đang chờ xem xét.",
    "Đơn vị đã bị thu hồi": "Quyết định cho phép gần nhất đã bị thu hồi.",
    "Đơn vị chưa đề nghị": "Chưa từng đề nghị sinh hoạt trực tuyến.",
    "Tổng số buổi sinh hoạt": "Các buổi đã khai mạc trong kỳ (theo ngày khai mạc tại múi giờ của đơn "
    "vị), mỗi buổi tính một lần; buổi của tổ đảng tính cho chi bộ.",
    "Tỷ lệ trực tuyến và kết hợp": "Số buổi trực tuyến và kết hợp trên tổng số buổi.",
    "Lượt đảng viên phải dự": "Tổng qua các buổi đã bế mạc: đảng viên được triệu tập, trừ người được "
    "miễn hoặc đình chỉ không đến dự.",
    "Lượt có mặt": "Có mặt, đến muộn hoặc về sớm (R-ATT-2).",
    "Tỷ lệ có mặt": "Lượt có mặt trên lượt phải dự.",
    "Khai mạc khi chưa đủ số lượng (có lý do)": "Số buổi khai mạc khi chưa đủ số đảng viên dự họp, "
    "có ghi lý do (R-QUOR-1); mỗi buổi tính một lần.",
    "Biểu quyết mở khi chưa đủ số lượng (có lý do)": "Số lần biểu quyết được mở khi chưa đủ số đảng "
    "viên dự họp, có ghi lý do (R-QUOR-1); mỗi lần biểu quyết tính một lần, không cộng vào số buổi.",
    "Số lần biểu quyết": "Các lần biểu quyết đã kết thúc trong các buổi của kỳ.",
    "Biên bản đã thông qua": "Biên bản của các buổi trong kỳ đã được thông qua.",
    "Biên bản thông qua muộn": "Thông qua sau quá số ngày quy định (R-MIN-1).",
    "Số ngày đến khi thông qua (trung vị)": "Số ngày lịch từ ngày khai mạc đến ngày thông qua biên bản.",
    "Số cảnh báo": "Các điểm cần xem xét, mỗi điểm nêu quy định liên quan.",
}


def figure_rows(usage: Mapping[str, Any]) -> list[tuple[str, Any, Kind]]:
    """The summary sheet's figures: (label, value, kind)."""
    totals = usage["totals"]
    units, meetings, attendance = totals["units"], totals["meetings"], totals["attendance"]
    votes, minutes = totals["votes"], totals["minutes"]
    meetings_below, votes_below = below_quorum(usage)
    return [
        ("Số đơn vị", units["total"], "int"),
        ("Đơn vị được phép sinh hoạt trực tuyến", units["approved"], "int"),
        ("Đơn vị đang đề nghị", units["applying"], "int"),
        ("Đơn vị đã bị thu hồi", units["revoked"], "int"),
        ("Đơn vị chưa đề nghị", units["not_applied"], "int"),
        ("Tổng số buổi sinh hoạt", meetings["total"], "int"),
        ("Buổi trực tuyến", meetings["by_mode"]["online"], "int"),
        ("Buổi kết hợp", meetings["by_mode"]["hybrid"], "int"),
        ("Buổi trực tiếp", meetings["by_mode"]["in_person"], "int"),
        ("Sinh hoạt thường kỳ", meetings["by_kind"]["regular"], "int"),
        ("Sinh hoạt chuyên đề", meetings["by_kind"]["thematic"], "int"),
        ("Sinh hoạt bất thường", meetings["by_kind"]["extraordinary"], "int"),
        ("Sinh hoạt tổ đảng", meetings["by_kind"]["group"], "int"),
        ("Tỷ lệ trực tuyến và kết hợp", totals["online_share_percent"], "percent"),
        ("Lượt đảng viên phải dự", attendance["expected"], "int"),
        ("Lượt có mặt", attendance["present"], "int"),
        ("Lượt vắng có lý do", attendance["absent_excused"], "int"),
        ("Lượt vắng không có lý do", attendance["absent_unexcused"], "int"),
        ("Tỷ lệ có mặt", attendance["rate_percent"], "percent"),
        ("Khai mạc khi chưa đủ số lượng (có lý do)", meetings_below, "int"),
        ("Biểu quyết mở khi chưa đủ số lượng (có lý do)", votes_below, "int"),
        ("Số lần biểu quyết", votes["held"], "int"),
        ("Biểu quyết được thông qua", votes["passed"], "int"),
        ("Biểu quyết không được thông qua", votes["failed"], "int"),
        ("Biên bản đã thông qua", minutes["adopted"], "int"),
        ("Biên bản chưa thông qua", minutes["not_adopted"], "int"),
        ("Biên bản thông qua muộn", minutes["adopted_late"], "int"),
        ("Số ngày đến khi thông qua (trung vị)", minutes["days_to_adoption_median"], "days"),
        ("Số ngày đến khi thông qua (lâu nhất)", minutes["days_to_adoption_max"], "days"),
        ("Số cảnh báo", len(usage["flags"]), "int"),
    ]


def period_line(usage: Mapping[str, Any]) -> str:
    return f"Từ ngày {vn_date(usage['from'])} đến ngày {vn_date(usage['to'])}"


def summary(usage: Mapping[str, Any]) -> list[str]:
    """The report's summary, a paragraph per subject, in Vietnamese."""
    totals = usage["totals"]
    units, meetings, attendance = totals["units"], totals["meetings"], totals["attendance"]
    votes, minutes = totals["votes"], totals["minutes"]
    meetings_below, votes_below = below_quorum(usage)
    mode, kind = meetings["by_mode"], meetings["by_kind"]
    days = usage["parameters"]["minutes_adoption_days_max"]
    share = display(totals["online_share_percent"], "percent")
    rate = display(attendance["rate_percent"], "percent")
    median = display(minutes["days_to_adoption_median"], "days")
    longest = display(minutes["days_to_adoption_max"], "days")
    flags = len(usage["flags"])
    return [
        f"{period_line(usage)}, {usage['org']['name']} có {units['total']} đơn vị: "
        f"{units['approved']} đơn vị được phép sinh hoạt trực tuyến, {units['applying']} đơn vị đang "
        f"đề nghị, {units['revoked']} đơn vị đã bị thu hồi quyết định, {units['not_applied']} đơn vị "
        "chưa đề nghị.",
        f"Các đơn vị đã tổ chức {meetings['total']} buổi sinh hoạt: {mode['online']} buổi trực tuyến, "
        f"{mode['hybrid']} buổi kết hợp, {mode['in_person']} buổi trực tiếp (trực tuyến và kết hợp "
        f"chiếm {share}); gồm {kind['regular']} buổi thường kỳ, {kind['thematic']} buổi chuyên đề, "
        f"{kind['extraordinary']} buổi bất thường, {kind['group']} buổi theo tổ đảng.",
        f"Tỷ lệ đảng viên có mặt {rate} ({attendance['present']}/{attendance['expected']} lượt); "
        f"vắng có lý do {attendance['absent_excused']} lượt, vắng không có lý do "
        f"{attendance['absent_unexcused']} lượt.",
        f"Có {meetings_below} buổi khai mạc và {votes_below} lần mở biểu quyết khi chưa đủ số lượng "
        "đảng viên dự họp, đều có ghi lý do (R-QUOR-1).",
        f"Đã biểu quyết {votes['held']} lần: {votes['passed']} lần được thông qua, "
        f"{votes['failed']} lần không được thông qua.",
        f"Biên bản: {minutes['adopted']} biên bản đã thông qua, {minutes['not_adopted']} chưa thông "
        f"qua, {minutes['adopted_late']} thông qua sau quá {days} ngày; từ buổi sinh hoạt đến khi "
        f"thông qua trung vị {median} ngày, lâu nhất {longest} ngày.",
        f"Có {flags} cảnh báo cần xem xét (chi tiết ở phần Cảnh báo)." if flags else "Không có cảnh báo nào.",
    ]


def table(rows: Sequence[Mapping[str, Any]], columns: Sequence[Column]) -> list[list[str]]:
    """Rows as the text the CSV and the PDF show."""
    return [[display(column.value(row), column.kind) for column in columns] for row in rows]
