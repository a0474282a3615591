"""A TCP proxy on loopback that one client goes through and cannot bypass, which the test can cut
(quality.md R3): while cut, its connections are closed and nothing listens on its port, as when a
member's link drops and their reconnects find no route; restored, it forwards again.

A non-test module: the tests import it, never each other.
"""

from __future__ import annotations

import asyncio
import contextlib

from tests.integration.harness import free_port


class CutProxy:
    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self._server: asyncio.Server | None = None
        self._streams: set[asyncio.StreamWriter] = set()
        self.connections = 0  # accepted, over the proxy's life

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port, reuse_address=True)

    async def cut(self) -> None:
        """No more listening, and every connection through it closed at once."""
        assert self._server is not None
        self._server.close()
        for writer in list(self._streams):
            writer.transport.abort()  # a reset, as a dropped link's next packet would get
        self._streams.clear()
        await self._server.wait_closed()
        self._server = None

    async def restore(self) -> None:
        await self.start()

    async def close(self) -> None:
        if self._server is not None:
            await self.cut()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.transport.abort()
            return
        self._streams.update((writer, upstream_writer))
        await asyncio.gather(
            self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer), return_exceptions=True
        )
        for side in (writer, upstream_writer):
            self._streams.discard(side)
            side.transport.abort()

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.transport.abort()
