"""Register imports within limits, parsed off the event loop (issue 31 part 5).

A 479 KiB XLSX of 99,988 rows with one cell in column IV used to be parsed on the event loop: every
room stalled about five seconds and the answer was 201 `imported: 0`. Now the file is parsed in a child
process, reading stops at the first row, column or second over its limit, and the refusal names it.
"""

from __future__ import annotations

import asyncio
import functools
import io
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import openpyxl

from tests.integration import harness
from tests.integration.harness import ApiClient, FakeClock, RunningServer
from tests.integration.helpers import assert_error, audit_length, import_file, is_vietnamese, member_ids
from tests.integration.world import World, build_world

HEADER = ["Họ và tên", "Đảng viên"]
POLL_SECONDS = 0.05
MAX_STALL_SECONDS = 0.5


def write_only_xlsx(rows: Iterable[list[Any]]) -> bytes:
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet()
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@functools.cache
def column_iv_workbook() -> bytes:
    """The reported file: a header, then 99,988 rows each with one number in column IV (256)."""
    return write_only_xlsx([HEADER, *([None] * 255 + [1] for _ in range(99_988))])


@functools.cache
def long_workbook() -> bytes:
    """99,988 rows with data in column C only ("STT"): narrow, but far over the row limit."""
    return write_only_xlsx([HEADER, *([None, None, n] for n in range(99_988))])


class LoopWatch:
    """Polls GET /healthz every POLL_SECONDS and keeps the longest wait for an answer, or for the
    next poll to start: either grows when the server's event loop (here shared with the test) stalls."""

    def __init__(self, client: ApiClient) -> None:
        self.client = client
        self.polls = 0
        self.worst = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            reply = await self.client.get("/healthz")
            assert reply.status == 200, reply.body
            self.polls += 1
            self.worst = max(self.worst, loop.time() - started)
            slept = loop.time()
            await asyncio.sleep(POLL_SECONDS)
            self.worst = max(self.worst, loop.time() - slept - POLL_SECONDS)

    async def __aenter__(self) -> LoopWatch:
        self._task = asyncio.create_task(self._run())
        await asyncio.sleep(POLL_SECONDS)  # a first poll answered before the upload starts
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass


async def test_a_workbook_with_data_in_column_iv_is_refused_and_the_loop_stays_responsive(
    world: World,
) -> None:
    sec_a, org = await world.as_user("sec_a"), world.orgs["A"]
    content = column_iv_workbook()
    assert 400 * 1024 < len(content) < 600 * 1024  # the reported size, well under the 5 MiB limit
    before, audited = await member_ids(sec_a, org), await audit_length(world)

    async with LoopWatch(world.make_client()) as watch:
        reply = await import_file(sec_a, org, content, "danh-sach.xlsx")

    error = assert_error(reply, 422, "import_too_many_columns")
    assert error["details"] == {"counted": "columns", "limit": 50, "found": 256, "column": "IV", "line": 2}
    assert is_vietnamese(error["message"]) and "IV" in error["message"] and "50" in error["message"]
    assert watch.polls >= 2, watch.polls
    assert watch.worst < MAX_STALL_SECONDS, f"the event loop stalled {watch.worst:.2f} s"
    assert await member_ids(sec_a, org) == before
    assert await audit_length(world) == audited

    english = await world.as_user("sec_a", lang="en")
    error = assert_error(
        await import_file(english, org, content, "danh-sach.xlsx"), 422, "import_too_many_columns"
    )
    assert "column IV" in error["message"] and "Nothing was imported" in error["message"], error


async def test_too_many_columns_or_rows_are_refused_by_name_and_import_nothing(world: World) -> None:
    sec_a, org = await world.as_user("sec_a"), world.orgs["A"]
    before, audited = await member_ids(sec_a, org), await audit_length(world)

    # CSV: data in column 51 (AY) of line 3; 50 columns is still fine (below).
    wide = ",".join(HEADER) + "\nAn,chính thức\nBình,dự bị" + "," * 49 + "ghi chú\n"
    error = assert_error(
        await import_file(sec_a, org, wide.encode(), "a.csv"), 422, "import_too_many_columns"
    )
    assert error["details"] == {"counted": "columns", "limit": 50, "found": 51, "column": "AY", "line": 3}

    # CSV: one member over the limit.
    rows = [",".join(HEADER)] + [f"Người {i},chính thức" for i in range(5001)]
    error = assert_error(
        await import_file(sec_a, org, "\n".join(rows).encode(), "a.csv"), 422, "import_too_many_rows"
    )
    assert error["details"]["limit"] == 5000 and error["details"]["found"] > 5000, error
    assert is_vietnamese(error["message"]) and "5000" in error["message"]

    # XLSX: 99,988 narrow rows whose data is in an unknown column: refused, not 201 `imported: 0`.
    error = assert_error(
        await import_file(sec_a, org, long_workbook(), "a.xlsx"), 422, "import_too_many_rows"
    )
    assert error["details"]["limit"] == 5000 and error["details"]["found"] > 5000, error

    assert await member_ids(sec_a, org) == before
    assert await audit_length(world) == audited

    # Within the limits the same kinds of file import.
    fine = ",".join(HEADER) + "\nAn,chính thức\nBình,dự bị" + "," * 48 + "ghi chú\n"
    reply = await import_file(sec_a, org, fine.encode(), "a.csv")
    assert (reply.status, reply.body) == (201, {"imported": 2})
    reply = await import_file(sec_a, org, write_only_xlsx([HEADER, ["Chi", "chính thức"]]), "a.xlsx")
    assert (reply.status, reply.body) == (201, {"imported": 1})


async def test_parsing_past_the_time_limit_is_stopped_and_refused(database_url: str, tmp_path: Path) -> None:
    settings = harness.test_settings(tmp_path, database_url, import_parse_seconds=0.001)
    server = await RunningServer.start(settings, FakeClock())
    clients: list[ApiClient] = []

    def make(lang: str = "vi") -> ApiClient:
        clients.append(ApiClient(server.url, lang=lang))
        return clients[-1]

    try:
        world = await build_world(server, make)
        sec_a, org = await world.as_user("sec_a"), world.orgs["A"]
        before = await member_ids(sec_a, org)
        content = ",".join(HEADER) + "\nAn,chính thức\n"
        error = assert_error(await import_file(sec_a, org, content.encode(), "a.csv"), 422, "import_too_slow")
        assert error["details"] == {"counted": "seconds", "limit": 0.001, "found": None}
        assert is_vietnamese(error["message"]) and "giây" in error["message"]
        assert await member_ids(sec_a, org) == before
    finally:
        for client in clients:
            await client.close()
        await server.stop()
