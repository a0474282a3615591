"""The audit log of a unit's subtree as people read it (issue 23): filtered, paged, in words, with the
chain's verification state and the last signed checkpoint.

Scope: the rows of the unit and the units below it (a cell's party groups, a committee's cells); rows
of no unit (logins, accounts) are the operator's and never shown here. Who may look is decided by the
caller (the page asks for audit.read on the unit: its secretaries, the officers and auditors above).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as day_time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings.decision import Text
from server.audit.checkpoints import installed_signer, list_checkpoints
from server.audit.keys import parse_public_key, signature_valid
from server.audit.verify import fault_text, verify_database
from server.clock import as_utc
from server.db.columns import key
from server.db.engine import Database
from server.db.tables import AuditEvent, Grant, Meeting, Member, Org, PilotApplication, User, Vote
from server.db.tree import ancestor_ids, subtree_ids
from server.services.audit_words import (
    MEMBER,
    OPERATOR,
    ROLE_NAMES,
    ROLE_ORDER,
    Actor,
    actions_of,
    group_of,
    meeting_ids_read,
    read_object,
    sentence,
)

PAGE = 50
READS = ("access.read", "access.refused")


@dataclass(frozen=True)
class LogFilter:
    """What the viewer asked for; every field optional. Dates are the viewer's days in `zone`."""

    unit_id: int | None = None
    actor_id: int | None = None
    group: str | None = None
    start: date | None = None
    end: date | None = None
    before: int | None = None  # the page: rows with a smaller sequence number


@dataclass(frozen=True)
class LogLine:
    seq: int
    at: datetime
    action: str
    group: str | None
    unit_id: int | None
    unit_name: str
    text: Text


@dataclass(frozen=True)
class LogPage:
    lines: list[LogLine]
    older: int | None  # `before` of the next page, None when this is the last
    units: list[tuple[int, str]]  # the units of the scope, for the filter
    people: list[tuple[int, str]]  # who acted in the scope, for the filter


def _day_start(day: date, zone: ZoneInfo) -> str:
    """The UTC instant a local day starts, as the prefix `iso()` rows compare with (no "Z": a row at
    exactly that second, with or without fractions, sorts after it)."""
    return as_utc(datetime.combine(day, day_time(), tzinfo=zone)).strftime("%Y-%m-%dT%H:%M:%S")


async def scope_units(session: AsyncSession, root_id: int) -> list[tuple[int, str]]:
    """The unit and the units below it, (id, name), the unit first, then by name."""
    scope = await subtree_ids(session, [root_id])
    found = await session.execute(select(key(Org.id), col(Org.name)).where(col(Org.id).in_(scope)))
    return sorted(((int(i), str(n)) for i, n in found.all()), key=lambda unit: (unit[0] != root_id, unit[1]))


async def log_page(
    session: AsyncSession,
    units: list[tuple[int, str]],
    zone: ZoneInfo,
    wanted: LogFilter,
    *,
    limit: int = PAGE,
) -> LogPage:
    """A page of the rows of `units` (from `scope_units`), newest first, as `wanted` filters them."""
    names = dict(units)
    scope = list(names)
    query = select(AuditEvent).where(col(AuditEvent.org_id).in_(scope))
    if wanted.unit_id is not None:
        query = query.where(col(AuditEvent.org_id) == wanted.unit_id)
    if wanted.actor_id is not None:
        query = query.where(col(AuditEvent.actor_user_id) == wanted.actor_id)
    if wanted.group is not None:
        query = query.where(col(AuditEvent.action).in_(actions_of(wanted.group)))
    if wanted.start is not None:
        query = query.where(col(AuditEvent.at) >= _day_start(wanted.start, zone))
    if wanted.end is not None:
        query = query.where(col(AuditEvent.at) < _day_start(wanted.end + timedelta(days=1), zone))
    if wanted.before is not None:
        query = query.where(col(AuditEvent.seq) < wanted.before)
    rows = list(
        (await session.execute(query.order_by(col(AuditEvent.seq).desc()).limit(limit + 1))).scalars().all()
    )
    older = rows[limit - 1].seq if len(rows) > limit else None
    rows = rows[:limit]
    actors = await _actors(session, rows)
    objects = await _objects(session, rows, zone)
    lines = [
        LogLine(
            seq=row.seq,
            at=as_utc(datetime.fromisoformat(row.at.replace("Z", "+00:00"))).astimezone(zone),
            action=row.action,
            group=group_of(row.action),
            unit_id=row.org_id,
            unit_name=names.get(row.org_id, "") if row.org_id is not None else "",
            text=sentence(
                row.action,
                actors.get((row.actor_user_id, row.org_id), Actor(None, None)),
                objects.get(row.seq),
            ),
        )
        for row in rows
    ]
    people = (
        await session.execute(
            select(key(User.id), col(User.full_name), col(User.username))
            .where(
                col(User.id).in_(
                    select(col(AuditEvent.actor_user_id)).where(col(AuditEvent.org_id).in_(scope)).distinct()
                )
            )
            .order_by(col(User.full_name))
        )
    ).all()
    return LogPage(
        lines=lines,
        older=older,
        units=units,
        people=[(user_id, full_name or username) for user_id, full_name, username in people],
    )


Who = tuple[int | None, int | None]  # (actor, unit) of a row


async def _actors(session: AsyncSession, rows: Sequence[AuditEvent]) -> dict[Who, Actor]:
    """Each row's actor named with the role they hold over the row's unit (a grant there or above),
    else as a member of it, else as the operator; a row without an actor is the system's."""
    pairs = {(row.actor_user_id, row.org_id) for row in rows if row.actor_user_id is not None}
    user_ids = {user_id for user_id, _ in pairs}
    if not user_ids:
        return {}
    users = {
        user.id: user
        for user in (await session.execute(select(User).where(col(User.id).in_(user_ids)))).scalars()
    }
    grants: dict[int, list[tuple[int, str]]] = {}
    for grant in (await session.execute(select(Grant).where(col(Grant.user_id).in_(user_ids)))).scalars():
        grants.setdefault(grant.user_id, []).append((grant.org_id, grant.role))
    members = dict(
        (
            await session.execute(
                select(col(Member.user_id), col(Member.org_id)).where(col(Member.user_id).in_(user_ids))
            )
        ).all()
    )
    ancestors: dict[int, list[int]] = {}
    for _, org_id in pairs:
        if org_id is not None and org_id not in ancestors:
            ancestors[org_id] = await ancestor_ids(session, org_id)
    named: dict[Who, Actor] = {}
    for user_id, org_id in pairs:
        user = users.get(user_id)
        if user is None:
            named[(user_id, org_id)] = Actor(f"#{user_id}", None)
            continue
        over = set(ancestors.get(org_id, [])) if org_id is not None else set()
        held = {role for granted_on, role in grants.get(user.id or 0, []) if granted_on in over}
        role = next((ROLE_NAMES[r] for r in ROLE_ORDER if r in held), None)
        if role is None and org_id is not None and members.get(user.id) in over:
            role = MEMBER
        if role is None and user.is_admin:
            role = OPERATOR
        named[(user_id, org_id)] = Actor(user.full_name or user.username, role)
    return named


def _meeting_words(meeting: Meeting, zone: ZoneInfo) -> Text:
    day = as_utc(meeting.starts_at).astimezone(zone).strftime("%d/%m/%Y")
    return Text(f"buổi sinh hoạt «{meeting.title}» ngày {day}", f"the meeting «{meeting.title}» of {day}")


async def meeting_words(session: AsyncSession, ids: Iterable[int], zone: ZoneInfo) -> dict[int, Text]:
    wanted = set(ids)
    if not wanted:
        return {}
    found = (await session.execute(select(Meeting).where(col(Meeting.id).in_(wanted)))).scalars()
    return {meeting.id or 0: _meeting_words(meeting, zone) for meeting in found}


async def _objects(session: AsyncSession, rows: Sequence[AuditEvent], zone: ZoneInfo) -> dict[int, Text]:
    """Each row's object in words, read in one query per kind of object."""
    targets: dict[str, set[int]] = {}
    for row in rows:
        kind, _, raw = row.target.partition(":")
        if raw.isdigit() and len(raw) < 10:
            targets.setdefault(kind, set()).add(int(raw))
    reads = [str(row.data.get("path") or row.target) for row in rows if row.action in READS]
    meetings = await meeting_words(session, targets.get("meeting", set()) | meeting_ids_read(reads), zone)
    votes = await _named(session, Vote, col(Vote.question), targets.get("vote"))
    orgs = await _named(session, Org, col(Org.name), targets.get("group", set()) | targets.get("org", set()))
    users = await _named(session, User, col(User.full_name), targets.get("user"))
    people = await _named(session, Member, col(Member.full_name), targets.get("member"))
    applications = await _named(
        session, PilotApplication, col(PilotApplication.kind), targets.get("application")
    )
    words: dict[int, Text] = {}
    for row in rows:
        if row.action in READS:
            words[row.seq] = read_object(str(row.data.get("path") or row.target), meetings)
            continue
        kind, _, raw = row.target.partition(":")
        key = int(raw) if raw.isdigit() and len(raw) < 10 else None
        text = _object_text(kind, key, meetings, votes, orgs, users, people, applications)
        if text is not None:
            words[row.seq] = text
    return words


def _object_text(
    kind: str,
    key: int | None,
    meetings: dict[int, Text],
    votes: dict[int, str],
    orgs: dict[int, str],
    users: dict[int, str],
    people: dict[int, str],
    applications: dict[int, str],
) -> Text | None:
    if key is None:
        return None
    if kind == "meeting":
        return meetings.get(key, Text(f"buổi sinh hoạt số {key}", f"meeting {key}"))
    if kind == "vote":
        question = votes.get(key, str(key))
        return Text(f"biểu quyết «{question}»", f"the vote «{question}»")
    if kind == "group":
        name = orgs.get(key, str(key))
        return Text(f"tổ đảng «{name}»", f"the party group «{name}»")
    if kind == "org":
        name = orgs.get(key, str(key))
        return Text(f"«{name}»", f"«{name}»")
    if kind == "user":
        name = users.get(key, str(key))
        return Text(f"tài khoản của {name}", f"the account of {name}")
    if kind == "member":
        name = people.get(key, str(key))
        return Text(f"đảng viên {name}", f"the member {name}")
    if kind == "application":
        return Text(f"đơn đề nghị thí điểm số {key}", f"pilot application {key}")
    if kind == "grant":
        return Text(f"(quyền số {key})", f"(grant {key})")
    if kind == "agenda_template":
        return Text(f"số {key}", f"{key}")
    return None


async def _named(session: AsyncSession, table: Any, column: Any, ids: set[int] | None) -> dict[int, str]:
    if not ids:
        return {}
    return {
        row[0]: str(row[1])
        for row in (await session.execute(select(table.id, column).where(table.id.in_(ids)))).all()
    }


# --- the chain's state ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChainState:
    """Whether the whole chain recomputes and reaches every signed checkpoint, when that was checked,
    and the last signed checkpoint (its signature checked with the server's public key)."""

    ok: bool
    entries: int
    problem: Text | None
    checked_at: datetime
    checkpoint_seq: int | None
    checkpoint_at: str | None
    checkpoint_signed: bool | None


class ChainCheck:
    """The verification behind the log page, shared by every viewer and redone at most every `seconds`:
    a chain of 100,000 rows takes about 2.5 s to recompute (docs/performance.md)."""

    def __init__(self, seconds: float = 60.0) -> None:
        self.seconds = seconds
        self._lock = asyncio.Lock()
        self._state: ChainState | None = None
        self._done_at = 0.0

    async def state(self, db: Database, now: datetime) -> ChainState:
        async with self._lock:
            if self._state is None or time.monotonic() - self._done_at > self.seconds:
                self._state = await _check(db, now)
                self._done_at = time.monotonic()
            return self._state


async def _check(db: Database, now: datetime) -> ChainState:
    async with db.read() as session:
        checkpoints = await list_checkpoints(session)
    signer = installed_signer(db)
    last = checkpoints[-1] if checkpoints else None
    signed = None
    if last is not None and signer is not None:
        signed = signature_valid(parse_public_key(signer.public_key), last.message(), last.signature)
    verdict = await verify_database(db, [c.head for c in checkpoints])
    problem = None
    if not verdict.ok:
        problem = fault_text(verdict, last.seq if last else 0)
    return ChainState(
        ok=verdict.ok and signed is not False,
        entries=verdict.count,
        problem=problem,
        checked_at=now,
        checkpoint_seq=last.seq if last else None,
        checkpoint_at=last.at if last else None,
        checkpoint_signed=signed,
    )
