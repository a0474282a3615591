"""Limits on TCP connections, before any request is read (docs/security.md "Connections").

Attacks with no account held 2,000 idle WebSockets or 1,100 connections that never finish their
headers, until the process ran out of file descriptors and `/healthz`, logins and joins timed out.
aiohttp has neither a per-address cap nor a deadline for a request's headers, so both are added to
its connection manager (`web_server.Server`): a client address (the real peer; a trusted proxy's
connections are left to the proxy's own `limit_conn`) may hold `per_address` connections, and a
connection must have sent a whole request within `header_seconds` or it is aborted. A WebSocket
that never joins the room is closed by the room itself (server.realtime.guarded_server).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Callable
from typing import Any

from aiohttp import web, web_protocol, web_server

from server.settings import Settings

log = logging.getLogger("cellmeet.net")


class ConnectionGuard:
    def __init__(self, per_address: int, header_seconds: float, exempt: tuple[str, ...] = ()) -> None:
        self.per_address = per_address
        self.header_seconds = header_seconds
        self.exempt = [ipaddress.ip_network(net, strict=False) for net in exempt]
        self.open: dict[str, int] = {}
        self.address_of: dict[web_protocol.RequestHandler, str] = {}
        self.refused = 0
        self.servers: list[web_server.Server] = []

    def _exempt(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in net for net in self.exempt)

    def install(self, server: web_server.Server) -> None:
        self.servers.append(server)
        made: Callable[..., None] = server.connection_made
        lost: Callable[..., None] = server.connection_lost
        loop = asyncio.get_running_loop()

        def connection_made(handler: web_protocol.RequestHandler, transport: asyncio.Transport) -> None:
            made(handler, transport)
            peer = transport.get_extra_info("peername")
            address = str(peer[0]) if peer else ""
            if address and not self._exempt(address):
                count = self.open[address] = self.open.get(address, 0) + 1
                self.address_of[handler] = address
                if count > self.per_address:
                    self.refused += 1
                    if self.refused == 1 or self.refused % 1000 == 0:
                        log.warning(
                            "%s holds %d connections; %d refused so far", address, count, self.refused
                        )
                    transport.abort()
                    return
            loop.call_later(self.header_seconds, self._deadline, handler, transport)

        def connection_lost(handler: web_protocol.RequestHandler, exc: BaseException | None = None) -> None:
            address = self.address_of.pop(handler, None)
            if address is not None:
                left = self.open.get(address, 1) - 1
                if left > 0:
                    self.open[address] = left
                else:
                    self.open.pop(address, None)
            lost(handler, exc)

        # Instance attributes over the methods of this one server: its RequestHandlers call them.
        server.connection_made = connection_made  # type: ignore[method-assign]
        server.connection_lost = connection_lost  # type: ignore[method-assign]

    async def close_idle_at_stop(self, _: web.Application) -> None:
        """An `on_shutdown` handler (quality.md R2): the idle connections closed once more, after the
        others' handlers, before aiohttp waits up to `shutdown_timeout` for the connections' tasks.

        aiohttp closes the idle connections before `on_shutdown` (`Server.pre_shutdown`). On Python
        3.11 a connection accepted just before the stop already counts then, but its task, which waits
        for its request, has not started yet (tasks start eagerly only from 3.12): `close()` finds no
        wait to end, the request's bytes are then dropped (the connection is closing), and the task
        waits until the header deadline or the shutdown timeout, 10 s each. Under 50 requests a second
        one SIGTERM in about 25 took 10.1 s this way. By now such a task has started and waits, so
        `close()` ends it at once; a request in progress is left to finish, as aiohttp does."""
        await asyncio.sleep(0)  # a task made before pre_shutdown has started by the time this resumes
        for server in self.servers:
            for handler in server.connections:
                handler.close()

    def _deadline(self, handler: web_protocol.RequestHandler, transport: asyncio.Transport) -> None:
        """No whole request yet (aiohttp counts a request once its headers are parsed): abort."""
        if not transport.is_closing() and handler._request_count == 0:
            transport.abort()


def limit_connections(app: web.Application, settings: Settings) -> ConnectionGuard:
    """Install the guard on whatever server aiohttp makes for the app (`run_app` and `AppRunner`
    alike). aiohttp 3.x builds it in the private `Application._make_handler`; this wraps that one
    instance's method, the only hook that reaches the server before its first connection."""
    guard = ConnectionGuard(
        settings.connections_per_address, settings.request_header_seconds, settings.trusted_proxies
    )
    make_handler: Callable[..., web_server.Server] = app._make_handler

    def make_guarded_handler(*args: Any, **kwargs: Any) -> web_server.Server:
        server = make_handler(*args, **kwargs)
        guard.install(server)
        return server

    object.__setattr__(app, "_make_handler", make_guarded_handler)
    # Last of the app's on_shutdown handlers (the room's members are told and hung up before it).
    app.on_shutdown.append(guard.close_idle_at_stop)
    return guard
