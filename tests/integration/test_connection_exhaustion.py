"""Anonymous connections cannot exhaust the server (issue 31, part 4): an address with no account
opens 2,000 connections, half never finishing their headers and half idle WebSockets that never join
the room, while `/healthz` and a member's join from another address still answer."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import pytest

from server.appkeys import CONNECTION_GUARD, HUB
from tests.integration.harness import RunningServer
from tests.integration.room_client import RoomClient, joined, link_members, online_meeting
from tests.integration.world import World

ATTACKER = "127.0.0.2"  # another loopback address: another client as far as the server can tell
HELD = 2000
GRACE_SECONDS = 1.5


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"request_header_seconds": GRACE_SECONDS, "room_unjoined_seconds": GRACE_SECONDS}


def upgrade_request(port: int) -> bytes:
    return (
        "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{port}\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()


async def open_one(port: int, payload: bytes) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(ATTACKER, 0))
    except OSError:
        return None  # refused at once: fine
    writer.write(payload)
    return reader, writer


async def closed_by_server(reader: asyncio.StreamReader, within: float) -> bool:
    try:
        async with asyncio.timeout(within):
            while await reader.read(65536):
                pass
        return True
    except (TimeoutError, ConnectionError):
        return False


async def test_two_thousand_anonymous_connections_leave_health_and_joins_answering(
    world: World, server: RunningServer
) -> None:
    port = server.url.port
    assert port is not None
    people = await link_members(world, "A", 1)
    mid = await online_meeting(world)
    slow_header = f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Slow: ".encode()
    payloads = [slow_header if i % 2 else upgrade_request(port) for i in range(HELD)]
    held = []
    for start in range(0, HELD, 200):
        opened = await asyncio.gather(*(open_one(port, p) for p in payloads[start : start + 200]))
        held += [pair for pair in opened if pair is not None]
    try:
        # While they are held: the health check and a member's join answer, and quickly.
        async with aiohttp.ClientSession() as http:
            started = time.monotonic()
            async with http.get(str(server.url / "healthz"), timeout=aiohttp.ClientTimeout(total=5)) as reply:
                assert reply.status == 200
            assert time.monotonic() - started < 1.0
        member, ack = await joined(world, people[0][0], mid)
        assert ack["ok"] is True
        await member.close()

        # The server holds no more than its cap from that address, and closes the rest soon.
        assert server.app[CONNECTION_GUARD].open.get(ATTACKER, 0) <= 256
        # Within the grace, the server has let every one of them go (as the server counts: a
        # connection lost in the kernel's accept queue is not the server's to close).
        guard = server.app[CONNECTION_GUARD]
        sio = server.app[HUB].sio
        deadline = time.monotonic() + GRACE_SECONDS + 5
        while time.monotonic() < deadline and (guard.open.get(ATTACKER) or sio.eio.sockets):
            await asyncio.sleep(0.1)
        assert guard.open.get(ATTACKER, 0) == 0 and not sio.eio.sockets
        # and the clients saw it: most read the end of their connection
        results = await asyncio.gather(*(closed_by_server(r, 1) for r, _ in held))
        assert results.count(True) >= 0.95 * len(held)
    finally:
        for _, writer in held:
            writer.close()


async def test_a_websocket_that_never_joins_is_closed_after_the_grace(
    world: World, server: RunningServer
) -> None:
    port = server.url.port
    assert port is not None
    pair = await open_one(port, upgrade_request(port))
    assert pair is not None
    reader, writer = pair
    try:
        status = await asyncio.wait_for(reader.readline(), 5)
        assert status.startswith(b"HTTP/1.1 101"), status
        assert await closed_by_server(reader, GRACE_SECONDS + 3)
    finally:
        writer.close()
    # A real client that joins in time stays.
    people = await link_members(world, "A", 1)
    mid = await online_meeting(world)
    member: RoomClient
    member, _ = await joined(world, people[0][0], mid)
    await asyncio.sleep(GRACE_SECONDS + 0.5)
    assert member.sio.connected
    await member.close()
