"""The pilot review report from the live API (issue 5): the XLSX's figures equal the API's, the CSV lists
the API's units, the PDF's text holds the summary; the CLI writes the same report; same rights as the
figures (a plain member 403, another province 404, a bad format 422)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from server.exports.report_text import figure_rows, summary
from tests.documents import norm, pdf_pages
from tests.integration.helpers import approve_a, cellmeet, pass_time, schedule
from tests.integration.room_client import RoomClient, joined, link_members
from tests.integration.world import World

PERIOD = "from=2026-01-01&to=2026-12-31"


async def held_meetings(world: World, rooms: list[RoomClient]) -> None:
    """Cell A: an online meeting three members join; cell B: an in-person one where two of four check in."""
    people = await link_members(world, "A", 3)
    await approve_a(world)
    online = await schedule(world, "sec_a", "A", mode="online")
    in_person = await schedule(world, "sec_b", "B", mode="in_person")
    for username, _ in people:
        client, _ = await joined(world, username, online.body["id"])
        rooms.append(client)
    sec_a, sec_b = await world.as_user("sec_a"), await world.as_user("sec_b")
    for member_id in world.members["B"][:3]:
        assert (
            await sec_b.post(f"/api/v1/meetings/{in_person.body['id']}/checkins", {"member_id": member_id})
        ).status == 201
    assert (await sec_a.post(f"/api/v1/meetings/{online.body['id']}/open", {})).status == 200
    assert (await sec_b.post(f"/api/v1/meetings/{in_person.body['id']}/open", {})).status == 200
    await pass_time(world, 95)
    assert (await sec_a.post(f"/api/v1/meetings/{online.body['id']}/close", {})).status == 200
    assert (await sec_b.post(f"/api/v1/meetings/{in_person.body['id']}/close", {})).status == 200


def xlsx_figures(data: bytes) -> dict[str, Any]:
    sheet = openpyxl.load_workbook(io.BytesIO(data))["Tổng hợp"]
    return {row[0]: row[1] for row in sheet.iter_rows(min_row=4, max_col=2, values_only=True) if row[0]}


def expected_cells(usage: dict[str, Any]) -> dict[str, Any]:
    """What each summary row must hold: the API's number (a percentage as a fraction, as Excel keeps it)."""
    return {
        label: (None if value is None else value / 100 if kind == "percent" else value)
        for label, value, kind in figure_rows(usage)
    }


async def test_the_report_says_what_the_api_says(world: World, rooms: list[RoomClient]) -> None:
    await held_meetings(world, rooms)
    auditor = await world.as_user("auditor_p")
    province = world.orgs["P"]
    usage = (await auditor.get(f"/api/v1/audit/usage?org={province}&{PERIOD}")).body
    assert usage["totals"]["meetings"]["by_mode"] == {"online": 1, "hybrid": 0, "in_person": 1}

    xlsx = await auditor.request("GET", f"/api/v1/audit/usage/report?org={province}&{PERIOD}&format=xlsx")
    assert xlsx.status == 200
    assert xlsx.headers["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml"
    )
    assert f"bao-cao-thi-diem-{province}-2026-01-01-2026-12-31.xlsx" in xlsx.headers["Content-Disposition"]
    figures = xlsx_figures(xlsx.body)
    for label, value in expected_cells(usage).items():
        assert figures[label] == pytest.approx(value) if value is not None else figures[label] is None, label
    units = openpyxl.load_workbook(io.BytesIO(xlsx.body))["Theo đơn vị"]
    assert [row[0] for row in units.iter_rows(min_row=2, values_only=True)] == [
        u["name"] for u in usage["units"]
    ]

    csv = await auditor.request("GET", f"/api/v1/audit/usage/report?org={province}&{PERIOD}&format=csv")
    assert csv.status == 200 and csv.headers["Content-Type"].startswith("text/csv")
    lines = csv.body.decode("utf-8-sig").splitlines()
    assert [line.split(",")[0] for line in lines[1:-1]] == [u["name"] for u in usage["units"]]

    pdf = await auditor.request("GET", f"/api/v1/audit/usage/report?org={province}&{PERIOD}&format=pdf")
    assert pdf.status == 200 and pdf.body.startswith(b"%PDF")
    text = norm(" ".join(pdf_pages(pdf.body, "-raw")))
    for line in summary(usage):
        assert norm(line) in text, line


async def test_the_report_has_the_rights_of_the_figures(world: World) -> None:
    province, other = world.orgs["P"], world.orgs["Q"]
    path = "/api/v1/audit/usage/report?org={}&" + PERIOD + "&format={}"
    bad = await (await world.as_user("auditor_p")).request("GET", path.format(province, "docx"))
    assert (bad.status, bad.error_code) == (422, "validation_error")
    assert "xlsx, csv hoặc pdf" in bad.body["error"]["message"]
    member = await (await world.as_user("member_a")).request("GET", path.format(world.orgs["A"], "xlsx"))
    assert member.status == 403
    elsewhere = await (await world.as_user("auditor_p")).request("GET", path.format(other, "pdf"))
    assert elsewhere.status == 404
    backwards = await (await world.as_user("auditor_p")).request(
        "GET", f"/api/v1/audit/usage/report?org={province}&from=2026-12-31&to=2026-01-01&format=csv"
    )
    assert backwards.status == 422


async def test_the_cli_writes_the_report(
    world: World, rooms: list[RoomClient], database_url: str, tmp_path: Path
) -> None:
    await held_meetings(world, rooms)
    out = tmp_path / "bao-cao.xlsx"
    args = ["report", "pilot", "--org", str(world.orgs["P"]), "--from", "2026-01-01", "--to", "2026-12-31"]
    run = await cellmeet(tmp_path, database_url, *args, "--format", "xlsx", "--out", str(out))
    assert run.code == 0, run.stderr
    figures = xlsx_figures(out.read_bytes())
    assert (figures["Tổng số buổi sinh hoạt"], figures["Buổi trực tuyến"], figures["Buổi trực tiếp"]) == (
        2,
        1,
        1,
    )

    pdf = tmp_path / "bao-cao.pdf"
    run = await cellmeet(tmp_path, database_url, *args, "--format", "pdf", "--out", str(pdf))
    assert run.code == 0 and pdf.read_bytes().startswith(b"%PDF"), run.stderr

    refused = tmp_path / "sai.csv"
    backwards = [
        "report",
        "pilot",
        "--org",
        str(world.orgs["P"]),
        "--from",
        "2026-12-31",
        "--to",
        "2026-01-01",
    ]
    run = await cellmeet(tmp_path, database_url, *backwards, "--format", "csv", "--out", str(refused))
    assert run.code == 1 and "Kỳ báo cáo không hợp lệ" in run.stdout + run.stderr
    assert not refused.exists()
