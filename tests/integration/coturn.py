"""A real coturn (Debian's package, /usr/bin/turnserver) on loopback only, for the TURN tests of the
server and of the browser: each test starts its own turnserver on free loopback ports and kills it
afterwards; a coturn service the Debian package may have installed is never used.

A non-test module: the tests import the `start_coturn` fixture from here, never from one another.
"""

from __future__ import annotations

import asyncio
import os
import random
import secrets
import socket
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aioice import stun

TURNSERVER = "/usr/bin/turnserver"
SECRET = "cellmeet-test-" + secrets.token_urlsafe(24)
LOOPBACK = "127.0.0.1"
TIMEOUT = 5.0  # any single network step; coturn answers on loopback in milliseconds
RELAY_PORTS = 64


@dataclass
class Coturn:
    process: subprocess.Popen[bytes]
    port: int
    relay_ports: range
    log: Path

    @property
    def address(self) -> tuple[str, int]:
        return (LOOPBACK, self.port)

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def _port_is_free(port: int, kinds: tuple[int, ...]) -> bool:
    for kind in kinds:
        with socket.socket(socket.AF_INET, kind) as probe:
            try:
                probe.bind((LOOPBACK, port))
            except OSError:
                return False
    return True


def free_listening_port() -> int:
    """A loopback port free for both UDP and TCP (coturn listens on both)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind((LOOPBACK, 0))
            port = int(probe.getsockname()[1])
        if _port_is_free(port, (socket.SOCK_STREAM,)):
            return port
    raise AssertionError("no free loopback port for turnserver")


def free_relay_range() -> range:
    """A small block of UDP ports for the relay endpoints (--min-port/--max-port), free right now."""
    for _ in range(50):
        low = random.randrange(50000, 60000 - RELAY_PORTS)
        ports = range(low, low + RELAY_PORTS)
        if all(_port_is_free(port, (socket.SOCK_DGRAM,)) for port in ports):
            return ports
    raise AssertionError("no free block of UDP relay ports")


class _StunProbe(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.answered = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if not self.answered.done():
            self.answered.set_result(stun.parse_message(data))


async def wait_until_answering(coturn: Coturn) -> None:
    """Binding requests until coturn answers one (anonymous STUN binding is allowed by default)."""
    loop = asyncio.get_running_loop()
    transport, probe = await loop.create_datagram_endpoint(_StunProbe, remote_addr=coturn.address)
    try:
        deadline = loop.time() + TIMEOUT
        while not probe.answered.done():
            if coturn.process.poll() is not None:
                raise AssertionError(f"turnserver exited ({coturn.process.returncode}):\n{coturn.output()}")
            if loop.time() > deadline:
                raise AssertionError(f"turnserver never answered on {coturn.address}:\n{coturn.output()}")
            request = stun.Message(message_method=stun.Method.BINDING, message_class=stun.Class.REQUEST)
            transport.sendto(bytes(request))
            await asyncio.wait([probe.answered], timeout=0.1)
        answer = probe.answered.result()
        assert answer.message_class == stun.Class.RESPONSE, answer
    finally:
        transport.close()


@pytest.fixture
async def start_coturn(tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[Coturn]]]:
    """Starts turnserver processes with the given options plus the loopback-only ones; kills them after."""
    if not os.path.exists(TURNSERVER):
        pytest.fail(f"{TURNSERVER} is missing: apt-get install -y coturn (.ci/run installs it)")
    started: list[tuple[Coturn, Any]] = []

    async def start(name: str, *options: str) -> Coturn:
        port, relay_ports = free_listening_port(), free_relay_range()
        log = tmp_path / f"{name}.log"
        command = [
            TURNSERVER,
            *options,
            f"--listening-ip={LOOPBACK}",
            f"--listening-port={port}",
            f"--relay-ip={LOOPBACK}",
            f"--min-port={relay_ports.start}",
            f"--max-port={relay_ports.stop - 1}",
            "--no-tls",
            "--no-dtls",
            "--no-cli",
            "--log-file=stdout",
            "--verbose",  # allocations, permissions and refusals in the log
            # not the package's /var/run/turnserver.pid and /var/lib/turn/turndb
            f"--pidfile={tmp_path / f'{name}.pid'}",
            f"--userdb={tmp_path / f'{name}.turndb'}",
        ]
        output = log.open("wb")
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT)
        coturn = Coturn(process, port, relay_ports, log)
        started.append((coturn, output))
        await wait_until_answering(coturn)
        return coturn

    yield start
    for coturn, output in started:
        coturn.process.terminate()
        try:
            coturn.process.wait(timeout=3)
        except subprocess.TimeoutExpired:
            coturn.process.kill()
            coturn.process.wait(timeout=3)
        output.close()
