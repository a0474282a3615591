"""How a vote is taken (issue 30, R-VOTE-4): the mode a vote is opened in, and the counts a chair or a
counting committee enters for a vote that was not taken by electronic ballots.

- `electronic`: named ballots in the room, one per official member present (R-VOTE-2); the result
  comes from the ballots. The default of the API everywhere (in person, the chair records each
  member's ballot on site, as before issue 30).
- `show_of_hands`: the chair counts the hands and enters the counts. What the chair's form offers
  first in person (`suggested_mode`).
- `paper_ballot`: the counting committee (ban kiểm phiếu) counts the papers; its figures and its
  members' names are entered afterwards. Not in an online meeting: nobody there hands in a paper.

Whatever the mode, the result is decided by meetings.votes.vote_result against the voting base
(R-VOTE-1/3), exactly as for electronic ballots. A secret electronic ballot is never offered: there is
no such mode, and elections, which need a secret ballot (Quyết định 190-QĐ/TW, 2024), stay off online
meetings (R-CONTENT-1, meetings.content).
"""

from __future__ import annotations

from collections.abc import Sequence

from meetings.decision import Decision, Text
from meetings.enums import MeetingMode, VoteMode
from meetings.rulesets import RuleSet

MODE_TEXT = {
    VoteMode.SHOW_OF_HANDS: Text(
        "biểu quyết bằng giơ tay, chủ trì đếm", "show of hands, counted by the chair"
    ),
    VoteMode.ELECTRONIC: Text(
        "biểu quyết điện tử, ghi danh từng phiếu trong phòng họp", "named electronic ballots in the room"
    ),
    VoteMode.PAPER_BALLOT: Text(
        "bỏ phiếu bằng phiếu giấy, kết quả do ban kiểm phiếu báo cáo",
        "paper ballot, the result reported by the counting committee",
    ),
}

# Modes whose counts are entered by a person rather than taken from ballots in the room.
ENTERED_MODES = frozenset({VoteMode.SHOW_OF_HANDS, VoteMode.PAPER_BALLOT})

MAX_COUNTED_BY = 20  # names on a counting committee
MAX_NAME = 200


def default_mode(meeting_mode: MeetingMode) -> VoteMode:
    """The mode of a vote opened without one: electronic ballots, in every kind of meeting. In person the
    chair has always recorded each member's ballot on site (named, in the room), and a client written
    before issue 30 keeps casting ballots; the chair's form suggests `suggested_mode` instead."""
    del meeting_mode  # the same for every meeting, on purpose (see above)
    return VoteMode.ELECTRONIC


def suggested_mode(meeting_mode: MeetingMode) -> VoteMode:
    """What the chair's form offers first: what a secretary expects in the hall is a show of hands;
    online and hybrid, ballots in the room."""
    return VoteMode.SHOW_OF_HANDS if meeting_mode is MeetingMode.IN_PERSON else VoteMode.ELECTRONIC


def mode_allowed(meeting_mode: MeetingMode, vote_mode: VoteMode, rule_set: RuleSet) -> Decision:
    """R-VOTE-4: a vote is taken in a mode the meeting can actually hold; `details["reason"]`."""
    how = MODE_TEXT[vote_mode]
    if vote_mode is VoteMode.PAPER_BALLOT and meeting_mode is MeetingMode.ONLINE:
        return Decision(
            False,
            "R-VOTE-4",
            rule_set.name,
            {},
            Text(
                "Buổi sinh hoạt trực tuyến không thể bỏ phiếu bằng phiếu giấy; hãy biểu quyết điện tử "
                "hoặc giơ tay (R-VOTE-4).",
                "A meeting held online cannot take a paper ballot; use electronic ballots or a show of "
                "hands (R-VOTE-4).",
            ),
            {"reason": "paper_online", "mode": vote_mode.value},
        )
    return Decision(
        True,
        "R-VOTE-4",
        rule_set.name,
        {},
        Text(f"Hình thức biểu quyết: {how.vi} (R-VOTE-4).", f"How the vote is taken: {how.en} (R-VOTE-4)."),
        {"reason": "allowed", "mode": vote_mode.value},
    )


def check_counts(
    vote_mode: VoteMode,
    for_: int,
    against: int,
    abstain: int,
    officials_present: int,
    counted_by: Sequence[str],
    rule_set: RuleSet,
) -> Decision:
    """The counts entered for a show of hands or a paper ballot: refused (`outcome` False, the rule and
    `details["reason"]`, `details["field"]`) when they cannot be right; otherwise accepted, and
    meetings.votes.vote_result then decides the vote from them."""
    counts = {
        "for": for_,
        "against": against,
        "abstain": abstain,
        "officials_present": officials_present,
    }

    def refuse(rule: str, reason: str, field: str, vi: str, en: str) -> Decision:
        return Decision(
            False,
            rule,
            rule_set.name,
            counts,
            Text(f"{vi} ({rule}).", f"{en} ({rule})."),
            {"reason": reason, "field": field, "mode": vote_mode.value},
        )

    if vote_mode not in ENTERED_MODES:
        return refuse(
            "R-VOTE-4",
            "electronic",
            "mode",
            "Biểu quyết điện tử lấy kết quả từ phiếu của từng đảng viên trong phòng họp; không nhập số "
            "đếm bằng tay",
            "An electronic vote takes its result from each member's ballot in the room; counts are not "
            "entered by hand",
        )
    for field, value in (("for", for_), ("against", against), ("abstain", abstain)):
        if value < 0:
            return refuse(
                "R-VOTE-4",
                "negative",
                field,
                f"Số phiếu không được âm (đã nhập {value})",
                f"A count may not be negative ({value} entered)",
            )
    total = for_ + against + abstain
    if total > officials_present:
        return refuse(
            "R-VOTE-2",
            "exceeds_present",
            "for",
            f"Tổng số đã nhập là {total} ({for_} tán thành, {against} không tán thành, {abstain} không biểu "
            f"quyết), nhiều hơn {officials_present} đảng viên chính thức có mặt; chỉ đảng viên chính thức "
            "có mặt mới được biểu quyết, mỗi người một lần",
            f"The counts add up to {total} ({for_} for, {against} against, {abstain} abstaining), more than "
            f"the {officials_present} official members present; only official members present vote, each "
            "once",
        )
    names = [name.strip() for name in counted_by]
    if any(not name or len(name) > MAX_NAME for name in names) or len(names) > MAX_COUNTED_BY:
        return refuse(
            "R-VOTE-4",
            "counted_by_invalid",
            "counted_by",
            f"Mỗi thành viên ban kiểm phiếu cần có họ tên (không để trống, tối đa {MAX_NAME} ký tự, "
            f"tối đa {MAX_COUNTED_BY} người)",
            f"Each member of the counting committee needs a name (not blank, at most {MAX_NAME} "
            f"characters, at most {MAX_COUNTED_BY} people)",
        )
    if vote_mode is VoteMode.PAPER_BALLOT and not names:
        return refuse(
            "R-VOTE-4",
            "counted_by_missing",
            "counted_by",
            "Kết quả bỏ phiếu bằng phiếu giấy phải ghi họ tên các thành viên ban kiểm phiếu",
            "The result of a paper ballot must name the members of the counting committee",
        )
    how = MODE_TEXT[vote_mode]
    by_vi = f"; ban kiểm phiếu: {', '.join(names)}" if names else ""
    by_en = f"; counting committee: {', '.join(names)}" if names else ""
    return Decision(
        True,
        "R-VOTE-4",
        rule_set.name,
        counts,
        Text(
            f"Đã ghi kết quả {how.vi}: {for_} tán thành, {against} không tán thành, {abstain} không biểu "
            f"quyết trên {officials_present} đảng viên chính thức có mặt{by_vi} (R-VOTE-4).",
            f"Counts recorded ({how.en}): {for_} for, {against} against, {abstain} abstaining of the "
            f"{officials_present} official members present{by_en} (R-VOTE-4).",
        ),
        {"reason": "accepted", "mode": vote_mode.value, "counted_by": names},
    )
