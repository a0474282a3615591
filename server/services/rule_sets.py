"""The rule-set registry (bộ quy tắc): the built-in sets with the operator's imported documents applied,
the set in force on a meeting's date within its unit's lineage, the import, and the listing."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings.ruleset_files import RuleSetFileError, read_document
from meetings.rulesets import BUILT_IN, RuleSet, in_force_on, lineage
from server.audit.log import append
from server.clock import as_utc
from server.db.tables import Meeting, Org, RuleSetDocument
from server.errors import ApiError

# The last registry built, by the ids of the documents it applied: parsed once per import, not per read.
_built: dict[tuple[int, ...], Mapping[str, RuleSet]] = {}


async def registry(session: AsyncSession) -> Mapping[str, RuleSet]:
    rows = (
        await session.execute(
            select(col(RuleSetDocument.id), col(RuleSetDocument.document)).order_by(col(RuleSetDocument.id))
        )
    ).all()
    key = tuple(int(row[0]) for row in rows)
    if key not in _built:
        found: Mapping[str, RuleSet] = BUILT_IN
        for _, document in rows:
            found = read_document(found, document)  # each was checked against the same sets on import
        _built.clear()
        _built[key] = found
    return _built[key]


def meeting_date(meeting: Meeting, org: Org) -> date:
    """The meeting's date where the unit is: the day a document's `in_force_from` is compared with."""
    return as_utc(meeting.starts_at).astimezone(ZoneInfo(org.timezone)).date()


async def rule_set_for(session: AsyncSession, org: Org, on: date) -> RuleSet:
    """The set of the unit's lineage in force on `on` (a unit bound to hd03-2022 follows its successors)."""
    return in_force_on(await registry(session), org.rule_set, on)


async def rule_set_at(session: AsyncSession, org: Org, at: datetime) -> RuleSet:
    """The set in force on the day `at` falls on where the unit is: what a decision taken now (an
    eligibility, a pilot application) is decided under."""
    return await rule_set_for(session, org, as_utc(at).astimezone(ZoneInfo(org.timezone)).date())


async def rule_set_of_meeting(session: AsyncSession, meeting: Meeting, org: Org) -> RuleSet:
    return await rule_set_for(session, org, meeting_date(meeting, org))


async def import_rule_set(session: AsyncSession, data: bytes, *, at: datetime) -> RuleSet:
    """Adds the document's rule set (and marks the one it supersedes); a bad file changes nothing."""
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise _refused(
            RuleSetFileError(
                f"Tệp bộ quy tắc bị từ chối: không phải JSON ({error})",
                f"Rule-set file refused: not JSON ({error})",
            )
        ) from None
    try:
        found = read_document(await registry(session), document)
    except RuleSetFileError as error:
        raise _refused(error) from None
    added = found[document["name"]]
    session.add(RuleSetDocument(name=added.name, document=document, imported_at=at))
    await append(
        session,
        at=at,
        actor_user_id=None,
        org_id=None,
        action="rule_set.imported",
        target=f"rule_set:{added.name}",
        data={"document": document},
    )
    return added


def _refused(error: RuleSetFileError) -> ApiError:
    return ApiError(400, "invalid_rule_set", error.text)


def rule_set_json(rule_set: RuleSet, lang: str) -> dict[str, Any]:
    """api.md's listing entry: `{id, title, status, in_force_from, in_force_to, superseded_by, sources}`."""
    return {"id": rule_set.name, "title": rule_set.title.in_language(lang), **rule_set.lifecycle.to_json()}


def listing(found: Mapping[str, RuleSet], lang: str) -> list[dict[str, Any]]:
    """Every set, each lineage in order from its first set, side by side."""
    firsts = [name for name in found if not any(r.lifecycle.superseded_by == name for r in found.values())]
    ordered = [rule_set for name in sorted(firsts) for rule_set in lineage(found, name)]
    return [rule_set_json(rule_set, lang) for rule_set in ordered]
