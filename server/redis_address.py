"""Where Redis may be (CELLMEET_REDIS_URL): on the loopback, or on a private address with a password.

Redis carries every live room's events between the signalling processes (the members' names, their
signalling, ballots cast): it must never be reachable from the Internet, and on a private network it
must ask for a password. A start with any other address is refused with a message that says why, as
the other unsafe settings are (server.settings.UnsafeSettings).

- `redis://` or `rediss://` (TLS) only, with a host; the database number, if any, in the path.
- The host is an IP address, `localhost`, or a name resolved now: every address it resolves to must
  be loopback, or private (RFC 1918, RFC 4193 unique local, RFC 6598 shared) with a password.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from urllib.parse import unquote, urlsplit

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str], Sequence[str]]

# The private networks, named (Python's is_private also counts documentation and reserved ranges).
PRIVATE_NETWORKS = tuple(
    ipaddress.ip_network(network)
    for network in (
        "10.0.0.0/8",  # RFC 1918
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",  # RFC 6598 shared address space, also used inside clouds
        "fc00::/7",  # RFC 4193 unique local
    )
)


class RedisAddressRefused(ValueError):
    """CELLMEET_REDIS_URL names a Redis that must not be used."""


def _resolve(host: str) -> list[str]:
    try:
        found = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except OSError as exc:
        raise RedisAddressRefused(f"CELLMEET_REDIS_URL: the host {host!r} does not resolve ({exc})") from exc
    return sorted({str(info[4][0]) for info in found})


def _private(address: IpAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return _private(address.ipv4_mapped)
    return any(address in network for network in PRIVATE_NETWORKS if network.version == address.version)


def _loopback(address: IpAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def check_redis_url(url: str, resolve: Resolver = _resolve) -> str:
    """The URL as given if it is allowed; RedisAddressRefused (never showing the password) if not."""
    parts = urlsplit(url)
    shown = f"{parts.scheme}://{parts.hostname or ''}"
    if parts.scheme not in ("redis", "rediss"):
        raise RedisAddressRefused(
            f"CELLMEET_REDIS_URL must start with redis:// or rediss:// (got {parts.scheme or 'no'} scheme)"
        )
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError as exc:
        raise RedisAddressRefused(f"CELLMEET_REDIS_URL: bad port ({shown})") from exc
    host = parts.hostname
    if not host:
        raise RedisAddressRefused("CELLMEET_REDIS_URL: no host")
    if parts.query or parts.fragment:
        raise RedisAddressRefused(f"CELLMEET_REDIS_URL: no query or fragment after the address ({shown})")
    database = parts.path.lstrip("/")
    if database and not database.isdigit():
        raise RedisAddressRefused(f"CELLMEET_REDIS_URL: the path is a database number ({shown})")
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in resolve(host)]
    if not addresses:
        raise RedisAddressRefused(f"CELLMEET_REDIS_URL: the host {host!r} does not resolve")
    if all(_loopback(address) for address in addresses):
        return url
    public = [str(a) for a in addresses if not _loopback(a) and not _private(a)]
    if public:
        raise RedisAddressRefused(
            f"CELLMEET_REDIS_URL: Redis must be on the loopback or a private address, and {host!r} is "
            f"{', '.join(public)}: it would carry the live rooms' events where anyone may reach them"
        )
    if not unquote(parts.password or ""):
        raise RedisAddressRefused(
            f"CELLMEET_REDIS_URL: Redis on a private address ({host}) needs a password "
            "(redis://:PASSWORD@host:6379/0, and requirepass in redis.conf)"
        )
    return url
