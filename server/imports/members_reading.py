"""Reading a register file's bytes, CSV or XLSX, into records of cells, counted against the limits."""

from __future__ import annotations

import csv
import io
import re
import warnings
import zipfile
from collections.abc import Sequence
from datetime import date, datetime, time
from typing import Final

import openpyxl  # type: ignore[import-untyped]

from server.imports.members_columns import HEADER_SEARCH_LINES, INVISIBLE, find_header
from server.imports.members_parsed import ImportLimits, LimitExceeded, RowError

# A 5 MiB XLSX could still inflate enormously; a real register is a few MiB of XML.
_MAX_XLSX_UNCOMPRESSED: Final = 64 * 1024 * 1024
_SNIFF_CHARS: Final = 16 * 1024
_OLE2_MAGIC: Final = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


class FileProblem(Exception):
    """Internal to the parser: the whole file is rejected with this one error."""

    def __init__(self, error: RowError) -> None:
        super().__init__(error.code)
        self.error = error


def file_error(code: str, message_vi: str, message_en: str) -> FileProblem:
    return FileProblem(RowError(0, None, code, message_vi, message_en))


def _unsupported(detail_vi: str = "", detail_en: str = "") -> FileProblem:
    return file_error(
        "unsupported_format",
        f"Tệp không phải CSV hoặc XLSX.{detail_vi} Hãy tải lên tệp .csv (UTF-8) hoặc .xlsx.",
        f"The file is neither CSV nor XLSX.{detail_en} Please upload a .csv (UTF-8) or .xlsx file.",
    )


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
        if self.with_data > self.limits.max_rows + HEADER_SEARCH_LINES:
            raise LimitExceeded("rows", self.limits.max_rows, self.with_data - HEADER_SEARCH_LINES)
        limit = self.limits.max_columns
        if width > limit:
            beyond = values[limit:]
            if beyond.count(None) + beyond.count("") != len(beyond):
                last = max(i for i, value in enumerate(values) if value is not None and value != "")
                raise LimitExceeded("columns", limit, last + 1, self.lines)


def is_xlsx(data: bytes, filename: str) -> bool:
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


def csv_records(data: bytes, limits: ImportLimits) -> list[list[str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise file_error(
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
        raise FileProblem(
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
    first_line = text.lstrip(INVISIBLE).split("\n", 1)[0].rstrip("\r")
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
        if find_header(sample[:HEADER_SEARCH_LINES]) is not None:
            return delimiter
    return candidates[0]


def xlsx_records(data: bytes, limits: ImportLimits) -> list[list[str]]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            inflated = sum(info.file_size for info in archive.infolist())
    except Exception:  # any damage to the archive means it is not a workbook we can read
        raise _unsupported() from None
    if inflated > _MAX_XLSX_UNCOMPRESSED:
        raise file_error(
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
        except (FileProblem, LimitExceeded):
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
