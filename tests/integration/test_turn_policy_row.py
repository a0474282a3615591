"""quality.md S10 (issue 29): the TURN policy against a real coturn, as one row of docs/reliability.md.

Debian's coturn (4.6.1) runs on loopback with a temp copy of deploy/turnserver.conf (only the secret and
the log file replaced, tests/integration/turn_client.py), and cellmeet with the same secret:

- credentials are minted only for authenticated members of the meeting: the `ice-servers` route and the
  room's `join` ack hand one to a member, with a lifetime of at most 10 minutes, and it allocates on
  coturn; another unit's member gets 403/404 and a join ack without media, anonymous callers 401 and no
  socket;
- Allocate with an expired credential, with a byte of the password changed and with the username's
  expiry changed: 401;
- CreatePermission and ChannelBind to loopback, "this network", the private ranges and the cloud metadata
  address: 403, 0 successes; a public address (TEST-NET-3, only ever inside a request) is granted, so the
  refusals are not coturn saying no to everything;
- `user-quota` of deploy/turnserver.conf: allocation N+1 of one credential refused (486).

IPv6 peers (`::1`, `::ffff:127.0.0.1`): coturn here listens and relays on 127.0.0.1 only, so it answers
them 443 (address family mismatch), not 403; the row says so. The IPv4-mapped bypass of coturn 4.6.1
(CVE-2026-27624) needs an IPv6 relay: the second test gives coturn one on ::1 and records its own S10
line with what happened (deploy's `denied-peer-ip=::ffff:0.0.0.0-::ffff:255.255.255.255` refuses it;
deploy/turn-egress.nft is not applied: this host has no `nft`).

The RFC 1918 and metadata addresses only ever appear inside requests to coturn; nothing is sent to them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import socketio
from aioice import stun

from server.media.turn import MAX_TTL_SECONDS, mint_turn_credential
from server.settings import Secret
from tests.integration.coturn import LOOPBACK, SECRET, Coturn, start_coturn
from tests.integration.harness import RunningServer
from tests.integration.room_client import RoomClient, joined, link_members, online_meeting
from tests.integration.turn_client import (
    QUIET,
    Echo,
    allocate,
    channel_bind,
    create_permission,
    deploy_config_copy,
    deploy_setting,
    echo,
    release,
    send_indication,
)
from tests.integration.world import PASSWORD, World
from tests.reliability import Tally, node_id

__all__ = ["echo", "start_coturn"]  # fixtures, imported from the non-test modules that define them

RELIABILITY_ROW = "S10"  # its line in docs/reliability.md, even when it fails before measuring

FORBIDDEN_V4 = ["127.0.0.1", "0.0.0.0", "10.0.0.1", "172.16.0.1", "192.168.0.1", "169.254.169.254"]
FORBIDDEN_V6 = ["::1", "::ffff:127.0.0.1"]
PUBLIC_PEER = "203.0.113.7"  # TEST-NET-3: the control, granted a permission; nothing is sent to it


@pytest.fixture
async def deploy_coturn(tmp_path: Path, start_coturn: Callable[..., Awaitable[Coturn]]) -> Coturn:
    # no --allow-loopback-peers: only the deploy file's peer rules
    return await start_coturn("deploy", "-c", str(deploy_config_copy(tmp_path)))


@pytest.fixture
def settings_overrides(deploy_coturn: Coturn) -> dict[str, Any]:
    return {
        "turn_secret": Secret(SECRET),
        "ice_servers": [{"urls": [f"turn:{LOOPBACK}:{deploy_coturn.port}?transport=udp"]}],
    }


async def refusal(attempt: Awaitable[Any]) -> int | None:
    """The error code coturn answered (None: it granted the request)."""
    try:
        await attempt
    except stun.TransactionFailed as failed:
        return int(failed.response.error_code)
    return None


def expiry_of(username: str) -> int:
    return int(username.split(":", 1)[0])


def tampered_password(password: str) -> str:
    """The password with one byte changed (its first base64 character)."""
    return ("B" if password[0] == "A" else "A") + password[1:]


@pytest.mark.reliability
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_turn_credentials_peers_and_quota_hold_on_the_deploy_coturn(
    world: World,
    server: RunningServer,
    deploy_coturn: Coturn,
    echo: Echo,
    request: pytest.FixtureRequest,
    rooms: list[RoomClient],
) -> None:
    coturn = deploy_coturn
    tally = Tally("S10", node_id(request), "", "fast")
    ((username, member_id),) = await link_members(world, "A", 1)
    ((outsider, _),) = await link_members(world, "B", 1)
    mid = await online_meeting(world)
    # coturn checks the expiry against the real time: the server mints at the real time too
    minted_at = datetime.now(UTC).replace(microsecond=0)
    server.clock.now = minted_at
    now_s = int(minted_at.timestamp())

    # -- 1. who gets a credential, for how long -------------------------------------------------------
    member = world.make_client()
    assert (await member.login(username, PASSWORD)).status == 200
    reply = await member.get(f"/api/v1/meetings/{mid}/ice-servers")
    entries = [e for e in (reply.body or {}).get("ice_servers", []) if "username" in e]
    tally.count(
        reply.status == 200 and len(entries) == 1, f"member's ice-servers: {reply.status} {reply.body}"
    )
    entry = entries[0] if entries else {"username": "0:none", "credential": ""}
    ttl = expiry_of(entry["username"]) - now_s
    tally.count(
        0 < ttl <= MAX_TTL_SECONDS and reply.body.get("ttl_seconds", 0) <= MAX_TTL_SECONDS,
        f"ice-servers credential lives {ttl} s (ttl_seconds {reply.body.get('ttl_seconds')})",
    )
    tally.count(entry["username"].endswith(f":m{member_id}-g{mid}"), f"username {entry['username']}")

    client, ack = await joined(world, username, mid)
    rooms.append(client)
    ack_turn = [e for e in ack.get("media", {}).get("ice_servers", []) if "username" in e]
    ack_ttl = expiry_of(ack_turn[0]["username"]) - now_s if ack_turn else -1
    tally.count(len(ack_turn) == 1 and 0 < ack_ttl <= MAX_TTL_SECONDS, f"join ack TURN entries {ack_turn}")

    stranger = await world.as_user(outsider)  # a member of unit B, not of this meeting
    refused = await stranger.get(f"/api/v1/meetings/{mid}/ice-servers")
    tally.count(refused.status in (403, 404), f"non-member's ice-servers answered {refused.status}")
    ticket = await stranger.post(f"/api/v1/meetings/{mid}/join-ticket", {})
    tally.count(ticket.status in (403, 404), f"non-member's join ticket answered {ticket.status}")
    cookie = stranger.http.cookie_jar.filter_cookies(world.server.url)
    origin = str(world.server.url).rstrip("/")
    by_cookie = RoomClient(
        str(world.server.url),
        headers={"Cookie": "; ".join(f"{k}={v.value}" for k, v in cookie.items()), "Origin": origin},
    )
    stranger_ack: Any = None
    try:
        await by_cookie.connect()
        rooms.append(by_cookie)
        stranger_ack = await by_cookie.join(mid)
    except socketio.exceptions.ConnectionError:
        stranger_ack = {"ok": False, "connect": "refused"}
    tally.count(
        isinstance(stranger_ack, dict) and stranger_ack.get("ok") is not True and "media" not in stranger_ack,
        f"non-member's join answered {stranger_ack}",
    )

    anonymous = world.make_client()
    anon_reply = await anonymous.get(f"/api/v1/meetings/{mid}/ice-servers")
    tally.count(anon_reply.status == 401, f"anonymous ice-servers answered {anon_reply.status}")
    anon_room = RoomClient(str(world.server.url), headers={"Origin": origin})
    try:
        await anon_room.connect()
        rooms.append(anon_room)
        anon_join: Any = await anon_room.join(mid)
    except socketio.exceptions.ConnectionError:
        anon_join = {"ok": False, "connect": "refused"}
    tally.count(
        isinstance(anon_join, dict) and anon_join.get("ok") is not True and "media" not in anon_join,
        f"anonymous join answered {anon_join}",
    )

    # -- 2. expired and tampered credentials ----------------------------------------------------------
    stale = mint_turn_credential(
        SECRET, member_id=member_id, meeting_id=mid, now=minted_at - timedelta(minutes=20), ttl_seconds=600
    )
    expiry = expiry_of(entry["username"])
    bad = {
        "expired 10 min ago": (stale.username, stale.credential),
        "a byte of the password changed": (entry["username"], tampered_password(entry["credential"])),
        "the expiry pushed 1 s later": (
            entry["username"].replace(str(expiry), str(expiry + 1), 1),
            entry["credential"],
        ),
        "the expiry pushed a day later": (
            entry["username"].replace(str(expiry), str(expiry + 86400), 1),
            entry["credential"],
        ),
        "another member's name": (
            entry["username"].replace(f":m{member_id}-", ":m999999-"),
            entry["credential"],
        ),
    }
    for what, (name, password) in bad.items():
        code = await refusal(allocate(coturn, name, password))
        tally.count(code == 401, f"Allocate with a credential {what} answered {code}")

    # -- 3. forbidden peers ---------------------------------------------------------------------------
    transport, receiver = await allocate(coturn, entry["username"], entry["credential"])
    try:
        relayed = transport.get_extra_info("sockname")
        tally.count(relayed[0] == LOOPBACK, f"the API's credential allocated {relayed}")
        peer_codes: dict[str, tuple[int | None, int | None]] = {}
        for number, host in enumerate(FORBIDDEN_V4 + FORBIDDEN_V6):
            peer = (host, echo.address[1])
            permission = await refusal(create_permission(transport, peer))
            bind = await refusal(channel_bind(transport, 0x4000 + number, peer))
            peer_codes[host] = (permission, bind)
            wanted = (403,) if host in FORBIDDEN_V4 else (403, 443)
            tally.count(permission in wanted, f"CreatePermission {host} answered {permission}")
            tally.count(bind in wanted, f"ChannelBind {host} answered {bind}")
        control = await refusal(create_permission(transport, (PUBLIC_PEER, 9)))
        tally.count(control is None, f"the public control {PUBLIC_PEER} was refused ({control})")
        # Send indications without a permission: coturn drops them, nothing reaches the loopback echo
        send_indication(transport, echo.address, b"must not arrive")
        send_indication(transport, ("::ffff:127.0.0.1", echo.address[1]), b"must not arrive either")
        await asyncio.sleep(QUIET)
        tally.count(echo.received == [], f"the loopback echo received {echo.received}")
        tally.count(receiver.received.empty(), "the member received datagrams from a refused peer")
    finally:
        await release(transport, receiver)

    # -- 4. user-quota --------------------------------------------------------------------------------
    # coturn counts a released allocation against the quota until its session times out, so the quota
    # is tried with the credentials of a member who has not allocated yet (the server's format, minted
    # with the same secret); coturn counts per member ("m<id>-g<meeting>"), whatever the expiry part.
    quota = deploy_setting("user-quota")
    tally.count(quota is not None and int(quota) > 0, "deploy/turnserver.conf sets no user-quota")
    limit = int(quota or 0)
    fresh = mint_turn_credential(SECRET, member_id=member_id + 100000, meeting_id=mid, now=minted_at)
    again = mint_turn_credential(
        SECRET, member_id=member_id + 100000, meeting_id=mid, now=minted_at + timedelta(seconds=1)
    )
    granted: list[Any] = []
    over: int | None = None
    over_again: int | None = None
    try:
        for _ in range(limit):
            try:
                granted.append(await allocate(coturn, fresh.username, fresh.credential))
            except stun.TransactionFailed as early:
                over = int(early.response.error_code)
                break
        else:
            over = await refusal(allocate(coturn, fresh.username, fresh.credential))
            over_again = await refusal(allocate(coturn, again.username, again.credential))
    finally:
        await asyncio.gather(*(release(*pair) for pair in granted))
    tally.count(len(granted) == limit, f"{len(granted)} of {quota} allocations granted")
    tally.count(over == 486, f"allocation {limit + 1} answered {over}")
    tally.count(over_again == 486, f"allocation {limit + 1} with a newer credential answered {over_again}")

    v6 = {host: peer_codes.get(host) for host in FORBIDDEN_V6}
    tally.attacked = (
        "Debian coturn 4.6.1 with deploy/turnserver.conf: credentials asked of the ice-servers route and the"
        " join ack by a member, another unit's member and an anonymous caller; Allocate with an expired"
        " credential, a changed password byte, a changed or extended username expiry, another member's"
        f" name; CreatePermission and ChannelBind to {', '.join(FORBIDDEN_V4 + FORBIDDEN_V6)}; a Send"
        " indication without permission; user-quota + 1 allocations, the last also with a newer credential"
    )
    tally.write(
        f"{tally.attempts - tally.failures} of {tally.attempts} held: member TTL {ttl} s (join ack"
        f" {ack_ttl} s, max {MAX_TTL_SECONDS}); non-member {refused.status}, anonymous {anon_reply.status};"
        f" {len(bad)} bad credentials 401; 0 of {2 * len(FORBIDDEN_V4)} IPv4 permissions/binds granted"
        f" (403); IPv6 {v6} (coturn relays IPv4 only here: 443 address family mismatch, the IPv4-mapped"
        f" bypass on an IPv6 relay is the next test's); {limit} allocations granted, allocation"
        f" {limit + 1} with user-quota={quota} -> {over}, with a newer credential of the same member"
        f" -> {over_again}"
    )
    assert tally.broken == []


def requests_ipv6_relay(monkeypatch: pytest.MonkeyPatch) -> None:
    entry = (0x0017, "REQUESTED-ADDRESS-FAMILY", stun.pack_unsigned, stun.unpack_unsigned)
    monkeypatch.setitem(stun.ATTRIBUTES_BY_TYPE, entry[0], entry)
    monkeypatch.setitem(stun.ATTRIBUTES_BY_NAME, entry[1], entry)
    original = stun.Message.__init__

    def with_family(self: stun.Message, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        if self.message_method == stun.Method.ALLOCATE and self.message_class == stun.Class.REQUEST:
            self.attributes["REQUESTED-ADDRESS-FAMILY"] = 0x02000000  # IPv6, then 3 reserved bytes

    monkeypatch.setattr(stun.Message, "__init__", with_family)


@pytest.mark.reliability
async def test_ipv6_and_ipv4_mapped_peers_on_an_ipv6_relay(
    tmp_path: Path,
    start_coturn: Callable[..., Awaitable[Coturn]],
    echo: Echo,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The deploy configuration with an IPv6 relay on ::1 (a production coturn relays on every address it
    has): a permission, a channel and data to `::1` and to `::ffff:127.0.0.1` (CVE-2026-27624: coturn
    < 4.9.0 lets the IPv4-mapped form of a denied address through). Its own S10 line, with what
    coturn did; deploy/turn-egress.nft is not applied here (no `nft` on this host), so a relayed datagram
    reaching the loopback echo is a failure of the deployment as tested."""
    coturn = await start_coturn(
        "deploy6", "-c", str(deploy_config_copy(tmp_path)), "--listening-ip=::1", "--relay-ip=::1"
    )
    loop = asyncio.get_running_loop()
    _, echo6 = await loop.create_datagram_endpoint(Echo, local_addr=("::1", 0))
    tally = Tally("S10", node_id(request), "", "fast")
    credential = mint_turn_credential(SECRET, member_id=1, meeting_id=1, now=datetime.now(UTC))
    # aioice asks for the server's default family (IPv4 here): its Allocate gets REQUESTED-ADDRESS-FAMILY
    # IPv6 (RFC 6156) for this test only.
    requests_ipv6_relay(monkeypatch)
    transport, receiver = await allocate(
        coturn, credential.username, credential.credential, server=("::1", coturn.port)
    )
    outcomes: dict[str, str] = {}
    try:
        relayed = transport.get_extra_info("sockname")
        tally.count(relayed[0] == "::1", f"the allocation relays on {relayed}, not ::1")
        targets = {
            "::1": ("::1", echo6.address[1]),
            "::ffff:127.0.0.1": ("::ffff:127.0.0.1", echo.address[1]),
        }
        for number, (name, peer) in enumerate(targets.items()):
            permission = await refusal(create_permission(transport, peer))
            bind = await refusal(channel_bind(transport, 0x4100 + number, peer))
            tally.count(permission == 403, f"CreatePermission {name} answered {permission}")
            tally.count(bind == 403, f"ChannelBind {name} answered {bind}")
            send_indication(transport, peer, f"to {name}".encode())
            await asyncio.sleep(QUIET)
            arrived = echo6.received if name == "::1" else echo.received
            tally.count(arrived == [], f"a datagram relayed to {name} reached the loopback echo")
            outcomes[name] = f"permission {permission}, bind {bind}, {len(arrived)} datagrams arrived"
    finally:
        await release(transport, receiver)
        assert echo6.transport is not None
        echo6.transport.close()
    tally.attacked = (
        "deploy/turnserver.conf on Debian coturn 4.6.1 with an IPv6 relay on ::1: CreatePermission,"
        " ChannelBind and a Send indication to ::1 and to ::ffff:127.0.0.1 (CVE-2026-27624), loopback"
        " echo peers listening; the nftables egress rules of deploy/ not applied (no nft here)"
    )
    tally.write(f"{tally.attempts - tally.failures} of {tally.attempts} held: {outcomes}")
    assert tally.broken == []
