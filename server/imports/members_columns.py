"""A register's columns and values as secretaries spell them, matched without case, accents or punctuation."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from enum import StrEnum
from types import MappingProxyType
from typing import Final, TypeVar

from meetings.enums import Activity, GroupRole, RemoteReason, Standing

# The header is the first of this many lines holding a full-name column (title lines come before it).
HEADER_SEARCH_LINES: Final = 20

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


class Field(StrEnum):
    FULL_NAME = "full_name"
    STANDING = "standing"
    ACTIVITY = "activity"
    REMOTE_REASON = "remote_reason"
    GROUP = "group"
    USERNAME = "username"
    EXTERNAL_ID = "external_id"
    GROUP_ROLE = "group_role"


# The first alias is the column's name in messages about a missing column.
HEADER_ALIASES: Final[Mapping[Field, tuple[str, ...]]] = {
    Field.FULL_NAME: ("Họ và tên", "Họ tên", "Họ và tên đảng viên", "full_name", "name"),
    Field.STANDING: ("Đảng viên", "Loại đảng viên", "standing"),
    Field.ACTIVITY: ("Tình trạng", "Trạng thái", "Tình trạng sinh hoạt", "activity"),
    Field.REMOTE_REASON: ("Lý do không thể sinh hoạt trực tiếp", "Lý do", "remote_reason"),
    Field.GROUP: ("Tổ đảng", "group"),
    Field.USERNAME: ("Tài khoản", "Tên đăng nhập", "username"),
    Field.EXTERNAL_ID: ("Số thẻ đảng", "Số thẻ đảng viên", "Mã", "Mã đảng viên", "external_id"),
    Field.GROUP_ROLE: ("Chức vụ trong tổ", "Chức vụ trong tổ đảng", "group_role"),
}
REQUIRED_COLUMNS: Final = (Field.FULL_NAME, Field.STANDING)
# Lengths of the matching database columns.
MAX_LENGTH: Final[Mapping[Field, int]] = {
    Field.FULL_NAME: 200,
    Field.GROUP: 200,
    Field.USERNAME: 64,
    Field.EXTERNAL_ID: 40,
}
UNIQUE_COLUMNS: Final = (Field.USERNAME, Field.EXTERNAL_ID)
UNIQUE_NOUN_VI: Final[Mapping[Field, str]] = {Field.USERNAME: "tài khoản", Field.EXTERNAL_ID: "mã"}
UNIQUE_NOUN_EN: Final[Mapping[Field, str]] = {Field.USERNAME: "username", Field.EXTERNAL_ID: "id"}

_PUNCTUATION = re.compile(r"[\s_\-/\\,.;:()\[\]*'\"]+")
INVISIBLE = "\ufeff\u200b\u200c\u200d\u2060"


def match_key(text: str) -> str:
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
            key = match_key(spelling)
            if table.setdefault(key, member) is not member:
                raise ValueError(f"ambiguous spelling {spelling!r}")
    return MappingProxyType(table)


STANDING_LOOKUP: Final = _lookup(STANDING_LABELS_VI, _STANDING_EXTRA)
ACTIVITY_LOOKUP: Final = _lookup(ACTIVITY_LABELS_VI, _ACTIVITY_EXTRA)
REMOTE_REASON_LOOKUP: Final = _lookup(REMOTE_REASON_LABELS_VI, {})
GROUP_ROLE_LOOKUP: Final = _lookup(GROUP_ROLE_LABELS_VI, {})
HEADER_LOOKUP: Final = _lookup(
    {field: aliases[0] for field, aliases in HEADER_ALIASES.items()},
    {field: aliases[1:] for field, aliases in HEADER_ALIASES.items()},
)


def find_header(records: Sequence[Sequence[str]]) -> int | None:
    for index, record in enumerate(records):
        if any(HEADER_LOOKUP.get(match_key(cell)) is Field.FULL_NAME for cell in record):
            return index
    return None
