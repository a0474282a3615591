"""quality.md R1 (issue 28): `cellmeet serve` killed with SIGKILL mid-meeting, and killed again and again
in the middle of a write burst, on SQLite and PostgreSQL.

- R1a: 20 members in the room, a vote open with ballots cast, the minute-taker editing at 5/s; kill -9,
  restart at once. Every client is back within 5 s, each member keeps one attendance interval, no
  acknowledged edit is lost or doubled (an unanswered one is sent again with its key), the vote is still
  open with its ballots counted once.
- R1b: N kills, each at a random instant 0-2 s into a burst of ballots, minutes edits and joins/leaves.
  After each kill (before the restart): `PRAGMA integrity_check` on the SQLite file, `cellmeet audit
  verify`, no domain row without its audit row (or the reverse), every acknowledged write present once;
  after the restart, the members who stayed keep one attendance interval (the outage is far shorter
  than the 120 s after which a member not back gets a leave at the restart instant).

What this proves is process-crash durability (see tests/integration/crash_loop.py for the SQLite
journal_mode and synchronous the server sets, and why), not power loss.
"""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path
from statistics import median
from typing import Any

import pytest
from socketio.exceptions import BadNamespaceError

from tests.integration.crash_loop import (
    MINUTES_FIELDS,
    SQLITE_DURABILITY,
    Editor,
    PresenceOp,
    audit_verify,
    check_stored,
    churn,
    intervals,
    read_stored,
    serve_meeting,
    sqlite_integrity,
    wait_until,
)
from tests.integration.room_client import NAMESPACE, RoomClient
from tests.integration.serve_process import world
from tests.integration.world import World
from tests.reliability import node_id, record

RELIABILITY_ROW = "R1"  # its line in docs/reliability.md, even when it fails before measuring

__all__ = ["world"]  # the fixture: a world on the real clock, served by `cellmeet serve`

REJOIN_LIMIT_SECONDS = 5.0

# What a burst's task may end with that is not a broken promise: cancelled at the kill, or a write
# its client could not send (the connection down, or not back yet), hence never acknowledged.
UNSENT = (asyncio.CancelledError, BadNamespaceError)


def kind_of(database_url: str) -> str:
    return "SQLite" if database_url.startswith("sqlite") else "PostgreSQL"


@pytest.mark.reliability
@pytest.mark.timeout(90)
async def test_kill_9_mid_meeting_20_clients_back_nothing_acknowledged_lost(
    world: World, database_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    served = await serve_meeting(world, database_url, tmp_path, members=20)
    mid = served.meeting_id
    clients: list[RoomClient] = []
    secretary = await served.login("sec_a")
    taker = await served.login(served.people[1][0])
    problems: list[str] = []
    try:
        clients = [served.client(username, member_id, rejoin=True) for username, member_id in served.people]
        await asyncio.gather(*(client.connect() for client in clients))
        assert await wait_until(lambda: all(c.joins and c.joins[0][1]["ok"] for c in clients), 10)
        opened = await secretary.post(f"/api/v1/meetings/{mid}/open", {})
        assert opened.status == 200, opened.body  # 20 members online: quorate
        vote = await secretary.post(f"/api/v1/meetings/{mid}/votes", {"question": "Thông qua kế hoạch"})
        assert vote.status == 201, vote.body
        vote_id = vote.body["id"]
        voters = [(c, m) for c, (_, m) in zip(clients, served.people, strict=True) if m in served.officials]
        voters = voters[:10]
        answers = await asyncio.gather(
            *(c.call("ballot", {"vote_id": vote_id, "choice": "for"}) for c, _ in voters)
        )
        assert all(a["ok"] for a in answers), answers
        acked_ballots = {(vote_id, m) for _, m in voters}

        editor = Editor(taker, mid)
        stop = asyncio.Event()
        await served.process.spare_ready()
        editing = asyncio.ensure_future(editor.run(stop, "opening", pause=0.2))  # 5 edits a second
        await asyncio.sleep(1.5)
        before_kill = len(editor.acked)
        served.process.kill()
        killed = asyncio.get_running_loop().time()
        await served.process.start()
        restart_seconds = asyncio.get_running_loop().time() - killed
        back = await wait_until(lambda: all(len(c.joins) >= 2 for c in clients), 15)
        rejoined = [c.joins[1][0] - killed for c in clients if len(c.joins) >= 2 and c.joins[1][1]["ok"]]
        slowest = max(rejoined, default=float("inf"))
        await asyncio.sleep(1)  # edits go on after the restart
        stop.set()
        await editing
        if not await editor.settle():
            problems.append(f"the unanswered edit {editor.pending} was never answered after the restart")

        if not back or len(rejoined) != len(clients):
            problems.append(f"{len(rejoined)}/{len(clients)} clients rejoined")
        if slowest > REJOIN_LIMIT_SECONDS:
            problems.append(f"the slowest client rejoined {slowest:.1f} s after the kill")
        # The harness's restart time is the attack's condition, not a promise: reported in the figure,
        # and a slow one shows in the 5 s rejoin it eats into.
        counted = await intervals(secretary, mid)
        split = {m: n for m, n in counted.items() if n != 1 and m in {m for _, m in served.people}}
        if split:
            problems.append(f"members without exactly one interval: {split}")
        after = await secretary.get(f"/api/v1/votes/{vote_id}")
        status, ballots = after.body["status"], after.body["counts"]["ballots"]
        if (status, ballots, set(after.body["voted"])) != (
            "open",
            len(acked_ballots),
            {m for _, m in voters},
        ):
            problems.append(
                f"the vote after the crash: {status}, {ballots} ballots, voted {after.body['voted']}"
            )
        stored = await read_stored(database_url, mid)
        found, lost = check_stored(
            stored,
            acked_ballots=acked_ballots,
            acked_edits=editor.acked,
            acked_presence=[],
            markers=editor.marker,
        )
        problems += found
        figure = (
            f"{kind_of(database_url)}: {len(rejoined)}/{len(clients)} clients rejoined, the slowest "
            f"{slowest:.1f} s after the kill (restart from a warm spare {restart_seconds:.2f} s, a cold "
            f"start {served.process.cold_seconds:.1f} s); "
            f"{len(editor.acked)} acknowledged minutes edits ({before_kill} before the kill), {lost} lost, "
            f"0 doubled{'' if not any('exactly once' in p for p in found) else ' NOT'}; vote {status} with "
            f"{ballots} of {len(acked_ballots)} ballots; {sum(1 for n in counted.values() if n == 1)} "
            "members with one interval"
        )
        record(
            "R1",
            node_id(request),
            attacked="SIGKILL of cellmeet serve mid-meeting (20 members in the room, a vote open, "
            "minutes edits at 5/s), restarted at once on the same database",
            attempts=1,
            failures=1 if problems else 0,
            figure=figure,
            tier="fast",
        )
        assert not problems, problems
    finally:
        for client in clients:
            await client.close()
        await secretary.close()
        await taker.close()
        served.process.close()


async def cast(client: RoomClient, vote_id: int, member_id: int, delay: float, acked: set[Any]) -> None:
    await asyncio.sleep(delay)
    answer = await client.call("ballot", {"vote_id": vote_id, "choice": "for"})
    if not answer.get("ok"):
        raise AssertionError(f"ballot refused: {answer}")
    acked.add((vote_id, member_id))


async def crash_loop(
    world: World,
    database_url: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    iterations: int,
    tier: str,
) -> None:
    seed = random.randrange(1_000_000)
    rng = random.Random(seed)
    served = await serve_meeting(world, database_url, tmp_path, members=12)
    mid = served.meeting_id
    stayers, churners = served.people[:-2], served.people[-2:]
    secretary = await served.login("sec_a")
    taker = await served.login(served.people[1][0])
    staying = [served.client(u, m, rejoin=True, fast_retry=True) for u, m in stayers]
    churning = [served.client(u, m, rejoin=False, fast_retry=True) for u, m in churners]
    editor = Editor(taker, mid)
    acked_ballots: set[tuple[int, int]] = set()
    acked_presence: list[PresenceOp] = []
    failures, lost_total, integrity_bad, journal = 0, 0, 0, "n/a"
    details: list[str] = []
    kill_points: list[float] = []
    started = time.monotonic()
    try:
        await asyncio.gather(*(c.connect() for c in staying + churning))
        assert await wait_until(lambda: all(c.joins and c.joins[0][1]["ok"] for c in staying), 10)
        opened = await secretary.post(f"/api/v1/meetings/{mid}/open", {})
        assert opened.status == 200, opened.body
        voters = [(c, m) for c, (_, m) in zip(staying, stayers, strict=True) if m in served.officials]
        vote_id: int | None = None
        for iteration in range(iterations):
            if vote_id is not None:
                closed = await secretary.post(f"/api/v1/votes/{vote_id}/close", {})
                assert closed.status == 200, closed.body
            vote = await secretary.post(
                f"/api/v1/meetings/{mid}/votes",
                {"question": f"Biểu quyết {iteration}", "override_reason": "Thử sự cố"},
            )
            assert vote.status == 201, vote.body
            vote_id = int(vote.body["id"])
            await served.process.spare_ready()
            stop = asyncio.Event()
            burst = [asyncio.ensure_future(editor.run(stop, MINUTES_FIELDS[iteration % len(MINUTES_FIELDS)]))]
            burst += [
                asyncio.ensure_future(cast(c, vote_id, m, rng.uniform(0, 1.5), acked_ballots))
                for c, m in voters
            ]
            burst += [
                asyncio.ensure_future(churn(c, mid, m, stop, acked_presence))
                for c, (_, m) in zip(churning, churners, strict=True)
            ]
            kill_at = rng.uniform(0, 2)
            kill_points.append(kill_at)
            await asyncio.sleep(kill_at)
            served.process.kill()
            stop.set()
            for task in burst:
                task.cancel()
            outcomes = await asyncio.gather(*burst, return_exceptions=True)
            problems = [
                repr(o)
                for o in outcomes
                if isinstance(o, BaseException)
                and not isinstance(o, (asyncio.CancelledError, BadNamespaceError))
            ]

            # the database the kill left, before anything opens it again
            if database_url.startswith("sqlite"):
                integrity, journal = sqlite_integrity(database_url)
                if integrity != "ok":
                    integrity_bad += 1
                    problems.append(f"integrity_check: {integrity}")
            verifying = asyncio.ensure_future(audit_verify(served.env))
            stored = await read_stored(database_url, mid)
            verified, output = await verifying
            if not verified:
                integrity_bad += 1
                problems.append(f"cellmeet audit verify: {output}")
            found, lost = check_stored(
                stored,
                acked_ballots=acked_ballots,
                acked_edits=editor.acked,
                acked_presence=acked_presence,
                markers=editor.marker,
            )
            problems += found
            lost_total = max(lost_total, lost)

            restarted = asyncio.get_running_loop().time()  # after the kill: a join since is on the new one
            await served.process.start()

            def all_back(since: float = restarted) -> bool:
                # joined again on a connection made after this restart (a count of joins can run ahead
                # of it), and every connection's namespace up before the next burst calls on it
                return all(
                    c.joins and c.joins[-1][0] >= since and c.joins[-1][1]["ok"] for c in staying
                ) and all(NAMESPACE in c.sio.namespaces for c in staying + churning)

            back = await wait_until(all_back, 15)
            if not back:
                problems.append("the clients did not all come back within 15 s")
            if not await editor.settle():
                problems.append(f"the unanswered edit {editor.pending} was never answered")
            counted = await intervals(secretary, mid)
            split = {m: counted.get(m) for _, m in stayers if counted.get(m) != 1}
            if split:
                problems.append(f"stayers without exactly one interval: {split}")
            if problems:
                failures += 1
                details.append(f"iteration {iteration} (kill at {kill_at:.2f} s): {problems}")
                if not back:
                    break
        # the last restart's state, read once more: the edits sent again after it included
        found, lost = check_stored(
            await read_stored(database_url, mid),
            acked_ballots=acked_ballots,
            acked_edits=editor.acked,
            acked_presence=acked_presence,
            markers=editor.marker,
        )
        if found:
            failures += 1
            details.append(f"after the last restart: {found}")
        lost_total = max(lost_total, lost)
    finally:
        for client in staying + churning:
            await client.close()
        await secretary.close()
        await taker.close()
        served.process.close()
    writes = len(acked_ballots) + len(editor.acked) + len(acked_presence)
    kills = len(kill_points)
    durability = f"; {SQLITE_DURABILITY}, journal_mode read back '{journal}'" if journal != "n/a" else ""
    figure = (
        f"{kind_of(database_url)}: {kills} kills, {integrity_bad} corruptions, {lost_total} of {writes:,} "
        f"acknowledged writes lost ({len(acked_ballots)} ballots, {len(editor.acked)} minutes edits, "
        f"{len(acked_presence)} joins/leaves), {failures} iterations broke a check; "
        f"restarts {median(served.process.starts or [0]):.2f} s median from a warm spare "
        f"(cold start {served.process.cold_seconds:.1f} s); "
        f"{time.monotonic() - started:.0f} s, seed {seed}{durability}"
    )
    record(
        "R1",
        node_id(request),
        attacked="crash loop: SIGKILL at a random instant 0-2 s into a burst of ballots, minutes edits "
        "and joins/leaves, then integrity_check, cellmeet audit verify, partial-transaction and "
        "acknowledged-write checks, restart, attendance",
        attempts=kills,
        failures=failures,
        figure=figure,
        tier=tier,
    )
    assert failures == 0, details


@pytest.mark.reliability
@pytest.mark.timeout(150)  # about 25 s on a quiet machine, 50 s with other suites running beside it
async def test_crash_loop_3_kills(
    world: World, database_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    await crash_loop(world, database_url, tmp_path, request, 3, "fast")


@pytest.mark.reliability
@pytest.mark.slow
@pytest.mark.timeout(1500)
async def test_crash_loop_50_kills(
    world: World, database_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    await crash_loop(world, database_url, tmp_path, request, 50, "slow")
