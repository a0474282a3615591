"""Votes (biểu quyết): who may cast a ballot (R-VOTE-2) and whether a resolution passed (R-VOTE-1/3)."""

from __future__ import annotations

from meetings.decision import (
    Decision,
    Text,
    at_least,
    fraction_text,
    least_at_least,
    least_more_than,
    more_than,
)
from meetings.enums import Activity, Standing, VoteKind, VoteOutcome
from meetings.rulesets import RuleSet

# Activities that take an official member out of the meeting's voting base (R-BASE-2), so any
# ballot of theirs would count towards a base they are not part of.
_NO_BALLOT_ACTIVITY = {
    Activity.SUSPENDED: Text(
        "Đảng viên đang bị đình chỉ sinh hoạt đảng không được biểu quyết (R-BASE-2, R-VOTE-2).",
        "A member suspended from party activity may not vote (R-BASE-2, R-VOTE-2).",
    ),
    Activity.UNDER_PROSECUTION: Text(
        "Đảng viên đang bị khởi tố, truy tố hoặc tạm giam không được biểu quyết (R-BASE-2, R-VOTE-2).",
        "A member under prosecution, indictment or temporary detention may not vote (R-BASE-2, R-VOTE-2).",
    ),
    Activity.AWAY_TEMPORARILY: Text(
        "Đảng viên đang sinh hoạt tạm thời nơi khác không thuộc số được tính để biểu quyết ở đây, "
        "nên không được biểu quyết (R-BASE-2, R-VOTE-2).",
        "A member attending temporarily elsewhere is not in this meeting's voting base and may not vote "
        "(R-BASE-2, R-VOTE-2).",
    ),
}

# How each threshold is said when it is met and when it is missed.
_MORE_THAN = (Text("hơn", "more than"), Text("chưa hơn", "not more than"))
_AT_LEAST = (Text("ít nhất", "at least"), Text("chưa đạt", "less than"))


def ballot_allowed(
    standing: Standing, activity: Activity, present: bool, already_voted: bool, rule_set: RuleSet
) -> Decision:
    """R-VOTE-2: only official members of the voting base who are present vote, each once.

    `details["reason"]` names the refusal ("probationary", "suspended", "not_present", ...).
    """
    if standing is Standing.PROBATIONARY:
        return _ballot(
            False,
            "R-VOTE-2",
            "probationary",
            rule_set,
            Text(
                "Đảng viên dự bị được dự họp và phát biểu nhưng không biểu quyết; phiếu không được nhận "
                "(R-VOTE-2, R-BASE-4).",
                "A probationary member attends and speaks but does not vote; the ballot is refused "
                "(R-VOTE-2, R-BASE-4).",
            ),
        )
    if activity in _NO_BALLOT_ACTIVITY:
        return _ballot(False, "R-BASE-2", activity.value, rule_set, _NO_BALLOT_ACTIVITY[activity])
    if not present:
        return _ballot(
            False,
            "R-VOTE-2",
            "not_present",
            rule_set,
            Text(
                "Chỉ đảng viên chính thức có mặt mới được biểu quyết; đồng chí chưa được ghi nhận có mặt "
                "(R-VOTE-2).",
                "Only official members who are present vote; you are not recorded as present (R-VOTE-2).",
            ),
        )
    if already_voted:
        return _ballot(
            False,
            "R-VOTE-2",
            "already_voted",
            rule_set,
            Text(
                "Mỗi đảng viên chỉ biểu quyết một lần; phiếu thứ hai không được nhận (R-VOTE-2).",
                "Each member votes once; a second ballot is refused (R-VOTE-2).",
            ),
        )
    return _ballot(
        True,
        "R-VOTE-2",
        "allowed",
        rule_set,
        Text(
            "Đảng viên chính thức có mặt, chưa biểu quyết: được bỏ phiếu (R-VOTE-2).",
            "An official member who is present and has not voted yet: may vote (R-VOTE-2).",
        ),
    )


def vote_result(
    kind: VoteKind, for_: int, against: int, abstain: int, voting_base: int, rule_set: RuleSet
) -> Decision:
    """R-VOTE-1: more than half of the voting base in favour (not of those present);
    R-VOTE-3: at least two thirds of it for admission and recognition."""
    if min(for_, against, abstain, voting_base) < 0:
        raise ValueError("vote counts must not be negative")
    ballots = for_ + against + abstain
    if ballots > voting_base:
        raise ValueError(f"{ballots} ballots exceed the voting base of {voting_base}")
    if kind in rule_set.two_thirds_vote_kinds:
        rule, fraction, bounds, reaches = "R-VOTE-3", rule_set.two_thirds_fraction, _AT_LEAST, at_least
        needed = least_at_least(fraction, voting_base)
    else:
        rule, fraction, bounds, reaches = "R-VOTE-1", rule_set.vote_pass_fraction, _MORE_THAN, more_than
        needed = least_more_than(fraction, voting_base)
    passed = reaches(for_, fraction, voting_base)
    counts = {
        "for": for_,
        "against": against,
        "abstain": abstain,
        "voting_base": voting_base,
        "needed": needed,
    }
    explanation = _explain(passed, counts, rule, bounds, fraction_text(fraction))
    if not passed and reaches(for_, fraction, ballots):
        # The usual mistake is to count against those present; say why that is not enough.
        explanation = Text(
            explanation.vi + " Nếu tính trên số phiếu đã bỏ thì đạt, nhưng tỷ lệ phải tính trên số đảng viên "
            "được tính để biểu quyết, không phải trên số có mặt.",
            explanation.en + " Counted against the ballots cast it would pass, but the share is of the "
            "voting base, not of those present.",
        )
    outcome = (VoteOutcome.PASSED if passed else VoteOutcome.FAILED).value
    return Decision(outcome, rule, rule_set.name, counts, explanation, {"kind": str(kind)})


def _ballot(allowed: bool, rule: str, reason: str, rule_set: RuleSet, explanation: Text) -> Decision:
    return Decision(allowed, rule, rule_set.name, {}, explanation, {"reason": reason})


def _explain(
    passed: bool, counts: dict[str, int], rule: str, bounds: tuple[Text, Text], fraction: Text
) -> Text:
    bound, short = bounds
    share = f"{counts['for']}/{counts['voting_base']}"
    tally_vi = (
        f"{counts['for']} tán thành, {counts['against']} không tán thành, "
        f"{counts['abstain']} không biểu quyết"
    )
    tally_en = f"{counts['for']} for, {counts['against']} against, {counts['abstain']} abstaining"
    if passed:
        return Text(
            f"Thông qua: {share} đảng viên chính thức tán thành, {bound.vi} {fraction.vi} số đảng viên "
            f"được tính để biểu quyết ({tally_vi}) ({rule}).",
            f"Passed: {share} of the voting base voted for, {bound.en} {fraction.en} ({tally_en}) ({rule}).",
        )
    vi = (
        f"Không thông qua: {share} đảng viên chính thức tán thành, {short.vi} {fraction.vi} số đảng viên "
        f"được tính để biểu quyết; cần ít nhất {counts['needed']} ({tally_vi}) ({rule})."
    )
    en = (
        f"Failed: {share} of the voting base voted for, {short.en} {fraction.en}; at least "
        f"{counts['needed']} were needed ({tally_en}) ({rule})."
    )
    return Text(vi, en)
