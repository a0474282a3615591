"""A rule set added as data (tệp bộ quy tắc): the operator's document read into a RuleSet that differs from
the set it derives from only where the document says, its predecessor marked superseded, all checked."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from enum import StrEnum
from fractions import Fraction
from typing import Any

from meetings.decision import Text
from meetings.ruleset_lifecycle import Lifecycle, Status, check_registry
from meetings.ruleset_parameters import SCHEMA, Confidence, InvalidRuleSet
from meetings.rulesets import RuleSet

_KEYS = {
    "name",
    "title",
    "status",
    "in_force_from",
    "in_force_to",
    "supersedes",
    "derives_from",
    "superseded_by",
    "sources",
    "parameters",
}


class RuleSetFileError(ValueError):
    """The document is refused; nothing was added. `text` says why in Vietnamese and English."""

    def __init__(self, vi: str, en: str) -> None:
        super().__init__(en)
        self.text = Text(vi, en)


def read_document(registry: Mapping[str, RuleSet], document: Any) -> dict[str, RuleSet]:
    """The registry with the document's rule set added (and its predecessor superseded), or a refusal."""
    if not isinstance(document, dict):
        raise RuleSetFileError("Tệp phải là một đối tượng JSON.", "The file must hold a JSON object.")
    unknown = sorted(set(document) - _KEYS)
    if unknown:
        raise _bad(f"trường không biết: {', '.join(unknown)}", f"unknown fields: {', '.join(unknown)}")
    name = _string(document, "name")
    if name in registry:
        raise _bad(f"bộ quy tắc {name!r} đã có", f"rule set {name!r} already exists")
    title = document.get("title")
    if not (
        isinstance(title, dict) and all(isinstance(title.get(k), str) and title[k] for k in ("vi", "en"))
    ):
        raise _bad("title phải có vi và en", "title needs vi and en")
    supersedes = document.get("supersedes")
    base_name = document.get("derives_from", supersedes)
    if not isinstance(base_name, str) or base_name not in registry:
        raise _bad(
            f"derives_from/supersedes phải là một bộ quy tắc đã có, không phải {base_name!r}",
            f"derives_from/supersedes must name a known rule set, not {base_name!r}",
        )
    lifecycle = _lifecycle(document)
    sources = lifecycle.sources
    if not sources:
        raise _bad(
            "cần ít nhất một văn bản nguồn (sources)", "at least one source document is needed (sources)"
        )
    try:
        values = _values(document.get("parameters", {}))
        rule_set = registry[base_name].with_values(
            name, Text(title["vi"], title["en"]), values, sources[0], Confidence.CONFIRMED, lifecycle
        )
        found = dict(registry)
        found[name] = rule_set
        if supersedes is not None:
            found[supersedes] = _superseded(found, supersedes, rule_set)
        check_registry(found)
    except InvalidRuleSet as error:
        raise _bad(str(error), str(error)) from None
    return found


def _superseded(registry: Mapping[str, RuleSet], name: str, successor: RuleSet) -> RuleSet:
    if not isinstance(name, str) or name not in registry:
        raise InvalidRuleSet(f"supersedes names no known rule set: {name!r}")
    old = registry[name]
    if old.lifecycle.superseded_by is not None:
        raise InvalidRuleSet(f"{name} is already superseded by {old.lifecycle.superseded_by}")
    starts = successor.lifecycle.in_force_from
    if starts <= old.lifecycle.in_force_from:
        raise InvalidRuleSet(
            f"{successor.name} must come into force after {name} ({old.lifecycle.in_force_from})"
        )
    ends = starts - timedelta(days=1)
    if old.lifecycle.in_force_to is not None and old.lifecycle.in_force_to < ends:
        raise InvalidRuleSet(f"{name} ended on {old.lifecycle.in_force_to}: a gap before {successor.name}")
    life = Lifecycle(
        Status.SUPERSEDED, old.lifecycle.in_force_from, ends, successor.name, old.lifecycle.sources
    )
    return old.with_lifecycle(life)


def _lifecycle(document: Mapping[str, Any]) -> Lifecycle:
    status = _choice(document, "status", Status)
    if status is Status.SUPERSEDED:
        raise _bad(
            "một bộ quy tắc mới không thể ở trạng thái superseded", "a new rule set cannot be superseded"
        )
    starts = _date(document, "in_force_from")
    ends = _date(document, "in_force_to") if document.get("in_force_to") is not None else None
    superseded_by = document.get("superseded_by")
    if superseded_by is not None:
        raise _bad(
            "superseded_by của bộ quy tắc mới phải để trống", "a new rule set's superseded_by must be null"
        )
    sources = document.get("sources")
    if not isinstance(sources, list) or not all(isinstance(s, str) and s.strip() for s in sources):
        raise _bad("sources phải là danh sách văn bản", "sources must be a list of document citations")
    return Lifecycle(status, starts, ends, None, tuple(sources))


def _values(parameters: Any) -> dict[str, Any]:
    if not isinstance(parameters, dict):
        raise InvalidRuleSet("parameters must be an object of name: value")
    return {name: _value(name, value) for name, value in parameters.items()}


def _value(name: str, value: Any) -> Any:
    if name not in SCHEMA:
        raise InvalidRuleSet(f"unknown parameter {name!r}")
    kind, element = SCHEMA[name]
    if kind is frozenset and isinstance(value, list) and element is not None and issubclass(element, StrEnum):
        try:
            return frozenset(element(item) for item in value)
        except ValueError:
            allowed = ", ".join(member.value for member in element)
            raise InvalidRuleSet(f"{name}: every item must be one of {allowed}") from None
    if kind is Fraction and isinstance(value, str):
        try:
            return Fraction(value)
        except (ValueError, ZeroDivisionError):
            raise InvalidRuleSet(f'{name}: {value!r} is not a fraction such as "1/2"') from None
    if kind is Fraction:
        raise InvalidRuleSet(f'{name}: write a fraction as a string such as "1/2", not {value!r}')
    return value  # RuleSet checks ints and booleans against SCHEMA


def _string(document: Mapping[str, Any], key: str) -> str:
    value = document.get(key)
    if not isinstance(value, str) or not value.strip() or len(value) > 40:
        raise _bad(f"{key} phải là chuỗi 1–40 ký tự", f"{key} must be a string of 1-40 characters")
    return value


def _date(document: Mapping[str, Any], key: str) -> date:
    value = document.get(key)
    try:
        return date.fromisoformat(value) if isinstance(value, str) else date.fromisoformat("")
    except ValueError:
        raise _bad(f"{key} phải là ngày YYYY-MM-DD", f"{key} must be a date YYYY-MM-DD") from None


def _choice(document: Mapping[str, Any], key: str, kind: type[Status]) -> Status:
    try:
        return kind(str(document.get(key)))
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise _bad(f"{key} phải là một trong {allowed}", f"{key} must be one of {allowed}") from None


def _bad(vi: str, en: str) -> RuleSetFileError:
    return RuleSetFileError(f"Tệp bộ quy tắc bị từ chối: {vi}", f"Rule-set file refused: {en}")
