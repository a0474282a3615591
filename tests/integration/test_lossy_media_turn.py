"""quality.md R4, a lossy and jittery media path, its second run (issue 28): the same lossy call as
tests/integration/test_lossy_media.py, but with the media relayed through a real coturn.

Two aiortc members of one online meeting meet in a mesh through the real server's `signal` relay (the
integration `world`'s in-process server). The server is configured as in production for TURN: a shared
secret (`turn_secret`) and one `turn:` entry (`ice_servers`) naming a coturn the test starts on free
loopback ports (tests/integration/coturn.py: Debian's /usr/bin/turnserver, `--use-auth-secret` with the
same secret). Each member's peer connection is given exactly the ICE servers of its own `join` ack
(`media.ice_servers`: the credential server/media/turn.py minted for that member and meeting) and
aiortc's relay-only policy (`iceTransportPolicy: relay`): it gathers no host or server-reflexive
candidate, only its TURN allocation, so the two can meet only through coturn. The server's clock is set
to the real time before the members join: coturn checks a credential's expiry against it.

This coturn, the test's only, is started with `--allow-loopback-peers`: both relay endpoints are on
127.0.0.1, which deploy/turnserver.conf refuses (tests/integration/test_turn.py checks that it does).
Nothing of the production TURN policy changes.

The loss and delay: this kernel has no sch_netem (see test_lossy_media.py), and with both members on
loopback there is no link to put it on anyway. The lossy member's connection impairs its own datagrams
in-process (tests/integration/lossy_peer.py `Impairment.attach`): every datagram its ICE transport sends
towards coturn or gets from it (STUN checks, DTLS, SRTP, SRTCP) is dropped with probability 5 % or
handed on after a uniform 60-100 ms, independently. Each direction therefore sees 5 % loss and
80 ms ± 20 ms of delay on top of the relay's. TURN's own requests (Refresh, ChannelBind) are not
impaired; they are a handful in a call.

Pass: the conditions of test_lossy_media.py (tests/integration/lossy_call.py: ICE + DTLS `connected`
on both sides within 5 s of the offer, neither leaves `connected`, audio frame floors, RTCP loss ± 2
points pooled in the fast tier and per direction in the slow one, no ERROR logged), and the call was
relayed through coturn: both descriptions carried only `typ relay` candidates; each side's selected
(nominated) candidate pair is relay to relay, its local end an allocation on this coturn (a TurnTransport
to its address, an address in its relay port range) and its remote end the other side's allocation;
and coturn's log names both members' allocations and, when they are deleted, how many packets each
relayed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from aioice.turn import TurnTransport
from aiortc import RTCConfiguration, RTCIceServer, RTCIceTransportPolicy, RTCPeerConnection

from server.settings import Secret
from tests.integration.coturn import LOOPBACK, SECRET, Coturn, start_coturn
from tests.integration.lossy_call import (
    CONNECT_LIMIT_S,
    DELAY_MS,
    FINAL_REPORTS_S,
    JITTER_MS,
    LOSS_PERCENT,
    MEAN_FRAMES_FLOOR,
    STEP_TIMEOUT,
    first_connected,
    judge,
    left_connected,
    percent,
    relay,
)
from tests.integration.lossy_peer import AudioPeer, Impairment
from tests.integration.room_client import RoomClient, joined, link_members, online_meeting
from tests.integration.world import World
from tests.reliability import node_id, record

__all__ = ["start_coturn"]  # the fixture that starts coturn (tests/integration/coturn.py)

RELIABILITY_ROW = "R4"  # its line in docs/reliability.md, even when it fails before measuring

# coturn logs each allocation's traffic of the last ~20 s while it lives, and the rest when it is deleted:
# "session N: usage: realm=<cellmeet.test>, username=<...>, rp=N, rb=N, sp=N, sb=N" (rp: packets it took
# from the member, sp: packets it gave the member; its "peer usage" lines count the relay side).
USAGE = re.compile(r"session \S+: usage: realm=<[^>]*>, username=<([^>]+)>, rp=(\d+), rb=\d+, sp=(\d+),")
DELETED = "delete: realm=<cellmeet.test>, username=<{}>"
USAGE_WAIT_S = 5.0

pytestmark = [
    pytest.mark.reliability,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]


@pytest.fixture
async def coturn(start_coturn: Callable[..., Awaitable[Coturn]]) -> Coturn:
    """Fails (never skips) when /usr/bin/turnserver is missing: CI installs coturn."""
    return await start_coturn(
        "lossy",
        "-n",  # no config file: only these options
        "--use-auth-secret",
        f"--static-auth-secret={SECRET}",
        "--realm=cellmeet.test",
        "--allow-loopback-peers",  # both members' relay endpoints are on loopback (this test only)
    )


@pytest.fixture
def settings_overrides(coturn: Coturn) -> dict[str, Any]:
    return {
        "turn_secret": Secret(SECRET),
        "ice_servers": [{"urls": [f"turn:{LOOPBACK}:{coturn.port}?transport=udp"]}],
    }


def relay_only(ack: dict[str, Any]) -> RTCConfiguration:
    """A member's peer connection configuration: the ICE servers of its join ack, relay candidates only."""
    servers = ack["media"]["ice_servers"]
    assert [entry["urls"][0].split(":", 1)[0] for entry in servers] == ["turn"], servers
    return RTCConfiguration(
        iceServers=[
            RTCIceServer(urls=entry["urls"], username=entry["username"], credential=entry["credential"])
            for entry in servers
        ],
        iceTransportPolicy=RTCIceTransportPolicy.RELAY,
    )


def candidate_types(sdp: str) -> list[str]:
    return re.findall(r"^a=candidate:.* typ (\w+)", sdp, flags=re.MULTILINE)


def selected_path(pc: RTCPeerConnection) -> dict[str, Any]:
    """The connection's selected (nominated) candidate pair, and the TURN server its local end uses."""
    (transceiver,) = pc.getTransceivers()
    connection = transceiver.sender.transport.transport.iceGatherer._connection
    pair = connection._nominated.get(1)
    if pair is None:
        return {"pair": None}
    transport = pair.protocol.transport
    transport = getattr(transport, "_transport", transport)  # under the lossy member's Impairment
    turn_server = None
    if isinstance(transport, TurnTransport):
        turn_server = tuple(vars(transport)["_TurnTransport__inner_protocol"].server)
    local, remote = pair.local_candidate, pair.remote_candidate
    return {
        "pair": f"{local.type} {local.host}:{local.port} -> {remote.type} {remote.host}:{remote.port}",
        "local": (local.type, local.host, local.port),
        "remote": (remote.type, remote.host, remote.port),
        "turn_server": turn_server,
    }


def relayed_through(coturn: Coturn, clean: dict[str, Any], lossy: dict[str, Any]) -> bool:
    """Both sides' selected pairs are relay to relay, each end an allocation on this coturn."""

    def on_coturn(end: tuple[str, str, int]) -> bool:
        return end[0] == "relay" and end[1] == LOOPBACK and end[2] in coturn.relay_ports

    return all(
        side.get("pair") is not None
        and on_coturn(side["local"])
        and on_coturn(side["remote"])
        and side["turn_server"] == coturn.address
        for side in (clean, lossy)
    ) and (clean["local"], clean["remote"]) == (lossy["remote"], lossy["local"])


async def coturn_usage(coturn: Coturn, usernames: list[str]) -> dict[str, dict[str, int]]:
    """The packets coturn relayed for each member's allocation, summed over its usage lines, once it
    logged the allocation's deletion (or USAGE_WAIT_S passed)."""
    deadline = time.monotonic() + USAGE_WAIT_S
    while time.monotonic() < deadline:
        if all(DELETED.format(name) in coturn.output() for name in usernames):
            break
        await asyncio.sleep(0.1)
    usage = {name: {"rp": 0, "sp": 0} for name in usernames}
    for name, took, gave in USAGE.findall(coturn.output()):
        if name in usage:
            usage[name]["rp"] += int(took)
            usage[name]["sp"] += int(gave)
    return usage


async def lossy_turn_call(
    world: World,
    coturn: Coturn,
    request: pytest.FixtureRequest,
    caplog: pytest.LogCaptureFixture,
    seconds: float,
    tier: str,
) -> None:
    caplog.set_level(logging.WARNING)
    people = await link_members(world, "A", 2)
    mid = await online_meeting(world, "A")
    # coturn checks the credential's expiry against the real time: the join acks mint at it too (a
    # fresh login of each member, at that time, makes its ticket).
    world.server.clock.now = datetime.now(UTC).replace(microsecond=0)
    clients: list[RoomClient] = []
    clean_states: list[tuple[float, str]] = []
    lossy_states: list[tuple[float, str]] = []
    impairment = Impairment(LOSS_PERCENT, DELAY_MS, JITTER_MS)
    clean: AudioPeer | None = None
    lossy: AudioPeer | None = None
    try:
        clean_client, clean_ack = await joined(world, people[0][0], mid)
        clients.append(clean_client)
        lossy_client, lossy_ack = await joined(world, people[1][0], mid)
        clients.append(lossy_client)
        usernames = [ack["media"]["ice_servers"][0]["username"] for ack in (clean_ack, lossy_ack)]
        clean_id, lossy_id = lossy_ack["peers"][0]["peer_id"], lossy_ack["self"]["peer_id"]
        clean = AudioPeer(
            on_state=lambda state: clean_states.append((time.monotonic(), state)),
            configuration=relay_only(clean_ack),
        )
        lossy = AudioPeer(
            on_state=lambda state: lossy_states.append((time.monotonic(), state)),
            configuration=relay_only(lossy_ack),
        )

        # The newcomer offers to the member already there (docs/api.md), through the server.
        started = time.monotonic()
        offer = await lossy.offer()  # gathers: the TURN allocation, nothing sent to the other yet
        impairment.attach(lossy.pc)
        relayed = await relay(lossy_client, clean_client, clean_id, "offer", offer)
        assert relayed["from"] == lossy_id, relayed
        answer = await clean.answer(relayed["description"]["sdp"])
        relayed = await relay(clean_client, lossy_client, lossy_id, "answer", answer)
        await lossy.accept(relayed["description"]["sdp"])
        sdp_candidates = {"offer": candidate_types(offer), "answer": candidate_types(answer)}

        deadline = started + STEP_TIMEOUT
        while time.monotonic() < deadline and not (
            first_connected(clean_states) and first_connected(lossy_states)
        ):
            await asyncio.sleep(0.01)
        ends = [first_connected(clean_states), first_connected(lossy_states)]
        connect_s = max(ends) - started if all(ends) else None  # type: ignore[type-var,operator]

        if connect_s is not None:
            clean.count()
            lossy.count()
            await asyncio.sleep(seconds)
            clean.pause()
            lossy.pause()
            await asyncio.sleep(FINAL_REPORTS_S)
        clean_stats = await clean.stats()
        lossy_stats = await lossy.stats()
        paths = {"clean": selected_path(clean.pc), "lossy": selected_path(lossy.pc)}
        clean_left = left_connected(clean_states)
        lossy_left = left_connected(lossy_states)
    finally:
        for peer in (clean, lossy):
            if peer is not None:
                await peer.close()  # deletes its allocation: coturn logs what it relayed
        for client in clients:
            with contextlib.suppress(Exception):
                await client.close()
    usage = await coturn_usage(coturn, usernames)

    verdict = judge(
        clean_stats,
        lossy_stats,
        connect_s=connect_s,
        clean_left=clean_left,
        lossy_left=lossy_left,
        records=caplog.records,
        tier=tier,
    )
    # Most of each member's audio went through its allocation: RTP alone is 50 packets a second.
    least_relayed = 0.9 * 50 * seconds if connect_s is not None else 1
    relayed_ok = (
        all(types and set(types) == {"relay"} for types in sdp_candidates.values())
        and relayed_through(coturn, paths["clean"], paths["lossy"])
        and all(min(usage[name]["rp"], usage[name]["sp"]) >= least_relayed for name in usernames)
    )
    broken = {**verdict.broken, "not relayed through coturn": not relayed_ok}
    relayed_figure = ", ".join(
        f"{who} {paths[who].get('pair')} (coturn took {usage[name]['rp']} packets from it, "
        f"gave it {usage[name]['sp']})"
        for who, name in zip(("clean", "lossy"), usernames, strict=True)
    )
    how = "the lossy peer's own datagram impairment, in-process (no sch_netem)"
    figure = (
        f"through coturn, relay candidates only ({relayed_figure}); {how}, dropped "
        f"{impairment.dropped['out']} of {impairment.dropped['out'] + impairment.passed['out']} out, "
        f"{impairment.dropped['in']} of {impairment.dropped['in'] + impairment.passed['in']} in: "
        f"{verdict.summary(seconds, connect_s)}; failed: {[n for n, bad in broken.items() if bad] or 'none'}"
    )
    record(
        "R4",
        node_id(request),
        attacked=(
            f"an aiortc member's media through loss {LOSS_PERCENT:g}% delay {DELAY_MS:g}ms {JITTER_MS:g}ms "
            f"both ways ({how}), both members on relay candidates only through a real coturn with the "
            f"credentials of their join acks, a {seconds:g} s mesh call signalled through the server"
        ),
        attempts=len(broken),
        failures=sum(broken.values()),
        figure=figure,
        tier=tier,
    )
    print(figure)
    assert connect_s is not None and connect_s <= CONNECT_LIMIT_S, (connect_s, clean_states, lossy_states)
    assert not clean_left and not lossy_left, (clean_left, lossy_left)
    assert (
        all(verdict.frames.values()) and verdict.low_seconds == 0 and verdict.mean_frames >= MEAN_FRAMES_FLOOR
    ), verdict.frames
    assert not any(verdict.loss_off), (verdict.rates, percent(*verdict.pooled), clean_stats, lossy_stats)
    assert not verdict.errors, [r.getMessage() for r in verdict.errors]
    assert relayed_ok, (sdp_candidates, paths, usage, coturn.relay_ports, coturn.address)


async def test_audio_holds_over_a_lossy_jittery_path_through_coturn(
    world: World, coturn: Coturn, request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture
) -> None:
    await lossy_turn_call(world, coturn, request, caplog, 12.0, "fast")


@pytest.mark.slow
@pytest.mark.timeout(600)
async def test_audio_holds_over_a_lossy_jittery_path_through_coturn_for_five_minutes(
    world: World, coturn: Coturn, request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture
) -> None:
    await lossy_turn_call(world, coturn, request, caplog, 300.0, "slow")
