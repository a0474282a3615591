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
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aioice import stun

from server.media.turn import MAX_TTL_SECONDS, mint_turn_credential
from server.settings import Secret
from tests.integration.coturn import LOOPBACK, SECRET, TIMEOUT, Coturn, start_coturn
from tests.integration.harness import RunningServer
from tests.integration.room_client import link_members, online_meeting
from tests.integration.turn_client import (
    QUIET,
    Echo,
    allocate,
    create_permission,
    deploy_config_copy,
    echo,
    refused_with,
    release,
    send_indication,
)
from tests.integration.world import PASSWORD, World

__all__ = ["echo", "start_coturn"]  # fixtures, imported from the non-test modules that define them

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
