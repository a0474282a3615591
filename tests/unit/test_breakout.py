"""meetings.breakout: every summoned member in exactly one group, bad plans refused, and who may meet."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meetings import breakout as bo


def test_party_groups_in_order_with_the_rest_in_the_main_room() -> None:
    members = {1: 10, 2: 10, 3: 20, 4: None, 5: 30, 6: 99}  # 99: a group not listed (dissolved)
    plan = bo.by_party_groups(members, [(10, "Tổ 1"), (20, "Tổ 2"), (30, "Tổ 3"), (40, "Tổ trống")])
    assert [(g.name, g.member_ids, g.party_group_id) for g in plan.groups] == [
        ("Tổ 1", (1, 2), 10),
        ("Tổ 2", (3,), 20),
        ("Tổ 3", (5,), 30),
        ("Phòng chung", (4, 6), None),
    ]
    assert plan.group_of() == {1: 0, 2: 0, 3: 1, 5: 2, 4: 3, 6: 3}
    english = bo.by_party_groups({1: 10, 2: None}, [(10, "Group 1")], lang="en")
    assert english.groups[-1].name == "Main room"


@pytest.mark.parametrize(
    ("members", "groups"),
    [
        ({1: None, 2: None}, [(10, "Tổ 1")]),  # nobody in a group
        ({1: None}, []),  # no groups at all
        ({}, [(10, "Tổ 1")]),
    ],
)
def test_no_party_group_with_a_summoned_member_is_refused(
    members: dict[int, int | None], groups: list
) -> None:
    with pytest.raises(bo.BreakoutError) as refused:
        bo.by_party_groups(members, groups)
    assert refused.value.code == "no_party_groups" and refused.value.field == "groups"


def test_ad_hoc_groups_and_the_main_room() -> None:
    plan = bo.ad_hoc([("  Nhóm   A ", [3, 1, 1]), ("Nhóm B", [2])], {1, 2, 3, 4, 5})
    assert [(g.name, g.member_ids) for g in plan.groups] == [
        ("Nhóm A", (1, 3)),
        ("Nhóm B", (2,)),
        ("Phòng chung", (4, 5)),
    ]
    everyone = bo.ad_hoc([("Tất cả", [1, 2])], {1, 2})
    assert len(everyone.groups) == 1  # no empty main room


@pytest.mark.parametrize(
    ("requested", "code", "field"),
    [
        ([], "invalid_groups", "groups"),
        ([(f"N{i}", [i]) for i in range(bo.MAX_GROUPS + 1)], "invalid_groups", "groups"),
        ([("", [1])], "invalid_group_name", "groups[0].name"),
        ([("x" * (bo.NAME_MAX + 1), [1])], "invalid_group_name", "groups[0].name"),
        ([("A", [1]), ("a", [2])], "invalid_group_name", "groups[1].name"),
        ([("phòng chung", [1])], "invalid_group_name", "groups[0].name"),
        ([("A", [])], "empty_group", "groups[0].member_ids"),
        ([("A", [1, 77])], "not_summoned", "groups[0].member_ids"),
        ([("A", [1]), ("B", [2, 1])], "member_in_two_groups", "groups[1].member_ids"),
    ],
)
def test_bad_ad_hoc_plans_are_refused_naming_the_field(requested: list, code: str, field: str) -> None:
    summoned = set(range(bo.MAX_GROUPS + 2))
    with pytest.raises(bo.BreakoutError) as refused:
        bo.ad_hoc(requested, summoned)
    assert (refused.value.code, refused.value.field) == (code, field)
    assert refused.value.message.vi and refused.value.message.en


def test_moving_a_member_keeps_everyone_in_exactly_one_group() -> None:
    plan = bo.ad_hoc([("A", [1, 2]), ("B", [3])], {1, 2, 3, 4})
    moved = bo.move(plan, 1, 1)
    assert [g.member_ids for g in moved.groups] == [(2,), (1, 3), (4,)]
    assert bo.move(moved, 1, 1) == moved  # already there
    for member, index, code in ((1, 3, "invalid_group"), (1, -1, "invalid_group"), (9, 0, "not_summoned")):
        with pytest.raises(bo.BreakoutError) as refused:
            bo.move(plan, member, index)
        assert refused.value.code == code


def test_who_may_meet() -> None:
    assert bo.may_meet(None, 1, 2)  # not split
    group_of = {1: 0, 2: 0, 3: 1}
    assert bo.may_meet(group_of, 1, 2)
    assert not bo.may_meet(group_of, 1, 3)
    assert not bo.may_meet(group_of, 1, 9)  # registered after the split: outside every group
    assert bo.may_meet(group_of, 8, 9)


@given(
    st.dictionaries(st.integers(1, 60), st.one_of(st.none(), st.integers(1, 5)), min_size=1),
    st.lists(st.integers(1, 6), unique=True, min_size=1),
    st.lists(st.tuples(st.integers(1, 60), st.integers(0, 8)), max_size=10),
)
def test_every_summoned_member_is_in_exactly_one_group_through_moves(
    members: dict[int, int | None], listed: list[int], moves: list[tuple[int, int]]
) -> None:
    try:
        plan = bo.by_party_groups(members, [(g, f"Tổ {g}") for g in listed])
    except bo.BreakoutError:
        assert not any(group in listed for group in members.values())
        return
    for member, index in moves:
        try:
            plan = bo.move(plan, member, index)
        except bo.BreakoutError:
            assert member not in members or index >= len(plan.groups)
    placed = [m for group in plan.groups for m in group.member_ids]
    assert sorted(placed) == sorted(members)
    group_of = plan.group_of()
    for a in members:
        for b in members:
            assert bo.may_meet(group_of, a, b) == (group_of[a] == group_of[b])
