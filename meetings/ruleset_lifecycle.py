"""A rule set's lifecycle (hiệu lực): its status, the days it is in force, what supersedes it, its sources;
and the choice of the set in force on a meeting's date within a lineage (a set and its successors)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Any, Protocol, TypeVar

from meetings.ruleset_parameters import InvalidRuleSet


class Status(StrEnum):
    """`pilot`: a trial document (Hướng dẫn 03 is one); `in_force`: in force; `superseded`: replaced."""

    PILOT = "pilot"
    IN_FORCE = "in_force"
    SUPERSEDED = "superseded"


@dataclass(frozen=True)
class Lifecycle:
    """`in_force_to` is the last day the set is in force (inclusive); None: no end known."""

    status: Status
    in_force_from: date
    in_force_to: date | None = None
    superseded_by: str | None = None
    sources: tuple[str, ...] = ()

    def in_force_on(self, day: date) -> bool:
        return self.in_force_from <= day and (self.in_force_to is None or day <= self.in_force_to)

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "in_force_from": self.in_force_from.isoformat(),
            "in_force_to": self.in_force_to.isoformat() if self.in_force_to else None,
            "superseded_by": self.superseded_by,
            "sources": list(self.sources),
        }


class Dated(Protocol):
    """What the lineage functions need of a rule set (meetings.rulesets.RuleSet is one)."""

    @property
    def name(self) -> str: ...

    @property
    def lifecycle(self) -> Lifecycle: ...


R = TypeVar("R", bound=Dated)


class UnknownRuleSet(KeyError):
    """No rule set has this name."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name

    def __str__(self) -> str:
        return f"unknown rule set {self.name!r}"


def lineage(registry: Mapping[str, R], name: str) -> list[R]:
    """The set `name` and its successors in order, following superseded_by."""
    if name not in registry:
        raise UnknownRuleSet(name)
    chain = [registry[name]]
    seen = {name}
    while (following := chain[-1].lifecycle.superseded_by) is not None:
        if following not in registry:
            raise InvalidRuleSet(f"{chain[-1].name}: superseded by unknown rule set {following!r}")
        if following in seen:
            raise InvalidRuleSet(f"{following}: the lineage comes back to itself")
        seen.add(following)
        chain.append(registry[following])
    return chain


def in_force_on(registry: Mapping[str, R], name: str, day: date) -> R:
    """The set of `name`'s lineage that decides a meeting held on `day` (its local date).

    A meeting before a successor's `in_force_from` is decided under its predecessor, on or after it under
    the successor; a meeting before the first set came into force is decided under the first.
    """
    chosen, *successors = lineage(registry, name)
    for successor in successors:
        if day < successor.lifecycle.in_force_from:
            break
        chosen = successor
    return chosen


def check_registry(registry: Mapping[str, Dated]) -> None:
    """Refuses (InvalidRuleSet) a registry whose lifecycles contradict each other."""
    successors: dict[str, str] = {}
    for key, rule_set in registry.items():
        life = rule_set.lifecycle
        if key != rule_set.name:
            raise InvalidRuleSet(f"{rule_set.name}: filed under {key!r}")
        if life.in_force_to is not None and life.in_force_to < life.in_force_from:
            raise InvalidRuleSet(
                f"{key}: in_force_to {life.in_force_to} is before in_force_from {life.in_force_from}"
            )
        superseded = life.status is Status.SUPERSEDED
        if superseded != (life.superseded_by is not None):
            raise InvalidRuleSet(f"{key}: status superseded if and only if superseded_by is given")
        if life.superseded_by is None:
            continue
        if life.superseded_by not in registry:
            raise InvalidRuleSet(f"{key}: superseded by unknown rule set {life.superseded_by!r}")
        if life.superseded_by in successors.values():
            raise InvalidRuleSet(f"{life.superseded_by}: supersedes two rule sets")
        if life.in_force_to is None:
            raise InvalidRuleSet(f"{key}: a superseded rule set needs in_force_to")
        following = registry[life.superseded_by].lifecycle.in_force_from
        if following != life.in_force_to + timedelta(days=1):
            raise InvalidRuleSet(
                f"{key}: in force to {life.in_force_to} but {life.superseded_by} from {following}"
                " (a gap or an overlap)"
            )
        successors[key] = life.superseded_by
    for name in successors:
        lineage(registry, name)  # refuses a cycle
