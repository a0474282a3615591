"""An aioice TURN client against a real coturn, and the temp copy of deploy/turnserver.conf the tests run
coturn with: shared by tests/integration/test_turn.py and test_turn_policy_row.py (quality.md S10).

A non-test module: the tests import these from here, never from one another.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

import pytest
from aioice import stun
from aioice.turn import TurnTransport, create_turn_endpoint

from tests.integration.coturn import LOOPBACK, SECRET, TIMEOUT, Coturn

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


async def allocate(
    coturn: Coturn, username: str, password: str, *, server: tuple[str, int] | None = None
) -> tuple[TurnTransport, Receiver]:
    """An allocation on coturn, at its IPv4 loopback address or `server` (another of its addresses)."""
    return await asyncio.wait_for(
        create_turn_endpoint(Receiver, server or coturn.address, username, password, transport="udp"),
        TIMEOUT,
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


async def channel_bind(transport: TurnTransport, channel: int, peer: tuple[str, int]) -> None:
    """A ChannelBind of `channel` (0x4000..0x7FFF) to `peer`, asked of coturn directly."""
    await asyncio.wait_for(turn_client(transport).channel_bind(channel, peer), TIMEOUT)


def send_indication(transport: TurnTransport, peer: tuple[str, int], data: bytes) -> None:
    """A Send indication straight to coturn, without asking for a permission or a channel first."""
    indication = stun.Message(message_method=stun.Method.SEND, message_class=stun.Class.INDICATION)
    indication.attributes["XOR-PEER-ADDRESS"] = peer
    indication.attributes["DATA"] = data
    client = turn_client(transport)
    client.send_stun(indication, client.server)


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


def deploy_setting(name: str) -> str | None:
    """The value of a `name=value` line of deploy/turnserver.conf (None: the file has no such line)."""
    for line in DEPLOY_CONFIG.read_text().splitlines():
        if line.startswith(f"{name}="):
            return line.split("=", 1)[1].strip()
    return None
