"""The pilot's periodic report as a document (issue 30 part 4): its wording and rows in Vietnamese, read by
both the PDF and the XLSX from the report's JSON (`GET /api/v1/orgs/{id}/pilot-reports?format=json`),
so the two files and the JSON cannot say different figures. The usage report's number writing
(report_text) is reused; like the usage report, the documents are in Vietnamese only."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from meetings.pilot_report import NOT_OFFICIAL as PILOT_NOT_OFFICIAL
from server.exports.report import ReportFile
from server.exports.report_text import Kind, display, vn_date

FORMATS = ("pdf", "xlsx")
TITLE = "Báo cáo định kỳ thí điểm sinh hoạt đảng trực tuyến"
BASIS = "Theo Hướng dẫn 03-HD/TW ngày 27/12/2022 (thí điểm)"
NOT_OFFICIAL = PILOT_NOT_OFFICIAL.vi
CONTENT_TYPES = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
FLAG_NAMES = {
    "no_regular_meeting": "Tháng không có buổi sinh hoạt thường kỳ",
    "no_thematic_meeting": "Quý không có buổi sinh hoạt chuyên đề",
    "short_meeting": "Buổi sinh hoạt ngắn hơn thời lượng tối thiểu",
    "low_attendance": "Buổi có tỷ lệ có mặt thấp hoặc vắng không lý do",
    "excused_in_a_row": "Đảng viên vắng có lý do nhiều lần liên tiếp",
    "online_without_qualifying": "Buổi trực tuyến/kết hợp khi đơn vị không còn đủ điều kiện",
    "quorum_override": "Khai mạc hoặc biểu quyết khi chưa đủ số lượng",
    "minutes_not_adopted": "Biên bản không thông qua đúng hạn",
}


@dataclass(frozen=True)
class Row:
    """One figure: its section, label, value, how it reads, and the rule it follows."""

    section: str
    label: str
    value: Any
    kind: Kind
    rule: str


def title(report: Mapping[str, Any]) -> str:
    year, number = report["period"].split("-Q")
    return f"{TITLE} — {report['org']['name']} — Quý {number}/{year}"


def generated_line(report: Mapping[str, Any], zone: str = "Asia/Ho_Chi_Minh") -> str:
    at = datetime.fromisoformat(report["generated_at"]).astimezone(ZoneInfo(zone))
    running = " (quý đang diễn ra: số liệu đến ngày lập)" if report["in_progress"] else ""
    return (
        f"Kỳ báo cáo: từ ngày {vn_date(report['from'])} đến ngày {vn_date(report['to'])}{running}. "
        f"Ngày lập: {at:%d/%m/%Y}."
    )


def rule_set_line(report: Mapping[str, Any]) -> str:
    names = [
        f"{r['id']} ({r['title']}, {r['status']}, từ {vn_date(r['in_force_from'])})"
        for r in report["rule_sets"]
    ]
    return "Bộ quy tắc áp dụng: " + "; ".join(names) + "."


def approving_line(report: Mapping[str, Any]) -> str:
    body = report.get("approving_body")
    if not body:
        return "Cấp phê duyệt: chưa có quyết định cho phép sinh hoạt trực tuyến trong kỳ."
    return (
        f"Cấp phê duyệt: {body['name']}, quyết định số {body['decision_no']} "
        f"(hiệu lực từ {vn_date(body['valid_from'])} đến {vn_date(body['valid_to'])})."
    )


def rows(report: Mapping[str, Any]) -> list[Row]:
    meetings, attendance, quorum = report["meetings"], report["attendance"], report["quorum"]
    votes, minutes, breaches = report["votes"], report["minutes"], report["breaches"]
    days = minutes["days_max"]
    sections: list[tuple[str, Mapping[str, Any], list[tuple[str, str, Kind]]]] = [
        (
            "I. Buổi sinh hoạt",
            meetings,
            [
                ("Tổng số buổi sinh hoạt đã tổ chức", "total", "int"),
                ("Trực tuyến", "online", "int"),
                ("Kết hợp trực tiếp và trực tuyến", "hybrid", "int"),
                ("Trực tiếp", "in_person", "int"),
            ],
        ),
        (
            "II. Dự họp",
            attendance,
            [
                ("Lượt đảng viên phải dự", "expected", "int"),
                ("Lượt đảng viên có mặt", "present", "int"),
                ("Lượt vắng có lý do", "absent_excused", "int"),
                ("Lượt vắng không có lý do", "absent_unexcused", "int"),
                ("Tỷ lệ có mặt (%)", "rate_percent", "days"),
                ("Mục tiêu tỷ lệ có mặt, trên (%)", "target_percent", "days"),
            ],
        ),
        (
            "III. Số lượng dự họp",
            quorum,
            [
                ("Buổi đủ số lượng khi khai mạc", "meetings_quorate", "int"),
                ("Buổi khai mạc khi chưa đủ số lượng (có ghi lý do)", "meetings_below_quorum", "int"),
                ("Biểu quyết mở khi chưa đủ số lượng (có ghi lý do)", "votes_below_quorum", "int"),
            ],
        ),
        (
            "IV. Biểu quyết",
            votes,
            [
                ("Tổng số biểu quyết đã kết thúc", "total", "int"),
                ("Giơ tay, chủ trì đếm", "show_of_hands", "int"),
                ("Biểu quyết điện tử, ghi danh trong phòng họp", "electronic", "int"),
                ("Phiếu giấy, ban kiểm phiếu báo cáo", "paper_ballot", "int"),
                ("Được thông qua", "passed", "int"),
                ("Không được thông qua", "failed", "int"),
            ],
        ),
        (
            "V. Biên bản",
            minutes,
            [
                (f"Thông qua đúng hạn (trong {days} ngày)", "adopted_on_time", "int"),
                (f"Thông qua trễ hạn (sau {days} ngày)", "adopted_late", "int"),
                ("Chưa thông qua", "not_adopted", "int"),
                (f"Chưa thông qua, đã quá {days} ngày", "not_adopted_overdue", "int"),
            ],
        ),
    ]
    found = [
        Row(section, label, figures[key], kind, figures["rule"])
        for section, figures, entries in sections
        for label, key, kind in entries
    ]
    found.append(Row("VI. Cảnh báo", "Tổng số cảnh báo", breaches["total"], "int", ""))
    found.extend(
        Row(
            "VI. Cảnh báo", FLAG_NAMES.get(entry["code"], entry["code"]), entry["count"], "int", entry["rule"]
        )
        for entry in breaches["by_code"]
    )
    return found


def shown(row: Row) -> str:
    return display(row.value, row.kind)


def render(report: Mapping[str, Any], fmt: str) -> ReportFile:
    """`fmt` is one of FORMATS (the caller validated it)."""
    # Imported here: WeasyPrint and openpyxl take a while to load.
    from server.exports import pilot_report_pdf, pilot_report_xlsx

    renderers = {"pdf": pilot_report_pdf.render_pdf, "xlsx": pilot_report_xlsx.render_xlsx}
    name = f"bao-cao-dinh-ky-thi-diem-{report['org']['id']}-{report['period']}.{fmt}"
    return ReportFile(renderers[fmt](report), CONTENT_TYPES[fmt], name)
