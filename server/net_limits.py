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

    def _exempt(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in net for net in self.exempt)

    def install(self, server: web_server.Server) -> None:
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
    return guard
