"""The member register parser on real CSV and XLSX files built here."""

from __future__ import annotations

import io
import random
import re
import zipfile
from collections.abc import Sequence

import openpyxl  # type: ignore[import-untyped]
import pytest

from meetings.enums import Activity, GroupRole, RemoteReason, Standing
from server.imports.members_file import (
    ACTIVITY_LABELS_VI,
    GROUP_ROLE_LABELS_VI,
    MAX_BYTES,
    MAX_ROWS,
    REMOTE_REASON_LABELS_VI,
    STANDING_LABELS_VI,
    ImportLimits,
    LimitExceeded,
    MemberRow,
    ParsedFile,
    RowError,
    parse_in_worker,
    parse_members_file,
    read_members_file,
)

HEADER_VI = ["STT", "Họ và tên", "Đảng viên", "Tình trạng", "Lý do", "Tổ đảng", "Tài khoản", "Số thẻ đảng"]


def xlsx(rows: Sequence[Sequence[object]]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def only_error(parsed: ParsedFile) -> RowError:
    assert parsed.rows == []
    assert len(parsed.errors) == 1, parsed.errors
    return parsed.errors[0]


def test_good_csv_with_vietnamese_headers_and_labels() -> None:
    text = (
        "STT,Họ và tên,Đảng viên,Tình trạng,Lý do không thể sinh hoạt trực tiếp,"
        "Tổ đảng,Tài khoản,Số thẻ đảng\n"
        "1,Nguyễn Văn An,Chính thức,Đang sinh hoạt,,Tổ 1,an.nv,79001234\n"
        "2,  Trần   Thị Bình ,dự bị,,Ở nước ngoài,Tổ 2,,\n"
        ",,,,,,,\n"
        "3,Lê Văn Cường,CHINH THUC,mien sinh hoat,thuyền viên/giàn khoan/hải đảo,,,\n"
        "4,Phạm Thị Dung,official,Đình chỉ sinh hoạt đảng,,,,\n"
    )
    parsed = parse_members_file(text.encode(), "danh-sach.csv")

    assert parsed.errors == []
    assert parsed.rows == [
        MemberRow(2, "Nguyễn Văn An", Standing.OFFICIAL, Activity.ACTIVE, None, "Tổ 1", "an.nv", "79001234"),
        MemberRow(
            3,
            "Trần Thị Bình",
            Standing.PROBATIONARY,
            Activity.ACTIVE,
            RemoteReason.ABROAD,
            "Tổ 2",
            None,
            None,
        ),
        MemberRow(
            5,
            "Lê Văn Cường",
            Standing.OFFICIAL,
            Activity.EXEMPT,
            RemoteReason.SEAFARER_OFFSHORE_ISLAND,
            None,
            None,
            None,
        ),
        MemberRow(6, "Phạm Thị Dung", Standing.OFFICIAL, Activity.SUSPENDED, None, None, None, None),
    ]


def test_english_headers_and_codes() -> None:
    text = (
        "name,standing,activity,remote_reason,group,username,external_id\n"
        "An,probationary,away_temporarily,epidemic,,an,\n"
    )
    parsed = parse_members_file(text.encode(), "members.csv")

    assert parsed.errors == []
    assert parsed.rows[0].standing is Standing.PROBATIONARY
    assert parsed.rows[0].activity is Activity.AWAY_TEMPORARILY
    assert parsed.rows[0].remote_reason is RemoteReason.EPIDEMIC


def test_semicolon_csv_with_bom_and_title_lines() -> None:
    text = (
        "DANH SÁCH ĐẢNG VIÊN CHI BỘ KHU PHỐ 3;;\n"
        ";;\n"
        "HỌ TÊN;Loại đảng viên;Trạng thái\n"
        "Võ Thị Hà;Dự bị;Bị truy tố\n"
        "Đỗ Minh Khoa;Chính thức;Sinh hoạt tạm thời nơi khác\n"
    )
    parsed = parse_members_file(b"\xef\xbb\xbf" + text.encode(), "ds.CSV")

    assert parsed.errors == []
    assert [(r.line, r.full_name, r.standing, r.activity) for r in parsed.rows] == [
        (4, "Võ Thị Hà", Standing.PROBATIONARY, Activity.UNDER_PROSECUTION),
        (5, "Đỗ Minh Khoa", Standing.OFFICIAL, Activity.AWAY_TEMPORARILY),
    ]


def test_good_xlsx_with_numbers_and_gaps() -> None:
    data = xlsx(
        [
            HEADER_VI,
            [1, "Nguyễn Văn An", "chính thức", None, None, "Tổ 1", "an", 79001234],
            [],
            [2, "Trần Thị Bình", "dự bị", "miễn công tác và sinh hoạt đảng", "y tế", None, None, 79001235.0],
        ]
    )
    parsed = parse_members_file(data, "register.xlsx")

    assert parsed.errors == []
    assert [(r.line, r.external_id, r.remote_reason) for r in parsed.rows] == [
        (2, "79001234", None),
        (4, "79001235", RemoteReason.HEALTH),
    ]


def test_xlsx_bad_rows_are_each_reported_with_line_and_column() -> None:
    data = xlsx(
        [
            HEADER_VI,
            [1, "Nguyễn Văn An", "chính thức"],
            [2, "Trần Thị Bình", "abc"],
            [3, "Lê Văn Cường", "dự bị"],
            [4, "Phạm Thị Dung", "chính thức", "nghỉ phép"],
            [5, "Hoàng Văn Em", "dự bị"],
        ]
    )
    parsed = parse_members_file(data, "register.xlsx")

    assert [(e.line, e.column, e.code) for e in parsed.errors] == [
        (3, "standing", "invalid_value"),
        (5, "activity", "invalid_value"),
    ]
    assert [r.line for r in parsed.rows] == [2, 4, 6]
    first = parsed.errors[0]
    assert first.message_vi == (
        "Dòng 3: giá trị 'abc' của cột 'Đảng viên' không hợp lệ (chính thức hoặc dự bị)."
    )
    assert first.message_en.startswith("Line 3: value 'abc' in column 'Đảng viên'")
    assert "'nghỉ phép'" in parsed.errors[1].message_vi


def test_every_problem_of_a_row_and_of_the_file_is_reported() -> None:
    text = "Họ tên,Đảng viên,Lý do\n,chính thức,\nAn,,đi chơi\n" + "X" * 201 + ",dự bị,\n"
    parsed = parse_members_file(text.encode(), "a.csv")

    assert parsed.rows == []
    assert [(e.line, e.column, e.code) for e in parsed.errors] == [
        (2, "full_name", "required"),
        (3, "standing", "required"),
        (3, "remote_reason", "invalid_value"),
        (4, "full_name", "too_long"),
    ]
    assert all(e.message_vi.startswith(f"Dòng {e.line}: ") for e in parsed.errors)
    assert all(e.message_en.startswith(f"Line {e.line}: ") for e in parsed.errors)


def test_missing_column() -> None:
    parsed = parse_members_file("Họ và tên,Tình trạng\nAn,\n".encode(), "a.csv")

    error = only_error(parsed)
    assert (error.line, error.column, error.code) == (1, "standing", "missing_column")
    assert error.message_vi.startswith("Dòng 1: thiếu cột bắt buộc 'Đảng viên'")


def test_duplicate_username_and_external_id() -> None:
    text = (
        "Họ và tên,Đảng viên,Tài khoản,Số thẻ đảng\n"
        "An,chính thức,an,001\n"
        "Bình,chính thức,binh,002\n"
        "An khác,dự bị,AN,002\n"
    )
    parsed = parse_members_file(text.encode(), "a.csv")

    assert [r.line for r in parsed.rows] == [2, 3]
    assert [(e.line, e.column, e.code) for e in parsed.errors] == [
        (4, "username", "duplicate"),
        (4, "external_id", "duplicate"),
    ]
    assert "trùng với dòng 2" in parsed.errors[0].message_vi
    assert "trùng với dòng 3" in parsed.errors[1].message_vi


def test_too_many_rows() -> None:
    lines = ["Họ và tên,Đảng viên"] + [f"Người {i},chính thức" for i in range(MAX_ROWS + 1)]
    error = only_error(parse_members_file("\n".join(lines).encode(), "a.csv"))
    assert (error.line, error.code) == (0, "too_large")

    at_limit = parse_members_file("\n".join(lines[:-1]).encode(), "a.csv")
    assert len(at_limit.rows) == MAX_ROWS and at_limit.errors == []


def test_too_many_bytes() -> None:
    error = only_error(parse_members_file(b"a" * (MAX_BYTES + 1), "a.csv"))
    assert (error.line, error.code) == (0, "too_large")


@pytest.mark.parametrize("filename", ["a.xlsx", "a.csv", "a.pdf", "a.xls", "noextension"])
def test_garbage_bytes_are_unsupported(filename: str) -> None:
    error = only_error(parse_members_file(random.Random(3).randbytes(4096), filename))
    assert (error.line, error.code) == (0, "unsupported_format")


def test_damaged_zip_named_xlsx_is_unsupported() -> None:
    data = xlsx([HEADER_VI])
    error = only_error(parse_members_file(data[: len(data) // 2], "a.xlsx"))
    assert error.code == "unsupported_format"


def test_latin1_csv_is_an_encoding_error() -> None:
    data = "Họ và tên,Đảng viên\nJosé Ñúñez,chính thức\n".encode("cp1258", errors="replace")
    error = only_error(parse_members_file(data, "a.csv"))

    assert (error.line, error.code) == (0, "encoding")
    assert "UTF-8" in error.message_vi
    assert "Latin" not in error.message_vi

    latin1 = only_error(parse_members_file("name,standing\nJosé,official\n".encode("latin-1"), "a.csv"))
    assert latin1.code == "encoding" and "dòng 2" in latin1.message_vi


def test_label_tables_cover_every_enum_member() -> None:
    assert set(STANDING_LABELS_VI) == set(Standing)
    assert set(ACTIVITY_LABELS_VI) == set(Activity)
    assert set(REMOTE_REASON_LABELS_VI) == set(RemoteReason)
    for reason, label in REMOTE_REASON_LABELS_VI.items():
        text = f"Họ và tên,Đảng viên,Lý do\nAn,chính thức,{label.upper()}\n"
        assert parse_members_file(text.encode(), "a.csv").rows[0].remote_reason is reason


def test_unreadable_csv_line_is_named() -> None:
    data = b'name,standing\nAn,official\n"' + b"x" * 200_000 + b'",official\n'
    error = only_error(parse_members_file(data, "a.csv"))
    assert (error.line, error.code) == (3, "unsupported_format")
    assert error.message_vi.startswith("Dòng 3: ")


def test_xlsx_row_far_below_is_too_large_not_slow() -> None:
    """A tiny workbook whose second data row claims to be row 900000 stops at the line cap, quickly."""
    source = zipfile.ZipFile(
        io.BytesIO(xlsx([["Họ và tên", "Đảng viên"], ["An", "chính thức"], ["Bình", "dự bị"]]))
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            content = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                content = re.sub(rb'r="([A-Z]*)3"', rb'r="\g<1>900000"', content)
            target.writestr(info, content)
    error = only_error(parse_members_file(out.getvalue(), "a.xlsx"))
    assert (error.line, error.code) == (0, "too_large")


# --- the office in the party group (chức vụ trong tổ) ------------------------------------------


def test_group_offices_in_vietnamese_and_english_spellings() -> None:
    text = (
        "Họ và tên,Đảng viên,Tổ đảng,Chức vụ trong tổ\n"
        "An,chính thức,Tổ 1,Tổ trưởng\n"
        "Bình,chính thức,Tổ 1,TO PHO\n"
        "Cường,chính thức,Tổ 2,leader\n"
        "Dung,dự bị,Tổ 2,\n"
    )
    parsed = parse_members_file(text.encode(), "a.csv")

    assert parsed.errors == []
    assert [(r.full_name, r.group, r.group_role) for r in parsed.rows] == [
        ("An", "Tổ 1", GroupRole.LEADER),
        ("Bình", "Tổ 1", GroupRole.DEPUTY),
        ("Cường", "Tổ 2", GroupRole.LEADER),
        ("Dung", "Tổ 2", None),
    ]
    english = parse_members_file(b"name,standing,group,group_role\nAn,official,G,deputy\n", "a.csv")
    assert english.errors == [] and english.rows[0].group_role is GroupRole.DEPUTY
    xlsx_file = xlsx(
        [["Họ và tên", "Đảng viên", "Tổ đảng", "Chức vụ trong tổ đảng"], ["An", "chính thức", "T", "tổ phó"]]
    )
    assert parse_members_file(xlsx_file, "a.xlsx").rows[0].group_role is GroupRole.DEPUTY
    # a file without the column has no offices
    assert parse_members_file(b"name,standing\nAn,official\n", "a.csv").rows[0].group_role is None
    assert set(GROUP_ROLE_LABELS_VI) == set(GroupRole)


def test_a_wrong_office_is_its_lines_error() -> None:
    text = "Họ và tên,Đảng viên,Tổ đảng,Chức vụ trong tổ\nAn,chính thức,Tổ 1,bí thư\n"
    error = only_error(parse_members_file(text.encode(), "a.csv"))

    assert (error.line, error.column, error.code) == (2, "group_role", "invalid_value")
    assert error.message_vi == (
        "Dòng 2: giá trị 'bí thư' của cột 'Chức vụ trong tổ' không hợp lệ (tổ trưởng hoặc tổ phó)."
    )
    assert (
        error.message_en
        == "Line 2: value 'bí thư' in column 'Chức vụ trong tổ' is not valid (leader or deputy)."
    )


def test_an_office_needs_the_rows_group() -> None:
    with_column = "Họ và tên,Đảng viên,Tổ đảng,Chức vụ trong tổ\nAn,chính thức,,tổ trưởng\n"
    error = only_error(parse_members_file(with_column.encode(), "a.csv"))
    assert (error.line, error.column, error.code) == (2, "group_role", "group_required")
    assert error.message_vi == "Dòng 2: cột 'Chức vụ trong tổ' ghi tổ trưởng nhưng chưa điền cột 'Tổ đảng'."

    without_column = "Họ và tên,Đảng viên,group_role\nAn,chính thức,deputy\n"
    error = only_error(parse_members_file(without_column.encode(), "a.csv"))
    assert error.code == "group_required"
    assert error.message_en == "Line 2: column 'group_role' names a deputy but column 'Tổ đảng' is empty."


def test_a_group_has_one_leader_and_one_deputy_in_a_file() -> None:
    text = (
        "Họ và tên,Đảng viên,Tổ đảng,Chức vụ trong tổ\n"
        "An,chính thức,Tổ 1,tổ trưởng\n"
        "Bình,chính thức,Tổ 1,tổ phó\n"
        "Cường,chính thức,TỔ  1,leader\n"
        "Dung,chính thức,Tổ 2,tổ trưởng\n"
        "Em,chính thức,tổ 1,Tổ phó\n"
    )
    parsed = parse_members_file(text.encode(), "a.csv")

    assert [r.line for r in parsed.rows] == [2, 3, 5]
    assert [(e.line, e.column, e.code) for e in parsed.errors] == [
        (4, "group_role", "duplicate"),
        (6, "group_role", "duplicate"),
    ]
    assert (
        parsed.errors[0].message_vi
        == "Dòng 4: tổ 'TỔ 1' đã có tổ trưởng ở dòng 2; mỗi tổ chỉ có một tổ trưởng."
    )
    assert (
        parsed.errors[1].message_en
        == "Line 6: group 'tổ 1' already has a deputy on line 3; a group has one deputy."
    )


# --- limits, and parsing off the event loop (issue 31 part 5) ----------------------------------


def test_data_beyond_the_column_limit_is_refused_at_its_first_row() -> None:
    rows: list[list[object]] = [["Họ và tên", "Đảng viên"], ["An", "chính thức"]]
    rows += [[None] * 255 + [1] for _ in range(2000)]
    with pytest.raises(LimitExceeded) as caught:
        read_members_file(xlsx(rows), "a.xlsx")
    assert caught.value.kind == "columns"
    assert caught.value.details == {"limit": 50, "found": 256, "column": "IV", "line": 3}
    assert "cột IV" in caught.value.message_vi and "column IV" in caught.value.message_en

    # parse_members_file reports it as the file's one error
    error = only_error(parse_members_file(xlsx(rows), "a.xlsx"))
    assert (error.line, error.code) == (0, "too_large") and "IV" in error.message_vi

    csv_text = "Họ và tên,Đảng viên\nAn,chính thức" + "," * 11 + "x\n"
    with pytest.raises(LimitExceeded) as caught:
        read_members_file(csv_text.encode(), "a.csv", ImportLimits(max_columns=12))
    assert (caught.value.kind, caught.value.found, caught.value.line) == ("columns", 13, 2)


def test_empty_cells_beyond_the_column_limit_are_not_data() -> None:
    text = "Họ và tên,Đảng viên" + "," * 100 + "\nAn,chính thức" + ", " * 100 + "\n"
    parsed = read_members_file(text.encode(), "a.csv")
    assert [row.full_name for row in parsed.rows] == ["An"] and parsed.errors == []
    at_limit = "Họ và tên,Đảng viên\nAn,chính thức" + "," * 48 + "ghi chú\n"  # column 50
    assert len(read_members_file(at_limit.encode(), "a.csv").rows) == 1


def test_rows_with_data_stop_reading_early_even_in_unknown_columns() -> None:
    limits = ImportLimits(max_rows=10)
    # No member rows at all (data only under "STT"): once refused as 201 `imported: 0`.
    text = "STT,Họ và tên,Đảng viên\n" + "".join(f"{n},,\n" for n in range(1000))
    with pytest.raises(LimitExceeded) as caught:
        read_members_file(text.encode(), "a.csv", limits)
    assert (caught.value.kind, caught.value.limit) == ("rows", 10)
    assert caught.value.found is not None and caught.value.found > 10

    titles = ["DANH SÁCH ĐẢNG VIÊN"] * 5 + ["Họ và tên,Đảng viên"]
    members = [f"Người {n},chính thức" for n in range(10)]
    assert len(read_members_file("\n".join(titles + members).encode(), "a.csv", limits).rows) == 10
    with pytest.raises(LimitExceeded) as caught:
        read_members_file("\n".join([*titles, *members, "Thêm,dự bị"]).encode(), "a.csv", limits)
    assert (caught.value.kind, caught.value.found) == ("rows", 11)


def test_a_stated_size_over_the_line_limit_is_refused_before_reading() -> None:
    source = zipfile.ZipFile(io.BytesIO(xlsx([["Họ và tên", "Đảng viên"], ["An", "chính thức"]])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            content = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                content = re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:B200000"', content)
            target.writestr(info, content)
    with pytest.raises(LimitExceeded) as caught:
        read_members_file(out.getvalue(), "a.xlsx")
    assert (caught.value.kind, caught.value.limit, caught.value.found) == ("lines", 100_000, 200_000)


async def test_the_worker_process_returns_what_the_parser_returns() -> None:
    text = (
        "Họ và tên,Đảng viên,Tình trạng,Lý do,Tổ đảng,Chức vụ trong tổ,Tài khoản,Số thẻ đảng\n"
        "Nguyễn Văn An,chính thức,,ở nước ngoài,Tổ 1,tổ trưởng,an.nv,79001234\n"
        "Trần Thị Bình,dự bị,miễn sinh hoạt,,,,,\n"
        "Lê Văn Cường,không rõ,,,,,,\n"
    )
    parsed = await parse_in_worker(text.encode(), "a.csv")
    assert parsed == read_members_file(text.encode(), "a.csv")
    assert parsed.rows[0].remote_reason is RemoteReason.ABROAD
    assert parsed.rows[0].group_role is GroupRole.LEADER
    assert parsed.rows[1].activity is Activity.EXEMPT
    assert [(e.line, e.code) for e in parsed.errors] == [(4, "invalid_value")]


async def test_the_worker_process_enforces_the_limits_and_the_time() -> None:
    wide = "Họ và tên,Đảng viên\nAn,chính thức" + "," * 60 + "x\n"
    with pytest.raises(LimitExceeded) as caught:
        await parse_in_worker(wide.encode(), "a.csv")
    assert (caught.value.kind, caught.value.found, caught.value.line) == ("columns", 62, 2)

    with pytest.raises(LimitExceeded) as caught:
        await parse_in_worker(b"name,standing\nAn,official\n", "a.csv", ImportLimits(), seconds=0.001)
    assert (caught.value.kind, caught.value.limit, caught.value.found) == ("seconds", 0.001, None)
