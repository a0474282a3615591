"""What may be decided online: agenda items (nội dung sinh hoạt) and votes barred from online meetings."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from meetings.decision import Decision, Text, count_en
from meetings.enums import ItemType, MeetingMode, VoteKind
from meetings.rulesets import RuleSet

MODE_TEXT = {
    MeetingMode.ONLINE: Text("trực tuyến", "online"),
    MeetingMode.HYBRID: Text("kết hợp trực tiếp và trực tuyến", "in hybrid form (on site and online)"),
    MeetingMode.IN_PERSON: Text("trực tiếp", "in person"),
}

ITEM_TYPE_TEXT = {
    ItemType.ORDINARY: Text("nội dung thường kỳ", "ordinary business"),
    ItemType.PERSONNEL: Text("công tác nhân sự", "personnel"),
    ItemType.ELECTION: Text("bầu cử", "an election"),
    ItemType.DISCIPLINE: Text("kỷ luật đảng", "party discipline"),
    ItemType.ADMISSION: Text(
        "kết nạp đảng viên, công nhận đảng viên chính thức", "admission or recognition of members"
    ),
    ItemType.STATE_SECRET: Text("nội dung thuộc bí mật nhà nước", "a state secret"),
}

# The document that makes an election need a secret ballot (research of issue 30, shared/spec/rules.md).
ELECTION_SOURCE = "Quyết định 190-QĐ/TW (10/10/2024)"
ELECTION_SOURCE_TEXT = Text(
    f"Bầu cử phải bỏ phiếu kín ({ELECTION_SOURCE}); hệ thống không tổ chức bỏ phiếu kín điện tử.",
    f"An election needs a secret ballot ({ELECTION_SOURCE}); the platform never offers a secret "
    "electronic ballot.",
)

VOTE_KIND_TEXT = {
    VoteKind.ORDINARY: Text("biểu quyết thông thường", "an ordinary vote"),
    VoteKind.ADMISSION: Text("biểu quyết kết nạp đảng viên", "a vote to admit a member"),
    VoteKind.RECOGNITION: Text(
        "biểu quyết công nhận đảng viên chính thức", "a vote to recognise a probationary member as official"
    ),
    VoteKind.MINUTES_ADOPTION: Text("biểu quyết thông qua biên bản", "a vote to adopt the minutes"),
}


def check_agenda_content(mode: MeetingMode, item_types: Sequence[ItemType], rule_set: RuleSet) -> Decision:
    """R-CONTENT-1: refuse an agenda that holds a barred item type in an online or hybrid meeting."""
    barred_types = rule_set.content_barred_item_types
    restricted = mode in rule_set.content_barred_modes
    barred = [
        (index, item_type)
        for index, item_type in enumerate(item_types)
        if restricted and item_type in barred_types
    ]
    counts = {"items": len(item_types), "barred": len(barred)}
    details: dict[str, Any] = {
        "barred_items": [{"index": index, "item_type": str(kind)} for index, kind in barred]
    }
    where = MODE_TEXT[mode]
    if not restricted:
        explanation = Text(
            f"Chương trình sinh hoạt {where.vi} được chấp nhận: {len(item_types)} mục; khi sinh hoạt trực "
            "tiếp, mọi loại nội dung đều được xem xét (R-CONTENT-1).",
            f"Agenda accepted for a meeting held {where.en}: {count_en(len(item_types), 'item')}; every "
            "type of item may be taken in person (R-CONTENT-1).",
        )
    elif not barred:
        explanation = Text(
            f"Chương trình sinh hoạt {where.vi} được chấp nhận: không mục nào trong {len(item_types)} mục "
            "thuộc loại nội dung chỉ được xem xét khi sinh hoạt trực tiếp (R-CONTENT-1).",
            f"Agenda accepted for a meeting held {where.en}: 0/{len(item_types)} items are of a type "
            "barred from online meetings (R-CONTENT-1).",
        )
    else:
        # People number agenda items from 1; details keep the 0-based index the API uses.
        listed_vi = "; ".join(f"mục {index + 1} ({ITEM_TYPE_TEXT[kind].vi})" for index, kind in barred)
        listed_en = "; ".join(f"item {index + 1} ({ITEM_TYPE_TEXT[kind].en})" for index, kind in barred)
        explanation = Text(
            f"Không được đưa vào buổi sinh hoạt {where.vi} {len(barred)}/{len(item_types)} mục: {listed_vi}. "
            "Các nội dung này chỉ được xem xét khi sinh hoạt trực tiếp (R-CONTENT-1).",
            f"{len(barred)}/{len(item_types)} items may not be on the agenda of a meeting held {where.en}: "
            f"{listed_en}. These are for in-person meetings only (R-CONTENT-1).",
        )
        if any(kind is ItemType.ELECTION for _, kind in barred):
            # Why an election cannot be held online at all: it needs a secret ballot, never offered online.
            explanation = Text(
                f"{explanation.vi} {ELECTION_SOURCE_TEXT.vi}", f"{explanation.en} {ELECTION_SOURCE_TEXT.en}"
            )
            details["sources"] = [ELECTION_SOURCE]
    return Decision(not barred, "R-CONTENT-1", rule_set.name, counts, explanation, details)


def vote_kind_allowed(mode: MeetingMode, vote_kind: VoteKind, rule_set: RuleSet) -> Decision:
    """R-CONTENT-1: admission and recognition votes are taken only in person."""
    barred = mode in rule_set.content_barred_modes and vote_kind in rule_set.content_barred_vote_kinds
    where, what = MODE_TEXT[mode], VOTE_KIND_TEXT[vote_kind]
    if barred:
        explanation = Text(
            f"Không được tiến hành {what.vi} trong buổi sinh hoạt {where.vi}; "
            "nội dung này chỉ được thực hiện khi sinh hoạt trực tiếp (R-CONTENT-1).",
            f"{what.en.capitalize()} may not be held in a meeting held {where.en}; "
            "it is for in-person meetings only (R-CONTENT-1).",
        )
    else:
        explanation = Text(
            f"Được tiến hành {what.vi} trong buổi sinh hoạt {where.vi} (R-CONTENT-1).",
            f"{what.en.capitalize()} may be held in a meeting held {where.en} (R-CONTENT-1).",
        )
    return Decision(not barred, "R-CONTENT-1", rule_set.name, {}, explanation, {"vote_kind": str(vote_kind)})
