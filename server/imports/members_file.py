"""Parsing a cell's member register (CSV or XLSX, as secretaries keep it): here or in a child process.

The parser reads bytes only and never raises on bad content: every problem becomes a `RowError`
naming the line the secretary sees (the spreadsheet row; the header is usually line 1) and the
column, in Vietnamese and English. A problem with the whole file (size, format, encoding) comes
alone, with no rows, on line 0 (or on the CSV line that cannot be read at all). Valid rows are
returned even when other rows are bad; the caller decides whether to import.

Headers and values match case-, accent- and punctuation-insensitively, so "HO VA TEN",
"Họ và tên" and "ho_va_ten" are the same column and "Chinh thuc" is "chính thức". A few title
lines above the header ("DANH SÁCH ĐẢNG VIÊN ...") are skipped: the header is the first of the
first `HEADER_SEARCH_LINES` lines holding a full-name column. Unknown columns ("STT", "Ngày
sinh", ...) are ignored, and so is a row whose known columns are all empty.

Limits (`ImportLimits`): rows with data, columns holding data, and lines (blank ones included) are
counted while the file is read, and reading stops at the first one over its limit, so a small file that
claims or holds 100,000 rows or a cell in column IV costs little. `parse_members_file` reports a limit
as one `too_large` error; `read_members_file` raises `LimitExceeded` instead, for a refusal naming the
limit. The server never parses on its event loop: `parse_in_worker` runs the parser in a child process
with a wall-clock limit and kills it there (docs/security.md "Requests").

The parts live beside this module: what parsing gives and its limits (members_parsed), the columns and
their spellings (members_columns), reading the bytes into records (members_reading) and checking the
records (members_rows); their public names are importable from here too.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from dataclasses import asdict
from enum import StrEnum
from pathlib import Path
from typing import Any, Final, TypeVar

from meetings.enums import Activity, GroupRole, RemoteReason, Standing
from server.imports.members_columns import (
    ACTIVITY_LABELS_VI,
    GROUP_ROLE_LABELS_VI,
    REMOTE_REASON_LABELS_VI,
    STANDING_LABELS_VI,
)
from server.imports.members_parsed import (
    MAX_BYTES,
    MAX_COLUMNS,
    MAX_ROWS,
    PARSE_SECONDS,
    ImportLimits,
    LimitExceeded,
    LimitKind,
    MemberRow,
    ParsedFile,
    RowError,
)
from server.imports.members_reading import FileProblem, csv_records, file_error, is_xlsx, xlsx_records
from server.imports.members_rows import parse_records

__all__ = [
    "ACTIVITY_LABELS_VI",
    "GROUP_ROLE_LABELS_VI",
    "MAX_BYTES",
    "MAX_COLUMNS",
    "MAX_ROWS",
    "PARSE_SECONDS",
    "REMOTE_REASON_LABELS_VI",
    "STANDING_LABELS_VI",
    "ImportLimits",
    "LimitExceeded",
    "LimitKind",
    "MemberRow",
    "ParsedFile",
    "RowError",
    "parse_in_worker",
    "parse_members_file",
    "read_members_file",
    "worker_main",
]

_E = TypeVar("_E", bound=StrEnum)


def parse_members_file(data: bytes, filename: str, limits: ImportLimits | None = None) -> ParsedFile:
    """Parse a register file; `filename` only tells its type (.csv or .xlsx). A limit exceeded is the
    file's one error, `too_large`."""
    try:
        return read_members_file(data, filename, limits)
    except LimitExceeded as exceeded:
        return ParsedFile(
            rows=[], errors=[RowError(0, None, "too_large", exceeded.message_vi, exceeded.message_en)]
        )


def read_members_file(data: bytes, filename: str, limits: ImportLimits | None = None) -> ParsedFile:
    """As `parse_members_file`, but raise `LimitExceeded` when the file is over a limit."""
    limits = limits or ImportLimits()
    try:
        if len(data) > MAX_BYTES:
            raise file_error(
                "too_large",
                f"Tệp quá lớn: tối đa {MAX_BYTES // (1024 * 1024)} MB.",
                f"The file is too large: at most {MAX_BYTES // (1024 * 1024)} MB.",
            )
        if is_xlsx(data, filename):
            records = xlsx_records(data, limits)
        else:
            records = csv_records(data, limits)
        return parse_records(records, limits)
    except FileProblem as problem:
        return ParsedFile(rows=[], errors=[problem.error])


# --- off the event loop ---------------------------------------------------------------------

# The child's memory: a hostile workbook is stopped here rather than by the machine swapping.
_WORKER_MEMORY_BYTES: Final = 1024 * 1024 * 1024
_WORKER_CODE: Final = (
    "import sys; sys.path.insert(0, sys.argv[1]); "
    "from server.imports.members_file import worker_main; worker_main()"
)
_PROJECT_ROOT: Final = str(Path(__file__).resolve().parents[2])


async def parse_in_worker(
    data: bytes, filename: str, limits: ImportLimits | None = None, seconds: float = PARSE_SECONDS
) -> ParsedFile:
    """`read_members_file` in a child process, so the event loop never parses: the child is killed
    after `seconds` (LimitExceeded "seconds"), or when the caller is cancelled. Raises LimitExceeded
    for a limit and RuntimeError if the child fails otherwise."""
    limits = limits or ImportLimits()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _WORKER_CODE,
        _PROJECT_ROOT,
        json.dumps({"filename": filename[-200:], "limits": asdict(limits)}),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(seconds):
            out, err = await process.communicate(data)
    except TimeoutError:
        raise LimitExceeded("seconds", seconds) from None
    finally:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            # Reap it, even when the request is being cancelled.
            await asyncio.shield(process.wait())
    if process.returncode != 0:
        raise RuntimeError(f"the import parser exited with {process.returncode}: {err[-2000:]!r}")
    return _decode_result(json.loads(out))


def worker_main() -> None:
    """The child's side of `parse_in_worker`: argv[2] is the filename and limits, stdin the file, and
    stdout one JSON object, the parsed file or the limit exceeded."""
    with contextlib.suppress(ImportError, ValueError, OSError):
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (_WORKER_MEMORY_BYTES, _WORKER_MEMORY_BYTES))
    request = json.loads(sys.argv[2])
    data = sys.stdin.buffer.read()
    try:
        parsed = read_members_file(data, request["filename"], ImportLimits(**request["limits"]))
        result: dict[str, Any] = {
            "rows": [asdict(row) for row in parsed.rows],
            "errors": [asdict(error) for error in parsed.errors],
        }
    except LimitExceeded as exceeded:
        result = {"limit": [exceeded.kind, exceeded.limit, exceeded.found, exceeded.line]}
    sys.stdout.write(json.dumps(result))
    sys.stdout.flush()


def _decode_result(result: dict[str, Any]) -> ParsedFile:
    if "limit" in result:
        kind, limit, found, line = result["limit"]
        raise LimitExceeded(kind, limit, found, line)

    def optional(kind: type[_E], value: str | None) -> _E | None:
        return None if value is None else kind(value)

    rows = [
        MemberRow(
            line=int(row["line"]),
            full_name=str(row["full_name"]),
            standing=Standing(row["standing"]),
            activity=Activity(row["activity"]),
            remote_reason=optional(RemoteReason, row["remote_reason"]),
            group=row["group"],
            username=row["username"],
            external_id=row["external_id"],
            group_role=optional(GroupRole, row["group_role"]),
        )
        for row in result["rows"]
    ]
    return ParsedFile(rows=rows, errors=[RowError(**error) for error in result["errors"]])
