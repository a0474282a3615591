"""The wording and order of the minutes (biên bản, R-MIN-1/3/4), shared by the DOCX and PDF renderers.

Both documents are built from the same list of lines so that they say exactly the same thing in the
same order; the renderers only decide how a line looks. The input is the minutes JSON of
`GET /api/v1/meetings/{id}/minutes` (docs/api.md "Minutes").

The text is a Party document (R-MIN-1/3/4), written for its readers:
- the reasons the chair gave for opening the meeting or a vote without a quorum are printed;
- an agenda item nobody wrote anything under keeps its title (and its speakers and votes) but no
  empty "Nội dung:" line once the minutes are adopted, and empty conclusions read "Không có."; a
  draft still marks them "(chưa ghi)" so the minute-taker sees what is missing;
- times are the unit's local time, and the document says once which zone that is (the addenda,
  written later, name it with their time).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PARTY = "ĐẢNG CỘNG SẢN VIỆT NAM"
TITLE = "BIÊN BẢN"
DRAFT_MARK = "DỰ THẢO"
DRAFT_TITLE = f"{TITLE} ({DRAFT_MARK})"
# A party group's short minutes (R-GROUP-4): titled as such, signed for the group.
GROUP_TITLE = "BIÊN BẢN SINH HOẠT TỔ ĐẢNG"
GROUP_CHAIR_ROLES = ("T/M TỔ ĐẢNG", "CHỦ TRÌ")
ADDENDA_HEADING = "PHỤ LỤC ĐÍNH CHÍNH"
MINUTE_TAKER_ROLE = "THƯ KÝ"
CHAIR_ROLES = ("T/M CHI BỘ", "CHỦ TRÌ")
HASH_LABEL = "Mã băm SHA-256"

HEADING_FACTS = "I. THỜI GIAN, ĐỊA ĐIỂM, THÀNH PHẦN"
HEADING_CONTENT = "II. NỘI DUNG HỘI NGHỊ"
HEADING_CONCLUSIONS = "III. KẾT LUẬN CỦA CHỦ TRÌ"
HEADING_ADOPTION = "IV. THÔNG QUA BIÊN BẢN"

METHODS = {"open": "biểu quyết công khai", "secret": "bỏ phiếu kín"}
OUTCOMES = {"passed": "Thông qua", "failed": "Không thông qua"}
NONE_TEXT = "không có"
NOT_WRITTEN = "(chưa ghi)"
OVERRIDE_LABEL = "Lý do tiến hành khi chưa đủ số đảng viên theo quy định: "
VOTE_OVERRIDE_LABEL = "Lý do biểu quyết khi chưa đủ số đảng viên theo quy định: "

Style = Literal["heading", "item", "text", "bullet", "label"]


@dataclass(frozen=True)
class Line:
    """One paragraph of the body; `label` is printed bold before `text` (e.g. "Chủ trì: ")."""

    text: str
    style: Style = "text"
    label: str = ""


@dataclass(frozen=True)
class Signature:
    roles: tuple[str, ...]
    full_name: str
    signed: str  # "(Đã ký số lúc ...)" or ""


@dataclass(frozen=True)
class Addendum:
    heading: str
    text: list[str]
    hash_line: str


@dataclass
class MinutesText:
    parent_name: str
    unit_name: str
    number: str
    date_line: str
    title: str
    meeting_title: str
    draft: bool
    body: list[Line] = field(default_factory=list)
    signatures: list[Signature] = field(default_factory=list)
    addenda: list[Addendum] = field(default_factory=list)
    hash_line: str = ""


def _zone(name: object) -> ZoneInfo | None:
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


def _str(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _maps(value: object) -> list[Mapping[str, Any]]:
    if not isinstance(value, Sequence) or isinstance(value, str):
        return []
    return [item for item in value if isinstance(item, Mapping)]


def person(value: object) -> str:
    """ "đồng chí Trần Văn An, Bí thư Chi bộ"."""
    if not isinstance(value, Mapping):
        return NOT_WRITTEN
    name, position = _str(value.get("full_name")), _str(value.get("position"))
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
    method = _str(vote.get("method")) or "open"
    outcome = _str(vote.get("outcome"))
    rule = _str(vote.get("rule"))
    lines = [
        Line(_str(vote.get("question")) or NOT_WRITTEN, "bullet", "Biểu quyết: "),
        Line(METHODS.get(method, method) + ".", "bullet", "Hình thức: "),
    ]
    override = _str(vote.get("override_reason"))
    if override:
        lines.append(Line(override, "bullet", VOTE_OVERRIDE_LABEL))
    lines += [
        Line(
            f"{_int(counts.get('for'))} tán thành, {_int(counts.get('against'))} không tán thành, "
            f"{_int(counts.get('abstain'))} không biểu quyết; "
            f"số đảng viên có quyền biểu quyết: {_int(counts.get('voting_base'))}; "
            f"số tán thành cần có: {_int(counts.get('needed'))}.",
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
    reserved = _maps(vote.get("reserved_opinions"))
    if reserved:
        lines.append(Line("", "bullet", "Ý kiến bảo lưu:"))
        for opinion in reserved:
            lines.append(Line(f"Đồng chí {_str(opinion.get('full_name'))}: {_str(opinion.get('opinion'))}"))
    else:
        lines.append(Line(f"{NONE_TEXT}.", "bullet", "Ý kiến bảo lưu: "))
    return lines


def breakout_lines(group: Mapping[str, Any], draft: bool = True) -> list[Line]:
    """A discussion group of a split during the item: who was in it and what its notes say (an adopted
    record prints no placeholder for notes nobody wrote)."""
    name = _str(group.get("group"))
    members = ", ".join(member for member in group.get("members") or [] if isinstance(member, str))
    lines = [Line(f"{name} ({members})." if members else f"{name}.", "label", "Thảo luận tổ: ")]
    texts = paragraphs(group.get("notes")) or ([NOT_WRITTEN] if draft else [])
    lines.extend(Line(text, "bullet") for text in texts)
    return lines


def _field_lines(fields: Mapping[str, Any], name: str, draft: bool = True) -> list[Line]:
    """A section's text; left empty it is "(chưa ghi)" in a draft and "Không có." once adopted."""
    texts = paragraphs(fields.get(name))
    if texts:
        return [Line(text) for text in texts]
    return [Line(NOT_WRITTEN if draft else f"{NONE_TEXT.capitalize()}.")]


def _item_lines(fields: Mapping[str, Any], name: str, draft: bool) -> list[Line]:
    """What was written under an agenda item (or the opening): in an adopted record an empty one prints
    nothing, not an empty "Nội dung:"; a draft marks it for the minute-taker."""
    texts = paragraphs(fields.get(name))
    if texts:
        return [Line(text) for text in texts]
    return [Line(NOT_WRITTEN)] if draft else []


def build(minutes: Mapping[str, Any]) -> MinutesText:
    """Everything the document says, in the order of the meeting (R-MIN-1/4)."""
    document = minutes.get("document") if isinstance(minutes.get("document"), Mapping) else {}
    fields = minutes.get("fields") if isinstance(minutes.get("fields"), Mapping) else {}
    assert isinstance(document, Mapping) and isinstance(fields, Mapping)
    unit = document.get("unit") if isinstance(document.get("unit"), Mapping) else {}
    assert isinstance(unit, Mapping)
    zone = _zone(document.get("timezone"))
    status = _str(minutes.get("status")) or "draft"
    draft = status == "draft"
    of_group = document.get("kind") == "group"
    title = GROUP_TITLE if of_group else TITLE

    text = MinutesText(
        parent_name=_str(unit.get("parent_name")).upper(),
        unit_name=_str(unit.get("name")).upper(),
        number=_str(document.get("number")),
        date_line=_str(document.get("date_line")),
        title=f"{title} ({DRAFT_MARK})" if draft else title,
        meeting_title=_str(document.get("title")),
        draft=draft,
    )
    body = text.body
    started = long_time(document.get("opened_at") or document.get("starts_at"), zone)
    ended = long_time(document.get("closed_at"), zone)

    body.append(Line(HEADING_FACTS, "heading"))
    body.append(
        Line(
            f"bắt đầu lúc {started or NOT_WRITTEN}; kết thúc lúc {ended or NOT_WRITTEN}.",
            "text",
            "Thời gian: ",
        )
    )
    body.append(Line((_str(document.get("place")) or NOT_WRITTEN) + ".", "text", "Địa điểm: "))
    body.append(Line(person(document.get("chair")) + ".", "text", "Chủ trì: "))
    body.append(Line(person(document.get("minute_taker")) + ".", "text", "Thư ký: "))
    totals = document.get("totals") if isinstance(document.get("totals"), Mapping) else {}
    present = document.get("present") if isinstance(document.get("present"), Mapping) else {}
    assert isinstance(totals, Mapping) and isinstance(present, Mapping)
    body.append(
        Line(
            members_phrase(
                _int(totals.get("members")), _int(totals.get("official")), _int(totals.get("probationary"))
            )
            + ".",
            "text",
            "Tổng số đảng viên của tổ đảng: " if of_group else "Tổng số đảng viên của chi bộ: ",
        )
    )
    names = [name for name in present.get("names") or [] if isinstance(name, str)]
    present_phrase = members_phrase(
        _int(present.get("total")), _int(present.get("official")), _int(present.get("probationary"))
    )
    body.append(
        Line(
            f"{present_phrase}, gồm các đồng chí: {', '.join(names)}." if names else f"{present_phrase}.",
            "text",
            "Có mặt: ",
        )
    )
    excused = _maps(document.get("absent_excused"))
    if excused:
        listed = "; ".join(
            f"{_str(a.get('full_name'))} (lý do: {_str(a.get('reason')) or NOT_WRITTEN})" for a in excused
        )
        body.append(Line(f"{len(excused)} đồng chí: {listed}.", "text", "Vắng có lý do: "))
    else:
        body.append(Line(f"{NONE_TEXT}.", "text", "Vắng có lý do: "))
    unexcused = _maps(document.get("absent_unexcused"))
    if unexcused:
        listed = ", ".join(_str(a.get("full_name")) for a in unexcused)
        body.append(Line(f"{len(unexcused)} đồng chí: {listed}.", "text", "Vắng không có lý do: "))
    else:
        body.append(Line(f"{NONE_TEXT}.", "text", "Vắng không có lý do: "))
    guests = paragraphs(fields.get("guests"))
    body.append(Line("; ".join(guests) + "." if guests else f"{NONE_TEXT}.", "text", "Khách mời: "))
    override = _str(document.get("quorum_override_reason"))
    if override:
        body.append(Line(override, "text", OVERRIDE_LABEL))

    body.append(Line(HEADING_CONTENT, "heading"))
    body.append(Line("Khai mạc", "item"))
    body.extend(_item_lines(fields, "opening", draft))
    votes = _maps(document.get("votes"))
    adoption_votes = [v for v in votes if v.get("kind") == "minutes_adoption"]
    other_votes = [v for v in votes if v.get("kind") != "minutes_adoption"]
    agenda = _maps(document.get("agenda"))
    indexes = set()
    for position, item in enumerate(agenda):
        index = _int(item.get("index")) if "index" in item else position
        indexes.add(index)
        body.append(Line(f"{index + 1}. {_str(item.get('title'))}", "item"))
        speakers = _maps(item.get("speakers"))
        if speakers:
            body.append(Line("", "label", "Các ý kiến phát biểu (theo thứ tự):"))
            for speaker in speakers:
                length = speech_length(_int(speaker.get("seconds")))
                suffix = f" ({length})" if length else ""
                body.append(Line(f"Đồng chí {_str(speaker.get('full_name'))}{suffix}.", "bullet"))
        else:
            body.append(Line(f"{NONE_TEXT}.", "label", "Ý kiến phát biểu: "))
        written = _item_lines(fields, f"item:{index}", draft)
        if written:
            body.append(Line("", "label", "Nội dung:"))
            body.extend(written)
        for group in _maps(item.get("breakouts")):
            body.extend(breakout_lines(group, draft))
        for vote in other_votes:
            if vote.get("agenda_item_index") == index:
                body.extend(vote_lines(vote))
    loose = [v for v in other_votes if v.get("agenda_item_index") not in indexes]
    if loose:
        body.append(Line("Biểu quyết khác", "item"))
        for vote in loose:
            body.extend(vote_lines(vote))

    body.append(Line(HEADING_CONCLUSIONS, "heading"))
    body.extend(_field_lines(fields, "conclusions", draft))

    body.append(Line(HEADING_ADOPTION, "heading"))
    for vote in adoption_votes:
        body.extend(vote_lines(vote))
    adoption = minutes.get("adoption") if isinstance(minutes.get("adoption"), Mapping) else None
    if draft:
        body.append(Line("Biên bản này là bản dự thảo, chưa được hội nghị thông qua."))
    else:
        adopted_at = long_time(adoption.get("adopted_at"), zone) if adoption else ""
        body.append(
            Line(
                "Biên bản đã được đọc lại trước hội nghị và được hội nghị thông qua"
                + (f" lúc {adopted_at}." if adopted_at else ".")
            )
        )
    body.append(Line(f"Hội nghị kết thúc lúc {ended}." if ended else "Hội nghị chưa kết thúc."))
    local = zone_name(zone, document.get("opened_at") or document.get("starts_at"))
    if local:
        body.append(Line(f"Các thời điểm ghi trong biên bản này theo giờ {local}."))

    signed = {
        _str(s.get("role")): short_time(s.get("signed_at"), zone) for s in _maps(minutes.get("signatures"))
    }

    def stamp(role: str) -> str:
        return f"(Đã ký số lúc {signed[role]})" if signed.get(role) else ""

    def name(key: str) -> str:
        who = document.get(key)
        return _str(who.get("full_name")) if isinstance(who, Mapping) else ""

    text.signatures = [
        Signature((MINUTE_TAKER_ROLE,), name("minute_taker"), stamp("minute_taker")),
        Signature(GROUP_CHAIR_ROLES if of_group else CHAIR_ROLES, name("chair"), stamp("chair")),
    ]
    for number, addendum in enumerate(_maps(minutes.get("addenda")), start=1):
        when = long_time(addendum.get("created_at"), zone)
        if when and zone is not None:
            when = f"{when} (giờ {zone_name(zone, addendum.get('created_at'), between=', ', after='')})"
        text.addenda.append(
            Addendum(
                heading=f"Đính chính số {number}: đồng chí {_str(addendum.get('full_name'))}, lúc {when}",
                text=paragraphs(addendum.get("text")) or [NOT_WRITTEN],
                hash_line=f"{HASH_LABEL}: {_str(addendum.get('hash'))}",
            )
        )
    if status == "locked" and _str(minutes.get("hash")):
        text.hash_line = f"{HASH_LABEL}: {_str(minutes.get('hash'))}"
    return text
