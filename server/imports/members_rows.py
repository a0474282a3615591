"""Checking a register's records: the header's columns, then each member's row, every problem a RowError."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final, TypeVar

from meetings.enums import Activity, GroupRole
from server.imports.members_columns import (
    ACTIVITY_LABELS_VI,
    ACTIVITY_LOOKUP,
    GROUP_ROLE_LABELS_VI,
    GROUP_ROLE_LOOKUP,
    HEADER_ALIASES,
    HEADER_LOOKUP,
    HEADER_SEARCH_LINES,
    INVISIBLE,
    MAX_LENGTH,
    REMOTE_REASON_LABELS_VI,
    REMOTE_REASON_LOOKUP,
    REQUIRED_COLUMNS,
    STANDING_LABELS_VI,
    STANDING_LOOKUP,
    UNIQUE_COLUMNS,
    UNIQUE_NOUN_EN,
    UNIQUE_NOUN_VI,
    Field,
    find_header,
    match_key,
)
from server.imports.members_parsed import ImportLimits, LimitExceeded, MemberRow, ParsedFile, RowError

_ECHO_CHARS: Final = 60
_E = TypeVar("_E", bound=StrEnum)


def _clean(text: str) -> str:
    """Trimmed, inner whitespace collapsed, NFC (files from macOS may hold decomposed text)."""
    return unicodedata.normalize("NFC", " ".join(text.strip(INVISIBLE).split()).strip(INVISIBLE))


def _echo(text: str) -> str:
    return text if len(text) <= _ECHO_CHARS else text[: _ECHO_CHARS - 1] + "…"


def _has_control(text: str) -> bool:
    return any(unicodedata.category(ch) == "Cc" for ch in text)


@dataclass(frozen=True)
class _Column:
    index: int
    title: str  # as written in the file, for messages


def parse_records(records: list[list[str]], limits: ImportLimits) -> ParsedFile:
    header_index = find_header(records[:HEADER_SEARCH_LINES])
    if header_index is None:
        header_index = next((i for i, r in enumerate(records) if any(c.strip() for c in r)), 0)
    header_line = header_index + 1
    header = records[header_index] if records else []

    columns: dict[Field, _Column] = {}
    errors: list[RowError] = []
    for index, cell in enumerate(header):
        field = HEADER_LOOKUP.get(match_key(cell))
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
    missing = [field for field in REQUIRED_COLUMNS if field not in columns]
    for field in missing:
        accepted = [f"'{alias}'" for alias in HEADER_ALIASES[field]]
        accepted_vi, accepted_en = _joined(accepted, "hoặc"), _joined(accepted, "or")
        errors.append(
            RowError(
                header_line,
                field.value,
                "missing_column",
                f"Dòng {header_line}: thiếu cột bắt buộc '{HEADER_ALIASES[field][0]}'"
                f" (tên cột có thể là {accepted_vi}).",
                f"Line {header_line}: the required column '{HEADER_ALIASES[field][0]}' is missing"
                f" (its header may be {accepted_en}).",
            )
        )
    if missing:
        return ParsedFile(rows=[], errors=errors)

    rows: list[MemberRow] = []
    # The unique columns' values, and the (role, group) pairs already given: one leader per group.
    seen: dict[Field, dict[str, int]] = {field: {} for field in (*UNIQUE_COLUMNS, Field.GROUP_ROLE)}
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
    values: Mapping[Field, str],
    columns: Mapping[Field, _Column],
    seen: dict[Field, dict[str, int]],
) -> tuple[MemberRow | None, list[RowError]]:
    errors: list[RowError] = []

    def text(field: Field) -> str | None:
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
        limit = MAX_LENGTH[field]
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

    def choice(field: Field, lookup: Mapping[str, _E], labels: Mapping[_E, str]) -> _E | None:
        value = values.get(field, "")
        if not value:
            return None
        found = lookup.get(match_key(value))
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

    full_name = text(Field.FULL_NAME)
    if not values[Field.FULL_NAME]:
        errors.append(_required(line, Field.FULL_NAME, columns))
    standing = choice(Field.STANDING, STANDING_LOOKUP, STANDING_LABELS_VI)
    if not values[Field.STANDING]:
        errors.append(_required(line, Field.STANDING, columns))
    activity = choice(Field.ACTIVITY, ACTIVITY_LOOKUP, ACTIVITY_LABELS_VI)
    remote_reason = choice(Field.REMOTE_REASON, REMOTE_REASON_LOOKUP, REMOTE_REASON_LABELS_VI)
    group = text(Field.GROUP)
    group_role = choice(Field.GROUP_ROLE, GROUP_ROLE_LOOKUP, GROUP_ROLE_LABELS_VI)
    if group_role is not None:
        named_group = values.get(Field.GROUP) or None  # a bad group name is reported on its own
        errors += _check_office(line, group_role, named_group, columns, seen[Field.GROUP_ROLE])
    unique = {field: text(field) for field in UNIQUE_COLUMNS}
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
                    f"Dòng {line}: {UNIQUE_NOUN_VI[field]} '{_echo(value)}' (cột '{title}')"
                    f" trùng với dòng {earlier}.",
                    f"Line {line}: {UNIQUE_NOUN_EN[field]} '{_echo(value)}' (column '{title}')"
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
        username=unique[Field.USERNAME],
        external_id=unique[Field.EXTERNAL_ID],
        group_role=group_role,
    )
    return row, errors


def _check_office(
    line: int, role: GroupRole, group: str | None, columns: Mapping[Field, _Column], seen: dict[str, int]
) -> list[RowError]:
    """An office needs the row's group, and a group has one leader and one deputy in the file."""
    title = columns[Field.GROUP_ROLE].title
    office_vi = GROUP_ROLE_LABELS_VI[role]
    if group is None:
        group_title = columns[Field.GROUP].title if Field.GROUP in columns else HEADER_ALIASES[Field.GROUP][0]
        return [
            RowError(
                line,
                Field.GROUP_ROLE.value,
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
            Field.GROUP_ROLE.value,
            "duplicate",
            f"Dòng {line}: tổ '{_echo(group)}' đã có {office_vi} ở dòng {earlier};"
            f" mỗi tổ chỉ có một {office_vi}.",
            f"Line {line}: group '{_echo(group)}' already has a {role.value} on line {earlier};"
            f" a group has one {role.value}.",
        )
    ]


def _required(line: int, field: Field, columns: Mapping[Field, _Column]) -> RowError:
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
