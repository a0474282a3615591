"""`cellmeet bench audit`: how long `cellmeet audit verify` takes over a large log (quality.md S12:
100,000 entries in under 5 s on one core), next to a bare baseline measured in the same run.

Set-up (not timed): a temporary data directory with a SQLite database migrated by the project's
migrations and filled with `--entries` chained audit rows (as `append` would write them, inserted in
batches), a checkpoint every `--checkpoint-every` rows and at the head, signed with a fresh key and
exported as `cellmeet audit checkpoints` would. Timed, each `--runs` times, the median reported, with
this process and its children pinned to one CPU:

- `command`: the real `cellmeet audit verify --checkpoints F --public-key K` as a subprocess, wall
  time from spawn to exit (interpreter start-up, imports and migration check included) and its CPU;
- `command_on_an_empty_log`: the same command over an empty log, i.e. what start-up alone costs;
- `in_process`: `verify_database` alone (streaming the rows from SQLite and recomputing the chain);
- `bare`: hashlib SHA-256 over the same canonical bytes, already in memory: no database, no JSON;
- `bare_with_encoding`: `entry_hash` over the bodies in memory (canonical JSON + SHA-256), no database.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib.metadata import version
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import insert

from meetings.audit_chain import (
    ChainEntry,
    Checkpoint,
    SignedCheckpoint,
    canonical_json,
    entry_hash,
    next_entry,
)
from server.audit.checkpoints import PERIODIC, export_document
from server.audit.keys import AuditSigner
from server.audit.verify import verify_database
from server.db.engine import Database
from server.db.migrate import upgrade
from server.db.tables import AuditEvent

GOAL_SECONDS = 5.0
INSERT_BATCH = 5000
_ACTIONS = ("attendance.joined", "attendance.left", "ballot.cast", "minutes.edited", "member.updated")


@dataclass
class Built:
    database_url: str
    checkpoints_file: Path
    public_key: str
    head_hash: str
    checkpoints: list[Checkpoint]
    leaf_bytes: list[bytes]  # what each entry hash is the SHA-256 of, for the bare baseline
    bodies: list[tuple[str, dict[str, Any]]]  # (prev_hash, body): the same, before canonical encoding


def body(seq: int, at: datetime) -> dict[str, Any]:
    """A plausible row: the columns `event_body` hashes, with a little Vietnamese data."""
    return {
        "seq": seq,
        "at": at.isoformat().replace("+00:00", "Z"),
        "actor": 1 + seq % 40,
        "org": 1 + seq % 25,
        "action": _ACTIONS[seq % len(_ACTIONS)],
        "target": f"meeting:{1 + seq % 300}",
        "data": {"member_id": 1 + seq % 500, "on_site": seq % 3 == 0, "note": "Chi bộ thôn Đông"},
    }


async def build(work: Path, entries: int, every: int) -> Built:
    url = f"sqlite+aiosqlite:///{work / 'cellmeet.db'}"
    db = Database(url)
    signer = AuditSigner.of(Ed25519PrivateKey.generate())
    start = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)
    leaf_bytes: list[bytes] = []
    bodies: list[tuple[str, dict[str, Any]]] = []
    signed: list[SignedCheckpoint] = []
    previous: ChainEntry | None = None
    try:
        await upgrade(db.engine)
        table = AuditEvent.__table__  # type: ignore[attr-defined]
        rows: list[dict[str, Any]] = []
        for seq in range(1, entries + 1):
            content = body(seq, start + timedelta(seconds=30 * seq))
            previous = next_entry(previous, content)
            leaf_bytes.append(b"\x00" + canonical_json(content) + previous.prev_hash.encode("ascii"))
            bodies.append((previous.prev_hash, content))
            rows.append(
                {
                    "seq": seq,
                    "at": content["at"],
                    "actor_user_id": content["actor"],
                    "org_id": content["org"],
                    "action": content["action"],
                    "target": content["target"],
                    "data": content["data"],
                    "prev_hash": previous.prev_hash,
                    "hash": previous.hash,
                }
            )
            if seq % every == 0 or seq == entries:
                unsigned = SignedCheckpoint(seq, previous.hash, content["at"], PERIODIC, signer.key_id, "")
                signed.append(
                    SignedCheckpoint(**{**unsigned.to_json(), "signature": signer.sign(unsigned.message())})
                )
            if len(rows) == INSERT_BATCH or seq == entries:
                async with db.write() as session:
                    await session.execute(insert(table), rows)
                rows = []
    finally:
        await db.close()
    assert previous is not None
    path = work / "checkpoints.json"
    path.write_text(json.dumps(export_document(signer, signed), indent=2))
    return Built(url, path, signer.public_key, previous.hash, [c.head for c in signed], leaf_bytes, bodies)


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 3)


def _time_command(database_url: str, work: Path, runs: int, built: Built | None) -> dict[str, Any]:
    """`cellmeet audit verify` as an operator runs it; without `built`, over an empty log (start-up)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CELLMEET_")}
    env.update(CELLMEET_DATA_DIR=str(work), CELLMEET_DATABASE_URL=database_url, CELLMEET_LANG="en")
    argv = [sys.executable, "-m", "server.cli", "audit", "verify"]
    if built is not None:
        argv += ["--checkpoints", str(built.checkpoints_file), "--public-key", built.public_key]
    expected = built.head_hash if built is not None else "ok: 0 entries"
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300, check=False)
        walls.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
        if done.returncode != 0 or expected not in done.stdout:
            raise RuntimeError(f"audit verify failed ({done.returncode}): {done.stdout}{done.stderr}")
    return {"wall_s": [round(w, 3) for w in walls], "median_s": _median(walls), "cpu_median_s": _median(cpus)}


def _time_in_process(built: Built, runs: int) -> dict[str, Any]:
    async def once() -> float:
        db = Database(built.database_url)
        try:
            started = time.perf_counter()
            verdict = await verify_database(db, built.checkpoints)
            elapsed = time.perf_counter() - started
        finally:
            await db.close()
        if not verdict.ok or verdict.checkpoints_matched != len(built.checkpoints):
            raise RuntimeError(f"verify_database failed: {verdict}")
        return elapsed

    times = [asyncio.run(once()) for _ in range(runs)]
    return {"wall_s": [round(t, 3) for t in times], "median_s": _median(times)}


def _time_bare(built: Built, runs: int) -> dict[str, Any]:
    import hashlib

    times = []
    for _ in range(runs):
        started = time.perf_counter()
        for leaf in built.leaf_bytes:
            hashlib.sha256(leaf).hexdigest()
        times.append(time.perf_counter() - started)
    return {"wall_s": [round(t, 4) for t in times], "median_s": round(statistics.median(times), 4)}


def _time_bare_encoding(built: Built, runs: int) -> dict[str, Any]:
    """`entry_hash` over the bodies in memory: canonical JSON and SHA-256, still no database."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        for prev_hash, content in built.bodies:
            entry_hash(prev_hash, content)
        times.append(time.perf_counter() - started)
    return {"wall_s": [round(t, 3) for t in times], "median_s": _median(times)}


def bench(options: argparse.Namespace) -> dict[str, Any]:
    if options.entries < 1 or options.checkpoint_every < 1 or options.runs < 1:
        raise ValueError("--entries, --checkpoint-every and --runs must be positive")
    load_before = os.getloadavg()[0]
    work = Path(tempfile.mkdtemp(prefix="cellmeet-bench-audit-"))
    try:
        started = time.perf_counter()
        built = asyncio.run(build(work, options.entries, options.checkpoint_every))
        build_s = time.perf_counter() - started
        # One core, as S12 asks: this process, its SQLite thread and the verify subprocesses.
        core = max(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {core})
        # The baseline's 100,000 bodies stay in memory: freeze them so the collector does not rescan them
        # while the in-process verify runs (the command, a fresh process, holds none of them).
        gc.collect()
        gc.freeze()
        bare = _time_bare(built, options.runs)
        encoding = _time_bare_encoding(built, options.runs)
        in_process = _time_in_process(built, options.runs)
        command = _time_command(built.database_url, work, options.runs, built)
        empty = work / "empty"
        empty.mkdir()
        startup = _time_command(f"sqlite+aiosqlite:///{empty / 'cellmeet.db'}", empty, options.runs, None)
        db_bytes = (work / "cellmeet.db").stat().st_size
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {
        "config": {
            "entries": options.entries,
            "checkpoints": len(built.checkpoints),
            "runs": options.runs,
            "database": "sqlite",
            "database_mib": round(db_bytes / 2**20, 1),
            "pinned_to_cpu": core,
            "cpu_count": os.cpu_count(),
            "machine": platform.machine(),
            "python": platform.python_version(),
            "versions": {name: version(name) for name in ("sqlalchemy", "aiosqlite", "cryptography")},
            "build_s": round(build_s, 1),
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "loadavg_1m_before": round(load_before, 2),
            "loadavg_1m_after": round(os.getloadavg()[0], 2),
        },
        "command": command,
        "command_on_an_empty_log": startup,
        "in_process": in_process,
        "bare": bare,
        "bare_with_encoding": encoding,
        "ratio": {
            "command_to_bare": round(command["median_s"] / bare["median_s"], 1),
            "in_process_to_bare": round(in_process["median_s"] / bare["median_s"], 1),
            "in_process_to_bare_with_encoding": round(in_process["median_s"] / encoding["median_s"], 2),
        },
        "goal": {"command_median_below_s": GOAL_SECONDS, "met": command["median_s"] < GOAL_SECONDS},
    }


def main(options: argparse.Namespace) -> int:
    result = bench(options)
    text = json.dumps(result, indent=2, ensure_ascii=False)
    print(text, flush=True)
    if options.out is not None:
        options.out.parent.mkdir(parents=True, exist_ok=True)
        options.out.write_text(text + "\n")
    return 0
