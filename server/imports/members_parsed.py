"""What parsing a member register gives (member rows, errors naming line and column) and its limits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal

from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]

from meetings.enums import Activity, GroupRole, RemoteReason, Standing

MAX_ROWS: Final = 5000
MAX_BYTES: Final = 5 * 1024 * 1024
# A real register has about 15 columns; data further right (column IV is 256) is refused.
MAX_COLUMNS: Final = 50
PARSE_SECONDS: Final = 10.0

# Blank lines count too, so a tiny file cannot make us walk millions of empty rows
# (an XLSX row may claim r="999999999"; a CSV may be 5 MiB of newlines).
MAX_LINES: Final = 100_000


@dataclass(frozen=True)
class ImportLimits:
    """Rows with data (members, roughly), the rightmost column holding data, and every line read."""

    max_rows: int = MAX_ROWS
    max_columns: int = MAX_COLUMNS
    max_lines: int = MAX_LINES


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
