"""The access log of a unit: every read of its records by a caller who reaches it through an auditor
grant only, as `access.read` rows of the audit hash chain (issue 5: the auditor's reads are themselves
audited, and the unit's secretary sees them).

Decisions (docs/decisions.md "Auditor access log"):
- One row per request per unit: org_id = the unit read, actor = the auditor, target = the request's
  path (the route with its ids), data = {method, path with the query}. A subtree read (the meetings of
  a committee and its cells, the usage figures) is one row for the unit asked about, not one per unit.
- The rows are written before the response is sent; when they cannot be written the caller gets a
  500 instead of the data, so no read escapes the log.
- The log lists a unit's own rows only: a read rooted higher up (a committee's usage figures) is in
  that unit's log, which a cell's secretary does not see.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit.log import append
from server.db.engine import Database
from server.db.tables import AuditEvent, Org, User
from server.services.audit_view import meeting_words
from server.services.audit_words import meeting_ids_read, read_object

ACCESS_READ = "access.read"
TARGET_MAX_CHARS = 80  # audit_events.target
PATH_MAX_CHARS = 500
PAGE = 100


async def record_reads(
    db: Database,
    *,
    actor_user_id: int,
    org_ids: Iterable[int],
    method: str,
    path: str,
    path_qs: str,
    at: datetime,
) -> None:
    """Append one `access.read` row per unit, all in one transaction."""
    async with db.write() as session:
        for org_id in sorted(set(org_ids)):
            await append(
                session,
                at=at,
                actor_user_id=actor_user_id,
                org_id=org_id,
                action=ACCESS_READ,
                target=path[:TARGET_MAX_CHARS],
                data={"method": method, "path": path_qs[:PATH_MAX_CHARS]},
            )


async def access_entries(
    session: AsyncSession,
    org_id: int,
    *,
    after: int = 0,
    before: int | None = None,
    limit: int = PAGE,
    language: str = "vi",
) -> list[dict[str, Any]]:
    """The unit's access rows with seq in (after, before), newest first: who, when, what (the path, and
    `what` in words: "biên bản buổi sinh hoạt «…» ngày 15/12/2026")."""
    query = (
        select(AuditEvent, User.full_name, User.username)  # type: ignore[call-overload]
        .outerjoin(User, User.id == AuditEvent.actor_user_id)
        .where(
            AuditEvent.org_id == org_id,
            AuditEvent.action == ACCESS_READ,
            AuditEvent.seq > after,
        )
    )
    if before is not None:
        query = query.where(AuditEvent.seq < before)
    rows = (await session.execute(query.order_by(AuditEvent.seq.desc()).limit(limit))).all()  # type: ignore[attr-defined]
    paths = [str(event.data.get("path") or event.target) for event, _, _ in rows]
    org = await session.get(Org, org_id)
    zone = ZoneInfo(org.timezone if org is not None else "Asia/Ho_Chi_Minh")
    meetings = await meeting_words(session, meeting_ids_read(paths), zone)
    return [
        {
            "seq": event.seq,
            "at": event.at,
            "actor": {"id": event.actor_user_id, "name": full_name or username},
            "method": event.data.get("method"),
            "path": event.data.get("path"),
            "what": read_object(path, meetings).in_language(language),
            "target": event.target,
        }
        for (event, full_name, username), path in zip(rows, paths, strict=True)
    ]
