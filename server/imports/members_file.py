"""Parse a cell's member register, CSV or XLSX, as secretaries keep it today.

The parser reads bytes only and never raises on bad content: every problem becomes a `RowError`
naming the line the secretary sees (the spreadsheet row; the header is usually line 1) and the
column, in Vietnamese and English. A problem with the whole file (size, format, encoding) comes
alone, with no rows, on line 0 (or on the CSV line that cannot be read at all). Valid rows are
returned even when other rows are bad; the caller decides whether to import.

Headers and values match case-, accent- and punctuation-insensitively, so "HO VA TEN",
"Họ và tên" and "ho_va_ten" are the same column and "Chinh thuc" is "chính thức". A few title
lines above the header ("DANH SÁCH ĐẢNG VIÊN ...") are skipped: the header is the first of the
first `_HEADER_SEARCH_LINES` lines holding a full-name column. Unknown columns ("STT", "Ngày
sinh", ...) are ignored, and so is a row whose known columns are all empty.

Limits (`ImportLimits`): rows with data, columns holding data, and lines (blank ones included) are
counted while the file is read, and reading stops at the first one over its limit, so a small file that
claims or holds 100,000 rows or a cell in column IV costs little. `parse_members_file` reports a limit
as one `too_large` error; `read_members_file` raises `LimitExceeded` instead, for a refusal naming the
limit. The server never parses on its event loop: `parse_in_worker` runs the parser in a child process
with a wall-clock limit and kills it there (docs/security.md "Requests").
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import json
import re
import sys
import unicodedata
import warnings
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, time
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final, Literal, TypeVar

import openpyxl  # type: ignore[import-untyped]
from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]

from meetings.enums import Activity, GroupRole, RemoteReason, Standing

MAX_ROWS: Final = 5000
MAX_BYTES: Final = 5 * 1024 * 1024
# A real register has about 15 columns; data further right (column IV is 256) is refused.
MAX_COLUMNS: Final = 50
PARSE_SECONDS: Final = 10.0

# Blank lines count too, so a tiny file cannot make us walk millions of empty rows
# (an XLSX row may claim r="999999999"; a CSV may be 5 MiB of newlines).
_MAX_LINES: Final = 100_000
# A 5 MiB XLSX could still inflate enormously; a real register is a few MiB of XML.
_MAX_XLSX_UNCOMPRESSED: Final = 64 * 1024 * 1024
_HEADER_SEARCH_LINES: Final = 20
_SNIFF_CHARS: Final = 16 * 1024
_ECHO_CHARS: Final = 60
_OLE2_MAGIC: Final = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


@dataclass(frozen=True)
class ImportLimits:
    """Rows with data (members, roughly), the rightmost column holding data, and every line read."""

    max_rows: int = MAX_ROWS
    max_columns: int = MAX_COLUMNS
    max_lines: int = _MAX_LINES


LimitKind = Literal["rows", "lines", "columns", "seconds"]


class LimitExceeded(Exception):
    """The file is over one of the limits; reading stopped there. `found` is a lower bound for rows and
    lines (reading stops early), the column holding data for columns, None for seconds."""

    def __init__(self, kind: LimitKind, limit: float, found: int | None = None, line: int | None = None):
        super().__init__(kind, limit, found, line)
        self.kind, self.limit, self.found, self.line = kind, limit, found, line

    @property
    def details(self) -> dict[str, Any]:
        details: dict[str, Any] = {"limit": self.limit, "found": self.found}
        if self.kind == "columns" and self.found is not None:
            details["column"] = get_column_letter(self.found)
        if self.line is not None:
            details["line"] = self.line
        return details

    @property
    def message_vi(self) -> str:
        limit, found = _number(self.limit), _number(self.found)
        if self.kind == "rows":
            return (
                f"Tệp có quá nhiều dòng có dữ liệu: tối đa {limit} đảng viên mỗi tệp, tệp này có ít nhất"
                f" {found} dòng. Không có đảng viên nào được nhập; hãy chia danh sách thành nhiều tệp."
            )
        if self.kind == "lines":
            return (
                f"Tệp có quá nhiều dòng (kể cả dòng trống): tối đa {limit} dòng, tệp này có ít nhất"
                f" {found} dòng. Không có đảng viên nào được nhập; hãy xóa các dòng thừa."
            )
        if self.kind == "columns":
            letter = get_column_letter(self.found or 1)
            return (
                f"Tệp có dữ liệu ở cột {letter} (cột thứ {found}, dòng {self.line}): tối đa {limit} cột."
                " Không có đảng viên nào được nhập; hãy xóa các cột thừa, chỉ giữ danh sách đảng viên."
            )
        return (
            f"Đọc tệp mất quá {limit} giây nên đã dừng. Không có đảng viên nào được nhập; hãy xóa các"
            " dòng, cột thừa trong tệp rồi thử lại."
        )

    @property
    def message_en(self) -> str:
        limit, found = _number(self.limit), _number(self.found)
        if self.kind == "rows":
            return (
                f"The file has too many rows with data: at most {limit} members per file, this one has at"
                f" least {found}. Nothing was imported; split the list into several files."
            )
        if self.kind == "lines":
            return (
                f"The file has too many lines (blank ones included): at most {limit}, this one has at"
                f" least {found}. Nothing was imported; delete the extra lines."
            )
        if self.kind == "columns":
            letter = get_column_letter(self.found or 1)
            return (
                f"The file has data in column {letter} (column {found}, line {self.line}): at most"
                f" {limit} columns. Nothing was imported; delete the extra columns, keep only the member"
                " list."
            )
        return (
            f"Reading the file took more than {limit} seconds and was stopped. Nothing was imported;"
            " remove extra rows and columns from the file and try again."
        )


def _number(value: float | None) -> str:
    if value is None:
        return "?"
    return str(int(value)) if float(value).is_integer() else str(value)


@dataclass(frozen=True)
class MemberRow:
    line: int
    full_name: str
    standing: Standing
    activity: Activity
    remote_reason: RemoteReason | None
    group: str | None
    username: str | None
    external_id: str | None
    # The member's office in the group named on the row (chức vụ trong tổ).
    group_role: GroupRole | None = None


@dataclass(frozen=True)
class RowError:
    line: int
    column: str | None
    code: str
    message_vi: str
    message_en: str


@dataclass(frozen=True)
class ParsedFile:
    rows: list[MemberRow]
    errors: list[RowError]


STANDING_LABELS_VI: Final[Mapping[Standing, str]] = MappingProxyType(
    {Standing.OFFICIAL: "chính thức", Standing.PROBATIONARY: "dự bị"}
)

ACTIVITY_LABELS_VI: Final[Mapping[Activity, str]] = MappingProxyType(
    {
        Activity.ACTIVE: "đang sinh hoạt",
        Activity.EXEMPT: "miễn công tác và sinh hoạt đảng",
        Activity.SUSPENDED: "đình chỉ sinh hoạt đảng",
        Activity.AWAY_TEMPORARILY: "sinh hoạt tạm thời nơi khác",
        Activity.UNDER_PROSECUTION: "bị truy tố",
    }
)

REMOTE_REASON_LABELS_VI: Final[Mapping[RemoteReason, str]] = MappingProxyType(
    {
        RemoteReason.ABROAD: "ở nước ngoài",
        RemoteReason.MULTI_PROVINCE: "cơ quan nhiều tỉnh",
        RemoteReason.FAR_FROM_HOME: "làm việc xa nơi cư trú",
        RemoteReason.STUDENT_SUMMER: "sinh viên nghỉ hè",
        RemoteReason.ARMED_FORCES: "lực lượng vũ trang",
        RemoteReason.HEALTH: "y tế",
        RemoteReason.FOREST_RANGER: "kiểm lâm",
        RemoteReason.SEAFARER_OFFSHORE_ISLAND: "thuyền viên / giàn khoan / hải đảo",
        RemoteReason.DISASTER: "thiên tai",
        RemoteReason.EPIDEMIC: "dịch bệnh",
        RemoteReason.OTHER_CIRCUMSTANCE: "hoàn cảnh đặc biệt khác",
    }
)

GROUP_ROLE_LABELS_VI: Final[Mapping[GroupRole, str]] = MappingProxyType(
    {GroupRole.LEADER: "tổ trưởng", GroupRole.DEPUTY: "tổ phó"}
)

# Spellings accepted besides the enum code and the label above.
_STANDING_EXTRA: Final[Mapping[Standing, tuple[str, ...]]] = {
    Standing.OFFICIAL: ("đảng viên chính thức",),
    Standing.PROBATIONARY: ("đảng viên dự bị",),
}
_ACTIVITY_EXTRA: Final[Mapping[Activity, tuple[str, ...]]] = {
    Activity.EXEMPT: ("miễn sinh hoạt",),
    Activity.SUSPENDED: ("đình chỉ",),
}


class _Field(StrEnum):
    FULL_NAME = "full_name"
    STANDING = "standing"
    ACTIVITY = "activity"
    REMOTE_REASON = "remote_reason"
    GROUP = "group"
    USERNAME = "username"
    EXTERNAL_ID = "external_id"
    GROUP_ROLE = "group_role"


# The first alias is the column's name in messages about a missing column.
_HEADER_ALIASES: Final[Mapping[_Field, tuple[str, ...]]] = {
    _Field.FULL_NAME: ("Họ và tên", "Họ tên", "Họ và tên đảng viên", "full_name", "name"),
    _Field.STANDING: ("Đảng viên", "Loại đảng viên", "standing"),
    _Field.ACTIVITY: ("Tình trạng", "Trạng thái", "Tình trạng sinh hoạt", "activity"),
    _Field.REMOTE_REASON: ("Lý do không thể sinh hoạt trực tiếp", "Lý do", "remote_reason"),
    _Field.GROUP: ("Tổ đảng", "group"),
    _Field.USERNAME: ("Tài khoản", "Tên đăng nhập", "username"),
    _Field.EXTERNAL_ID: ("Số thẻ đảng", "Số thẻ đảng viên", "Mã", "Mã đảng viên", "external_id"),
    _Field.GROUP_ROLE: ("Chức vụ trong tổ", "Chức vụ trong tổ đảng", "group_role"),
}
_REQUIRED_COLUMNS: Final = (_Field.FULL_NAME, _Field.STANDING)
# Lengths of the matching database columns.
_MAX_LENGTH: Final[Mapping[_Field, int]] = {
    _Field.FULL_NAME: 200,
    _Field.GROUP: 200,
    _Field.USERNAME: 64,
    _Field.EXTERNAL_ID: 40,
}
_UNIQUE_COLUMNS: Final = (_Field.USERNAME, _Field.EXTERNAL_ID)
_UNIQUE_NOUN_VI: Final[Mapping[_Field, str]] = {_Field.USERNAME: "tài khoản", _Field.EXTERNAL_ID: "mã"}
_UNIQUE_NOUN_EN: Final[Mapping[_Field, str]] = {_Field.USERNAME: "username", _Field.EXTERNAL_ID: "id"}

_PUNCTUATION = re.compile(r"[\s_\-/\\,.;:()\[\]*'\"]+")
_INVISIBLE = "\ufeff\u200b\u200c\u200d\u2060"


def _key(text: str) -> str:
    """Matching key: no accents, no case, punctuation and runs of spaces as one space."""
    text = text.replace("đ", "d").replace("Đ", "D").replace("Ð", "D")
    decomposed = unicodedata.normalize("NFD", text.casefold())
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _PUNCTUATION.sub(" ", bare).strip()


_E = TypeVar("_E", bound=StrEnum)


def _lookup(labels: Mapping[_E, str], extra: Mapping[_E, tuple[str, ...]]) -> Mapping[str, _E]:
    table: dict[str, _E] = {}
    for member, label in labels.items():
        for spelling in (member.value, label, *extra.get(member, ())):  # the code, e.g. "official"
            key = _key(spelling)
            if table.setdefault(key, member) is not member:
                raise ValueError(f"ambiguous spelling {spelling!r}")
    return MappingProxyType(table)


_STANDING_LOOKUP: Final = _lookup(STANDING_LABELS_VI, _STANDING_EXTRA)
_ACTIVITY_LOOKUP: Final = _lookup(ACTIVITY_LABELS_VI, _ACTIVITY_EXTRA)
_REMOTE_REASON_LOOKUP: Final = _lookup(REMOTE_REASON_LABELS_VI, {})
_GROUP_ROLE_LOOKUP: Final = _lookup(GROUP_ROLE_LABELS_VI, {})
_HEADER_LOOKUP: Final = _lookup(
    {field: aliases[0] for field, aliases in _HEADER_ALIASES.items()},
    {field: aliases[1:] for field, aliases in _HEADER_ALIASES.items()},
)


class _FileProblem(Exception):
    """Internal: the whole file is rejected with this one error."""

    def __init__(self, error: RowError) -> None:
        super().__init__(error.code)
        self.error = error


def _file_error(code: str, message_vi: str, message_en: str) -> _FileProblem:
    return _FileProblem(RowError(0, None, code, message_vi, message_en))


def _unsupported(detail_vi: str = "", detail_en: str = "") -> _FileProblem:
    return _file_error(
        "unsupported_format",
        f"Tệp không phải CSV hoặc XLSX.{detail_vi} Hãy tải lên tệp .csv (UTF-8) hoặc .xlsx.",
        f"The file is neither CSV nor XLSX.{detail_en} Please upload a .csv (UTF-8) or .xlsx file.",
    )


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
            raise _file_error(
                "too_large",
                f"Tệp quá lớn: tối đa {MAX_BYTES // (1024 * 1024)} MB.",
                f"The file is too large: at most {MAX_BYTES // (1024 * 1024)} MB.",
            )
        if _is_xlsx(data, filename):
            records = _xlsx_records(data, limits)
        else:
            records = _csv_records(data, limits)
        return _parse_records(records, limits)
    except _FileProblem as problem:
        return ParsedFile(rows=[], errors=[problem.error])


class _Counter:
    """Counts the records as they are read and stops at the first limit exceeded. Reading keeps at most
    `max_columns` cells of a record."""

    def __init__(self, limits: ImportLimits) -> None:
        self.limits = limits
        self.lines = 0
        self.with_data = 0

    def take(self, values: Sequence[object]) -> None:
        """Count one record (None or "" for an empty cell)."""
        self.lines += 1
        if self.lines > self.limits.max_lines:
            raise LimitExceeded("lines", self.limits.max_lines, self.lines)
        width = len(values)
        if values.count(None) + values.count("") == width:  # at C speed: a row may be 16,384 wide
            return
        self.with_data += 1
        # The title lines and the header come before the members: only more than those is too many.
        if self.with_data > self.limits.max_rows + _HEADER_SEARCH_LINES:
            raise LimitExceeded("rows", self.limits.max_rows, self.with_data - _HEADER_SEARCH_LINES)
        limit = self.limits.max_columns
        if width > limit:
            beyond = values[limit:]
            if beyond.count(None) + beyond.count("") != len(beyond):
                last = max(i for i, value in enumerate(values) if value is not None and value != "")
                raise LimitExceeded("columns", limit, last + 1, self.lines)


def _is_xlsx(data: bytes, filename: str) -> bool:
    """True for an XLSX, False for a CSV; raise for anything else."""
    extension = filename.replace("\\", "/").rpartition("/")[2].rpartition(".")[2].lower()
    if extension not in ("csv", "xlsx", "xls"):
        raise _unsupported()
    if extension == "xls" or data.startswith(_OLE2_MAGIC):
        raise _unsupported(
            " Tệp Excel 97–2003 (.xls) hoặc tệp Excel có mật khẩu chưa được hỗ trợ;"
            " hãy mở bằng Excel và lưu lại dưới dạng .xlsx không đặt mật khẩu.",
            " Excel 97–2003 (.xls) and password-protected workbooks are not supported;"
            " open it in Excel and save it as .xlsx without a password.",
        )
    if data.startswith(b"PK"):
        return True  # a workbook, even if renamed to .csv
    if extension == "xlsx" or _looks_binary(data):
        raise _unsupported()
    return False


def _looks_binary(data: bytes) -> bool:
    sample = data[:8192]
    if b"\x00" in sample:
        return True
    controls = sum(1 for byte in sample if byte < 0x20 and byte not in b"\t\n\r\x0c\x1a")
    return controls > len(sample) // 100


# --- reading -------------------------------------------------------------------------------


def _csv_records(data: bytes, limits: ImportLimits) -> list[list[str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise _file_error(
            "encoding",
            f"Tệp CSV không được mã hóa UTF-8 (ký tự lỗi đầu tiên ở dòng {line}). Trong Excel, hãy"
            " chọn Lưu thành (Save As) > CSV UTF-8 (phân cách bằng dấu phẩy) rồi tải lên lại.",
            f"The CSV file is not UTF-8 encoded (first bad character on line {line}). In Excel, use"
            " Save As > CSV UTF-8 (Comma delimited) and upload it again.",
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    records: list[list[str]] = []
    counter = _Counter(limits)
    try:
        for record in reader:
            counter.take([cell.strip() for cell in record])
            records.append(record[: limits.max_columns])
    except csv.Error as exc:
        line = len(records) + 1
        raise _FileProblem(
            RowError(
                line,
                None,
                "unsupported_format",
                f"Dòng {line}: không đọc được dòng này của tệp CSV"
                " (ô quá dài hoặc dấu ngoặc kép không khớp).",
                f"Line {line}: this line of the CSV file cannot be read ({exc}).",
            )
        ) from None
    return records


def _delimiter(text: str) -> str:
    """The delimiter: an Excel "sep=" line, else the sniffed one if it finds the header."""
    first_line = text.lstrip(_INVISIBLE).split("\n", 1)[0].rstrip("\r")
    if re.fullmatch(r"sep=[,;\t]", first_line, flags=re.IGNORECASE):
        return first_line[4]
    candidates: list[str] = []
    try:
        candidates.append(csv.Sniffer().sniff(text[:_SNIFF_CHARS], delimiters=",;\t").delimiter)
    except csv.Error:
        pass
    candidates += sorted(",;\t", key=lambda d: -first_line.count(d))
    head = text[:_SNIFF_CHARS]
    for delimiter in candidates:
        try:
            sample = list(csv.reader(io.StringIO(head, newline=""), delimiter=delimiter))
        except csv.Error:
            continue
        if _header_index(sample[:_HEADER_SEARCH_LINES]) is not None:
            return delimiter
    return candidates[0]


def _xlsx_records(data: bytes, limits: ImportLimits) -> list[list[str]]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            inflated = sum(info.file_size for info in archive.infolist())
    except Exception:  # any damage to the archive means it is not a workbook we can read
        raise _unsupported() from None
    if inflated > _MAX_XLSX_UNCOMPRESSED:
        raise _file_error(
            "too_large",
            "Tệp XLSX quá lớn khi giải nén; hãy chỉ để danh sách đảng viên trong tệp.",
            "The XLSX file is too large once unpacked; keep only the member list in it.",
        )
    records: list[list[str]] = []
    # openpyxl warns about features it drops (data validation, styles); they do not matter here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception:  # openpyxl raises many kinds of errors on damaged content
            raise _unsupported() from None
        try:
            sheet = workbook.worksheets[0]
            # The stated size (<dimension ref="A1:IV99989">) refuses early when it is over the line
            # limit; it may also lie either way, so the rows read are counted too.
            stated_rows = sheet.max_row
            if isinstance(stated_rows, int) and stated_rows > limits.max_lines:
                raise LimitExceeded("lines", limits.max_lines, stated_rows)
            sheet.reset_dimensions()
            counter = _Counter(limits)
            # Each row is as wide as its rightmost cell; the counter stops at data beyond the limit.
            for values in sheet.iter_rows(values_only=True):
                counter.take(values)
                if values.count(None) == len(values):
                    records.append([])
                else:
                    records.append([_cell_text(value) for value in values[: limits.max_columns]])
        except (_FileProblem, LimitExceeded):
            raise
        except Exception:
            raise _unsupported() from None
        finally:
            workbook.close()
    return records


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime) and value.time() == time():
        return value.date().isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)


# --- validating ----------------------------------------------------------------------------


def _clean(text: str) -> str:
    """Trimmed, inner whitespace collapsed, NFC (files from macOS may hold decomposed text)."""
    return unicodedata.normalize("NFC", " ".join(text.strip(_INVISIBLE).split()).strip(_INVISIBLE))


def _echo(text: str) -> str:
    return text if len(text) <= _ECHO_CHARS else text[: _ECHO_CHARS - 1] + "…"


def _has_control(text: str) -> bool:
    return any(unicodedata.category(ch) == "Cc" for ch in text)


def _header_index(records: Sequence[Sequence[str]]) -> int | None:
    for index, record in enumerate(records):
        if any(_HEADER_LOOKUP.get(_key(cell)) is _Field.FULL_NAME for cell in record):
            return index
    return None


@dataclass(frozen=True)
class _Column:
    index: int
    title: str  # as written in the file, for messages


def _parse_records(records: list[list[str]], limits: ImportLimits) -> ParsedFile:
    header_index = _header_index(records[:_HEADER_SEARCH_LINES])
    if header_index is None:
        header_index = next((i for i, r in enumerate(records) if any(c.strip() for c in r)), 0)
    header_line = header_index + 1
    header = records[header_index] if records else []

    columns: dict[_Field, _Column] = {}
    errors: list[RowError] = []
    for index, cell in enumerate(header):
        field = _HEADER_LOOKUP.get(_key(cell))
        if field is None:
            continue
        title = _echo(_clean(cell))
        if field in columns:
            first = columns[field].title
            errors.append(
                RowError(
                    header_line,
                    field.value,
                    "duplicate",
                    f"Dòng {header_line}: cột '{title}' và cột '{first}' cùng ghi một nội dung;"
                    " hãy xóa bớt một cột.",
                    f"Line {header_line}: columns '{title}' and '{first}' hold the same thing;"
                    " remove one of them.",
                )
            )
            continue
        columns[field] = _Column(index, title)
    missing = [field for field in _REQUIRED_COLUMNS if field not in columns]
    for field in missing:
        accepted = [f"'{alias}'" for alias in _HEADER_ALIASES[field]]
        accepted_vi, accepted_en = _joined(accepted, "hoặc"), _joined(accepted, "or")
        errors.append(
            RowError(
                header_line,
                field.value,
                "missing_column",
                f"Dòng {header_line}: thiếu cột bắt buộc '{_HEADER_ALIASES[field][0]}'"
                f" (tên cột có thể là {accepted_vi}).",
                f"Line {header_line}: the required column '{_HEADER_ALIASES[field][0]}' is missing"
                f" (its header may be {accepted_en}).",
            )
        )
    if missing:
        return ParsedFile(rows=[], errors=errors)

    rows: list[MemberRow] = []
    # The unique columns' values, and the (role, group) pairs already given: one leader per group.
    seen: dict[_Field, dict[str, int]] = {field: {} for field in (*_UNIQUE_COLUMNS, _Field.GROUP_ROLE)}
    count = 0
    for index in range(header_index + 1, len(records)):
        record = records[index]
        values = {
            field: _clean(record[column.index]) if column.index < len(record) else ""
            for field, column in columns.items()
        }
        if not any(values.values()):
            continue
        count += 1
        if count > limits.max_rows:
            raise LimitExceeded("rows", limits.max_rows, count)
        row, row_errors = _check_row(index + 1, values, columns, seen)
        errors += row_errors
        if row is not None:
            rows.append(row)
    return ParsedFile(rows=rows, errors=errors)


def _check_row(
    line: int,
    values: Mapping[_Field, str],
    columns: Mapping[_Field, _Column],
    seen: dict[_Field, dict[str, int]],
) -> tuple[MemberRow | None, list[RowError]]:
    errors: list[RowError] = []

    def text(field: _Field) -> str | None:
        value = values.get(field, "")
        if not value:
            return None
        title = columns[field].title
        if _has_control(value):
            errors.append(
                RowError(
                    line,
                    field.value,
                    "invalid_value",
                    f"Dòng {line}: cột '{title}' chứa ký tự điều khiển không hợp lệ.",
                    f"Line {line}: column '{title}' contains an invalid control character.",
                )
            )
            return None
        limit = _MAX_LENGTH[field]
        if len(value) > limit:
            errors.append(
                RowError(
                    line,
                    field.value,
                    "too_long",
                    f"Dòng {line}: cột '{title}' dài {len(value)} ký tự, tối đa {limit} ký tự.",
                    f"Line {line}: column '{title}' is {len(value)} characters long, at most {limit}.",
                )
            )
            return None
        return value

    def choice(field: _Field, lookup: Mapping[str, _E], labels: Mapping[_E, str]) -> _E | None:
        value = values.get(field, "")
        if not value:
            return None
        found = lookup.get(_key(value))
        if found is None:
            title = columns[field].title
            vi = list(labels.values())
            en = [member.value for member in labels]
            errors.append(
                RowError(
                    line,
                    field.value,
                    "invalid_value",
                    f"Dòng {line}: giá trị '{_echo(value)}' của cột '{title}' không hợp lệ"
                    f" ({_one_of(vi, 'hoặc', 'một trong')}).",
                    f"Line {line}: value '{_echo(value)}' in column '{title}' is not valid"
                    f" ({_one_of(en, 'or', 'one of')}).",
                )
            )
        return found

    full_name = text(_Field.FULL_NAME)
    if not values[_Field.FULL_NAME]:
        errors.append(_required(line, _Field.FULL_NAME, columns))
    standing = choice(_Field.STANDING, _STANDING_LOOKUP, STANDING_LABELS_VI)
    if not values[_Field.STANDING]:
        errors.append(_required(line, _Field.STANDING, columns))
    activity = choice(_Field.ACTIVITY, _ACTIVITY_LOOKUP, ACTIVITY_LABELS_VI)
    remote_reason = choice(_Field.REMOTE_REASON, _REMOTE_REASON_LOOKUP, REMOTE_REASON_LABELS_VI)
    group = text(_Field.GROUP)
    group_role = choice(_Field.GROUP_ROLE, _GROUP_ROLE_LOOKUP, GROUP_ROLE_LABELS_VI)
    if group_role is not None:
        named_group = values.get(_Field.GROUP) or None  # a bad group name is reported on its own
        errors += _check_office(line, group_role, named_group, columns, seen[_Field.GROUP_ROLE])
    unique = {field: text(field) for field in _UNIQUE_COLUMNS}
    for field, value in unique.items():
        if value is None:
            continue
        earlier = seen[field].setdefault(value.casefold(), line)
        if earlier != line:
            title = columns[field].title
            errors.append(
                RowError(
                    line,
                    field.value,
                    "duplicate",
                    f"Dòng {line}: {_UNIQUE_NOUN_VI[field]} '{_echo(value)}' (cột '{title}')"
                    f" trùng với dòng {earlier}.",
                    f"Line {line}: {_UNIQUE_NOUN_EN[field]} '{_echo(value)}' (column '{title}')"
                    f" repeats line {earlier}.",
                )
            )

    if errors or full_name is None or standing is None:
        return None, errors
    row = MemberRow(
        line=line,
        full_name=full_name,
        standing=standing,
        activity=Activity.ACTIVE if activity is None else activity,
        remote_reason=remote_reason,
        group=group,
        username=unique[_Field.USERNAME],
        external_id=unique[_Field.EXTERNAL_ID],
        group_role=group_role,
    )
    return row, errors


def _check_office(
    line: int, role: GroupRole, group: str | None, columns: Mapping[_Field, _Column], seen: dict[str, int]
) -> list[RowError]:
    """An office needs the row's group, and a group has one leader and one deputy in the file."""
    title = columns[_Field.GROUP_ROLE].title
    office_vi = GROUP_ROLE_LABELS_VI[role]
    if group is None:
        group_title = (
            columns[_Field.GROUP].title if _Field.GROUP in columns else _HEADER_ALIASES[_Field.GROUP][0]
        )
        return [
            RowError(
                line,
                _Field.GROUP_ROLE.value,
                "group_required",
                f"Dòng {line}: cột '{title}' ghi {office_vi} nhưng chưa điền cột '{group_title}'.",
                f"Line {line}: column '{title}' names a {role.value} but column '{group_title}' is empty.",
            )
        ]
    # Group names match as the register matches them: inner spaces collapsed, case folded.
    earlier = seen.setdefault(f"{role.value}:{group.casefold()}", line)
    if earlier == line:
        return []
    return [
        RowError(
            line,
            _Field.GROUP_ROLE.value,
            "duplicate",
            f"Dòng {line}: tổ '{_echo(group)}' đã có {office_vi} ở dòng {earlier};"
            f" mỗi tổ chỉ có một {office_vi}.",
            f"Line {line}: group '{_echo(group)}' already has a {role.value} on line {earlier};"
            f" a group has one {role.value}.",
        )
    ]


def _required(line: int, field: _Field, columns: Mapping[_Field, _Column]) -> RowError:
    title = columns[field].title
    return RowError(
        line,
        field.value,
        "required",
        f"Dòng {line}: chưa điền cột '{title}'.",
        f"Line {line}: column '{title}' is empty.",
    )


def _one_of(choices: Sequence[str], conjunction: str, lead: str) -> str:
    joined = _joined(choices, conjunction)
    return joined if len(choices) <= 2 else f"{lead}: {joined}"


def _joined(items: Sequence[str], conjunction: str) -> str:
    """ "a, b hoặc c" / "a, b or c"."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {conjunction} {items[-1]}"


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
