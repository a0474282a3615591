"""Whether a meeting is quorate (đủ số đảng viên dự họp), R-QUOR-1."""

from __future__ import annotations

from meetings.decision import Decision, Text, fraction_text, least_more_than, more_than
from meetings.rulesets import RuleSet


def quorum(voting_base: int, present_official: int, rule_set: RuleSet) -> Decision:
    """Quorate when the official members present are more than the quorum fraction of the voting base.

    `present_official` counts the present members of the voting base (R-BASE-2), so it can never
    exceed it; probationary members are present but never count here (R-BASE-4).
    """
    if voting_base < 0 or present_official < 0:
        raise ValueError("counts must not be negative")
    if present_official > voting_base:
        raise ValueError(f"{present_official} present official members exceed the voting base {voting_base}")
    fraction = rule_set.quorum_fraction
    needed = least_more_than(fraction, voting_base)
    quorate = more_than(present_official, fraction, voting_base)
    counts = {"voting_base": voting_base, "present_official": present_official, "needed": needed}
    return Decision(
        quorate, "R-QUOR-1", rule_set.name, counts, _explain(quorate, counts, fraction_text(fraction))
    )


def _explain(quorate: bool, counts: dict[str, int], fraction: Text) -> Text:
    base, present, needed = counts["voting_base"], counts["present_official"], counts["needed"]
    share = f"{present}/{base}"
    if base == 0:
        return Text(
            "Chưa đủ số đảng viên dự họp: không có đảng viên chính thức nào được tính để biểu quyết "
            "(0/0) (R-QUOR-1).",
            "Not quorate: the voting base has no official members (0/0) (R-QUOR-1).",
        )
    if quorate:
        return Text(
            f"Đủ số đảng viên dự họp: {share} đảng viên chính thức có mặt, hơn {fraction.vi} số đảng viên "
            "được tính để biểu quyết (R-QUOR-1).",
            f"Quorate: {share} official members of the voting base are present, more than {fraction.en} "
            "(R-QUOR-1).",
        )
    return Text(
        f"Chưa đủ số đảng viên dự họp: {share} đảng viên chính thức có mặt, chưa hơn {fraction.vi} số "
        f"đảng viên được tính để biểu quyết; cần ít nhất {needed} (R-QUOR-1). Khi chưa đủ, không nghị "
        "quyết nào được thông qua.",
        f"Not quorate: {share} official members of the voting base are present, not more than "
        f"{fraction.en}; at least {needed} are needed (R-QUOR-1). Below that no resolution can pass.",
    )
