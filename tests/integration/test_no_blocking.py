"""quality.md R6, no blocking on the event loop (issue 28): a representative journey through the server
in-process — logins, a meeting scheduled, members joining its room over socket.io, a vote balloted
and closed, minutes edited, the minutes downloaded as DOCX and PDF — with BlockBuster watching the
server's own code and the loop in debug mode reporting every callback that runs 0.1 s or more.

BlockBuster is limited to calls made with a frame of the `server` package on the stack: the test's
own clients (aiohttp, python-socketio) share the loop and are not the server. Within the server
nothing is excluded. A blocking call raises BlockingError inside the server, where a handler may
catch it; each is also counted where it is raised, so none can hide in a 500 or a log line.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
import traceback
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from blockbuster import BlockBuster, BlockingError, blockbuster_ctx

from tests.integration.harness import Reply
from tests.integration.room_client import RoomClient, joined, link_members, online_meeting
from tests.integration.world import World
from tests.reliability import node_id, record

RELIABILITY_ROW = "R6"  # its line in docs/reliability.md, even when it fails before measuring

pytestmark = pytest.mark.reliability

SLOW_CALLBACK_SECONDS = 0.1
ROOT = str(Path(__file__).resolve().parents[2]) + "/"
SERVER = ROOT + "server"
AGENDA = {"items": [{"title": "Thông qua nghị quyết", "item_type": "ordinary", "notes": ""}]}
T = TypeVar("T")


class SlowCallbacks(logging.Handler):
    """asyncio's debug-mode warning "Executing <Handle ...> took 0.123 seconds"."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.seen: list[str] = []
        self.during = "set-up"  # the journey's step running, to say where a slow callback came

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith("Executing"):
            took = message.rsplit(" took ", 1)[-1]
            self.seen.append(f"during {self.during}: {message[:300]} … took {took}")


@pytest.fixture
def blocking_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Each BlockingError raised, with the server's frames that made the call."""
    seen: list[str] = []
    original = BlockingError.__init__

    def counted(self: BlockingError, func: str) -> None:
        stack = traceback.extract_stack()[:-2]  # (not this function and BlockBuster's wrapper)
        ours = [
            f"{f.filename.removeprefix(ROOT)}:{f.lineno} {f.name}"
            for f in stack
            if f.filename.startswith(SERVER)
        ]
        inner = [f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in stack[-3:]]
        seen.append(f"{func} in {' <- '.join(reversed(inner))} from {' <- '.join(reversed(ours[-3:]))}")
        original(self, func)

    monkeypatch.setattr(BlockingError, "__init__", counted)
    yield seen


async def test_a_meeting_journey_never_blocks_the_event_loop(
    world: World, blocking_calls: list[str], request: pytest.FixtureRequest
) -> None:
    loop = asyncio.get_running_loop()
    slow = SlowCallbacks()
    asyncio_log = logging.getLogger("asyncio")
    asyncio_log.addHandler(slow)
    was_debug, was_duration = loop.get_debug(), loop.slow_callback_duration
    pauses: list[float] = []
    started: list[float] = []

    def timed(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[:] = [time.perf_counter()]
        elif started:
            pauses.append(time.perf_counter() - started[0])

    # The test process's heap (pytest, hypothesis, playwright, the world's template) is far bigger than
    # a server's: frozen, as a server can after its start-up, so that a full collection during the
    # journey scans what the journey made and not the test runner (an unfrozen one took 0.39 s here).
    gc.collect()
    gc.freeze()
    gc.callbacks.append(timed)
    loop.set_debug(True)
    loop.slow_callback_duration = SLOW_CALLBACK_SECONDS
    made = 0

    async def step(action: Awaitable[T], count: int = 1) -> T:
        nonlocal made
        made += count
        slow.during = describe(action)
        return await action

    rooms: list[RoomClient] = []
    failure: BaseException | None = None
    try:
        with blockbuster_ctx("server") as blockbuster:
            allow_library_internals(blockbuster)
            try:
                await journey(world, step, rooms)
            except BaseException as exc:  # recorded below, then raised
                failure = exc
            finally:
                for client in rooms:
                    await client.close()
    finally:
        loop.set_debug(was_debug)
        loop.slow_callback_duration = was_duration
        asyncio_log.removeHandler(slow)
        gc.callbacks.remove(timed)
        gc.unfreeze()

    failures = len(blocking_calls) + len(slow.seen)
    record(
        "R6",
        node_id(request),
        attacked=(
            "a meeting's journey in-process (logins, scheduling, 4 members in the room over socket.io, "
            "a vote, minutes edits, DOCX and PDF downloads) under BlockBuster (the server's code) and "
            f"asyncio debug mode, slow callback {SLOW_CALLBACK_SECONDS} s"
        ),
        attempts=made,
        failures=failures,
        figure=(
            f"{len(blocking_calls)} blocking calls, {len(slow.seen)} slow callbacks in {made} requests "
            f"and events; longest GC pause {max(pauses, default=0.0) * 1000:.0f} ms"
            + (f"; journey failed: {failure!r}"[:300] if failure is not None else "")
            + (f"; {'; '.join(blocking_calls + slow.seen)}"[:900] if failures else "")
        ),
        tier="fast",
    )
    assert blocking_calls == [], blocking_calls
    assert slow.seen == [], slow.seen
    if failure is not None:
        raise failure


def describe(action: Awaitable[Any]) -> str:
    """A step's coroutine and its arguments, e.g. `ApiClient.put /api/v1/meetings/3/minutes`."""
    frame = getattr(action, "cr_frame", None)
    name = getattr(getattr(action, "cr_code", None), "co_qualname", type(action).__name__)
    arguments = {k: v for k, v in (frame.f_locals if frame else {}).items() if k not in ("self", "world")}
    return f"{name} {' '.join(str(v) for v in arguments.values() if isinstance(v, str | int))}"


def allow_library_internals(blockbuster: BlockBuster) -> None:
    """What BlockBuster flags under the server's frames that is a library's, not the server's, and not
    worth a thread: each a stat or a read of a few hundred bytes, once per process or per pooled
    connection, like the imports BlockBuster already lets through.

    - the timezone database: `ZoneInfo(key)` reads the zone's file once and caches it by key (the server
      knows a handful of timezones);
    - asyncpg opening a pooled connection looks for ~/.pgpass and the client's TLS files (a stat each;
      the pool keeps its connections, so this is at most once per pool slot);
    - logging: the handlers write the log line to stderr (the journal) on the calling thread, as every
      asyncio program's logging does."""
    allowed = {
        "zoneinfo/_tzpath.py": {"find_tzfile"},
        "zoneinfo/_common.py": {"load_data", "get_header"},
        "asyncpg/connect_utils.py": {"_read_password_file", "_parse_connect_dsn_and_args"},
        "logging/__init__.py": {"emit", "flush"},
    }
    for function in blockbuster.functions.values():
        for filename, names in allowed.items():
            function.can_block_in(filename, names)


async def journey(world: World, step: Callable[..., Awaitable[Any]], rooms: list[RoomClient]) -> None:
    def ok(reply: Reply, *statuses: int) -> Reply:
        assert reply.status in (statuses or (200,)), (reply.status, reply.body)
        return reply

    people = await step(link_members(world, "A", 4), 5)  # a login, four members given accounts
    mid = await step(online_meeting(world), 4)  # an application, its approval (a login), a meeting
    secretary = await step(world.as_user("sec_a"))
    ok(await step(secretary.put(f"/api/v1/meetings/{mid}/agenda", AGENDA)))
    ok(await step(secretary.get(f"/api/v1/meetings/{mid}")))
    for username, _ in people:
        client, _ack = await step(joined(world, username, mid), 4)  # a login, a ticket, a connect, a join
        rooms.append(client)
    ok(await step(secretary.post(f"/api/v1/meetings/{mid}/open", {})))
    vote = ok(
        await step(
            secretary.post(f"/api/v1/meetings/{mid}/votes", {"question": "Thông qua", "kind": "ordinary"})
        ),
        201,
    )
    for client in rooms:
        await client.wait_for("vote-opened", lambda v: v["id"] == vote.body["id"])
        await step(client.call("ballot", {"vote_id": vote.body["id"], "choice": "for"}))
        await step(client.call("hand", {"raised": True}))
    ok(await step(secretary.post(f"/api/v1/votes/{vote.body['id']}/close", {})))
    version = 0
    for number in range(5):
        edited = ok(
            await step(
                secretary.put(
                    f"/api/v1/meetings/{mid}/minutes",
                    {"version": version, "fields": {"opening": f"Khai mạc lần {number}."}},
                )
            )
        )
        version = edited.body["version"]
    ok(await step(secretary.get(f"/api/v1/meetings/{mid}/minutes")))
    docx = ok(await step(secretary.get(f"/api/v1/meetings/{mid}/minutes.docx")))
    assert bytes(docx.body[:2]) == b"PK"
    pdf = ok(await step(secretary.get(f"/api/v1/meetings/{mid}/minutes.pdf")))
    assert bytes(pdf.body[:4]) == b"%PDF"
    for client in rooms:
        await step(client.close())
