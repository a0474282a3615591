"""Who counts: the active register (danh sách sinh hoạt) and a meeting's voting base (R-BASE-1..4)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from meetings.decision import Decision, Text, count_en
from meetings.enums import Activity, RemoteReason, Standing
from meetings.rulesets import RuleSet

# Members whose activity keeps them out of the active register (R-BASE-1).
_OFF_REGISTER = frozenset({Activity.EXEMPT, Activity.SUSPENDED})

# Official members whose activity takes them out of any meeting's voting base (R-BASE-2).
_NEVER_IN_BASE = (Activity.AWAY_TEMPORARILY, Activity.SUSPENDED, Activity.UNDER_PROSECUTION)

_EXCLUSION_TEXT = {
    "away_temporarily": Text("đang sinh hoạt tạm thời nơi khác", "attending temporarily elsewhere"),
    "suspended": Text("bị đình chỉ sinh hoạt đảng", "suspended from party activity"),
    "under_prosecution": Text(
        "bị khởi tố, truy tố hoặc tạm giam", "under prosecution, indictment or temporary detention"
    ),
    "exempt_absent": Text(
        "vắng mặt do được miễn công tác và sinh hoạt đảng", "absent and exempt from party work and meetings"
    ),
    "excused_absent": Text("vắng mặt có lý do", "absent with an accepted excuse"),
}


@dataclass(frozen=True)
class MemberFacts:
    """What the rules need to know about one party member (đảng viên)."""

    member_id: int
    standing: Standing
    activity: Activity = Activity.ACTIVE
    remote_reason: RemoteReason | None = None


def active_register(members: Iterable[MemberFacts]) -> list[MemberFacts]:
    """The unit's members minus the exempt and the suspended (R-BASE-1), in the order given."""
    return [member for member in members if member.activity not in _OFF_REGISTER]


def voting_base(
    summoned: Iterable[MemberFacts],
    attending_ids: frozenset[int],
    excused_ids: frozenset[int],
    rule_set: RuleSet,
) -> Decision:
    """The official members summoned, minus those the Charter excludes (R-BASE-2, R-BASE-3, R-BASE-4).

    Outcome: the size of the base. `attending_ids` are the members present (or, before the
    meeting, expected); an exempt member among them is counted because they chose to attend.
    """
    members = _unique(summoned)
    official = [member for member in members if member.standing is Standing.OFFICIAL]
    excluded: dict[str, list[int]] = {key: [] for key in _EXCLUSION_TEXT}
    counted: list[int] = []
    for member in official:
        reason = _exclusion(member, attending_ids, excused_ids, rule_set)
        if reason is None:
            counted.append(member.member_id)
        else:
            excluded[reason].append(member.member_id)
    excused_kept = sum(
        1 for member_id in counted if member_id in excused_ids and member_id not in attending_ids
    )
    counts = {
        "voting_base": len(counted),
        "summoned": len(members),
        "official": len(official),
        "probationary": len(members) - len(official),
        **{key: len(ids) for key, ids in excluded.items()},
        "excused_kept": excused_kept,
    }
    return Decision(
        outcome=len(counted),
        rule="R-BASE-2",
        rule_set=rule_set.name,
        counts=counts,
        explanation=_explain(counts),
        details={
            "member_ids": sorted(counted),
            "excluded_ids": {key: sorted(ids) for key, ids in excluded.items() if ids},
        },
    )


def _exclusion(
    member: MemberFacts, attending_ids: frozenset[int], excused_ids: frozenset[int], rule_set: RuleSet
) -> str | None:
    if member.activity in _NEVER_IN_BASE:
        return member.activity.value
    attends = member.member_id in attending_ids
    if member.activity is Activity.EXEMPT and not attends:
        return "exempt_absent"
    if member.member_id in excused_ids and not attends and not rule_set.excused_stay_in_voting_base:
        return "excused_absent"
    return None


def _unique(summoned: Iterable[MemberFacts]) -> list[MemberFacts]:
    members = list(summoned)
    ids = [member.member_id for member in members]
    if len(set(ids)) != len(ids):
        raise ValueError("a member is summoned twice")
    return members


def _explain(counts: dict[str, int]) -> Text:
    vi = (
        f"Căn cứ tính biểu quyết (R-BASE-2): {counts['voting_base']} đảng viên chính thức, "
        f"từ {counts['official']} đảng viên chính thức được triệu tập"
    )
    en = (
        f"Voting base (R-BASE-2): {counts['voting_base']} official members, "
        f"from {counts['official']} official members summoned"
    )
    exclusions = [(counts[key], text) for key, text in _EXCLUSION_TEXT.items() if counts[key]]
    if exclusions:
        vi += ", trừ " + ", ".join(f"{n} đảng viên {text.vi}" for n, text in exclusions)
        en += ", minus " + ", ".join(f"{count_en(n, 'member')} {text.en}" for n, text in exclusions)
    vi += "."
    en += "."
    if counts["excused_kept"]:
        vi += f" {counts['excused_kept']} đảng viên vắng mặt có lý do vẫn được tính (R-BASE-3)."
        en += f" {count_en(counts['excused_kept'], 'member')} absent with an excuse still counted (R-BASE-3)."
    if counts["probationary"]:
        vi += f" Đảng viên dự bị ({counts['probationary']}) dự họp nhưng không biểu quyết (R-BASE-4)."
        en += f" Probationary members ({counts['probationary']}) attend but do not vote (R-BASE-4)."
    return Text(vi, en)
