"""The rule-set lifecycle: which set decides a meeting on a date; which registries and files are refused."""

from __future__ import annotations

import re
from datetime import date, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meetings.decision import Text
from meetings.enums import RemoteReason
from meetings.ruleset_files import RuleSetFileError, read_document
from meetings.rulesets import (
    BUILT_IN,
    HD03_2022,
    InvalidRuleSet,
    Lifecycle,
    RuleSet,
    Status,
    UnknownRuleSet,
    check_registry,
    in_force_on,
    lineage,
)

CHANGE = date(2027, 1, 1)
SOURCE = "Quy định 294-QĐ/TW sửa đổi (giả định cho kiểm thử)"


def successor_document(**changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "name": "hd-2027",
        "title": {"vi": "Hướng dẫn mới 2027", "en": "New guideline 2027"},
        "status": "in_force",
        "in_force_from": CHANGE.isoformat(),
        "in_force_to": None,
        "supersedes": "hd03-2022",
        "sources": [SOURCE],
        "parameters": {"quorum_fraction": "2/3", "documents_lead_days": 3},
    }
    document.update(changes)
    return document


def with_successor() -> dict[str, RuleSet]:
    return read_document(BUILT_IN, successor_document())


def test_hd03_is_a_pilot_in_force_from_the_guideline_with_no_end() -> None:
    life = HD03_2022.lifecycle
    assert life.status is Status.PILOT
    assert life.in_force_from == date(2022, 12, 27)
    assert life.in_force_to is None and life.superseded_by is None
    assert any("03-HD/TW" in source for source in life.sources)
    check_registry(BUILT_IN)


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2022, 12, 26), "hd03-2022"),  # before the pilot began: its first set
        (date(2022, 12, 27), "hd03-2022"),
        (date(2026, 12, 31), "hd03-2022"),  # the day before the change
        (CHANGE, "hd-2027"),  # the change day itself
        (date(2027, 1, 2), "hd-2027"),
        (date(2030, 6, 1), "hd-2027"),
    ],
)
def test_a_meeting_is_decided_under_the_set_in_force_on_its_date(day: date, expected: str) -> None:
    registry = with_successor()
    assert in_force_on(registry, "hd03-2022", day).name == expected
    # A unit already bound to the successor never goes back to the old set.
    assert in_force_on(registry, "hd-2027", day).name == "hd-2027"


def test_without_a_successor_hd03_decides_every_date() -> None:
    assert in_force_on(BUILT_IN, "hd03-2022", date(2040, 1, 1)) is HD03_2022


def test_an_unknown_name_is_refused() -> None:
    with pytest.raises(UnknownRuleSet):
        in_force_on(BUILT_IN, "nd-1999", date(2027, 1, 1))
    with pytest.raises(UnknownRuleSet):
        lineage(BUILT_IN, "nd-1999")


def test_importing_a_successor_supersedes_the_old_set_and_keeps_its_values() -> None:
    registry = with_successor()
    old, new = lineage(registry, "hd03-2022")
    assert old.lifecycle == Lifecycle(
        Status.SUPERSEDED, date(2022, 12, 27), date(2026, 12, 31), "hd-2027", HD03_2022.lifecycle.sources
    )
    assert new.lifecycle.status is Status.IN_FORCE and new.lifecycle.sources == (SOURCE,)
    assert new.quorum_fraction == Fraction(2, 3) and new.documents_lead_days == 3
    assert old.quorum_fraction == Fraction(1, 2) and old.parameters == HD03_2022.parameters
    assert new.parameters["quorum_fraction"].source == SOURCE
    # Only what the document changes differs; the special-circumstance list stays a labelled parameter.
    same = {k for k in new.parameters if new.parameters[k] == HD03_2022.parameters[k]}
    assert same == set(HD03_2022.parameters) - {"quorum_fraction", "documents_lead_days"}
    assert new.parameters["special_circumstance_reasons"].rule == "R-ELIG-4"
    assert BUILT_IN["hd03-2022"] is HD03_2022  # the built-in registry is not changed


def test_a_document_may_change_the_special_circumstance_list() -> None:
    document = successor_document(parameters={"special_circumstance_reasons": ["disaster", "epidemic"]})
    new = read_document(BUILT_IN, document)["hd-2027"]
    assert new.special_circumstance_reasons == {RemoteReason.DISASTER, RemoteReason.EPIDEMIC}


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"name": "hd03-2022"}, "already exists"),
        ({"name": ""}, "name must be"),
        ({"title": {"vi": "chỉ tiếng Việt"}}, "title needs vi and en"),
        ({"status": "abolished"}, "status must be one of"),
        ({"status": "superseded"}, "cannot be superseded"),
        ({"in_force_from": "01/01/2027"}, "in_force_from must be a date"),
        ({"in_force_from": "2022-12-27"}, "must come into force after"),
        ({"in_force_from": "2027-01-01", "in_force_to": "2026-06-01"}, "before in_force_from"),
        ({"supersedes": "nd-1999"}, "must name a known rule set"),
        ({"superseded_by": "nd-1999"}, "superseded_by must be null"),
        ({"sources": []}, "at least one source"),
        ({"sources": "HD 03"}, "sources must be a list"),
        ({"parameters": {"quorum": "1/2"}}, "unknown parameter"),
        ({"parameters": {"quorum_fraction": 0.5}}, "write a fraction as a string"),
        ({"parameters": {"quorum_fraction": "3/2"}}, "between 0 and 1"),
        ({"parameters": {"quorum_fraction": "1/0"}}, "is not a fraction"),
        ({"parameters": {"documents_lead_days": True}}, "must be a int"),
        ({"parameters": {"documents_lead_days": -1}}, "must not be negative"),
        ({"parameters": {"special_circumstance_reasons": ["war"]}}, "every item must be one of"),
        ({"extra": 1}, "unknown fields: extra"),
    ],
)
def test_a_bad_document_is_refused_in_both_languages(changes: dict[str, Any], why: str) -> None:
    with pytest.raises(RuleSetFileError) as refused:
        read_document(BUILT_IN, successor_document(**changes))
    assert why in refused.value.text.en
    assert refused.value.text.en.startswith("Rule-set file refused: ")
    assert refused.value.text.vi.startswith("Tệp bộ quy tắc bị từ chối: ")


def test_a_document_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(RuleSetFileError, match="JSON object"):
        read_document(BUILT_IN, ["hd-2027"])


def test_a_set_already_superseded_cannot_be_superseded_again() -> None:
    registry = with_successor()
    with pytest.raises(RuleSetFileError, match="already superseded"):
        read_document(registry, successor_document(name="hd-2028", in_force_from="2028-01-01"))
    # Superseding the newest set continues the lineage.
    longer = read_document(
        registry, successor_document(name="hd-2028", in_force_from="2028-01-01", supersedes="hd-2027")
    )
    assert [r.name for r in lineage(longer, "hd03-2022")] == ["hd03-2022", "hd-2027", "hd-2028"]
    assert in_force_on(longer, "hd03-2022", date(2027, 12, 31)).name == "hd-2027"
    assert in_force_on(longer, "hd03-2022", date(2028, 1, 1)).name == "hd-2028"


def _dated(name: str, life: Lifecycle) -> RuleSet:
    return HD03_2022.with_values(name, Text(name, name), {}, "test").with_lifecycle(life)


def _pair(old_to: date | None, new_from: date, status: Status = Status.SUPERSEDED) -> dict[str, RuleSet]:
    old = _dated("a", Lifecycle(status, date(2020, 1, 1), old_to, "b"))
    new = _dated("b", Lifecycle(Status.IN_FORCE, new_from))
    return {"a": old, "b": new}


@pytest.mark.parametrize(
    ("registry", "why"),
    [
        (_pair(date(2024, 12, 31), date(2025, 1, 2)), "a gap or an overlap"),
        (_pair(date(2024, 12, 31), date(2024, 12, 31)), "a gap or an overlap"),
        (_pair(None, date(2025, 1, 1)), "needs in_force_to"),
        (_pair(date(2024, 12, 31), date(2025, 1, 1), Status.IN_FORCE), "if and only if"),
        (
            {"a": _dated("a", Lifecycle(Status.SUPERSEDED, date(2020, 1, 1), date(2021, 1, 1), "z"))},
            "unknown",
        ),
        (
            {"a": _dated("a", Lifecycle(Status.PILOT, date(2020, 1, 1), date(2019, 1, 1)))},
            "before in_force_from",
        ),
        ({"x": _dated("a", Lifecycle(Status.PILOT, date(2020, 1, 1)))}, "filed under"),
        (
            {
                "a": _dated("a", Lifecycle(Status.SUPERSEDED, date(2020, 1, 1), date(2020, 12, 31), "c")),
                "b": _dated("b", Lifecycle(Status.SUPERSEDED, date(2019, 1, 1), date(2020, 12, 31), "c")),
                "c": _dated("c", Lifecycle(Status.IN_FORCE, date(2021, 1, 1))),
            },
            "supersedes two rule sets",
        ),
    ],
)
def test_a_bad_lineage_is_refused(registry: dict[str, RuleSet], why: str) -> None:
    with pytest.raises(InvalidRuleSet, match=why):
        check_registry(registry)


def test_a_good_pair_passes() -> None:
    check_registry(_pair(date(2024, 12, 31), date(2025, 1, 1)))


@given(
    starts=st.lists(st.integers(min_value=1, max_value=400), min_size=1, max_size=5),
    day=st.dates(min_value=date(2022, 1, 1), max_value=date(2032, 12, 31)),
)
def test_exactly_one_set_of_a_lineage_is_in_force_on_any_day_after_it_began(
    starts: list[int], day: date
) -> None:
    registry: dict[str, RuleSet] = dict(BUILT_IN)
    previous, begins = "hd03-2022", HD03_2022.lifecycle.in_force_from
    for index, gap in enumerate(starts):
        begins += timedelta(days=gap)
        name = f"next-{index}"
        document = successor_document(name=name, supersedes=previous, in_force_from=begins.isoformat())
        registry = read_document(registry, document)
        previous = name
    chosen = in_force_on(registry, "hd03-2022", day)
    in_force = [r for r in lineage(registry, "hd03-2022") if r.lifecycle.in_force_on(day)]
    if day >= HD03_2022.lifecycle.in_force_from:
        assert in_force == [chosen]
    else:
        assert chosen.name == "hd03-2022" and in_force == []


def test_docs_list_every_rule_id_with_its_source_and_status() -> None:
    root = Path(__file__).resolve().parents[2]
    cited = {
        rule
        for path in (root / "meetings").glob("*.py")
        for rule in re.findall(r"R-[A-Z]+-\d+", path.read_text(encoding="utf-8"))
    }
    cited |= {p.rule for p in HD03_2022.parameters.values() if p.rule.startswith("R-")}
    rows = {
        line.split("|")[1].strip(): line
        for line in (root / "docs" / "rules.md").read_text(encoding="utf-8").splitlines()
        if line.startswith("| R-")
    }
    assert cited <= set(rows), sorted(cited - set(rows))
    statuses = ("confirmed", "secondary", "platform default")
    assert all(any(status in row.split("|")[-2] for status in statuses) for row in rows.values())
