"""Whether a unit may pilot online meetings (thí điểm sinh hoạt trực tuyến) or party-group meetings."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from meetings.decision import Decision, Text, count_en, fraction_text, least_more_than, more_than
from meetings.enums import Activity, OrgKind, Standing
from meetings.register import MemberFacts, active_register
from meetings.rulesets import RuleSet

ORG_KIND_TEXT = {
    OrgKind.PROVINCE: Text("tỉnh ủy, thành ủy", "a provincial or city committee"),
    OrgKind.COMMITTEE: Text("đảng bộ cấp trên cơ sở", "a committee above the grassroots"),
    OrgKind.GRASSROOTS: Text("đảng bộ cơ sở", "a grassroots party committee"),
    OrgKind.CELL: Text("chi bộ", "a party cell"),
    OrgKind.GROUP: Text("tổ đảng", "a party group"),
}


def unit_eligibility(kind: OrgKind, register: Sequence[MemberFacts], rule_set: RuleSet) -> Decision:
    """R-ELIG-1 (kind of unit) then R-ELIG-2 (more than half cannot meet in person).

    For a grassroots committee `register` is every member of its subtree; for a cell, its own
    members, party groups included.
    """
    counted = _counted_register(register, rule_set)
    unable = [member for member in counted if member.remote_reason in rule_set.remote_reasons]
    fraction = rule_set.eligibility_fraction
    counts = {
        "register": len(counted),
        "cannot_meet_in_person": len(unable),
        "needed": least_more_than(fraction, len(counted)),
        "exempt": _count_activity(register, Activity.EXEMPT),
        "suspended": _count_activity(register, Activity.SUSPENDED),
        "probationary_not_counted": len(active_register(register)) - len(counted),
    }
    by_reason = Counter(str(member.remote_reason) for member in unable)
    details = {
        "by_reason": dict(sorted(by_reason.items())),
        "cannot_meet_in_person_ids": sorted(member.member_id for member in unable),
    }
    if kind not in rule_set.eligible_org_kinds:
        return Decision(
            False, "R-ELIG-1", rule_set.name, counts, _explain_kind(kind, counts, rule_set), details
        )
    qualifies = more_than(len(unable), fraction, len(counted))
    exactly = len(counted) > 0 and len(unable) == fraction * len(counted)
    explanation = _explain_share(qualifies, exactly, counts, fraction_text(fraction))
    return Decision(qualifies, "R-ELIG-2", rule_set.name, counts, explanation, details)


def group_eligibility(
    kind: OrgKind, register: Sequence[MemberFacts], group_count: int, rule_set: RuleSet
) -> Decision:
    """R-GROUP-2: a cell that has party groups (tổ đảng) and enough members may meet by group."""
    if group_count < 0:
        raise ValueError("group_count must not be negative")
    members = len(active_register(register))
    minimum = rule_set.group_pilot_min_members
    counts = {"members": members, "groups": group_count, "min_members": minimum}
    failed: list[str] = []
    reasons: list[Text] = []
    if kind not in rule_set.group_pilot_org_kinds:
        failed.append("not_a_cell")
        allowed = _join_kinds(rule_set.group_pilot_org_kinds)
        reasons.append(
            Text(
                f"chỉ {allowed.vi} được thí điểm sinh hoạt theo tổ đảng, còn đây là {ORG_KIND_TEXT[kind].vi}",
                f"only {allowed.en} may pilot meeting by party group, and this is {ORG_KIND_TEXT[kind].en}",
            )
        )
    if group_count < 1:
        failed.append("no_groups")
        reasons.append(Text("chi bộ chưa chia tổ đảng", "the cell has no party groups"))
    if members < minimum:
        failed.append("too_few_members")
        reasons.append(Text(f"chưa đủ {minimum} đảng viên", f"it has fewer than {minimum} members"))
    if not failed:
        explanation = Text(
            f"Đủ điều kiện sinh hoạt theo tổ đảng: chi bộ có {members} đảng viên (tối thiểu {minimum}) "
            f"và {group_count} tổ đảng (R-GROUP-2).",
            f"May meet by party group: the cell has {members} members (at least {minimum}) "
            f"and {count_en(group_count, 'party group')} (R-GROUP-2).",
        )
    else:
        explanation = Text(
            "Chưa đủ điều kiện sinh hoạt theo tổ đảng: " + "; ".join(r.vi for r in reasons) + ". "
            f"Hiện có {members} đảng viên và {group_count} tổ đảng; cần ít nhất {minimum} đảng viên "
            "và 1 tổ đảng (R-GROUP-2).",
            "May not meet by party group: " + "; ".join(r.en for r in reasons) + ". "
            f"It has {count_en(members, 'member')} and {count_en(group_count, 'party group')}; at least "
            f"{minimum} members and 1 group are needed (R-GROUP-2).",
        )
    return Decision(not failed, "R-GROUP-2", rule_set.name, counts, explanation, {"failed": failed})


def _counted_register(register: Iterable[MemberFacts], rule_set: RuleSet) -> list[MemberFacts]:
    members = active_register(register)
    if rule_set.probationary_count_for_eligibility:
        return members
    return [member for member in members if member.standing is Standing.OFFICIAL]


def _count_activity(register: Iterable[MemberFacts], activity: Activity) -> int:
    return sum(1 for member in register if member.activity is activity)


def _join_kinds(kinds: Iterable[OrgKind]) -> Text:
    ordered = [ORG_KIND_TEXT[kind] for kind in OrgKind if kind in set(kinds)]
    return Text(" và ".join(t.vi for t in ordered), " and ".join(t.en for t in ordered))


def _explain_kind(kind: OrgKind, counts: dict[str, int], rule_set: RuleSet) -> Text:
    allowed = _join_kinds(rule_set.eligible_org_kinds)
    this = ORG_KIND_TEXT[kind]
    return Text(
        f"Không thuộc diện thí điểm (R-ELIG-1): chỉ {allowed.vi} được thí điểm sinh hoạt trực tuyến, "
        f"còn đây là {this.vi}. Tỷ lệ {counts['cannot_meet_in_person']}/{counts['register']} đảng viên "
        "không thể sinh hoạt trực tiếp vì thế không được xét.",
        f"Not a pilot unit (R-ELIG-1): only {allowed.en} may pilot online meetings, and this is "
        f"{this.en}. The share of {counts['cannot_meet_in_person']}/{counts['register']} members who "
        "cannot meet in person is therefore not considered.",
    )


def _explain_share(qualifies: bool, exactly: bool, counts: dict[str, int], fraction: Text) -> Text:
    unable, total, needed = counts["cannot_meet_in_person"], counts["register"], counts["needed"]
    share = f"{unable}/{total}"
    if total == 0:
        vi = "Chưa đủ điều kiện: danh sách sinh hoạt không có đảng viên nào (0/0)"
        en = "Not eligible: the active register has no members (0/0)"
    elif qualifies:
        vi = (
            f"Đủ điều kiện: {share} đảng viên trong danh sách sinh hoạt không thể sinh hoạt trực tiếp, "
            f"hơn {fraction.vi}"
        )
        en = (
            f"Eligible: {share} members of the active register cannot meet in person, more than {fraction.en}"
        )
    else:
        exactly_vi = f"đúng {fraction.vi}, " if exactly else ""
        exactly_en = f"exactly {fraction.en}, " if exactly else ""
        vi = (
            f"Chưa đủ điều kiện: {share} đảng viên trong danh sách sinh hoạt không thể sinh hoạt trực tiếp, "
            f"{exactly_vi}chưa hơn {fraction.vi}; cần ít nhất {needed}"
        )
        en = (
            f"Not eligible: {share} members of the active register cannot meet in person, "
            f"{exactly_en}not more than {fraction.en}; at least {needed} needed"
        )
    return Text(
        " ".join([vi + " (R-ELIG-2).", *_left_out_vi(counts)]),
        " ".join([en + " (R-ELIG-2).", *_left_out_en(counts)]),
    )


def _left_out_vi(counts: dict[str, int]) -> list[str]:
    sentences = []
    off = [
        (counts["exempt"], "được miễn công tác và sinh hoạt đảng"),
        (counts["suspended"], "bị đình chỉ sinh hoạt đảng"),
    ]
    if any(n for n, _ in off):
        listed = ", ".join(f"{n} đảng viên {what}" for n, what in off if n)
        sentences.append(f"Không tính {listed} (R-BASE-1).")
    if counts["probationary_not_counted"]:
        sentences.append(
            f"Không tính {counts['probationary_not_counted']} đảng viên dự bị, theo tham số của bộ quy tắc."
        )
    return sentences


def _left_out_en(counts: dict[str, int]) -> list[str]:
    sentences = []
    off = [(counts["exempt"], "exempt"), (counts["suspended"], "suspended")]
    if any(n for n, _ in off):
        listed = ", ".join(f"{count_en(n, what + ' member')}" for n, what in off if n)
        sentences.append(f"Not counted: {listed} (R-BASE-1).")
    if counts["probationary_not_counted"]:
        sentences.append(
            f"Not counted: {count_en(counts['probationary_not_counted'], 'probationary member')}, "
            "as the rule set says."
        )
    return sentences
