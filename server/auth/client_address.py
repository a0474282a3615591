"""The client's address as the server may believe it (docs/security.md "Accounts and sessions").

Behind the shipped nginx every connection comes from 127.0.0.1; only when the peer is one of the
configured trusted proxies are its `X-Forwarded-For` (the right-most address that is not itself a
trusted proxy: the left part is whatever the client wrote) or `X-Real-IP` believed. A header sent
by anyone else is ignored, so a client cannot pick the address its limits are counted against.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from aiohttp import web

from server.settings import Settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(proxies: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(p, strict=False) for p in proxies)


def _is_proxy(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def _valid(address: str) -> str | None:
    try:
        return str(ipaddress.ip_address(address.strip()))
    except ValueError:
        return None


def client_address(request: web.Request, settings: Settings) -> str:
    peer = request.remote or ""
    networks = _networks(settings.trusted_proxies)
    if not networks or not _is_proxy(peer, networks):
        return peer
    forwarded = request.headers.get("X-Forwarded-For")
    if forwarded:
        for hop in reversed(forwarded.split(",")):
            address = _valid(hop)
            if address is None:
                break  # a malformed hop: nothing to its left can be trusted
            if not _is_proxy(address, networks):
                return address
    real = _valid(request.headers.get("X-Real-IP", ""))
    return real or peer
