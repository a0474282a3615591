"""Two `cellmeet serve` processes on one PostgreSQL and a real Redis (issue 26): members of one meeting
connected to different processes meet in one room (peers, signalling, presence and quorum), and a vote
opened through one process is balloted through the other and counted once."""

from __future__ import annotations

import asyncio
import os
import secrets
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
import socketio
from yarl import URL

from server.appkeys import SETTINGS
from server.auth.tickets import Ticket, issue
from tests.integration.harness import ApiClient, free_port
from tests.integration.room_client import RoomClient
from tests.integration.serve_process import ServeProcess, online_meeting_now, wait_until, world
from tests.integration.world import PASSWORD, World

__all__ = ["world"]  # the fixture (a world on the real clock)

REDIS = "redis://127.0.0.1:6379/0"
AGENDA = {"items": [{"title": "Thông qua nghị quyết", "item_type": "ordinary", "notes": ""}]}

pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


@pytest.fixture
async def processes(
    world: World, database_url: str, tmp_path: Path
) -> AsyncIterator[Callable[[], Awaitable[list[ServeProcess]]]]:
    """When the test asks: the world's server stopped, two processes serving its database and sharing
    a Redis prefix."""
    started: list[ServeProcess] = []

    async def start() -> list[ServeProcess]:
        secret = world.server.app[SETTINGS].secret_key.value
        await world.server.stop()
        prefix = f"cellmeet-test-{uuid.uuid4().hex[:10]}"
        for number in (1, 2):
            await _serve(number, secret, prefix)
        return started

    async def _serve(number: int, secret: str, prefix: str) -> None:
        data_dir = tmp_path / f"process-{number}"
        data_dir.mkdir()
        env = {
            **os.environ,
            "CELLMEET_DATA_DIR": str(data_dir),
            "CELLMEET_DATABASE_URL": database_url,
            "CELLMEET_SECRET_KEY": secret,
            "CELLMEET_REDIS_URL": REDIS,
            "CELLMEET_REDIS_PREFIX": prefix,
            # Every client of the test connects from 127.0.0.1: the soak's reconnects are not an attack.
            "CELLMEET_ROOM_CONNECT_BURST_PER_ADDRESS": "100000",
            "CELLMEET_ROOM_CONNECTS_PER_ADDRESS_PER_SECOND": "100000",
        }
        served = ServeProcess(env, free_port(), data_dir / "serve.log")
        started.append(served)
        await served.start()

    yield start
    for served in started:
        served.kill()


async def test_members_on_two_processes_meet_in_one_room_and_vote_once(
    world: World, processes: Callable[[], Awaitable[list[ServeProcess]]]
) -> None:
    secret = world.server.app[SETTINGS].secret_key.value
    mid, people = await online_meeting_now(world, 3)
    one, two = (f"http://127.0.0.1:{p.port}" for p in await processes())

    expires = int((datetime.now(UTC) + timedelta(minutes=10)).timestamp())
    clients: list[RoomClient] = []
    secretary = ApiClient(URL(two))
    try:
        # the first member on process one, the two others on process two
        for (username, member_id), base in zip(people, (one, two, two), strict=True):
            token = issue(secret, Ticket(world.users[username], member_id, mid, expires))
            client = RoomClient(base, auth={"token": token})
            await client.connect()
            clients.append(client)
        # A ticket opens one connection, whichever process it is shown to: the last one, used on
        # process two, is refused on process one.
        replay = RoomClient(one, auth={"token": token})
        with pytest.raises(socketio.exceptions.ConnectionError):
            await replay.connect()
        assert replay.connect_error["code"] == "ticket_used"
        first = await clients[0].join(mid)
        assert first["ok"] is True, first
        second = await clients[1].join(mid)
        assert second["ok"] is True, second
        assert [p["peer_id"] for p in second["peers"]] == [first["self"]["peer_id"]]
        joined = await clients[0].wait_for("peer-joined")
        assert joined["peer_id"] == second["self"]["peer_id"]

        # signalling across the processes, both ways
        offer = {"type": "offer", "sdp": "v=0 (thử)"}
        sent = await clients[1].call("signal", {"to": first["self"]["peer_id"], "description": offer})
        assert sent["ok"] is True, sent
        relayed = await clients[0].wait_for("signal")
        assert relayed == {"from": second["self"]["peer_id"], "description": offer}
        answered = await clients[0].call(
            "signal", {"to": second["self"]["peer_id"], "candidate": {"candidate": "c", "sdpMid": "0"}}
        )
        assert answered["ok"] is True, answered
        assert (await clients[1].wait_for("signal"))["from"] == first["self"]["peer_id"]

        # presence and quorum: 3 of the 5 official members online, seen by both sides
        third = await clients[2].join(mid)
        assert third["ok"] is True, third
        for client in clients[:2]:
            await client.wait_for("quorum", lambda q: q["outcome"] is True, timeout=5)
        # a hand raised through process two is seen through process one
        assert (await clients[1].call("hand", {"raised": True}))["ok"] is True
        hands = await clients[0].wait_for("hands", lambda h: len(h["hands"]) == 1)
        assert hands["hands"][0]["member_id"] == people[1][1]

        # a vote opened through process two, balloted through both, counted once
        assert (await secretary.login("sec_a", PASSWORD)).status == 200
        assert (await secretary.request("PUT", f"/api/v1/meetings/{mid}/agenda", AGENDA)).status == 200
        opened = await secretary.post(f"/api/v1/meetings/{mid}/open", {})
        assert opened.status == 200, opened.body
        vote = await secretary.post(
            f"/api/v1/meetings/{mid}/votes", {"question": "Thông qua", "kind": "ordinary"}
        )
        assert vote.status == 201, vote.body
        vote_id = vote.body["id"]
        await clients[0].wait_for("vote-opened", lambda v: v["id"] == vote_id)
        ballots = await asyncio.gather(
            clients[0].call("ballot", {"vote_id": vote_id, "choice": "for"}),
            clients[1].call("ballot", {"vote_id": vote_id, "choice": "for"}),
            clients[1].call("ballot", {"vote_id": vote_id, "choice": "against"}),  # the same member again
        )
        assert ballots[0]["ok"] is True, ballots
        # the same member twice at once, through the other process: one counted, one refused
        assert sorted(b["ok"] for b in ballots[1:]) == [False, True], ballots
        refused = [b["error"] for b in ballots[1:] if not b["ok"]]
        assert [(e["rule"], e["details"]["reason"]) for e in refused] == [("R-VOTE-2", "already_voted")]
        progress = await clients[2].wait_for("vote-progress", lambda v: v["counts"]["ballots"] == 2)
        assert progress["counts"]["ballots"] == 2
        shown = await secretary.get(f"/api/v1/votes/{vote_id}")
        assert shown.status == 200 and shown.body["counts"]["ballots"] == 2, shown.body
    finally:
        for client in clients:
            await client.close()
        await secretary.close()


async def test_the_owner_killed_its_meeting_moves_within_10_s_one_interval_each(
    world: World, processes: Callable[[], Awaitable[list[ServeProcess]]]
) -> None:
    secret = world.server.app[SETTINGS].secret_key.value
    mid, people = await online_meeting_now(world, 3)
    served = await processes()
    one, two = (f"http://127.0.0.1:{p.port}" for p in served)
    expires = int((datetime.now(UTC) + timedelta(minutes=10)).timestamp())

    def tickets(username: str, member_id: int) -> Callable[[], dict[str, str]]:
        # As the room page: a fresh ticket for every (re)connection (a ticket opens one connection).
        def fresh() -> dict[str, str]:
            ticket = Ticket(world.users[username], member_id, mid, expires, nonce=secrets.token_hex(8))
            return {"token": issue(secret, ticket)}

        return fresh

    clients: list[RoomClient] = []
    secretary = ApiClient(URL(two))
    try:
        # the first member on process one (which becomes the owner), the others on process two
        for (username, member_id), base in zip(people, (one, two, two), strict=True):
            client = RoomClient(base, auth=tickets(username, member_id), reconnection=True, rejoin=mid)
            await client.connect()
            clients.append(client)
            await wait_until(lambda c=client: len(c.joins) == 1, 5)
            assert client.joins[0][1]["ok"] is True, client.joins[0][1]
        assert (await secretary.login("sec_a", PASSWORD)).status == 200
        assert (await secretary.request("PUT", f"/api/v1/meetings/{mid}/agenda", AGENDA)).status == 200
        assert (await secretary.post(f"/api/v1/meetings/{mid}/open", {})).status == 200
        vote = await secretary.post(
            f"/api/v1/meetings/{mid}/votes", {"question": "Thông qua", "kind": "ordinary"}
        )
        assert vote.status == 201, vote.body
        ballot = await clients[1].call("ballot", {"vote_id": vote.body["id"], "choice": "for"})
        assert ballot["ok"] is True, ballot  # acknowledged by the owner, process one

        served[0].kill()
        killed_at = asyncio.get_running_loop().time()
        # The member of the dead process comes back through the proxy, to the live process.
        (username, member_id) = people[0]
        await clients[0].close()
        clients[0] = RoomClient(two, auth=tickets(username, member_id), reconnection=True, rejoin=mid)
        await clients[0].connect()
        # Those on the live process are closed by it and join again there, as the new owner's.
        await wait_until(lambda: all(c.joins and c.joins[-1][1].get("ok") for c in clients), 15)
        await wait_until(lambda: all(len(c.joins) == 2 for c in clients[1:]), 15)
        for client in clients:
            at, ack = client.joins[-1]
            assert ack["ok"] is True, ack
            assert at - killed_at <= 10, f"back after {at - killed_at:.1f} s"
        # one room again: the last to join meets the two others
        last = max(clients, key=lambda c: c.joins[-1][0])
        assert len(last.joins[-1][1]["peers"]) == 2, last.joins[-1][1]

        shown = await secretary.get(f"/api/v1/votes/{vote.body['id']}")
        assert shown.status == 200 and shown.body["counts"]["ballots"] == 1, shown.body
        attendance = await secretary.get(f"/api/v1/meetings/{mid}/attendance")
        assert attendance.status == 200, attendance.body
        by_member = {m["member_id"]: m for m in attendance.body["members"]}
        for _, member_id in people:
            assert len(by_member[member_id]["intervals"]) == 1, by_member[member_id]
    finally:
        for client in clients:
            await client.close()
        await secretary.close()


async def test_a_logout_through_one_process_ends_the_sessions_connection_on_the_other(
    world: World, processes: Callable[[], Awaitable[list[ServeProcess]]]
) -> None:
    mid, people = await online_meeting_now(world, 1)
    one, two = (f"http://127.0.0.1:{p.port}" for p in await processes())
    session = ApiClient(URL(two))
    live: RoomClient | None = None
    try:
        assert (await session.login(people[0][0], PASSWORD)).status == 200
        tokens = []
        for _ in range(2):
            reply = await session.post(f"/api/v1/meetings/{mid}/join-ticket", {})
            assert reply.status == 201, reply.body
            tokens.append(reply.body["token"])
        live = RoomClient(one, auth={"token": tokens[0]})
        await live.connect()
        assert (await live.join(mid))["ok"] is True

        assert (await session.post("/api/v1/auth/logout", {})).status == 200
        await wait_until(lambda: live is not None and not live.sio.connected, 3)
        # and the session's unused ticket is refused on the other process too
        late = RoomClient(one, auth={"token": tokens[1]})
        with pytest.raises(socketio.exceptions.ConnectionError):
            await late.connect()
        assert late.connect_error["code"] == "session_ended"
    finally:
        if live is not None:
            await live.close()
        await session.close()


@pytest.mark.slow
async def test_soak_members_come_and_go_across_two_processes_and_nothing_is_left(
    world: World, processes: Callable[[], Awaitable[list[ServeProcess]]]
) -> None:
    """150 join/leave cycles, each member on alternating processes: every join answered, and once all
    have gone, neither process counts a connected member and neither has grown more than a little."""
    secret = world.server.app[SETTINGS].secret_key.value
    mid, people = await online_meeting_now(world, 4)
    served = await processes()
    bases = [f"http://127.0.0.1:{p.port}" for p in served]
    expires = int((datetime.now(UTC) + timedelta(minutes=30)).timestamp())

    def rss_kib(process: ServeProcess) -> int:
        assert process.process is not None
        status = Path(f"/proc/{process.process.pid}/status").read_text()
        return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")))

    async def cycle(round_number: int) -> None:
        clients = []
        try:
            for index, (username, member_id) in enumerate(people):
                ticket = Ticket(world.users[username], member_id, mid, expires, nonce=secrets.token_hex(8))
                client = RoomClient(bases[(index + round_number) % 2], auth={"token": issue(secret, ticket)})
                await client.connect()
                clients.append(client)
                ack = await client.join(mid)
                assert ack["ok"] is True, ack
        finally:
            for client in clients:
                await client.close()

    await cycle(0)
    before = [rss_kib(p) for p in served]
    for round_number in range(1, 150):
        await cycle(round_number)
        await asyncio.sleep(0.2)  # a member's pace, within the event budget (20 a second)
    await asyncio.sleep(2)
    async with aiohttp.ClientSession() as http:
        for base in bases:
            async with http.get(f"{base}/metrics") as reply:
                text = await reply.text()
            connected = [
                line for line in text.splitlines() if line.startswith("cellmeet_room_members_connected")
            ]
            assert connected and all(float(line.split()[-1]) == 0 for line in connected), connected
    grown = [rss_kib(p) - b for p, b in zip(served, before, strict=True)]
    assert all(kib < 30_000 for kib in grown), grown
