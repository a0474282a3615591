"""The pilot's periodic report (issue 30 part 4) through the API, on SQLite and PostgreSQL.

In the fourth quarter of 2026 cell A holds an in-person meeting (a show of hands, a paper ballot, its
minutes adopted the same day), a hybrid one (a named electronic vote, its minutes adopted eight days
later: late under R-MIN-1's seven days) and an online one opened below quorum with a reason (its minutes
never adopted). The report's JSON says what the meetings list, the attendance, the votes and the usage
figures say; its XLSX (opened by LibreOffice on SQLite, by openpyxl on PostgreSQL: one conversion per
format in the fast tier) and its PDF (pdftotext) hold the same figures and say they are not an official
form. A bad period or format is refused in Vietnamese and changes nothing; another unit's secretary gets
the answer of a unit that does not exist; a member gets 403.
"""

from __future__ import annotations

import asyncio
import csv
import io
import tempfile
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import openpyxl

from server.appkeys import SETTINGS
from tests.documents import norm, pdf_pages, poppler
from tests.integration.helpers import approve_a, is_vietnamese, schedule
from tests.integration.world import World

PRESENT = {"present", "late", "left_early"}
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
COUNTERS = ["Lê Văn Ba", "Phạm Thị Bốn"]
# The XLSX's figure rows (column B) and where the JSON keeps each.
XLSX_FIGURES = {
    "Tổng số buổi sinh hoạt đã tổ chức": ("meetings", "total"),
    "Trực tuyến": ("meetings", "online"),
    "Kết hợp trực tiếp và trực tuyến": ("meetings", "hybrid"),
    "Trực tiếp": ("meetings", "in_person"),
    "Lượt đảng viên phải dự": ("attendance", "expected"),
    "Lượt đảng viên có mặt": ("attendance", "present"),
    "Tỷ lệ có mặt (%)": ("attendance", "rate_percent"),
    "Buổi đủ số lượng khi khai mạc": ("quorum", "meetings_quorate"),
    "Buổi khai mạc khi chưa đủ số lượng (có ghi lý do)": ("quorum", "meetings_below_quorum"),
    "Giơ tay, chủ trì đếm": ("votes", "show_of_hands"),
    "Biểu quyết điện tử, ghi danh trong phòng họp": ("votes", "electronic"),
    "Phiếu giấy, ban kiểm phiếu báo cáo": ("votes", "paper_ballot"),
    "Thông qua đúng hạn (trong 7 ngày)": ("minutes", "adopted_on_time"),
    "Thông qua trễ hạn (sau 7 ngày)": ("minutes", "adopted_late"),
    "Chưa thông qua": ("minutes", "not_adopted"),
    "Tổng số cảnh báo": ("breaches", "total"),
}


def report_url(org: int, period: str = "2026-Q4", fmt: str = "json") -> str:
    return f"/api/v1/orgs/{org}/pilot-reports?period={period}&format={fmt}"


async def _checked_in_and_open(world: World, mode: str) -> int:
    sec_a = await world.as_user("sec_a")
    created = await schedule(world, "sec_a", "A", mode=mode)
    assert created.status == 201, created.body
    mid = int(created.body["id"])
    for member in world.members["A"]:
        checked = await sec_a.post(f"/api/v1/meetings/{mid}/checkins", {"member_id": member})
        assert checked.status == 201, checked.body
    opened = await sec_a.post(f"/api/v1/meetings/{mid}/open", {})
    assert opened.status == 200, opened.body
    return mid


async def _counted_vote(
    world: World, mid: int, mode: str, kind: str = "ordinary", counts: dict[str, Any] | None = None
) -> int:
    """A vote whose counts the chair enters (all five officials for, unless `counts` says otherwise)."""
    sec_a = await world.as_user("sec_a")
    vote = await sec_a.post(
        f"/api/v1/meetings/{mid}/votes", {"question": f"Biểu quyết {kind}", "kind": kind, "mode": mode}
    )
    assert vote.status == 201, vote.body
    entered = await sec_a.post(
        f"/api/v1/votes/{vote.body['id']}/counts", counts or {"for": 5, "against": 0, "abstain": 0}
    )
    assert entered.status == 200 and entered.body["status"] == "closed", entered.body
    return int(vote.body["id"])


async def _close(world: World, mid: int) -> None:
    world.server.clock.advance(minutes=5)
    closed = await (await world.as_user("sec_a")).post(f"/api/v1/meetings/{mid}/close", {})
    assert closed.status == 200, closed.body


async def _quarter(world: World) -> list[int]:
    """The three meetings of cell A's quarter, as the module notes tell; their ids."""
    await approve_a(world)
    sec_a = await world.as_user("sec_a")
    in_person = await _checked_in_and_open(world, "in_person")
    await _counted_vote(world, in_person, "show_of_hands")
    paper = {"for": 2, "against": 2, "abstain": 1, "counted_by": COUNTERS}  # not more than half: failed
    await _counted_vote(world, in_person, "paper_ballot", counts=paper)
    adoption = await _counted_vote(world, in_person, "show_of_hands", "minutes_adoption")
    await _close(world, in_person)
    adopted = await sec_a.post(f"/api/v1/meetings/{in_person}/minutes/adopt", {"vote_id": adoption})
    assert adopted.status == 200, adopted.body

    hybrid = await _checked_in_and_open(world, "hybrid")
    electronic = await sec_a.post(f"/api/v1/meetings/{hybrid}/votes", {"question": "Nghị quyết tháng"})
    assert electronic.status == 201 and electronic.body["mode"] == "electronic", electronic.body
    officials = [m for i, m in enumerate(world.members["A"]) if i != 4]  # the fifth is probationary
    for member in officials:
        cast = await sec_a.post(
            f"/api/v1/votes/{electronic.body['id']}/ballots", {"member_id": member, "choice": "for"}
        )
        assert cast.status == 201, cast.body
    assert (await sec_a.post(f"/api/v1/votes/{electronic.body['id']}/close", {})).status == 200
    late_adoption = await _counted_vote(world, hybrid, "show_of_hands", "minutes_adoption")
    await _close(world, hybrid)

    online = await schedule(world, "sec_a", "A", mode="online")
    assert online.status == 201, online.body
    reason = "Bão số 9, đảng viên trên tàu mất sóng; chi ủy thống nhất khai mạc."
    opened = await sec_a.post(f"/api/v1/meetings/{online.body['id']}/open", {"override_reason": reason})
    assert opened.status == 200, opened.body
    await _close(world, online.body["id"])

    # eight days on (the sessions expired: everyone logs in again), the hybrid meeting's minutes
    world.server.clock.advance(days=8)
    world.clients.clear()
    late = await (await world.as_user("sec_a")).post(
        f"/api/v1/meetings/{hybrid}/minutes/adopt", {"vote_id": late_adoption}
    )
    assert late.status == 200, late.body
    return [in_person, hybrid, int(online.body["id"])]


async def _soffice_csv(data: bytes) -> str:
    """The XLSX's first sheet as LibreOffice Calc reads it (a fresh profile; timeout: soffice can hang)."""
    with tempfile.TemporaryDirectory() as directory:
        source = Path(directory) / "bao-cao.xlsx"
        source.write_bytes(data)
        process = await asyncio.create_subprocess_exec(
            "timeout",
            "60",
            "soffice",
            f"-env:UserInstallation=file://{directory}/profile-{uuid.uuid4().hex}",
            "--headless",
            "--convert-to",
            "csv:Text - txt - csv (StarCalc):44,34,76",
            "--outdir",
            directory,
            str(source),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await process.communicate()
        converted = Path(directory) / "bao-cao.csv"
        assert process.returncode == 0 and converted.exists(), (out, err)
        return converted.read_text(encoding="utf-8")


def _figures_of_rows(rows: list[list[Any]]) -> dict[str, Any]:
    start = next(i for i, row in enumerate(rows) if row[:4] == ["Mục", "Số liệu", "Giá trị", "Căn cứ"])
    return {row[1]: row[2] for row in rows[start + 1 :] if len(row) > 2 and row[1]}


async def test_the_quarter_report_matches_the_api_and_its_documents(world: World) -> None:
    meetings = await _quarter(world)
    org = world.orgs["A"]
    sec_a = await world.as_user("sec_a")
    reply = await sec_a.get(report_url(org))
    assert reply.status == 200, reply.body
    report = reply.body

    # -- what the API says elsewhere
    listed = [m for m in (await sec_a.get(f"/api/v1/orgs/{org}/meetings")).body["meetings"] if m["opened_at"]]
    assert sorted(m["id"] for m in listed) == sorted(meetings)
    modes = Counter(m["mode"] for m in listed)
    assert (
        {k: report["meetings"][k] for k in ("online", "hybrid", "in_person")}
        == {
            "online": modes["online"],
            "hybrid": modes["hybrid"],
            "in_person": modes["in_person"],
        }
        == {"online": 1, "hybrid": 1, "in_person": 1}
    )
    assert report["meetings"]["total"] == 3 and report["meetings"]["rule"] == "R-ELIG-6"

    statuses = [
        member["status"]
        for mid in meetings
        for member in (await sec_a.get(f"/api/v1/meetings/{mid}/attendance")).body["members"]
    ]
    attendance = report["attendance"]
    assert (attendance["expected"], attendance["present"]) == (
        len(statuses),
        sum(status in PRESENT for status in statuses),
    )
    assert (attendance["expected"], attendance["present"], attendance["absent_unexcused"]) == (18, 12, 6)
    assert attendance["rate_percent"] == 66.7 and attendance["rule"] == "R-ATT-3"

    votes = [
        vote for mid in meetings for vote in (await sec_a.get(f"/api/v1/meetings/{mid}/votes")).body["votes"]
    ]
    by_mode = Counter(vote["mode"] for vote in votes if vote["status"] == "closed")
    assert {k: report["votes"][k] for k in ("show_of_hands", "electronic", "paper_ballot")} == dict(by_mode)
    assert dict(by_mode) == {"show_of_hands": 3, "electronic": 1, "paper_ballot": 1}
    assert (report["votes"]["total"], report["votes"]["failed"], report["votes"]["rule"]) == (
        5,
        1,
        "R-VOTE-4",
    )

    assert report["quorum"] == {
        "meetings_quorate": 2,
        "meetings_below_quorum": 1,
        "votes_below_quorum": 0,
        "overrides": 1,
        "rule": "R-QUOR-1",
    }
    assert report["minutes"] == {
        "adopted_on_time": 1,
        "adopted_late": 1,
        "not_adopted": 1,
        "not_adopted_overdue": 1,
        "days_max": 7,
        "rule": "R-MIN-1",
    }
    usage = (await sec_a.get(f"/api/v1/audit/usage?org={org}&from=2026-10-01&to=2026-12-31")).body
    assert report["flags"] == usage["flags"] and report["breaches"]["total"] == len(usage["flags"])
    assert {(b["code"], b["rule"]) for b in report["breaches"]["by_code"]} >= {
        ("quorum_override", "R-QUOR-1"),
        ("minutes_not_adopted", "R-MIN-1"),
    }
    assert (report["period"], report["from"], report["to"], report["in_progress"]) == (
        "2026-Q4",
        "2026-10-01",
        "2026-12-31",
        True,
    )
    assert report["rule_set"] == "hd03-2022" and report["rule_sets"][0]["status"] == "pilot"
    assert report["approving_body"]["id"] == world.orgs["C"]
    assert "không phải biểu mẫu chính thức" in report["notice"]
    english = (await (await world.as_user("sec_a", "en")).get(report_url(org))).body
    assert "not an official form" in english["notice"] and english["votes"] == report["votes"]

    # -- the XLSX, as the approving body downloads it
    approver = await world.as_user("approver_c")
    xlsx = await approver.get(report_url(org, fmt="xlsx"))
    assert xlsx.status == 200 and xlsx.headers["Content-Type"] == XLSX_TYPE
    assert "2026-Q4.xlsx" in xlsx.headers["Content-Disposition"]
    if str(world.server.app[SETTINGS].database_url).startswith("sqlite"):
        rows = list(csv.reader(io.StringIO(await _soffice_csv(xlsx.body))))
        cells = _figures_of_rows(rows)
        figures = {label: float(cells[label]) for label in XLSX_FIGURES}
        heading = norm(" ".join(cell for row in rows[:8] for cell in row))
    else:
        sheet = openpyxl.load_workbook(io.BytesIO(xlsx.body))["Báo cáo"]
        values = [
            [cell if cell is not None else "" for cell in row] for row in sheet.iter_rows(values_only=True)
        ]
        cells = _figures_of_rows(values)
        figures = {label: float(cells[label]) for label in XLSX_FIGURES}
        heading = norm(" ".join(str(cell) for row in values[:8] for cell in row))
    assert figures == {label: float(report[a][b]) for label, (a, b) in XLSX_FIGURES.items()}
    assert (
        "Báo cáo định kỳ thí điểm sinh hoạt đảng trực tuyến — Chi bộ Tàu Biển Đông 01 — Quý 4/2026" in heading
    )
    assert "không phải biểu mẫu chính thức" in heading and "hd03-2022" in heading

    # -- the PDF
    pdf = await approver.get(report_url(org, fmt="pdf"))
    assert pdf.status == 200 and pdf.headers["Content-Type"] == "application/pdf"
    assert "Pages:" in poppler("pdfinfo", pdf.body)
    text = norm(" ".join(pdf_pages(pdf.body)))
    assert "Quý 4/2026" in text and "Chi bộ Tàu Biển Đông 01" in text
    assert "không phải biểu mẫu chính thức" in text and "hd03-2022" in text
    for line in (
        "Trực tuyến 1 R-ELIG-6",
        "Trực tiếp 1 R-ELIG-6",
        "Lượt đảng viên có mặt 12 R-ATT-3",
        "Tỷ lệ có mặt (%) 66,7 R-ATT-3",
        "Giơ tay, chủ trì đếm 3 R-VOTE-4",
        "Phiếu giấy, ban kiểm phiếu báo cáo 1 R-VOTE-4",
        "Thông qua trễ hạn (sau 7 ngày) 1 R-MIN-1",
        "Chưa thông qua 1 R-MIN-1",
    ):
        assert line in text, line


async def test_refusals(world: World) -> None:
    org = world.orgs["A"]
    sec_a = await world.as_user("sec_a")
    for period, fmt, field, words in (
        ("2026-Q5", "json", "period", "YYYY-Qn"),
        ("2026-4", "pdf", "period", "YYYY-Qn"),
        ("2027-Q1", "xlsx", "period", "chưa bắt đầu"),
        ("2026-Q3", "docx", "format", "pdf, xlsx"),
    ):
        reply = await sec_a.get(report_url(org, period, fmt))
        assert (reply.status, reply.error_code) == (422, "validation_error"), (period, fmt, reply.body)
        error = reply.body["error"]
        assert field in error["details"]["fields"] and words in error["message"], error
        assert is_vietnamese(error["message"]), error
    # a unit that is not a pilot unit (R-ELIG-1): the committee above
    committee = await (await world.as_user("approver_c")).get(report_url(world.orgs["C"]))
    assert (committee.status, committee.body["error"]["rule"]) == (409, "R-ELIG-1"), committee.body

    missing = await (await world.as_user("sec_b")).get(report_url(987_654))
    for outsider in ("sec_b", "sec_q", "approver_q"):
        reply = await (await world.as_user(outsider)).get(report_url(org, fmt="pdf"))
        assert (reply.status, reply.body) == (404, missing.body), outsider
    member = await (await world.as_user("member_a")).get(report_url(org))
    assert (member.status, member.error_code) == (403, "forbidden")
    # the default period is the last finished quarter; the province's auditor reads it too
    default = await (await world.as_user("auditor_p")).get(f"/api/v1/orgs/{org}/pilot-reports?format=json")
    assert default.status == 200 and default.body["period"] == "2026-Q3", default.body
    assert default.body["in_progress"] is False and default.body["meetings"]["total"] == 0
    assert default.body["approving_body"] is None
