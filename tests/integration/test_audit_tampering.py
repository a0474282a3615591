"""S12 on a real 1,000-entry audit log: every single-row mutation (a field modified, a row deleted, a row
swapped with the next, a forged row inserted) is named at its exact first bad seq; truncation and a
recomputed rewrite are caught against the exported signed checkpoints, and only against them.

The log is written by `append` and `write_checkpoint` in a real database, and the checkpoints are exported
by the real `cellmeet audit checkpoints`. Then:
- all ~4,000 mutations are applied with SQL to a SQLite copy, each inside a transaction that is rolled
  back, and the rows read back are checked by the verifier (`ChainVerifier` over `event_body` rows, what
  `cellmeet audit verify` runs);
- a spread sample of them (6 of each kind) through the real `cellmeet audit verify --checkpoints`
  subprocess on SQLite copies, and a few on PostgreSQL; the full subprocess sweep is a slow test.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sqlite3
import sys
from collections import namedtuple
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, insert, select, text

from meetings.audit_chain import (
    GENESIS,
    ChainEntry,
    ChainFault,
    ChainVerdict,
    ChainVerifier,
    Checkpoint,
    entry_hash,
)
from server.audit.checkpoints import PERIODIC, audit_checkpoints, write_checkpoint
from server.audit.keys import load_signer, parse_public_key
from server.audit.log import append, event_body
from server.audit.verify import bad_signatures, read_checkpoint_file
from server.db.engine import Database
from server.db.migrate import upgrade
from server.db.tables import AuditEvent
from server.settings import Secret, Settings
from tests.reliability import node_id, record

RELIABILITY_ROW = "S12"  # its line in docs/reliability.md, even when it fails before measuring

ENTRIES = 1000
CHECKPOINT_EVERY = 100
TIMEOUT = 120
CONSOLE_SCRIPT = Path(sys.executable).with_name("cellmeet")
COLUMNS = ("seq", "at", "actor_user_id", "org_id", "action", "target", "data", "prev_hash", "hash")
Row = namedtuple("Row", COLUMNS)  # what `event_body` reads, as SQLAlchemy's rows offer it
START = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
KINDS = ("modify", "delete", "swap", "insert")
# Each run of the command costs ~2 s of interpreter start-up: the fast suite runs 6 of each kind (first,
# last and four between), the slow one all of them.
SAMPLE_PER_KIND = 6


# --- the log --------------------------------------------------------------------------------------


def _event(seq: int) -> dict[str, Any]:
    """Varied, realistic rows: logins without a unit, member changes with Vietnamese text, ballots."""
    kind = seq % 5
    if kind == 0:
        return {
            "actor_user_id": 1 + seq % 7,
            "org_id": None,
            "action": "auth.login",
            "target": "user",
            "data": {},
        }
    if kind == 1:
        return {
            "actor_user_id": 2,
            "org_id": 10 + seq % 4,
            "action": "member.updated",
            "target": f"member:{seq % 90}",
            "data": {"before": {"standing": "probationary"}, "after": {"standing": "official"}},
        }
    if kind == 2:
        return {
            "actor_user_id": None,
            "org_id": 11,
            "action": "members.imported",
            "target": "org:11",
            "data": {"count": seq % 13, "file": "chi-bộ-thôn-Đông.xlsx", "rows": [1, 2, 3]},
        }
    if kind == 3:
        return {
            "actor_user_id": 3 + seq % 5,
            "org_id": 12,
            "action": "ballot.cast",
            "target": f"vote:{seq // 10}",
            "data": {"member_id": seq % 40, "on_site": seq % 2 == 0},
        }
    return {
        "actor_user_id": 4,
        "org_id": 13,
        "action": "minutes.edited",
        "target": f"meeting:{seq // 50}",
        "data": {"version": seq, "fields": ["conclusions"], "note": "Nguyễn Thị Thu đề nghị bổ sung"},
    }


async def write_log(db: Database, settings: Settings, entries: int = ENTRIES) -> None:
    """`entries` audit rows by `append`, 50 to a transaction, a signed checkpoint every 100 rows."""
    signer = load_signer(settings)
    async with audit_checkpoints(db, signer, lambda: START, minutes=24 * 60):
        for first in range(1, entries + 1, 50):
            async with db.write() as session:
                for seq in range(first, min(first + 50, entries + 1)):
                    await append(session, at=START + timedelta(minutes=seq), **_event(seq))
                if (first + 49) % CHECKPOINT_EVERY == 0 or first + 49 >= entries:
                    await write_checkpoint(session, at=START + timedelta(minutes=first + 49), reason=PERIODIC)


async def cellmeet(
    data_dir: Path, database_url: str, *args: str, lang: str | None = None
) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CELLMEET_")}
    env.update(CELLMEET_DATA_DIR=str(data_dir), CELLMEET_DATABASE_URL=database_url)
    if lang is not None:
        env["CELLMEET_LANG"] = lang
    command = [str(CONSOLE_SCRIPT)] if CONSOLE_SCRIPT.exists() else [sys.executable, "-m", "server.cli"]
    process = await asyncio.create_subprocess_exec(
        *command, *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), TIMEOUT)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@dataclass
class Log:
    """The built log: a SQLite file to copy, the checkpoints exported from it, its rows as stored."""

    directory: Path
    db_file: Path
    checkpoints_file: Path
    rows: list[Row]
    heads: list[Checkpoint]

    def url(self, db_file: Path) -> str:
        return f"sqlite+aiosqlite:///{db_file}"


@pytest.fixture(scope="module")
def sqlite_log(tmp_path_factory: pytest.TempPathFactory) -> Log:
    directory = tmp_path_factory.mktemp("audit-log")
    db_file = directory / "cellmeet.db"
    url = f"sqlite+aiosqlite:///{db_file}"
    settings = Settings(data_dir=directory, database_url=url, secret_key=Secret("s" * 48))

    async def build() -> tuple[int, str, str]:
        db = Database(url)
        try:
            await upgrade(db.engine)
            await write_log(db, settings)
        finally:
            await db.close()
        return await cellmeet(
            directory, url, "audit", "checkpoints", "--out", str(directory / "checkpoints.json")
        )

    # Module set-up may be requested from inside a running test loop: build on a loop of its own.
    with ThreadPoolExecutor(1) as pool:
        code, out, err = pool.submit(asyncio.run, build()).result()
    assert code == 0, (out, err)
    connection = sqlite3.connect(db_file)
    try:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # one self-contained file to copy
        rows = [
            _row(r) for r in connection.execute(f"SELECT {', '.join(COLUMNS)} FROM audit_events ORDER BY seq")
        ]
    finally:
        connection.close()
    exported = read_checkpoint_file(directory / "checkpoints.json")
    return Log(
        directory, db_file, directory / "checkpoints.json", rows, [c.head for c in exported.checkpoints]
    )


def _row(values: tuple[Any, ...]) -> Row:
    row = Row(*values)
    return row._replace(data=json.loads(row.data)) if isinstance(row.data, str) else row


# --- the mutations, as SQL an attacker with write access runs ---------------------------------------


@dataclass(frozen=True)
class Mutation:
    name: str
    first_bad_seq: int
    statements: tuple[tuple[str, dict[str, Any]], ...]


MODIFIED = ("at", "actor_user_id", "org_id", "action", "target", "data", "prev_hash", "hash", "seq")
INSERT = (
    "INSERT INTO audit_events (seq, at, actor_user_id, org_id, action, target, data, prev_hash, hash) "
    "VALUES (:seq, :at, :actor, :org, :action, :target, {json}, :prev, :hash)"
)


def modify(rows: list[Row], n: int) -> Mutation:
    """One field of row n changed; the field cycles with n so every column is covered many times."""
    row = rows[n - 1]
    column = MODIFIED[n % len(MODIFIED)]
    where = " WHERE seq = :n"
    statement, params = {
        "at": ("UPDATE audit_events SET at = :v", {"v": "2020-01-01T00:00:00Z"}),
        "actor_user_id": ("UPDATE audit_events SET actor_user_id = :v", {"v": (row.actor_user_id or 0) + 1}),
        "org_id": ("UPDATE audit_events SET org_id = :v", {"v": (row.org_id or 0) + 1}),
        "action": ("UPDATE audit_events SET action = :v", {"v": "member.deleted"}),
        "target": ("UPDATE audit_events SET target = :v", {"v": "member:999999"}),
        "data": ("UPDATE audit_events SET data = {json}", {"data": json.dumps({**row.data, "forged": True})}),
        "prev_hash": ("UPDATE audit_events SET prev_hash = :v", {"v": "e" * 64}),
        "hash": ("UPDATE audit_events SET hash = :v", {"v": "f" * 64}),
        "seq": ("UPDATE audit_events SET seq = :v", {"v": n + 1_000_000}),  # moved away from its place
    }[column]
    return Mutation(f"modify {column} of seq {n}", n, ((statement + where, {**params, "n": n}),))


def delete_row(rows: list[Row], n: int) -> Mutation:
    return Mutation(f"delete seq {n}", n, (("DELETE FROM audit_events WHERE seq = :n", {"n": n}),))


def swap(rows: list[Row], n: int) -> Mutation:
    """Rows n and n+1 trade places: all their columns, hashes included, but the seq of the place."""
    return Mutation(
        f"swap seq {n} and {n + 1}",
        n,
        (
            ("UPDATE audit_events SET seq = -1 WHERE seq = :n", {"n": n}),
            ("UPDATE audit_events SET seq = :n WHERE seq = :next", {"n": n, "next": n + 1}),
            ("UPDATE audit_events SET seq = :next WHERE seq = -1", {"next": n + 1}),
        ),
    )


def insert_forged(rows: list[Row], n: int) -> Mutation:
    """A careful forgery before row n: correct seq, linked to row n-1, hashed right; later rows renumbered."""
    prev = rows[n - 2].hash if n > 1 else GENESIS
    body = {
        "seq": n,
        "at": rows[n - 1].at,
        "actor": 2,
        "org": 11,
        "action": "member.updated",
        "target": "member:7",
        "data": {"after": {"activity": "exempt"}},
    }
    values = {
        "seq": n,
        "at": body["at"],
        "actor": body["actor"],
        "org": body["org"],
        "action": body["action"],
        "target": body["target"],
        "data": json.dumps(body["data"]),
        "prev": prev,
        "hash": entry_hash(prev, body),
    }
    return Mutation(
        f"insert a forged row at seq {n}",
        n,
        (
            ("UPDATE audit_events SET seq = -(seq + 1) WHERE seq >= :n", {"n": n}),
            ("UPDATE audit_events SET seq = -seq WHERE seq < 0", {}),
            (INSERT, values),
        ),
    )


def truncate(rows: list[Row], k: int) -> Mutation:
    keep = len(rows) - k
    return Mutation(
        f"truncate the last {k}", keep + 1, (("DELETE FROM audit_events WHERE seq > :keep", {"keep": keep}),)
    )


def rewrite(rows: list[Row], n: int) -> Mutation:
    """Row n edited and every later prev_hash and hash recomputed: a chain that verifies on its own.
    The first bad seq is that of the first checkpoint at or after n."""
    statements: list[tuple[str, dict[str, Any]]] = []
    prev = rows[n - 2].hash if n > 1 else GENESIS
    for row in rows[n - 1 :]:
        if row.seq == n:
            row = row._replace(target="member:999999")
            statements.append(
                ("UPDATE audit_events SET target = :v WHERE seq = :n", {"v": row.target, "n": n})
            )
        digest = entry_hash(prev, event_body(row))
        statements.append(
            (
                "UPDATE audit_events SET prev_hash = :p, hash = :h WHERE seq = :n",
                {"p": prev, "h": digest, "n": row.seq},
            )
        )
        prev = digest
    checkpoint = -(-n // CHECKPOINT_EVERY) * CHECKPOINT_EVERY
    return Mutation(f"rewrite from seq {n}", checkpoint, tuple(statements))


def before_the_first(rows: list[Row]) -> Mutation:
    """A forged row numbered 0, linked to nothing: read first, so named at seq 1 (not skipped)."""
    values = {
        "seq": 0,
        "at": rows[0].at,
        "actor": 1,
        "org": 11,
        "action": "pilot.decided",
        "target": "org:11",
        "data": "{}",
        "prev": GENESIS,
        "hash": "0" * 64,
    }
    return Mutation("insert a forged row at seq 0", 1, ((INSERT, values),))


BUILDERS = {"modify": modify, "delete": delete_row, "swap": swap, "insert": insert_forged}


def every_mutation(rows: list[Row]) -> Iterator[Mutation]:
    """About 4,000: each kind at every row it applies to (a row has no next row to swap with at the end)."""
    for kind in KINDS:
        last = len(rows) - 1 if kind == "swap" else len(rows)
        for n in range(1, last + 1):
            yield BUILDERS[kind](rows, n)


def spread(rows: list[Row], kind: str, how_many: int) -> list[Mutation]:
    """`how_many` rows of one kind spread over the log, first and last included."""
    last = len(rows) - 1 if kind == "swap" else len(rows)
    picks = sorted({1 + round(i * (last - 1) / (how_many - 1)) for i in range(how_many)})
    return [BUILDERS[kind](rows, n) for n in picks]


def _sql(statement: str, dialect: str) -> str:
    return statement.replace("{json}", ":data" if dialect == "sqlite" else "CAST(:data AS JSON)")


# --- in-process: every mutation on a SQLite copy ----------------------------------------------------


class SqliteCopy:
    """A copy of the log; each mutation runs in a transaction that is rolled back after the check."""

    def __init__(self, log: Log, path: Path) -> None:
        shutil.copy(log.db_file, path)
        self.connection = sqlite3.connect(path, isolation_level=None)

    def verdict(self, mutation: Mutation | None, heads: list[Checkpoint]) -> ChainVerdict:
        self.connection.execute("BEGIN")
        try:
            for statement, params in mutation.statements if mutation else ():
                self.connection.execute(_sql(statement, "sqlite"), params)
            verifier = ChainVerifier(heads)
            cursor = self.connection.execute(f"SELECT {', '.join(COLUMNS)} FROM audit_events ORDER BY seq")
            for values in cursor:  # read lazily, as the verifier stops at the first fault
                row = _row(values)
                if verifier.feed(_entry(row)) is not None:
                    break
            cursor.close()
            return verifier.finish()
        finally:
            self.connection.execute("ROLLBACK")

    def close(self) -> None:
        self.connection.close()


def _entry(row: Row) -> ChainEntry:
    return ChainEntry(row.seq, row.prev_hash, row.hash, event_body(row))


def test_the_log_and_its_exported_checkpoints_are_intact(sqlite_log: Log, tmp_path: Path) -> None:
    assert [r.seq for r in sqlite_log.rows] == list(range(1, ENTRIES + 1))
    assert [c.seq for c in sqlite_log.heads] == list(range(CHECKPOINT_EVERY, ENTRIES + 1, CHECKPOINT_EVERY))
    exported = read_checkpoint_file(sqlite_log.checkpoints_file)
    assert bad_signatures(exported.checkpoints, parse_public_key(exported.public_key or "")) == []
    copy = SqliteCopy(sqlite_log, tmp_path / "copy.db")
    try:
        verdict = copy.verdict(None, sqlite_log.heads)
    finally:
        copy.close()
    assert (verdict.ok, verdict.count, verdict.checkpoints_matched) == (
        True,
        ENTRIES,
        ENTRIES // CHECKPOINT_EVERY,
    )
    assert verdict.head_hash == sqlite_log.rows[-1].hash == sqlite_log.heads[-1].head_hash


def mutations_attacked(cases: int, how: str) -> str:
    return (
        f"{cases} single-row mutations of a real {ENTRIES:,}-entry audit log (a field modified, a row"
        f" deleted, swapped with the next, a forged row inserted), {how}"
    )


@pytest.mark.reliability
def test_every_single_row_mutation_is_named_at_its_first_bad_seq(
    sqlite_log: Log, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    copy = SqliteCopy(sqlite_log, tmp_path / "copy.db")
    failures: list[str] = []
    undetected_alone: list[str] = []
    cases = 0
    try:
        for mutation in every_mutation(sqlite_log.rows):
            cases += 1
            verdict = copy.verdict(mutation, sqlite_log.heads)
            if verdict.ok or verdict.first_bad_seq != mutation.first_bad_seq:
                failures.append(f"{mutation.name}: expected {mutation.first_bad_seq}, got {verdict}")
            elif verdict.reason in (ChainFault.TRUNCATED, ChainFault.CHECKPOINT_MISMATCH):
                # Found by a checkpoint: would the chain alone have shown it? (A fault of the chain itself
                # is found before any checkpoint is consulted, so it needs no second look.)
                alone = copy.verdict(mutation, [])
                if alone.ok:
                    undetected_alone.append(mutation.name)
                elif alone.first_bad_seq != mutation.first_bad_seq:
                    failures.append(
                        f"{mutation.name} (no checkpoints): expected {mutation.first_bad_seq}, got {alone}"
                    )
        rolled_back = copy.verdict(None, sqlite_log.heads).ok
    finally:
        copy.close()
    record(
        "S12",
        node_id(request),
        attacked=mutations_attacked(cases, "each checked by the verifier `cellmeet audit verify` runs"),
        attempts=cases,
        failures=len(failures) + (undetected_alone != [f"delete seq {ENTRIES}"]) + (not rolled_back),
        figure=(
            f"{cases - len(failures)} of {cases} named at their exact first bad seq; found by the chain alone"
            f" except {', '.join(undetected_alone) or 'none'} (a truncation by one: only the exported"
            " signed checkpoint shows it)"
        ),
        tier="fast",
    )
    assert rolled_back  # every change was rolled back
    assert cases == 4 * ENTRIES - 1
    assert not failures, f"{len(failures)} of {cases} wrong:\n" + "\n".join(failures[:20])
    # Deleting the last row is a truncation by one: only the exported checkpoint shows it.
    assert undetected_alone == [f"delete seq {ENTRIES}"]


@pytest.mark.reliability
def test_truncation_and_a_recomputed_rewrite_are_shown_only_by_the_checkpoints(
    sqlite_log: Log, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    copy = SqliteCopy(sqlite_log, tmp_path / "copy.db")
    wrong: list[str] = []  # each case's checks, every one of them as before: the first that failed
    rewrites = (1, 2, 99, 100, 101, 450, 899, 900, 901, 999, 1000)
    try:
        for k in range(1, 51):
            mutation = truncate(sqlite_log.rows, k)
            alone = copy.verdict(mutation, [])
            caught = copy.verdict(mutation, sqlite_log.heads)
            if (alone.ok, alone.count) != (True, ENTRIES - k):  # undetectable on the box
                wrong.append(f"{mutation.name} alone: {alone}")
            elif (caught.ok, caught.reason, caught.first_bad_seq) != (
                False,
                ChainFault.TRUNCATED,
                ENTRIES - k + 1,
            ):
                wrong.append(f"{mutation.name}: {caught}")
        for n in rewrites:
            mutation = rewrite(sqlite_log.rows, n)
            alone = copy.verdict(mutation, [])
            caught = copy.verdict(mutation, sqlite_log.heads)
            if (alone.ok, alone.count) != (True, ENTRIES) or alone.head_hash == sqlite_log.rows[-1].hash:
                wrong.append(f"{mutation.name} alone: {alone}")
            elif (caught.ok, caught.reason, caught.first_bad_seq) != (
                False,
                ChainFault.CHECKPOINT_MISMATCH,
                mutation.first_bad_seq,
            ) or caught.last_matched_seq != mutation.first_bad_seq - CHECKPOINT_EVERY:
                wrong.append(f"{mutation.name}: {caught}")
    finally:
        copy.close()
    cases = 50 + len(rewrites)
    record(
        "S12",
        node_id(request),
        attacked=(
            f"the last k rows of a {ENTRIES:,}-entry audit log deleted (k = 1..50), and {len(rewrites)}"
            " rewrites by an attacker with write access who edits one row and recomputes every later hash"
        ),
        attempts=cases,
        failures=len(wrong),
        figure=(
            f"{cases - len(wrong)} of {cases}: each undetectable by the chain alone (Crosby-Wallach) and"
            " caught against the last exported signed checkpoint at its exact first bad seq"
        ),
        tier="fast",
    )
    assert wrong == [], wrong


# --- through the real command ---------------------------------------------------------------------


async def _run_on_copy(
    log: Log, mutation: Mutation, work: Path, *args: str, lang: str | None = None
) -> tuple[int, str, str]:
    work.mkdir(parents=True)
    db_file = work / "cellmeet.db"
    shutil.copy(log.db_file, db_file)
    connection = sqlite3.connect(db_file)
    try:
        with connection:
            for statement, params in mutation.statements:
                connection.execute(_sql(statement, "sqlite"), params)
    finally:
        connection.close()
    try:
        return await cellmeet(work, log.url(db_file), "audit", "verify", *args, lang=lang)
    finally:
        shutil.rmtree(work, ignore_errors=True)  # the full sweep would otherwise keep 4,000 copies


async def _sweep(log: Log, mutations: list[Mutation], tmp_path: Path, parallel: int) -> list[str]:
    """Each mutation on a fresh copy through `cellmeet audit verify --checkpoints`; the failures."""
    gate = asyncio.Semaphore(parallel)

    async def one(index: int, mutation: Mutation) -> str | None:
        async with gate:
            lang = "en" if index % 2 else None  # both languages name the seq
            code, out, err = await _run_on_copy(
                log,
                mutation,
                tmp_path / f"case-{index}",
                "--checkpoints",
                str(log.checkpoints_file),
                lang=lang,
            )
        expected = (
            f"BROKEN at entry {mutation.first_bad_seq}:"
            if lang
            else f"HỎNG tại mục {mutation.first_bad_seq}:"
        )
        if code != 1 or expected not in out:
            return f"{mutation.name}: exit {code}, {out!r} {err[-300:]!r}"
        return None

    results = await asyncio.gather(*(one(i, m) for i, m in enumerate(mutations)))
    return [r for r in results if r is not None]


# 24 runs of the command (~15 s): the fast suite keeps one case of each kind on both databases
# (test_the_command_on_either_database) and the whole sweep in process; this sample runs with -m slow.
@pytest.mark.slow
@pytest.mark.reliability
async def test_the_command_names_the_first_bad_seq_of_a_spread_sample(
    sqlite_log: Log, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    sample = [m for kind in KINDS for m in spread(sqlite_log.rows, kind, SAMPLE_PER_KIND)]
    assert len(sample) == 4 * SAMPLE_PER_KIND
    failures = await _sweep(sqlite_log, sample, tmp_path, parallel=2)
    record(
        "S12",
        node_id(request),
        attacked=mutations_attacked(
            len(sample), "a spread sample, each through `cellmeet audit verify --checkpoints`"
        ),
        attempts=len(sample),
        failures=len(failures),
        figure=f"{len(sample) - len(failures)} of {len(sample)} named at their first bad seq by the command",
        tier="slow",
    )
    assert not failures, "\n".join(failures)


async def test_the_command_shows_truncation_and_rewrite_only_with_the_checkpoints(
    sqlite_log: Log, tmp_path: Path
) -> None:
    checkpoints = ("--checkpoints", str(sqlite_log.checkpoints_file))
    for index, mutation in enumerate(
        [truncate(sqlite_log.rows, 1), truncate(sqlite_log.rows, 50), rewrite(sqlite_log.rows, 450)]
    ):
        code, out, _ = await _run_on_copy(sqlite_log, mutation, tmp_path / f"alone-{index}", lang="en")
        assert code == 0 and out.startswith("ok: "), (mutation.name, out)  # Crosby and Wallach
        code, out, err = await _run_on_copy(sqlite_log, mutation, tmp_path / f"caught-{index}", *checkpoints)
        assert code == 1, (mutation.name, out, err)
        assert f"HỎNG tại mục {mutation.first_bad_seq}:" in out, out
        assert ("nhật ký đã bị cắt" in out) if "truncate" in mutation.name else ("đã bị viết lại" in out), out
    code, out, err = await _run_on_copy(
        sqlite_log, rewrite(sqlite_log.rows, 450), tmp_path / "en", *checkpoints, lang="en"
    )
    assert code == 1 and "BROKEN at entry 500:" in out and "rewritten" in out and "after seq 400" in out, out


async def _restore(db: Database, snapshot: list[dict[str, Any]]) -> None:
    table = AuditEvent.__table__  # type: ignore[attr-defined]
    async with db.write() as session:
        await session.execute(delete(table))
        await session.execute(insert(table), snapshot)


async def test_the_command_on_either_database(database_url: str, tmp_path: Path) -> None:
    """The same log on the parametrised database (SQLite or PostgreSQL): intact, then a few mutations of
    each kind, truncation and a rewrite, each restored after its run."""
    dialect = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    settings = Settings(data_dir=tmp_path, database_url=database_url, secret_key=Secret("s" * 48))
    db = Database(database_url)
    try:
        await upgrade(db.engine)
        await write_log(db, settings)
        exported = tmp_path / "checkpoints.json"
        code, out, err = await cellmeet(
            tmp_path, database_url, "audit", "checkpoints", "--out", str(exported)
        )
        assert code == 0, (out, err)
        assert "Đã ghi 10 điểm kiểm tra" in err and "ngoài máy chủ" in err
        code, out, err = await cellmeet(
            tmp_path, database_url, "audit", "verify", "--checkpoints", str(exported)
        )
        assert code == 0, (out, err)
        assert "1000 mục" in out and "Khớp 10 điểm kiểm tra đã ký (đến mục 1000)" in out

        async with db.read() as session:
            table = AuditEvent.__table__  # type: ignore[attr-defined]
            snapshot = [
                dict(r) for r in (await session.execute(select(table).order_by(table.c.seq))).mappings()
            ]
        rows = [Row(**r) for r in snapshot]
        mutations = [BUILDERS[kind](rows, n) for kind, n in zip(KINDS, (1, 517, 999, 1000), strict=True)]
        mutations += [truncate(rows, 7), rewrite(rows, 250), before_the_first(rows)]
        for mutation in mutations:
            async with db.write() as session:
                for statement, params in mutation.statements:
                    await session.execute(text(_sql(statement, dialect)), params)
            code, out, err = await cellmeet(
                tmp_path, database_url, "audit", "verify", "--checkpoints", str(exported), lang="en"
            )
            assert code == 1, (mutation.name, out, err)
            assert f"BROKEN at entry {mutation.first_bad_seq}:" in out, (mutation.name, out)
            await _restore(db, snapshot)
        code, out, err = await cellmeet(
            tmp_path, database_url, "audit", "verify", "--checkpoints", str(exported)
        )
        assert code == 0, (out, err)
    finally:
        await db.close()


@pytest.mark.slow
@pytest.mark.timeout(4 * 3600)
async def test_every_single_row_mutation_through_the_command(sqlite_log: Log, tmp_path: Path) -> None:
    """The full S12 sweep, each of the ~4,000 mutations through its own `cellmeet audit verify`."""
    mutations = list(every_mutation(sqlite_log.rows))
    failures = await _sweep(sqlite_log, mutations, tmp_path, parallel=os.cpu_count() or 2)
    assert not failures, f"{len(failures)} of {len(mutations)} wrong:\n" + "\n".join(failures[:20])
