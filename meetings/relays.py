"""Members who take part through another member (tham dự qua chuyển tiếp), R-ATT-4 (platform default).

A member at sea joins by VHF radio or a phone held by another member who is in the meeting; the chair
records it as a relay: a presence interval ``[start, end)`` of the member through the relayer.

- Attendance and the record (R-ATT-1, R-ATT-2): the relay's intervals are presence like a connection,
  joined to the member's own; the entry is marked relayed.
- Quorum (R-QUOR-1) and votes (R-VOTE-2): a relayed member counts only when the rule set says so
  (`relayed_count_for_quorum`, `relayed_may_vote`, both false by default): nobody found a document
  saying that a member heard through someone else's radio is present to decide. The quorum decision's
  counts say how many relayed official members were counted or left out.
- `check_relay` is the chair's input checked against the meeting (a typed refusal, or None).

Pure: every instant is passed in (aware datetimes).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from meetings import attendance as att
from meetings.decision import Text
from meetings.rulesets import RuleSet

RULE = "R-ATT-4"


class Channel(StrEnum):
    """How the relayed member is heard: a VHF radio (bộ đàm) or a phone (điện thoại)."""

    RADIO = "radio"
    PHONE = "phone"


CHANNEL_TEXT = {
    Channel.RADIO: Text("bộ đàm", "radio"),
    Channel.PHONE: Text("điện thoại", "phone"),
}


@dataclass(frozen=True)
class Relay:
    """One relay: `member_id` heard through `relayed_by` over `channel` during ``[start, end)``."""

    member_id: int
    relayed_by: int
    channel: Channel
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        for name in ("start", "end"):
            value: datetime = getattr(self, name)
            if value.tzinfo is None or value.utcoffset() is None:
                raise ValueError(f"{name} must be an aware datetime, got {value!r}")
        if not self.start < self.end:
            raise ValueError(f"a relay ends ({self.end}) before it starts ({self.start})")


def relay_intervals(relays: Iterable[Relay]) -> dict[int, list[att.Interval]]:
    """Each relayed member's relay intervals, sorted by start."""
    found: dict[int, list[att.Interval]] = {}
    for relay in sorted(relays, key=lambda r: r.start):
        found.setdefault(relay.member_id, []).append(att.Interval(relay.start, relay.end))
    return found


def relayed_at(relays: Iterable[Relay], at: datetime) -> frozenset[int]:
    """The members heard through a relay at the instant `at` (``start <= at < end``)."""
    return frozenset(r.member_id for r in relays if r.start <= at < r.end)


def relay_counts(
    own_officials: frozenset[int], relayed_officials: frozenset[int], rule_set: RuleSet
) -> dict[str, int]:
    """The quorum decision's R-ATT-4 counts: the official members of the voting base present through a
    relay only (not also connected or on site), counted or left out of the quorum, and how many official
    members may vote now (R-VOTE-2: those present themselves, plus the relayed when the set allows)."""
    relayed = relayed_officials - own_officials
    counted = len(relayed) if rule_set.relayed_count_for_quorum else 0
    return {
        "relayed_official": len(relayed),
        "relayed_counted": counted,
        "relayed_left_out": len(relayed) - counted,
        "officials_may_vote": len(own_officials) + (len(relayed) if rule_set.relayed_may_vote else 0),
    }


def relay_sentence(counts: Mapping[str, int], rule_set: RuleSet) -> Text | None:
    """What the quorum decision adds when official members are heard through a relay; None if none."""
    counted, left_out = counts["relayed_counted"], counts["relayed_left_out"]
    if not counted and not left_out:
        return None
    if counted:
        return Text(
            f" {counted} đảng viên chính thức tham dự qua chuyển tiếp được tính vào số có mặt theo bộ quy "
            f"tắc {rule_set.name} ({RULE}).",
            f" {counted} official member(s) taking part through a relay are counted as present under "
            f"{rule_set.name} ({RULE}).",
        )
    return Text(
        f" {left_out} đảng viên chính thức tham dự qua chuyển tiếp không được tính vào số có mặt để tính "
        f"đủ số và biểu quyết ({RULE}).",
        f" {left_out} official member(s) taking part through a relay are not counted for the quorum or "
        f"votes ({RULE}).",
    )


@dataclass(frozen=True)
class RelayRefusal:
    """Why a relay is refused: `reason` (also the error's details), the body `field` it concerns, and
    whether it is the meeting's state or record that refuses it (409) rather than the input (422)."""

    reason: str
    field: str
    text: Text
    conflict: bool = False


@dataclass(frozen=True)
class RelayContext:
    """What the check needs of the meeting: who was summoned, its actual span, the record so far."""

    summoned: frozenset[int]
    opened_at: datetime | None  # None: never opened (scheduled, or cancelled before it)
    closed_at: datetime | None
    now: datetime
    scheduled_end: datetime  # the planned end: a relay recorded while it runs may reach it
    minutes_adopted: bool
    relays: Sequence[Relay]  # the meeting's relays so far
    presence: Mapping[int, Sequence[att.Interval]]  # each member's own presence intervals


def _refuse(reason: str, field: str, vi: str, en: str, *, conflict: bool = False) -> RelayRefusal:
    return RelayRefusal(reason, field, Text(f"{vi} ({RULE}).", f"{en} ({RULE})."), conflict)


def latest_end(context: RelayContext) -> datetime:
    """The latest instant a relay may reach: the close; while the meeting is open, the later of now and
    its planned end (a relay recorded as it starts runs on; the close cuts what runs past it)."""
    if context.closed_at is not None:
        return context.closed_at
    return max(context.now, context.scheduled_end)


def check_relay(relay: Relay, context: RelayContext) -> RelayRefusal | None:
    """None when the chair may record `relay`; else the first refusal, the meeting's state first."""
    if context.opened_at is None:
        return _refuse(
            "meeting_not_opened",
            "member_id",
            "Chỉ ghi nhận tham dự qua chuyển tiếp cho buổi sinh hoạt đã khai mạc",
            "A relay can only be recorded for a meeting that has opened",
            conflict=True,
        )
    if context.minutes_adopted:
        return _refuse(
            "minutes_adopted",
            "member_id",
            "Biên bản đã được thông qua; không ghi nhận thêm việc tham dự qua chuyển tiếp",
            "The minutes are adopted; no relay can be added",
            conflict=True,
        )
    if relay.member_id not in context.summoned:
        return _refuse(
            "not_summoned",
            "member_id",
            "Đảng viên tham dự qua chuyển tiếp phải là đảng viên được triệu tập dự buổi sinh hoạt này",
            "The relayed member must be a member summoned to this meeting",
        )
    if relay.relayed_by not in context.summoned:
        return _refuse(
            "relayer_not_summoned",
            "relayed_by",
            "Người chuyển tiếp phải là đảng viên được triệu tập dự buổi sinh hoạt này",
            "The relaying member must be a member summoned to this meeting",
        )
    if relay.relayed_by == relay.member_id:
        return _refuse(
            "same_member",
            "relayed_by",
            "Người chuyển tiếp phải là một đảng viên khác với người tham dự qua chuyển tiếp",
            "The relaying member must be another member than the one relayed",
        )
    latest = latest_end(context)
    if relay.start < context.opened_at or relay.start > min(context.now, latest) or relay.end > latest:
        return _refuse(
            "outside_meeting",
            "from" if relay.start < context.opened_at or relay.start > context.now else "to",
            "Thời gian chuyển tiếp phải nằm trong thời gian buổi sinh hoạt diễn ra, bắt đầu từ lúc khai mạc "
            "và không muộn hơn hiện tại",
            "The relay must lie within the meeting as it ran: from the opening on, starting no later than "
            "now",
        )
    own = context.presence.get(relay.relayed_by, ())
    if not any(i.start < relay.end and (i.end is None or relay.start < i.end) for i in own):
        return _refuse(
            "relayer_absent",
            "relayed_by",
            "Người chuyển tiếp không có mặt (kết nối hoặc điểm danh tại chỗ) trong thời gian chuyển tiếp",
            "The relaying member was not present (connected or checked in) during the relay",
        )
    for other in context.relays:
        if other.member_id == relay.member_id and other.start < relay.end and relay.start < other.end:
            return _refuse(
                "relay_overlap",
                "from",
                "Đảng viên này đã được ghi nhận tham dự qua chuyển tiếp trong một khoảng thời gian trùng lặp",
                "This member already has a relay overlapping that time",
                conflict=True,
            )
    return None


def relayed_phrase(full_name: str, channel: str, relayed_by: str) -> Text:
    """How the minutes and the pages say it: "đ/c X tham dự qua bộ đàm, do đ/c Y chuyển tiếp"."""
    known = {c.value: text for c, text in CHANNEL_TEXT.items()}
    how = known.get(channel, Text(channel, channel))
    return Text(
        f"đ/c {full_name} tham dự qua {how.vi}, do đ/c {relayed_by} chuyển tiếp",
        f"{full_name} took part by {how.en}, relayed by {relayed_by}",
    )
