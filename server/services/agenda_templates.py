"""Agenda templates: the built-in ones (meetings.agenda_templates, read-only) and each unit's own.

Built-ins live in code, where the rules are; `sync_builtins` writes them into `agenda_templates` at
start-up (by their `code`) so that meetings can refer to any template by one integer id. A unit's
templates are visible to it and to the units below it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from meetings.agenda_templates import BUILTIN_TEMPLATES, TemplateItem
from meetings.decision import Text
from meetings.enums import ItemType, MeetingKind
from server.audit.log import append
from server.db.engine import Database
from server.db.tables import AgendaTemplate, Org
from server.db.tree import ancestor_ids
from server.errors import ApiError


@dataclass(frozen=True)
class AgendaEntry:
    """One agenda item as a meeting gets it (from a template or a PUT)."""

    title: str
    item_type: ItemType
    notes: str = ""


def _items_json(items: Sequence[Any]) -> str:
    return json.dumps(
        [
            {
                "title": {"vi": item.title.vi, "en": item.title.en},
                "item_type": ItemType(item.item_type).value,
                "notes": {"vi": item.notes.vi, "en": item.notes.en},
            }
            for item in items
        ],
        ensure_ascii=False,
    )


async def sync_builtins(database: Database, at: datetime) -> None:
    """Insert or refresh the built-in templates; two processes starting together may both try."""
    for template in BUILTIN_TEMPLATES:
        try:
            async with database.write() as session:
                row = (
                    await session.execute(select(AgendaTemplate).where(AgendaTemplate.code == template.code))  # type: ignore[arg-type]
                ).scalar_one_or_none()
                if row is None:
                    row = AgendaTemplate(
                        code=template.code, created_at=at, kind="", name_vi="", name_en="", items=""
                    )
                row.kind = template.kind.value
                row.name_vi, row.name_en = template.name.vi, template.name.en
                row.items = _items_json(template.items)
                session.add(row)
        except IntegrityError:
            continue  # another process inserted it first: same content


def template_json(template: AgendaTemplate) -> dict[str, Any]:
    return {
        "id": template.id,
        "org_id": template.org_id,
        "builtin": template.org_id is None,
        "code": template.code,
        "kind": template.kind,
        "name": {"vi": template.name_vi, "en": template.name_en},
        "items": json.loads(template.items),
    }


async def visible_templates(session: AsyncSession, org_id: int | None) -> list[AgendaTemplate]:
    """Built-ins, plus the templates of `org_id` and its ancestors."""
    owners = await ancestor_ids(session, org_id) if org_id is not None else []
    query = (
        select(AgendaTemplate)
        .where(or_(AgendaTemplate.org_id.is_(None), AgendaTemplate.org_id.in_(owners)))  # type: ignore[union-attr]
        .order_by(AgendaTemplate.id)  # type: ignore[arg-type]
    )
    return list((await session.execute(query)).scalars().all())


# "(R-AGENDA-2)", "(R-AGENDA-2, R-MIN-2)", "(quy tắc R-VOTE-1)": the template cites the rules it follows,
# a meeting's agenda is read by its members and goes into the record, so it carries the words only.
_RULE_IDS = re.compile(r"\s*\((?:quy tắc |rule )?R-[A-Z]+-\d+(?:\.\.\d+)?(?:,\s*R-[A-Z]+-\d+(?:\.\.\d+)?)*\)")


def without_rule_ids(text: str) -> str:
    return _RULE_IDS.sub("", text).strip()


async def template_entries(session: AsyncSession, template_id: int, org: Org) -> list[AgendaEntry]:
    """The agenda a meeting of `org` gets from the template (Vietnamese titles: the document language)."""
    template = await session.get(AgendaTemplate, template_id)
    owners = await ancestor_ids(session, org.id)  # type: ignore[arg-type]
    if template is None or (template.org_id is not None and template.org_id not in owners):
        raise ApiError(
            422,
            "validation_error",
            Text("Không có mẫu chương trình này.", "No such agenda template."),
            details={"fields": {"agenda_template_id": "No such agenda template."}},
        )
    return [
        AgendaEntry(item["title"]["vi"], ItemType(item["item_type"]), without_rule_ids(item["notes"]["vi"]))
        for item in json.loads(template.items)
    ]


async def create_template(
    session: AsyncSession,
    org: Org,
    kind: MeetingKind,
    name: str,
    entries: Sequence[AgendaEntry],
    *,
    actor_user_id: int,
    at: datetime,
) -> AgendaTemplate:
    template = AgendaTemplate(
        org_id=org.id,
        kind=kind.value,
        name_vi=name,
        name_en=name,
        items=_items_json(
            [
                TemplateItem(Text(e.title, e.title), e.item_type, Text(e.notes, e.notes))  # as typed
                for e in entries
            ]
        ),
        created_by=actor_user_id,
        created_at=at,
    )
    session.add(template)
    await session.flush()
    await append(
        session,
        at=at,
        actor_user_id=actor_user_id,
        org_id=org.id,
        action="agenda_template.created",
        target=f"agenda_template:{template.id}",
        data={"name": name, "kind": kind.value, "items": len(entries)},
    )
    return template


async def builtin_template_id(session: AsyncSession, code: str) -> int:
    found = (
        await session.execute(select(AgendaTemplate.id).where(AgendaTemplate.code == code))  # type: ignore[call-overload]
    ).scalar_one()
    return int(found)
