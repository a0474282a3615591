"""How the minutes phrase what the minutes JSON holds: local times, people, votes, groups and texts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from server.exports.minutes_wording import (
    COUNTED_BY_LABEL,
    METHODS,
    NONE_TEXT,
    NOT_WRITTEN,
    OUTCOMES,
    VOTE_MODE_LABEL,
    VOTE_OVERRIDE_LABEL,
    Line,
)


def zone_of(name: object) -> ZoneInfo | None:
    if not isinstance(name, str) or not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _parse(value: object, zone: ZoneInfo | None) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if zone is not None and moment.tzinfo is not None:
        moment = moment.astimezone(zone)
    return moment


def long_time(value: object, zone: ZoneInfo | None = None) -> str:
    """ "19 giờ 30 phút, ngày 15/11/2026" (the document's local time); "" when unknown."""
    moment = _parse(value, zone)
    return moment.strftime("%H giờ %M phút, ngày %d/%m/%Y") if moment else ""


def utc_offset(offset: timedelta | None) -> str:
    """ "GMT+7", "GMT+5:30", "GMT-3", "GMT" for a zone's offset from UTC."""
    if offset is None:
        return ""
    minutes = round(offset.total_seconds() / 60)
    if minutes == 0:
        return "GMT"
    sign = "+" if minutes > 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"GMT{sign}{hours}:{rest:02d}" if rest else f"GMT{sign}{hours}"


def zone_name(zone: ZoneInfo | None, at: object = None, *, between: str = " (", after: str = ")") -> str:
    """ "Asia/Ho_Chi_Minh (GMT+7)": the zone and its offset at `at` (an ISO time; now when unknown)."""
    if zone is None:
        return ""
    moment = _parse(at, zone) or datetime.now(zone)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return f"{zone.key}{between}{utc_offset(moment.astimezone(zone).utcoffset())}{after}"


def short_time(value: object, zone: ZoneInfo | None = None) -> str:
    """ "21:12 15/11/2026", as in a signature stamp."""
    moment = _parse(value, zone)
    return moment.strftime("%H:%M %d/%m/%Y") if moment else ""


def paragraphs(text: object) -> list[str]:
    """A written field as paragraphs: one per non-empty line."""
    if not isinstance(text, str):
        return []
    return [line.strip() for line in text.replace("\r\n", "\n").split("\n") if line.strip()]


def text_of(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def int_of(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def maps_of(value: object) -> list[Mapping[str, Any]]:
    if not isinstance(value, Sequence) or isinstance(value, str):
        return []
    return [item for item in value if isinstance(item, Mapping)]


def person(value: object) -> str:
    """ "đồng chí Trần Văn An, Bí thư Chi bộ"."""
    if not isinstance(value, Mapping):
        return NOT_WRITTEN
    name, position = text_of(value.get("full_name")), text_of(value.get("position"))
    if not name:
        return NOT_WRITTEN
    return f"đồng chí {name}, {position}" if position else f"đồng chí {name}"


def members_phrase(total: int, official: int, probationary: int) -> str:
    """ "7 đồng chí (6 đảng viên chính thức, 1 đảng viên dự bị)"."""
    return f"{total} đồng chí ({official} đảng viên chính thức, {probationary} đảng viên dự bị)"


def speech_length(seconds: int) -> str:
    if seconds <= 0:
        return ""
    if seconds < 60:
        return "dưới 1 phút"
    return f"{round(seconds / 60)} phút"


def vote_lines(vote: Mapping[str, Any]) -> list[Line]:
    """A vote as the minutes record it (R-VOTE-4): question, method, counts, base, outcome, reservations."""
    counts = vote.get("counts") if isinstance(vote.get("counts"), Mapping) else {}
    assert isinstance(counts, Mapping)
    method = text_of(vote.get("method")) or "open"
    outcome = text_of(vote.get("outcome"))
    rule = text_of(vote.get("rule"))
    lines = [
        Line(text_of(vote.get("question")) or NOT_WRITTEN, "bullet", "Biểu quyết: "),
        Line(METHODS.get(method, method) + ".", "bullet", "Hình thức: "),
    ]
    # How the vote was taken (issue 30); a document frozen before then has no mode and reads as it did.
    mode_text = text_of(vote.get("mode_text"))
    if mode_text:
        lines.append(Line(mode_text + ".", "bullet", VOTE_MODE_LABEL))
    names = vote.get("counted_by")
    counted_by = [text_of(name) for name in names if text_of(name)] if isinstance(names, list) else []
    if counted_by:
        lines.append(Line(", ".join(counted_by) + ".", "bullet", COUNTED_BY_LABEL))
    override = text_of(vote.get("override_reason"))
    if override:
        lines.append(Line(override, "bullet", VOTE_OVERRIDE_LABEL))
    lines += [
        Line(
            f"{int_of(counts.get('for'))} tán thành, {int_of(counts.get('against'))} không tán thành, "
            f"{int_of(counts.get('abstain'))} không biểu quyết; "
            f"số đảng viên có quyền biểu quyết: {int_of(counts.get('voting_base'))}; "
            f"số tán thành cần có: {int_of(counts.get('needed'))}.",
            "bullet",
            "Số phiếu: ",
        ),
    ]
    if outcome:
        verdict = OUTCOMES.get(outcome, outcome)
        lines.append(
            Line(f"{verdict} (quy tắc {rule})." if rule else f"{verdict}.", "bullet", "Kết quả biểu quyết: ")
        )
    else:
        lines.append(Line("chưa có kết quả.", "bullet", "Kết quả biểu quyết: "))
    reserved = maps_of(vote.get("reserved_opinions"))
    if reserved:
        lines.append(Line("", "bullet", "Ý kiến bảo lưu:"))
        for opinion in reserved:
            lines.append(
                Line(f"Đồng chí {text_of(opinion.get('full_name'))}: {text_of(opinion.get('opinion'))}")
            )
    else:
        lines.append(Line(f"{NONE_TEXT}.", "bullet", "Ý kiến bảo lưu: "))
    return lines


def breakout_lines(group: Mapping[str, Any], draft: bool = True) -> list[Line]:
    """A discussion group of a split during the item: who was in it and what its notes say (an adopted
    record prints no placeholder for notes nobody wrote)."""
    name = text_of(group.get("group"))
    members = ", ".join(member for member in group.get("members") or [] if isinstance(member, str))
    lines = [Line(f"{name} ({members})." if members else f"{name}.", "label", "Thảo luận tổ: ")]
    texts = paragraphs(group.get("notes")) or ([NOT_WRITTEN] if draft else [])
    lines.extend(Line(text, "bullet") for text in texts)
    return lines


def field_lines(fields: Mapping[str, Any], name: str, draft: bool = True) -> list[Line]:
    """A section's text; left empty it is "(chưa ghi)" in a draft and "Không có." once adopted."""
    texts = paragraphs(fields.get(name))
    if texts:
        return [Line(text) for text in texts]
    return [Line(NOT_WRITTEN if draft else f"{NONE_TEXT.capitalize()}.")]


def item_lines(fields: Mapping[str, Any], name: str, draft: bool) -> list[Line]:
    """What was written under an agenda item (or the opening): in an adopted record an empty one prints
    nothing, not an empty "Nội dung:"; a draft marks it for the minute-taker."""
    texts = paragraphs(fields.get(name))
    if texts:
        return [Line(text) for text in texts]
    return [Line(NOT_WRITTEN)] if draft else []
