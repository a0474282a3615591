"""TURN against a real coturn (Debian's package, /usr/bin/turnserver) on loopback only.

1. The credential `GET /api/v1/meetings/{id}/ice-servers` mints allocates a relay on coturn with aioice's
   TURN client and carries a datagram to a local echo socket and back; a wrong password or an expired
   credential is refused (401).
2. `deploy/turnserver.conf` itself (a temp copy with only the lines that cannot run here replaced) lets a
   valid credential allocate, but refuses loopback and private peers (403): nothing reaches the echo socket.

Each test starts its own turnserver on free loopback ports and kills it afterwards; a coturn service the
Debian package may have installed is never used. Every network wait has a timeout.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from aioice import stun
from aioice.turn import TurnTransport, create_turn_endpoint

from server.media.turn import MAX_TTL_SECONDS, mint_turn_credential
from server.settings import Secret
from tests.integration.coturn import LOOPBACK, SECRET, TIMEOUT, Coturn, start_coturn
from tests.integration.harness import RunningServer
from tests.integration.room_client import link_members, online_meeting
from tests.integration.world import PASSWORD, World

__all__ = ["start_coturn"]  # the fixture that starts coturn, shared with the browser's TURN test

DEPLOY_CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "turnserver.conf"
QUIET = 0.5  # how long "nothing arrives" is watched


class Echo(asyncio.DatagramProtocol):
    """A UDP peer on loopback that records what reaches it and sends it back."""

    def __init__(self) -> None:
        self.received: list[tuple[bytes, tuple[str, int]]] = []
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.received.append((data, addr))
        assert self.transport is not None
        self.transport.sendto(data, addr)

    @property
    def address(self) -> tuple[str, int]:
        assert self.transport is not None
        host, port = self.transport.get_extra_info("sockname")[:2]
        return (host, port)


@pytest.fixture
async def echo() -> AsyncIterator[Echo]:
    _, peer = await asyncio.get_running_loop().create_datagram_endpoint(Echo, local_addr=(LOOPBACK, 0))
    yield peer
    assert peer.transport is not None
    peer.transport.close()


class Receiver(asyncio.DatagramProtocol):
    """The application side of an aioice TURN endpoint."""

    def __init__(self) -> None:
        self.received: asyncio.Queue[tuple[bytes, tuple[str, int]]] = asyncio.Queue()
        self.errors: asyncio.Queue[Exception] = asyncio.Queue()
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.received.put_nowait((data, addr))

    def error_received(self, exc: Exception) -> None:
        self.errors.put_nowait(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)


async def allocate(coturn: Coturn, username: str, password: str) -> tuple[TurnTransport, Receiver]:
    return await asyncio.wait_for(
        create_turn_endpoint(Receiver, coturn.address, username, password, transport="udp"), TIMEOUT
    )


async def refused_with(coturn: Coturn, username: str, password: str) -> int | None:
    with pytest.raises(stun.TransactionFailed) as failed:
        await allocate(coturn, username, password)
    return failed.value.response.error_code


async def release(transport: TurnTransport, receiver: Receiver) -> None:
    transport.close()  # a Refresh with LIFETIME 0 deletes the allocation, then the socket closes
    await asyncio.wait_for(receiver.closed, TIMEOUT)


def turn_client(transport: TurnTransport) -> Any:
    """aioice's client protocol behind the transport (private), to send a CreatePermission or Send itself."""
    return vars(transport)["_TurnTransport__inner_protocol"]


async def create_permission(transport: TurnTransport, peer: tuple[str, int]) -> None:
    request = stun.Message(message_method=stun.Method.CREATE_PERMISSION, message_class=stun.Class.REQUEST)
    request.attributes["XOR-PEER-ADDRESS"] = peer
    await asyncio.wait_for(turn_client(transport).request_with_retry(request), TIMEOUT)


def send_indication(transport: TurnTransport, peer: tuple[str, int], data: bytes) -> None:
    """A Send indication straight to coturn, without asking for a permission or a channel first."""
    indication = stun.Message(message_method=stun.Method.SEND, message_class=stun.Class.INDICATION)
    indication.attributes["XOR-PEER-ADDRESS"] = peer
    indication.attributes["DATA"] = data
    client = turn_client(transport)
    client.send_stun(indication, client.server)


# -- 1. credentials from the API on a plain coturn ------------------------------------------------------


@pytest.fixture
async def coturn(start_coturn: Callable[..., Awaitable[Coturn]]) -> Coturn:
    return await start_coturn(
        "open",
        "-n",  # no config file: only these options
        "--use-auth-secret",
        f"--static-auth-secret={SECRET}",
        "--realm=cellmeet.test",
        "--allow-loopback-peers",  # the echo peer is on loopback
    )


@pytest.fixture
def settings_overrides(coturn: Coturn) -> dict[str, Any]:
    return {
        "turn_secret": Secret(SECRET),
        "ice_servers": [{"urls": [f"turn:{LOOPBACK}:{coturn.port}?transport=udp"]}],
    }


async def test_credentials_from_the_api_allocate_on_coturn_relay_and_expire(
    world: World, server: RunningServer, coturn: Coturn, echo: Echo
) -> None:
    ((username, member_id),) = await link_members(world, "A", 1)
    mid = await online_meeting(world)
    # coturn checks the expiry against the real time: the API mints at the real time too (the world's
    # pilot approval, valid 2026-11-20..2027-11-19, still holds), with a fresh login at that time.
    minted_at = datetime.now(UTC).replace(microsecond=0)
    server.clock.now = minted_at
    member = world.make_client()
    assert (await member.login(username, PASSWORD)).status == 200

    reply = await member.get(f"/api/v1/meetings/{mid}/ice-servers")
    assert reply.status == 200, reply.body
    (entry,) = reply.body["ice_servers"]
    assert entry["urls"] == [f"turn:{LOOPBACK}:{coturn.port}?transport=udp"]
    expected = mint_turn_credential(SECRET, member_id=member_id, meeting_id=mid, now=minted_at)
    expires_at = int(minted_at.timestamp()) + MAX_TTL_SECONDS
    assert entry["username"] == expected.username == f"{expires_at}:m{member_id}-g{mid}"
    assert entry["credential"] == expected.credential

    # a relay on coturn with exactly what the API handed out
    transport, receiver = await allocate(coturn, entry["username"], entry["credential"])
    try:
        relayed = transport.get_extra_info("sockname")
        assert relayed[0] == LOOPBACK and relayed[1] in coturn.relay_ports
        transport.sendto(b"through coturn", echo.address)  # ChannelBind, then ChannelData
        back = await asyncio.wait_for(receiver.received.get(), TIMEOUT)
        assert back == (b"through coturn", echo.address)
        assert echo.received == [(b"through coturn", relayed)]  # the peer sees the relay, not the member
        assert receiver.errors.empty()
    finally:
        await release(transport, receiver)
    # coturn's log names member and meeting for the allocation (server/media/turn.py)
    assert f"username=<{entry['username']}>" in coturn.output()

    # refused: the right username with a wrong password, and a credential that expired 10 minutes ago
    assert await refused_with(coturn, entry["username"], "d3Jvbmc=") == 401
    stale = mint_turn_credential(
        SECRET,
        member_id=member_id,
        meeting_id=mid,
        now=datetime.now(UTC) - timedelta(minutes=20),
        ttl_seconds=600,
    )
    assert await refused_with(coturn, stale.username, stale.credential) == 401
    assert len(echo.received) == 1


# -- 2. deploy/turnserver.conf refuses loopback and private peers -------------------------------------

# Lines of deploy/turnserver.conf that cannot run in a test, and what the temp copy has instead. Every
# other line is kept as it is. On the command line coturn 4.6.1 overrides single-valued options of the
# config file (listening-port, min/max-port...), but not these two: a command-line static-auth-secret is
# *added* to the file's placeholder (both would be valid), and the file's log-file wins over the
# command line's, since coturn reads log options from the file after the command line (syslog here).
# cert/pkey stay: with --no-tls --no-dtls coturn never opens them.
DEPLOY_REPLACED = {
    "static-auth-secret=": f"static-auth-secret={SECRET}",
    "log-file=": "log-file=stdout",
}


def deploy_config_copy(directory: Path) -> Path:
    lines = DEPLOY_CONFIG.read_text().splitlines()
    copied = []
    for line in lines:
        prefix = next((p for p in DEPLOY_REPLACED if line.startswith(p)), None)
        copied.append(DEPLOY_REPLACED[prefix] if prefix else line)
    assert sum(a != b for a, b in zip(lines, copied, strict=True)) == len(DEPLOY_REPLACED), copied
    path = directory / "turnserver.conf"
    path.write_text("\n".join(copied) + "\n")
    return path


async def test_the_deploy_configuration_refuses_loopback_and_private_peers(
    tmp_path: Path, start_coturn: Callable[..., Awaitable[Coturn]], echo: Echo
) -> None:
    # no --allow-loopback-peers here: only the deploy file's peer rules
    coturn = await start_coturn("deploy", "-c", str(deploy_config_copy(tmp_path)))
    credential = mint_turn_credential(SECRET, member_id=1, meeting_id=1, now=datetime.now(UTC))
    transport, receiver = await allocate(coturn, credential.username, credential.credential)
    try:
        relayed = transport.get_extra_info("sockname")
        assert relayed[0] == LOOPBACK and relayed[1] in coturn.relay_ports  # the allocation itself works
        # 10.0.0.1 only ever appears inside requests to coturn, which refuses the permission: nothing is
        # relayed without one, and nothing below sends data towards it.
        for peer in (echo.address, ("10.0.0.1", echo.address[1])):
            with pytest.raises(stun.TransactionFailed) as permission:
                await create_permission(transport, peer)
            assert permission.value.response.error_code == 403, peer
            transport.sendto(b"must not arrive", peer)  # aioice binds a channel first: refused as well
            bind_error = await asyncio.wait_for(receiver.errors.get(), TIMEOUT)
            assert isinstance(bind_error, stun.TransactionFailed), bind_error
            assert bind_error.response.error_code == 403, peer
        # a Send indication without any permission: coturn drops it
        send_indication(transport, echo.address, b"must not arrive either")
        await asyncio.sleep(QUIET)
        assert echo.received == []
        assert receiver.received.empty()
    finally:
        await release(transport, receiver)
    log = coturn.output()
    assert "CREATE_PERMISSION processed, error 403: Forbidden IP" in log
    # 10.0.0.1 falls to the file's denied-peer-ip; 127.0.0.1 is refused earlier by coturn's own default
    # (loopback peers only with --allow-loopback-peers), so the log names no range for it.
    assert "A peer IP 10.0.0.1 denied in the range: 10.0.0.0-10.255.255.255" in log
    # coturn 4.6.1 ignores lines it does not know, with only a log line: no new ones may creep in.
    # `no-loopback-peers` is one (4.6.1 has only --allow-loopback-peers; loopback is denied anyway).
    ignored = {
        line.split("Bad configuration format: ", 1)[1]
        for line in log.splitlines()
        if "Bad configuration" in line
    }
    assert ignored <= {"no-loopback-peers"}, ignored
