"""What the kill -9 tests of quality.md R1 share (tests/integration/test_crash_loop.py): a meeting of
many linked members served by `cellmeet serve` in its own process, the writers that remember what the
server acknowledged, and the checks of the database a SIGKILL left behind.

A non-test module: the tests import it, never each other.

SQLite durability (recorded in the report): server/db/engine.py opens every connection with
`journal_mode=WAL` and `synchronous=FULL`. A commit is acknowledged only after its WAL frames are
written and fsync'd, and a process killed at any instant leaves either the whole transaction in the
WAL (replayed by the next opener) or none of it: SIGKILL cannot tear a write() that already returned,
and an uncommitted tail of the WAL has no commit frame, so it is ignored. `synchronous=NORMAL` would
already survive a process crash in WAL mode; FULL is kept so an acknowledged commit survives a power
loss as well, which this test does not (cannot) prove.
"""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import select
from sqlmodel import col
from yarl import URL

from server.appkeys import SETTINGS
from server.auth.tickets import Ticket, issue
from server.db.engine import Database
from server.db.tables import AuditEvent, Ballot, Minutes, MinutesEdit, MinutesEditKey, PresenceEvent
from tests.integration.harness import ApiClient, free_port
from tests.integration.helpers import apply, decide, decision, schedule
from tests.integration.room_client import RoomClient, link_members
from tests.integration.serve_process import ServeProcess, serve_env, starts_now
from tests.integration.world import PASSWORD, World

SQLITE_DURABILITY = "SQLite journal_mode=WAL, synchronous=FULL (fsync per commit)"
MINUTES_FIELDS = ("opening", "guests", "conclusions")


# A spare `cellmeet serve` with the application already imported, waiting for one line on stdin to
# run `cellmeet serve` (server.cli.main) in the same process.
_STANDBY = (
    "import sys, pathlib, server.app, server.cli; pathlib.Path(sys.argv[2]).touch(); sys.stdin.readline(); "
    "sys.exit(server.cli.main(['serve', '--host', '127.0.0.1', '--port', sys.argv[1]]))"
)


class WarmServe(ServeProcess):
    """`cellmeet serve` restarted from a warm spare: a cold start imports the whole application (about
    3 s on this 2-core machine under load), more than quality.md's 1.5 s restart. The spare is started
    while the server runs; on `start()` it only parses the settings, opens the database and listens,
    as `cellmeet serve` does after its imports. `cold_seconds` is the first, cold start."""

    def __init__(self, env: dict[str, str], port: int, log: Path) -> None:
        super().__init__(env, port, log)
        self.spare: subprocess.Popen[bytes] | None = None
        self.cold_seconds = 0.0
        self.starts: list[float] = []

    def _ready_file(self) -> Path:
        return self.log.with_name(f"spare-{len(self.starts)}.ready")

    async def spare_ready(self, seconds: float = 60.0) -> None:
        """Waits until the spare has imported the application (call it before a kill)."""
        deadline = time.monotonic() + seconds
        while not self._ready_file().exists():
            assert self.spare is not None and self.spare.poll() is None, "the spare died"
            assert time.monotonic() < deadline, "the spare did not import the application in time"
            await asyncio.sleep(0.05)

    def _spawn_spare(self) -> None:
        with self.log.open("ab") as log:
            self.spare = subprocess.Popen(
                [sys.executable, "-c", _STANDBY, str(self.port), str(self._ready_file())],
                env=self.env,
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    async def start(self) -> None:
        began = time.monotonic()
        if self.process is None:  # the first start is cold, as an operator's
            await super().start()
            self.cold_seconds = time.monotonic() - began
        else:
            spare, self.spare = self.spare, None
            assert spare is not None and spare.stdin is not None
            spare.stdin.write(b"go\n")
            spare.stdin.close()
            self.process = spare
            await self._listening()
            self.starts.append(time.monotonic() - began)
        self._spawn_spare()

    async def _listening(self) -> None:
        async with aiohttp.ClientSession() as http:
            for _ in range(600):
                try:
                    async with http.get(f"http://127.0.0.1:{self.port}/healthz") as reply:
                        if reply.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.02)
        raise AssertionError("cellmeet serve did not start:\n" + self.log.read_text()[-3000:])

    def close(self) -> None:
        self.kill()
        if self.spare is not None:
            if self.spare.poll() is None:
                self.spare.kill()
                self.spare.wait(10)
            if self.spare.stdin is not None:
                self.spare.stdin.close()


@dataclass
class Served:
    """A meeting of unit A with `people` linked to accounts, and `cellmeet serve` over its database."""

    meeting_id: int
    people: list[tuple[str, int]]  # (username, member_id); people[1] is the minute-taker
    officials: set[int]
    process: WarmServe
    env: dict[str, str]
    base: str
    secret: str
    users: dict[str, int]

    def ticket(self, username: str, member_id: int, minutes: int = 60) -> str:
        expires = int((datetime.now(UTC) + timedelta(minutes=minutes)).timestamp())
        return issue(self.secret, Ticket(self.users[username], member_id, self.meeting_id, expires))

    def client(self, username: str, member_id: int, *, rejoin: bool, fast_retry: bool = False) -> RoomClient:
        client = RoomClient(
            self.base,
            auth={"token": self.ticket(username, member_id)},
            reconnection=True,
            rejoin=self.meeting_id if rejoin else None,
        )
        if fast_retry:  # the crash loop measures durability, not the browser's backoff
            client.sio.reconnection_delay = 0.2
            client.sio.reconnection_delay_max = 0.5
        return client

    async def login(self, username: str) -> ApiClient:
        client = ApiClient(URL(self.base))
        reply = await client.login(username, PASSWORD)
        assert reply.status == 200, reply.body
        return client


async def serve_meeting(world: World, database_url: str, tmp_path: Path, members: int) -> Served:
    """Unit A grown to `members` official members (plus its probationary one), all linked to accounts,
    one online meeting starting now with people[1] as minute-taker; the in-process server stopped and
    `cellmeet serve` started on the same database."""
    today = world.server.clock.now.date()
    application = await apply(world, "sec_a", "A")
    approval = decision(
        str(today - timedelta(days=1)), str(today + timedelta(days=300)), decided_on=str(today)
    )
    assert (await decide(await world.as_user("approver_c"), application["id"], approval)).status == 200
    secretary = await world.as_user("sec_a")
    while len(world.members["A"]) < members:
        number = len(world.members["A"])
        reply = await secretary.post(
            f"/api/v1/orgs/{world.orgs['A']}/members",
            {"full_name": f"Đảng Viên Thứ {number}", "standing": "official"},
        )
        assert reply.status == 201, reply.body
        world.members["A"].append(reply.body["id"])
    people = await link_members(world, "A", members)
    probationary = world.members["A"][4]  # Hoàng Văn Năm (world.MEMBERS): may not vote
    officials = {member_id for _, member_id in people} - {probationary}
    created = await schedule(
        world, "sec_a", "A", mode="online", starts_at=starts_now(world), minute_taker_id=people[1][1]
    )
    assert created.status == 201, created.body
    settings = world.server.app[SETTINGS]
    await world.server.stop()
    port = free_port()
    env = serve_env(tmp_path, database_url, settings.secret_key.value)
    process = WarmServe(env, port, tmp_path / "serve.log")
    await process.start()
    return Served(
        int(created.body["id"]),
        people,
        officials,
        process,
        env,
        f"http://127.0.0.1:{port}",
        settings.secret_key.value,
        dict(world.users),
    )


async def wait_until(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


# --- the writers ----------------------------------------------------------------------------------


@dataclass
class Editor:
    """The minute-taker's edits, each with an idempotency key and a marker appended to one field. An
    edit whose answer was lost stays `pending` and is sent again, unchanged, until it is answered."""

    client: ApiClient
    meeting_id: int
    version: int = 0
    texts: dict[str, str] = field(default_factory=dict)
    acked: dict[str, int] = field(default_factory=dict)  # edit_id -> the version it produced
    pending: dict[str, Any] | None = None
    sent: int = 0

    def marker(self, edit_id: str) -> str:
        return f"[{edit_id}]"

    def next_body(self, name: str) -> dict[str, Any]:
        self.sent += 1
        edit_id = f"e{self.sent}"
        text = self.texts.get(name, "") + self.marker(edit_id)
        return {"version": self.version, "fields": {name: text}, "edit_id": edit_id}

    async def send(self, body: dict[str, Any]) -> bool:
        """One PUT: True once answered 200 (then remembered as acknowledged)."""
        self.pending = body
        try:
            reply = await self.client.put(f"/api/v1/meetings/{self.meeting_id}/minutes", body)
        except Exception:
            return False
        if reply.status != 200:
            assert reply.status >= 500 or reply.status == 409, (reply.status, reply.body)
            return False
        self.acked[body["edit_id"]] = int(reply.body["version"])
        self.version = int(reply.body["version"])
        self.texts = dict(reply.body["fields"])
        self.pending = None
        return True

    async def run(self, stop: asyncio.Event, name: str, pause: float = 0.0) -> None:
        """Edits one after another until `stop`; an unanswered one is tried again."""
        while not stop.is_set():
            body = self.pending or self.next_body(name)
            if not await self.send(body):
                await asyncio.sleep(0.05)
            elif pause:
                await asyncio.sleep(pause)

    async def settle(self, seconds: float = 10.0) -> bool:
        """After a restart: the edit whose answer was lost, sent again with the same key."""
        deadline = time.monotonic() + seconds
        while self.pending is not None and time.monotonic() < deadline:
            if not await self.send(self.pending):
                await asyncio.sleep(0.1)
        return self.pending is None


@dataclass(frozen=True)
class PresenceOp:
    member_id: int
    kind: str  # "join" or "leave"
    acked_at: datetime


async def churn(
    client: RoomClient, meeting_id: int, member_id: int, stop: asyncio.Event, acked: list[PresenceOp]
) -> None:
    """Join and leave one after another on the same connection until `stop` (each answer remembered)."""
    while not stop.is_set():
        for kind in ("join", "leave"):
            data = {"meeting_id": meeting_id} if kind == "join" else {}
            ack = await client.call(kind, data)
            if not (isinstance(ack, dict) and ack.get("ok")):
                raise AssertionError(f"{kind} refused: {ack}")
            acked.append(PresenceOp(member_id, kind, datetime.now(UTC)))
            await asyncio.sleep(0.05)


# --- the checks of the database a SIGKILL left ----------------------------------------------------


def sqlite_path(database_url: str) -> Path | None:
    return Path(database_url.split("///", 1)[1]) if database_url.startswith("sqlite") else None


def sqlite_integrity(database_url: str) -> tuple[str, str]:
    """(`PRAGMA integrity_check`, `PRAGMA journal_mode`) of the file, read with the sqlite3 module."""
    path = sqlite_path(database_url)
    assert path is not None
    connection = sqlite3.connect(path, timeout=10)
    try:
        integrity = "; ".join(str(row[0]) for row in connection.execute("PRAGMA integrity_check"))
        mode = str(connection.execute("PRAGMA journal_mode").fetchone()[0])
    finally:
        connection.close()
    return integrity, mode


async def audit_verify(env: dict[str, str]) -> tuple[bool, str]:
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "cellmeet"),
        "audit",
        "verify",
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), 60)
    except TimeoutError:
        process.kill()
        await process.wait()
        return False, "cellmeet audit verify timed out"
    return process.returncode == 0, output.decode(errors="replace")[-2000:]


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass
class Stored:
    ballots: set[tuple[int, int]]
    ballot_audit: Counter[tuple[int, int]]
    presence: list[tuple[int, str, datetime]]  # (member, kind, at) of the meeting's online events
    presence_rows: Counter[tuple[int, str]]
    presence_audit: Counter[tuple[int, str]]
    keys: dict[str, int]
    edit_versions: dict[str, set[int]]
    minutes_version: int
    max_edit_version: int
    texts: dict[str, str]


async def read_stored(database_url: str, meeting_id: int) -> Stored:
    database = Database(database_url)
    try:
        async with database.read() as session:
            ballots = {
                (int(v), int(m))
                for v, m in (await session.execute(select(col(Ballot.vote_id), col(Ballot.member_id)))).all()
            }
            audit = (
                await session.execute(
                    select(col(AuditEvent.action), col(AuditEvent.target), col(AuditEvent.data)).where(
                        col(AuditEvent.action).in_(["ballot.cast", "presence.join", "presence.leave"])
                    )
                )
            ).all()
            presence = [
                (int(m), str(k), _utc(at))
                for m, k, at in (
                    await session.execute(
                        select(col(PresenceEvent.member_id), col(PresenceEvent.kind), col(PresenceEvent.at))
                        .where(
                            col(PresenceEvent.meeting_id) == meeting_id,
                            col(PresenceEvent.kind).in_(["join", "leave"]),
                        )
                        .order_by(col(PresenceEvent.at), col(PresenceEvent.id))
                    )
                ).all()
            ]
            keys = {
                str(e): int(v)
                for e, v in (
                    await session.execute(
                        select(col(MinutesEditKey.edit_id), col(MinutesEditKey.version)).where(
                            col(MinutesEditKey.meeting_id) == meeting_id
                        )
                    )
                ).all()
            }
            edits = (
                await session.execute(
                    select(
                        col(MinutesEdit.edit_id),
                        col(MinutesEdit.version),
                        col(MinutesEdit.field),
                        col(MinutesEdit.text),
                    )
                    .where(col(MinutesEdit.meeting_id) == meeting_id)
                    .order_by(col(MinutesEdit.version))
                )
            ).all()
            row = await session.get(Minutes, meeting_id)
    finally:
        await database.engine.dispose()
    ballot_audit: Counter[tuple[int, int]] = Counter()
    presence_audit: Counter[tuple[int, str]] = Counter()
    for action, target, data in audit:
        if action == "ballot.cast":
            ballot_audit[(int(target.split(":")[1]), int(data["member_id"]))] += 1
        elif target == f"meeting:{meeting_id}":
            presence_audit[(int(data["member_id"]), action.split(".")[1])] += 1
    edit_versions: dict[str, set[int]] = {}
    texts: dict[str, str] = {}
    for edit_id, version, name, text in edits:
        if edit_id is not None:
            edit_versions.setdefault(str(edit_id), set()).add(int(version))
        texts[str(name)] = str(text)
    return Stored(
        ballots=ballots,
        ballot_audit=ballot_audit,
        presence=presence,
        presence_rows=Counter((m, k) for m, k, _ in presence),
        presence_audit=presence_audit,
        keys=keys,
        edit_versions=edit_versions,
        minutes_version=row.version if row is not None else 0,
        max_edit_version=max((int(v) for _, v, _, _ in edits), default=0),
        texts=texts,
    )


def check_stored(
    stored: Stored,
    *,
    acked_ballots: set[tuple[int, int]],
    acked_edits: dict[str, int],
    acked_presence: list[PresenceOp],
    markers: Callable[[str], str],
) -> tuple[list[str], int]:
    """Every problem found (a partial transaction, a lost or doubled acknowledged write), and how many
    acknowledged writes are missing."""
    problems: list[str] = []
    lost = 0
    # no partial transaction: a domain row and its audit row, both or neither
    if Counter(stored.ballots) != stored.ballot_audit:
        problems.append(f"ballots without audit or audit without ballot: {stored.ballot_audit}")
    if stored.presence_rows != stored.presence_audit:
        problems.append(f"presence rows {stored.presence_rows} != audit {stored.presence_audit}")
    if set(stored.keys) != set(stored.edit_versions) or any(
        stored.edit_versions[e] != {v} for e, v in stored.keys.items() if e in stored.edit_versions
    ):
        problems.append("a minutes edit key without its edit rows (or rows without their key)")
    if stored.minutes_version != stored.max_edit_version:
        problems.append(f"minutes version {stored.minutes_version} != last edit {stored.max_edit_version}")
    # every acknowledged write present, once
    lost_ballots = acked_ballots - stored.ballots
    lost += len(lost_ballots)
    if lost_ballots:
        problems.append(f"acknowledged ballots lost: {sorted(lost_ballots)}")
    lost_edits = {e: v for e, v in acked_edits.items() if stored.keys.get(e) != v}
    lost += len(lost_edits)
    if lost_edits:
        problems.append(f"acknowledged minutes edits lost: {lost_edits}")
    text = "".join(stored.texts.values())
    doubled = [e for e in stored.keys if text.count(markers(e)) != 1]
    if doubled:
        problems.append(f"minutes edits not exactly once in the text: {doubled[:10]}")
    for op in acked_presence:
        before = [k for m, k, at in stored.presence if m == op.member_id and at <= op.acked_at]
        if not before or before[-1] != op.kind:
            lost += 1
            problems.append(f"acknowledged {op.kind} of member {op.member_id} at {op.acked_at} not stored")
    return problems, lost


async def intervals(secretary: ApiClient, meeting_id: int) -> dict[int, int]:
    """Attendance intervals per member (the REST view)."""
    reply = await secretary.get(f"/api/v1/meetings/{meeting_id}/attendance")
    assert reply.status == 200, reply.body
    return {int(m["member_id"]): len(m["intervals"]) for m in reply.body["members"]}
