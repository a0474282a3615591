"""The minutes' text in the order of the meeting (biên bản, R-MIN-1/3/4), shared by the DOCX and PDF.

Both documents are built from the same list of lines so that they say exactly the same thing in the
same order; the renderers only decide how a line looks. The input is the minutes JSON of
`GET /api/v1/meetings/{id}/minutes` (docs/api.md "Minutes"). The fixed words and the kinds of line
are in minutes_wording, the phrasing of times, people, votes and groups in minutes_phrases.

The text is a Party document (R-MIN-1/3/4), written for its readers:
- the reasons the chair gave for opening the meeting or a vote without a quorum are printed;
- an agenda item nobody wrote anything under keeps its title (and its speakers and votes) but no
  empty "Nội dung:" line once the minutes are adopted, and empty conclusions read "Không có."; a
  draft still marks them "(chưa ghi)" so the minute-taker sees what is missing;
- times are the unit's local time, and the document says once which zone that is (the addenda,
  written later, name it with their time).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from meetings.relays import relayed_phrase
from server.exports.minutes_phrases import (
    breakout_lines,
    field_lines,
    int_of,
    item_lines,
    long_time,
    maps_of,
    members_phrase,
    paragraphs,
    person,
    short_time,
    speech_length,
    text_of,
    vote_lines,
    zone_name,
    zone_of,
)
from server.exports.minutes_wording import (
    ADDENDA_HEADING,
    CHAIR_ROLES,
    DRAFT_MARK,
    GROUP_CHAIR_ROLES,
    GROUP_TITLE,
    HASH_LABEL,
    HEADING_ADOPTION,
    HEADING_CONCLUSIONS,
    HEADING_CONTENT,
    HEADING_FACTS,
    MINUTE_TAKER_ROLE,
    NONE_TEXT,
    NOT_WRITTEN,
    OVERRIDE_LABEL,
    PARTY,
    TITLE,
    Addendum,
    Line,
    MinutesText,
    Signature,
)

__all__ = ["ADDENDA_HEADING", "DRAFT_MARK", "NOT_WRITTEN", "PARTY", "Line", "MinutesText", "build"]


def build(minutes: Mapping[str, Any]) -> MinutesText:
    """Everything the document says, in the order of the meeting (R-MIN-1/4)."""
    document = minutes.get("document") if isinstance(minutes.get("document"), Mapping) else {}
    fields = minutes.get("fields") if isinstance(minutes.get("fields"), Mapping) else {}
    assert isinstance(document, Mapping) and isinstance(fields, Mapping)
    unit = document.get("unit") if isinstance(document.get("unit"), Mapping) else {}
    assert isinstance(unit, Mapping)
    zone = zone_of(document.get("timezone"))
    status = text_of(minutes.get("status")) or "draft"
    draft = status == "draft"
    of_group = document.get("kind") == "group"
    title = GROUP_TITLE if of_group else TITLE

    text = MinutesText(
        parent_name=text_of(unit.get("parent_name")).upper(),
        unit_name=text_of(unit.get("name")).upper(),
        number=text_of(document.get("number")),
        date_line=text_of(document.get("date_line")),
        title=f"{title} ({DRAFT_MARK})" if draft else title,
        meeting_title=text_of(document.get("title")),
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
    body.append(Line((text_of(document.get("place")) or NOT_WRITTEN) + ".", "text", "Địa điểm: "))
    body.append(Line(person(document.get("chair")) + ".", "text", "Chủ trì: "))
    body.append(Line(person(document.get("minute_taker")) + ".", "text", "Thư ký: "))
    totals = document.get("totals") if isinstance(document.get("totals"), Mapping) else {}
    present = document.get("present") if isinstance(document.get("present"), Mapping) else {}
    assert isinstance(totals, Mapping) and isinstance(present, Mapping)
    body.append(
        Line(
            members_phrase(
                int_of(totals.get("members")),
                int_of(totals.get("official")),
                int_of(totals.get("probationary")),
            )
            + ".",
            "text",
            "Tổng số đảng viên của tổ đảng: " if of_group else "Tổng số đảng viên của chi bộ: ",
        )
    )
    names = [name for name in present.get("names") or [] if isinstance(name, str)]
    present_phrase = members_phrase(
        int_of(present.get("total")), int_of(present.get("official")), int_of(present.get("probationary"))
    )
    body.append(
        Line(
            f"{present_phrase}, gồm các đồng chí: {', '.join(names)}." if names else f"{present_phrase}.",
            "text",
            "Có mặt: ",
        )
    )
    relayed = maps_of(document.get("relayed"))
    if relayed:  # R-ATT-4: who took part by radio or phone, relayed by whom
        listed = "; ".join(
            relayed_phrase(
                text_of(r.get("full_name")), text_of(r.get("channel")), text_of(r.get("relayed_by"))
            ).vi
            for r in relayed
        )
        body.append(Line(f"{listed}.", "text", "Tham dự qua chuyển tiếp: "))
    excused = maps_of(document.get("absent_excused"))
    if excused:
        listed = "; ".join(
            f"{text_of(a.get('full_name'))} (lý do: {text_of(a.get('reason')) or NOT_WRITTEN})"
            for a in excused
        )
        body.append(Line(f"{len(excused)} đồng chí: {listed}.", "text", "Vắng có lý do: "))
    else:
        body.append(Line(f"{NONE_TEXT}.", "text", "Vắng có lý do: "))
    unexcused = maps_of(document.get("absent_unexcused"))
    if unexcused:
        listed = ", ".join(text_of(a.get("full_name")) for a in unexcused)
        body.append(Line(f"{len(unexcused)} đồng chí: {listed}.", "text", "Vắng không có lý do: "))
    else:
        body.append(Line(f"{NONE_TEXT}.", "text", "Vắng không có lý do: "))
    guests = paragraphs(fields.get("guests"))
    body.append(Line("; ".join(guests) + "." if guests else f"{NONE_TEXT}.", "text", "Khách mời: "))
    override = text_of(document.get("quorum_override_reason"))
    if override:
        body.append(Line(override, "text", OVERRIDE_LABEL))

    body.append(Line(HEADING_CONTENT, "heading"))
    body.append(Line("Khai mạc", "item"))
    body.extend(item_lines(fields, "opening", draft))
    votes = maps_of(document.get("votes"))
    adoption_votes = [v for v in votes if v.get("kind") == "minutes_adoption"]
    other_votes = [v for v in votes if v.get("kind") != "minutes_adoption"]
    agenda = maps_of(document.get("agenda"))
    indexes = set()
    for position, item in enumerate(agenda):
        index = int_of(item.get("index")) if "index" in item else position
        indexes.add(index)
        body.append(Line(f"{index + 1}. {text_of(item.get('title'))}", "item"))
        speakers = maps_of(item.get("speakers"))
        if speakers:
            body.append(Line("", "label", "Các ý kiến phát biểu (theo thứ tự):"))
            for speaker in speakers:
                length = speech_length(int_of(speaker.get("seconds")))
                suffix = f" ({length})" if length else ""
                body.append(Line(f"Đồng chí {text_of(speaker.get('full_name'))}{suffix}.", "bullet"))
        else:
            body.append(Line(f"{NONE_TEXT}.", "label", "Ý kiến phát biểu: "))
        written = item_lines(fields, f"item:{index}", draft)
        if written:
            body.append(Line("", "label", "Nội dung:"))
            body.extend(written)
        for group in maps_of(item.get("breakouts")):
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
    body.extend(field_lines(fields, "conclusions", draft))

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
        text_of(s.get("role")): short_time(s.get("signed_at"), zone)
        for s in maps_of(minutes.get("signatures"))
    }

    def stamp(role: str) -> str:
        return f"(Đã ký số lúc {signed[role]})" if signed.get(role) else ""

    def name(key: str) -> str:
        who = document.get(key)
        return text_of(who.get("full_name")) if isinstance(who, Mapping) else ""

    text.signatures = [
        Signature((MINUTE_TAKER_ROLE,), name("minute_taker"), stamp("minute_taker")),
        Signature(GROUP_CHAIR_ROLES if of_group else CHAIR_ROLES, name("chair"), stamp("chair")),
    ]
    for number, addendum in enumerate(maps_of(minutes.get("addenda")), start=1):
        when = long_time(addendum.get("created_at"), zone)
        if when and zone is not None:
            when = f"{when} (giờ {zone_name(zone, addendum.get('created_at'), between=', ', after='')})"
        text.addenda.append(
            Addendum(
                heading=f"Đính chính số {number}: đồng chí {text_of(addendum.get('full_name'))}, lúc {when}",
                text=paragraphs(addendum.get("text")) or [NOT_WRITTEN],
                hash_line=f"{HASH_LABEL}: {text_of(addendum.get('hash'))}",
            )
        )
    if status == "locked" and text_of(minutes.get("hash")):
        text.hash_line = f"{HASH_LABEL}: {text_of(minutes.get('hash'))}"
    return text
