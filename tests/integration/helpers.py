"""What the integration tests share beyond the world itself: the REST steps most tests take (the online
approval, scheduling a meeting, passing time), reading the audit log, the register's import, and the
`cellmeet` console script run as an operator runs it.

A non-test module, so importing from it never makes pytest collect a test twice.
"""

from __future__ import annotations

import asyncio
import io
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl
from sqlalchemy import func, select

from server.appkeys import DATABASE
from tests.integration.harness import ApiClient, Reply
from tests.integration.world import World

# --- the online pilot: a cell applies, the approver above it decides ----------------------------


def decision(
    valid_from: str | None = "2026-11-20", valid_to: str | None = "2027-11-19", **extra: Any
) -> dict[str, Any]:
    body = {"approved": True, "decision_no": "27-QĐ/ĐUK", "decided_on": "2026-11-20", **extra}
    if valid_from is not None:
        body["valid_from"] = valid_from
    if valid_to is not None:
        body["valid_to"] = valid_to
    return body


async def apply(world: World, secretary: str, unit: str, kind: str = "online") -> dict[str, Any]:
    reply = await (await world.as_user(secretary)).post(
        f"/api/v1/orgs/{world.orgs[unit]}/pilot-applications", {"kind": kind}
    )
    assert reply.status == 201, reply.body
    return dict(reply.body)


async def decide(client: ApiClient, application_id: int, body: dict[str, Any]) -> Reply:
    return await client.post(f"/api/v1/pilot-applications/{application_id}/decision", body)


# --- meetings ------------------------------------------------------------------------------------


def meeting_body(mode: str = "in_person", **extra: Any) -> dict[str, Any]:
    return {
        "kind": "regular",
        "mode": mode,
        "title": "Sinh hoạt chi bộ thường kỳ tháng 12",
        "starts_at": "2026-12-05T14:00:00+07:00",
        "duration_minutes": 120,
        **extra,
    }


async def count(world: World, table: Any, **where: Any) -> int:
    async with world.server.app[DATABASE].read() as session:
        query = select(func.count()).select_from(table)
        for name, value in where.items():
            query = query.where(getattr(table, name) == value)
        return int((await session.execute(query)).scalar_one())


async def approve_a(world: World) -> None:
    application = await apply(world, "sec_a", "A")
    reply = await decide(await world.as_user("approver_c"), application["id"], decision())
    assert reply.status == 200, reply.body


async def schedule(world: World, username: str, unit: str, mode: str = "in_person", **extra: Any) -> Any:
    client = await world.as_user(username)
    return await client.post(f"/api/v1/orgs/{world.orgs[unit]}/meetings", meeting_body(mode, **extra))


# --- time and the audit log ----------------------------------------------------------------------


async def pass_time(world: World, minutes: int) -> None:
    """Advance the clock in steps shorter than the session idle timeout, keeping every session alive."""
    while minutes > 0:
        step = min(minutes, 20)
        world.server.clock.advance(minutes=step)
        minutes -= step
        for client in world.clients.values():
            await client.get("/api/v1/orgs")


async def audit_entries(world: World, action: str) -> list[dict[str, Any]]:
    log = await (await world.as_user("operator")).get("/api/v1/audit/log")
    assert log.status == 200, log.body
    return [e for e in log.body["entries"] if e["action"] == action]


async def audit_rows(world: World, action: str) -> list[dict[str, Any]]:
    reply = await (await world.as_user("auditor_p")).get("/api/v1/audit/log?after=0")
    assert reply.status == 200, reply.body
    return [entry for entry in reply.body["entries"] if entry["action"] == action]


# --- the register and its import -----------------------------------------------------------------

VI_LETTERS = set("ăâđêôơưàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵ")
CSV = "text/csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def is_vietnamese(text: str) -> bool:
    return bool(VI_LETTERS & set(text.lower()))


def assert_error(reply: Reply, status: int, code: str) -> dict[str, Any]:
    assert (reply.status, reply.error_code) == (status, code), reply.body
    error: dict[str, Any] = reply.body["error"]
    assert set(error) == {"code", "message", "rule", "details"}
    return error


async def member_ids(client: ApiClient, org_id: int) -> list[int]:
    reply = await client.get(f"/api/v1/orgs/{org_id}/members")
    assert reply.status == 200, reply.body
    return [member["id"] for member in reply.body["members"]]


async def audit_length(world: World) -> int:
    operator = await world.as_user("operator")
    entries = (await operator.get("/api/v1/audit/log")).body["entries"]
    return int(entries[-1]["seq"])


async def import_file(client: ApiClient, org_id: int, content: bytes, filename: str) -> Reply:
    kind = XLSX if filename.endswith(".xlsx") else CSV
    return await client.post(
        f"/api/v1/orgs/{org_id}/members/import?filename={filename}",
        data=content,
        headers={"Content-Type": kind},
    )


def xlsx(rows: list[list[Any]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# --- agenda templates ----------------------------------------------------------------------------


async def regular_template(world: World) -> dict[str, Any]:
    listed = await (await world.as_user("sec_a")).get(f"/api/v1/agenda-templates?org={world.orgs['A']}")
    assert listed.status == 200, listed.body
    return next(t for t in listed.body["templates"] if t["code"] == "regular")


# --- a unit's running meeting with every kind of object (the authorisation matrix's targets) -----

MEETING = {
    "kind": "regular",
    "mode": "in_person",
    "title": "Sinh hoạt chi bộ thường kỳ tháng 12",
    "starts_at": "2026-12-05T14:00:00+07:00",
    "duration_minutes": 120,
}


AGENDA = {
    "items": [
        {"title": "Thông qua chương trình", "item_type": "ordinary", "notes": ""},
        {"title": "Đánh giá kết quả tháng", "item_type": "ordinary", "notes": ""},
    ]
}


async def running_meeting(world: World, secretary: str, unit: str, present: int) -> tuple[int, int, int]:
    """A scheduled meeting, and an open one with an agenda, an open vote and a minutes draft."""
    client, org = await world.as_user(secretary), world.orgs[unit]
    scheduled = await client.post(f"/api/v1/orgs/{org}/meetings", MEETING)
    running = await client.post(f"/api/v1/orgs/{org}/meetings", MEETING)
    assert scheduled.status == running.status == 201, (scheduled.body, running.body)
    mid = running.body["id"]
    assert (await client.request("PUT", f"/api/v1/meetings/{mid}/agenda", AGENDA)).status == 200
    for member in world.members[unit][:present]:
        checked = await client.post(f"/api/v1/meetings/{mid}/checkins", {"member_id": member})
        assert checked.status == 201, checked.body
    opened = await client.post(f"/api/v1/meetings/{mid}/open", {})
    assert opened.status == 200, opened.body
    vote = await client.post(f"/api/v1/meetings/{mid}/votes", {"question": "Thông qua", "kind": "ordinary"})
    assert vote.status == 201, vote.body
    draft = await client.put(
        f"/api/v1/meetings/{mid}/minutes", {"version": 0, "fields": {"opening": "Khai mạc."}}
    )
    assert draft.status == 200, draft.body
    return scheduled.body["id"], mid, vote.body["id"]


# --- the `cellmeet` console script as an operator runs it, on the test's database ----------------

TIMEOUT = 60
CONSOLE_SCRIPT = Path(sys.executable).with_name("cellmeet")


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str


async def cellmeet(data_dir: Path, database_url: str, *args: str, stdin: str | None = None) -> Run:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CELLMEET_")}
    env.update(CELLMEET_DATA_DIR=str(data_dir), CELLMEET_DATABASE_URL=database_url)
    command = [str(CONSOLE_SCRIPT)] if CONSOLE_SCRIPT.exists() else [sys.executable, "-m", "server.cli"]
    process = await asyncio.create_subprocess_exec(
        *command,
        *args,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(
            process.communicate(stdin.encode() if stdin is not None else b""), TIMEOUT
        )
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode is not None
    return Run(process.returncode, out.decode(), err.decode())
