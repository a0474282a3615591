"""The servers under test (ours and the bare baseline) as subprocesses on 127.0.0.1: start, wait, stop."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    name: str
    process: asyncio.subprocess.Process
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    @classmethod
    async def start(
        cls, name: str, argv: list[str], env: dict[str, str], port: int, log_path: Path
    ) -> Server:
        with open(log_path, "wb") as log:
            process = await asyncio.create_subprocess_exec(
                *argv, env=env, stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=asyncio.subprocess.STDOUT
            )
        server = cls(name, process, port, log_path)
        try:
            await server._wait_ready()
        except BaseException:
            await server.stop()
            raise
        return server

    async def _wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                if self.process.returncode is not None:
                    raise RuntimeError(
                        f"{self.name} server exited ({self.process.returncode}):\n{self.log_tail()}"
                    )
                with contextlib.suppress(aiohttp.ClientError, OSError):
                    async with http.get(
                        f"{self.url}/healthz", timeout=aiohttp.ClientTimeout(total=2)
                    ) as reply:
                        if reply.status == 200:
                            return
                await asyncio.sleep(0.1)
        raise RuntimeError(f"{self.name} server not ready within {timeout} s:\n{self.log_tail()}")

    async def stop(self) -> None:
        if self.process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.process.wait(), 15.0)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
            await self.process.wait()


def server_env(data_dir: Path, database_url: str, secret_key: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CELLMEET_")}
    env.update(
        CELLMEET_DATA_DIR=str(data_dir),
        CELLMEET_DATABASE_URL=database_url,
        CELLMEET_SECRET_KEY=secret_key,
        CELLMEET_ICE_SERVERS="[]",
        CELLMEET_LANG="vi",
        # Every simulated member connects from 127.0.0.1: the per-address defences (tested on their
        # own) would stop the burst at the 60th member. The bench measures the join, not them.
        CELLMEET_CONNECTIONS_PER_ADDRESS="100000",
        CELLMEET_ROOM_CONNECT_BURST_PER_ADDRESS="100000",
        CELLMEET_ROOM_CONNECTS_PER_ADDRESS_PER_SECOND="100000",
    )
    return env
