"""quality.md R3 (issue 28): one member's link cut while the meeting goes on, then back; shared by the
fast test (tests/integration/test_room_resume.py, a server in the test process) and the slow ones
(tests/integration/test_partition_resume.py, `cellmeet serve` on the real clock).

Cell A's online meeting open with four members in the room. One of them reaches the server only
through a TCP proxy on loopback (tests/integration/cut_proxy.py); the test cuts it (its connection
reset, nothing listening) while the others raise and lower hands and the secretary edits the minutes,
then restores it. The member's client reconnects on its own and joins again with the last event number
it saw (`resume: {epoch, last_seq}`).

Pass: the join ack replays what the member missed, and from the events alone its state (presence,
quorum, hands, minutes...) hashes the same as that of a member who was never cut (convergence 100 %);
before the replay it did not (the test can fail). Attendance: a cut shorter than the rule set's grace
(R-ATT-2) leaves one interval; a cut longer than it leaves two, whose boundaries are within 1 s of the
cut's. 0 errors logged by the server.

A non-test module: the tests import it, never each other.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from yarl import URL

from meetings.rulesets import get_rule_set
from tests.integration.cut_proxy import CutProxy
from tests.integration.harness import ApiClient
from tests.integration.resume_client import ResumingClient
from tests.integration.serve_process import wait_until
from tests.integration.world import PASSWORD
from tests.reliability import node_id, record

MEMBERS = 4  # the cut one, and three who go on
BOUNDARY_SECONDS = 1.0


@dataclass
class Run:
    cut_seconds: float
    events: int  # made by the others while the member is cut off
    figures: dict[str, float] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


async def member_cookies(base: str, username: str, clients: list[ApiClient]) -> dict[str, str]:
    client = ApiClient(URL(base), keep_alive=False)
    clients.append(client)
    assert (await client.login(username, PASSWORD)).status == 200
    return {c.key: c.value for c in client.http.cookie_jar}


async def others_go_on(
    run: Run, others: list[ResumingClient], secretary: ApiClient, mid: int, section_version: list[int]
) -> None:
    """`run.events` actions spread over the cut: hands raised and lowered, and every fifth a minutes
    edit by the secretary; each one pushed to the whole meeting."""
    raised = [False] * len(others)
    pause = run.cut_seconds * 0.8 / run.events
    for n in range(run.events):
        if n % 5 == 4:
            reply = await secretary.put(
                f"/api/v1/meetings/{mid}/minutes",
                {"version": section_version[0], "fields": {"opening": f"Khai mạc, lần sửa {n}."}},
            )
            assert reply.status == 200, reply.body
            section_version[0] = reply.body["version"]
        else:
            who = n % len(others)
            raised[who] = not raised[who]
            ack = await others[who].call("hand", {"raised": raised[who]})
            assert ack["ok"] is True, ack
        await asyncio.sleep(pause)


class ErrorCount(logging.Handler):
    """Errors the server in this process logs while the member is cut off and back."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


async def cut_and_resume(
    base: str,
    mid: int,
    people: list[tuple[str, int]],
    run: Run,
    server_log: Path | None,
    advance: Callable[[float], None] | None = None,
) -> None:
    """The meeting `mid` of cell A (not yet open) on the server at `base`, its first four `people` in
    the room, the first through a proxy that is cut. `server_log`: the served process's log, read for
    tracebacks; None: the server runs in this process, and the errors it logs are counted. `advance`:
    the seconds to move a test clock on by (a server in this process), as the real ones pass."""
    errors = ErrorCount()
    logging.getLogger().addHandler(errors)
    proxy = CutProxy(URL(base).port or 80)
    await proxy.start()
    api_clients: list[ApiClient] = []
    rooms: list[ResumingClient] = []
    loop = asyncio.get_running_loop()
    try:
        secretary = ApiClient(URL(base), keep_alive=False)
        api_clients.append(secretary)
        assert (await secretary.login("sec_a", PASSWORD)).status == 200
        for index, (username, _) in enumerate(people[:MEMBERS]):
            # The first reaches the server through the proxy only; same origin as its URL says.
            url = proxy.url if index == 0 else base
            cookies = await member_cookies(base, username, api_clients)
            client = ResumingClient(url, mid, cookies=cookies)
            await client.connect()
            rooms.append(client)
        await wait_until(lambda: all(len(c.resumes) == 1 for c in rooms), 10)
        cut, witness, others = rooms[0], rooms[1], rooms[1:]
        assert (await secretary.post(f"/api/v1/meetings/{mid}/open", {})).status == 200
        minutes = await secretary.get(f"/api/v1/meetings/{mid}/minutes")
        version = [int(minutes.body["version"])]
        await wait_until(lambda: "meeting-state" in cut.state and cut.hash == witness.hash, 10)

        cut_at = datetime.now(UTC)
        cut_started = loop.time()
        await proxy.cut()
        await others_go_on(run, others, secretary, mid, version)
        await asyncio.sleep(max(0.0, cut_started + run.cut_seconds - loop.time()))
        await proxy.restore()
        back_at, restored = datetime.now(UTC), loop.time()
        run.figures["cut_s"] = restored - cut_started
        if advance is not None:
            advance(run.figures["cut_s"])
        await wait_until(lambda: len(cut.resumes) == 2, 10)
        run.figures["back_s"] = loop.time() - restored
        answer = cut.resumes[1]
        replayed = answer.get("replayed")
        run.figures["replayed"] = len(replayed) if replayed is not None else -1
        if replayed is None:
            run.problems.append(f"no replay: {answer.get('reason')}")
        run.figures["differed_before"] = float(cut.state_before_resume[1] != witness.hash)
        try:
            await wait_until(lambda: cut.hash == witness.hash, 5)
            run.figures["converged"] = 1.0
        except AssertionError:
            run.figures["converged"] = 0.0
            differing = sorted(
                k for k in {*cut.state, *witness.state} if cut.state.get(k) != witness.state.get(k)
            )
            run.problems.append(f"state differs in {differing}")
        hands_cut = [h["member_id"] for h in cut.state.get("hands", {}).get("hands", [])]
        hands_witness = [h["member_id"] for h in witness.state.get("hands", {}).get("hands", [])]
        run.figures["hands_raised"] = len(hands_witness)
        if hands_cut != hands_witness:
            run.problems.append(f"hands {hands_cut} != {hands_witness}")

        if advance is not None:
            advance(1.0)
        attendance = await secretary.get(f"/api/v1/meetings/{mid}/attendance")
        assert attendance.status == 200, attendance.body
        row = next(m for m in attendance.body["members"] if m["member_id"] == people[0][1])
        intervals = row["intervals"]
        run.figures["intervals"] = len(intervals)
        grace = get_rule_set("hd03-2022").disconnect_grace_seconds
        expected = 1 if run.figures["cut_s"] < grace else 2
        if len(intervals) != expected:
            run.problems.append(f"{len(intervals)} intervals, expected {expected}: {intervals}")
        elif expected == 2:
            ended = datetime.fromisoformat(intervals[0]["end"].replace("Z", "+00:00"))
            started = datetime.fromisoformat(intervals[1]["start"].replace("Z", "+00:00"))
            run.figures["end_off_s"] = abs((ended - cut_at).total_seconds())
            run.figures["start_off_s"] = abs((started - back_at).total_seconds())
            if max(run.figures["end_off_s"], run.figures["start_off_s"]) > BOUNDARY_SECONDS:
                run.problems.append(f"boundaries {intervals} vs cut {cut_at} .. {back_at}")
        if server_log is not None:
            run.figures["server_errors"] = server_log.read_text(errors="replace").count("Traceback")
        else:
            run.figures["server_errors"] = errors.count
    finally:
        logging.getLogger().removeHandler(errors)
        for client in rooms:
            await client.close()
        for api in api_clients:
            await api.close()
        await proxy.close()


def check_and_record(request: pytest.FixtureRequest, run: Run, tier: str) -> None:
    f = run.figures
    failures = len(run.problems) + int(f.get("server_errors", 0)) + int(not f.get("differed_before"))
    bounds = (
        f"; boundaries {f['end_off_s']:.2f} s and {f['start_off_s']:.2f} s off the cut"
        if "end_off_s" in f
        else ""
    )
    record(
        "R3",
        node_id(request),
        attacked=f"one member's link cut for {run.cut_seconds:.0f} s (connection reset, no route back)"
        f" through a TCP proxy while the others made {run.events} changes (hands, minutes edits);"
        " it reconnects and joins again with its last event number",
        attempts=run.events,
        failures=failures,
        figure=(
            f"cut {f.get('cut_s', 0):.1f} s, back {f.get('back_s', 0):.1f} s after the link;"
            f" {int(f.get('replayed', 0))} events replayed"
            f" in the join ack; state hash equal to a never-cut member's:"
            f" {'yes' if f.get('converged') else 'no'}"
            f" (different before the replay: {'yes' if f.get('differed_before') else 'no'});"
            f" {int(f.get('intervals', 0))} attendance interval(s){bounds};"
            f" {int(f.get('server_errors', 0))} server errors; problems: {'; '.join(run.problems) or 'none'}"
        ),
        tier=tier,
    )
    assert not run.problems, run.problems
    assert f["differed_before"], "the cut member's state was the same before the replay: nothing was tested"
    assert f["server_errors"] == 0
