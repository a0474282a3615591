"""The benchmark's data: M online cells of N/M members, each member with an account, an approved online
pilot valid today and one scheduled online meeting per cell, and as many cells again whose members
hold a browser session (the cookie path of a join); rows go in directly (no password hashing,
no audit rows: the bench measures the room, not the register)."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import asyncpg

from meetings.enums import ApplicationKind, ApplicationStatus, OrgKind
from server.auth.tokens import token_id
from server.db.engine import Database
from server.db.migrate import upgrade
from server.db.tables import Meeting, Member, Org, PilotApplication, User, WebSession

TIMEZONE = "Asia/Ho_Chi_Minh"
# Nobody logs in with a bench account: the hash matches no password (argon2 refuses it as malformed).
UNUSABLE_PASSWORD_HASH = "!bench-account-without-password"


@dataclass(frozen=True)
class Seat:
    user_id: int
    member_id: int
    session_token: str | None = None  # the browser's session cookie, for the meetings joined that way


@dataclass
class SeededMeeting:
    meeting_id: int
    seats: list[Seat] = field(default_factory=list)


@dataclass
class Seeded:
    meetings: list[SeededMeeting]  # joined with the signed tickets the pages hand out
    rtc: SeededMeeting | None  # the meeting of the aiortc peers, None without peers
    # As many meetings again, of other members, joined as a browser does: with the session cookie.
    browser: list[SeededMeeting] = field(default_factory=list)


def split_members(members: int, meetings: int) -> list[int]:
    """How many members each meeting gets: as even as possible, every meeting at least 2."""
    if meetings < 1 or members < 2 * meetings:
        raise ValueError("need at least 2 members per meeting")
    base, extra = divmod(members, meetings)
    return [base + (1 if index < extra else 0) for index in range(meetings)]


async def seed(db: Database, members: int, meetings: int, rtc_peers: int, at: datetime) -> Seeded:
    """Migrate the empty database and fill it; returns the meetings with their members' accounts."""
    await upgrade(db.engine)
    split = split_members(members, meetings)
    sizes = split + ([rtc_peers] if rtc_peers > 0 else []) + split
    today = at.astimezone(ZoneInfo(TIMEZONE)).date()
    async with db.write() as session:
        province = Org(name="Bench province", kind=OrgKind.PROVINCE, timezone=TIMEZONE, created_at=at)
        session.add(province)
        await session.flush()
        cells = [
            Org(
                name=f"Bench cell {index + 1}",
                kind=OrgKind.CELL,
                parent_id=province.id,
                timezone=TIMEZONE,
                created_at=at,
            )
            for index in range(len(sizes))
        ]
        session.add_all(cells)
        await session.flush()
        users: list[list[User]] = []
        for index, size in enumerate(sizes):
            users.append(
                [
                    User(
                        username=f"bench_{index + 1}_{seat + 1}",
                        full_name=f"Đảng viên {index + 1}.{seat + 1}",
                        password_hash=UNUSABLE_PASSWORD_HASH,
                        created_at=at,
                    )
                    for seat in range(size)
                ]
            )
        session.add_all([u for row in users for u in row])
        await session.flush()
        people: list[list[Member]] = []
        for cell, row in zip(cells, users, strict=True):
            people.append(
                [
                    Member(
                        org_id=cell.id,  # type: ignore[arg-type]
                        full_name=user.full_name,
                        standing="official",
                        activity="active",
                        remote_reason="abroad",
                        user_id=user.id,
                        created_at=at,
                        updated_at=at,
                    )
                    for user in row
                ]
            )
        session.add_all([m for row in people for m in row])
        await session.flush()
        rooms: list[Meeting] = []
        for cell, row, folk in zip(cells, users, people, strict=True):
            session.add(
                PilotApplication(
                    org_id=cell.id,  # type: ignore[arg-type]
                    kind=ApplicationKind.ONLINE.value,
                    status=ApplicationStatus.APPROVED.value,
                    eligibility={},
                    applied_by=row[0].id,  # type: ignore[arg-type]
                    applied_at=at,
                    decision_no="BENCH",
                    decided_on=today,
                    valid_from=today - timedelta(days=1),
                    valid_to=today + timedelta(days=365),
                    decided_by=row[0].id,
                    deciding_org_id=province.id,
                )
            )
            meeting = Meeting(
                org_id=cell.id,  # type: ignore[arg-type]
                kind="regular",
                mode="online",
                status="scheduled",
                title=f"Bench meeting of {cell.name}",
                starts_at=at + timedelta(hours=1),
                duration_minutes=120,
                chair_id=folk[0].id,
                minute_taker_id=folk[1].id if len(folk) > 1 else None,
                created_by=row[0].id,  # type: ignore[arg-type]
                created_at=at,
            )
            session.add(meeting)
            rooms.append(meeting)
        await session.flush()
        seeded = [
            SeededMeeting(
                meeting.id,  # type: ignore[arg-type]
                [Seat(u.id, m.id) for u, m in zip(row, folk, strict=True)],  # type: ignore[arg-type]
            )
            for meeting, row, folk in zip(rooms, users, people, strict=True)
        ]
        browser = seeded[len(sizes) - meetings :]
        for room in browser:
            room.seats = [replace(seat, session_token=secrets.token_urlsafe(32)) for seat in room.seats]
            session.add_all(
                [
                    WebSession(
                        id=token_id(seat.session_token),  # type: ignore[arg-type]
                        user_id=seat.user_id,
                        csrf_token=secrets.token_urlsafe(24),
                        created_at=at,
                        last_seen_at=at,
                    )
                    for seat in room.seats
                ]
            )
    return Seeded(seeded[:meetings], seeded[meetings] if rtc_peers > 0 else None, browser)


class PostgresScratch:
    """A database the bench creates on the given PostgreSQL server and drops afterwards.

    The URL names the database to create; an existing database of that name is refused (never dropped).
    Without a name (or with `.../` only) a random `cellmeet_bench_*` name is used.
    """

    def __init__(self, url: str) -> None:
        parts = urlsplit(url.replace("postgresql+asyncpg://", "postgresql://"))
        self.name = parts.path.lstrip("/") or f"cellmeet_bench_{uuid.uuid4().hex[:8]}"
        if not self.name.replace("_", "").isalnum():
            raise ValueError(f"unsupported database name: {self.name!r}")
        self.admin_dsn = urlunsplit(parts._replace(path="/postgres"))
        self.url = urlunsplit(parts._replace(path="/" + self.name))
        self.created = False

    async def create(self) -> str:
        conn = await asyncpg.connect(self.admin_dsn)
        try:
            exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", self.name)
            if exists:
                raise ValueError(f"database {self.name!r} exists already; the bench only uses a new one")
            await conn.execute(f'CREATE DATABASE "{self.name}"')
            self.created = True
        finally:
            await conn.close()
        return self.url

    async def drop(self) -> None:
        if not self.created:
            return
        conn = await asyncpg.connect(self.admin_dsn)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        finally:
            await conn.close()
