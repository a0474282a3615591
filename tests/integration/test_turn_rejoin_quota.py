"""quality.md S10 (issue 29): a member who rejoins is not refused TURN by deploy/turnserver.conf's quota.

coturn counts allocations per member and meeting ("<expiry>:m<member>-g<meeting>", the expiry left out).
Measured on Debian coturn 4.6.1 with the deploy file: an allocation the client released (Refresh with
lifetime 0, as a closing browser does) still counts, and keeps its relay port, for 1.0 s; one whose
client vanished (a dropped link) counts until its lifetime ends, which `max-allocate-lifetime` caps
(Chromium asks for no lifetime and gets the cap). A mesh join of 5 opens up to JOIN allocations.

Against the deploy file (a temp copy, tests/integration/turn_client.py), with a relay port block wide
enough for the quota:

- a member joins, closes and rejoins REJOINS times, each join allocating JOIN relays and releasing them
  as a browser does, the next join REJOIN_GAP later: every allocation of every join is granted;
- as many dropped joins as the quota holds besides a live one (`user-quota // JOIN - 1`), never
  released, then a join: all granted; a back-to-back rejoin (no gap) is measured, not asserted;
- an Allocate without LIFETIME (Chromium's) is granted exactly `max-allocate-lifetime`, at most
  MAX_LIFETIME: a dropped join's relays stop counting after that;
- a member holding `user-quota` live allocations is refused the next one (486).
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aioice import stun, turn
from aioice.turn import TurnTransport

import tests.integration.coturn as coturn_module
from server.media.turn import mint_turn_credential
from tests.integration.coturn import SECRET, TIMEOUT, Coturn, start_coturn
from tests.integration.turn_client import (
    Receiver,
    allocate,
    deploy_config_copy,
    deploy_setting,
    release,
    turn_client,
)
from tests.reliability import node_id, record

__all__ = ["start_coturn"]  # the fixture, imported from the non-test module that defines it

RELIABILITY_ROW = "S10"  # its line in docs/reliability.md, even when it fails before measuring

JOIN = 8  # a mesh of 5: 4 peer connections, a UDP and a TCP allocation each (the SFU: 2)
REJOINS = 5
REJOIN_GAP = 1.5  # s; coturn frees a released allocation 1.0 s after its Refresh, a browser rejoins slower
MAX_LIFETIME = 120  # s a dropped join's relays may keep counting against the member's quota

Pair = tuple[TurnTransport, Receiver]


@pytest.fixture
async def deploy_coturn(
    tmp_path: Path, start_coturn: Callable[..., Awaitable[Coturn]], monkeypatch: pytest.MonkeyPatch
) -> Coturn:
    quota = int(deploy_setting("user-quota") or 0)
    # relay ports for the dropped joins (live until their lifetime ends), a member's whole quota and the
    # released joins coturn has not freed yet, with room to spare (coturn does not fill every port)
    monkeypatch.setattr(coturn_module, "RELAY_PORTS", 3 * quota + 4 * JOIN)
    return await start_coturn("deploy", "-c", str(deploy_config_copy(tmp_path)))


# A new allocation's local port may be one a just-released allocation left (coturn keeps that one
# for 1 s): its 5-tuple is then taken and coturn answers 437; Chromium (libwebrtc's TurnPort) then
# allocates again from a new socket, up to twice.
ALLOCATION_MISMATCH = 437
MISMATCH_RETRIES = 2


def credential(member: int) -> tuple[str, str]:
    minted = mint_turn_credential(SECRET, member_id=member, meeting_id=7, now=datetime.now(UTC))
    return minted.username, minted.credential


async def join(coturn: Coturn, member: int, count: int = JOIN) -> tuple[list[Pair], list[int]]:
    """`count` allocations, as a browser joining a meeting makes them: the granted ones and refusals."""
    granted: list[Pair] = []
    refused: list[int] = []
    for _ in range(count):
        for attempt in range(1 + MISMATCH_RETRIES):
            try:
                granted.append(await allocate(coturn, *credential(member)))
            except stun.TransactionFailed as failed:
                code = int(failed.response.error_code)
                if code == ALLOCATION_MISMATCH and attempt < MISMATCH_RETRIES:
                    continue  # a new socket, as libwebrtc's TurnPort does on 437
                refused.append(code)
            break
    return granted, refused


async def vanish(pairs: list[Pair], held: list[socket.socket]) -> None:
    """The client's link drops: its socket is gone and no Refresh reaches coturn. Its local port is
    then held by a silent socket of the test's: were it given to a later allocation, that one would
    arrive on the dropped allocation's 5-tuple and be answered 437 (a browser behind its NAT comes back
    from another port)."""
    for transport, receiver in pairs:
        address = turn_client(transport).transport.get_extra_info("sockname")
        turn_client(transport).transport.close()
        transport.close()  # aioice stops refreshing; its socket is closed, so it sends no Refresh
        await asyncio.wait_for(receiver.closed, TIMEOUT)
        silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        silent.bind(address[:2])
        held.append(silent)


@contextmanager
def allocates_like_chromium(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Allocate requests without LIFETIME (Chromium's); yields the lifetimes coturn grants."""
    granted: list[int] = []
    original = turn.TurnClientMixin.request

    async def without_lifetime(self: Any, request: stun.Message) -> tuple[stun.Message, tuple[str, int]]:
        allocating = request.message_method == stun.Method.ALLOCATE
        if allocating:
            request.attributes.pop("LIFETIME", None)
        response, addr = await original(self, request)
        if allocating:
            granted.append(int(response.attributes.get("LIFETIME", -1)))
        return response, addr

    with monkeypatch.context() as patch:
        patch.setattr(turn.TurnClientMixin, "request", without_lifetime)
        yield granted


@pytest.mark.reliability
async def test_a_member_rejoining_is_granted_turn_and_the_quota_still_holds(
    deploy_coturn: Coturn, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    coturn = deploy_coturn
    started = time.monotonic()
    quota = int(deploy_setting("user-quota") or 0)
    lifetime = int(deploy_setting("max-allocate-lifetime") or 0)
    broken: list[str] = []
    attempts = 0

    def check(held: bool, what: str) -> None:
        nonlocal attempts
        attempts += 1
        if not held:
            broken.append(what)

    check(quota >= JOIN, f"user-quota={quota} is less than one join's {JOIN} allocations")

    # -- 1. joins closed and rejoined, each released as a closing browser does ------------------------
    per_join: list[int] = []
    for number in range(1 + REJOINS):
        if number:
            await asyncio.sleep(REJOIN_GAP)
        granted, refused = await join(coturn, member=1)
        per_join.append(len(granted))
        check(refused == [], f"rejoin {number}: {len(granted)} of {JOIN} granted, refused {refused}")
        await asyncio.gather(*(release(*pair) for pair in granted))

    # the same, without a gap: coturn still counts the released join for 1.0 s (measured, not asserted)
    first, _ = await join(coturn, member=2)
    await asyncio.gather(*(release(*pair) for pair in first))
    at_once, _ = await join(coturn, member=2)
    await asyncio.gather(*(release(*pair) for pair in at_once))

    # -- 2. dropped joins, never released, then a join --------------------------------------------------
    dropped_joins = max(quota // JOIN - 1, 0)
    dropped: list[Pair] = []
    silenced: list[socket.socket] = []  # the dropped joins' local ports, until the end of the test
    for number in range(dropped_joins):
        granted, refused = await join(coturn, member=3)
        check(refused == [], f"after {number} dropped joins: {len(granted)} of {JOIN} granted, {refused}")
        await vanish(granted, silenced)
        dropped.extend(granted)
    with allocates_like_chromium(monkeypatch) as lifetimes:
        last, refused = await join(coturn, member=3)
    check(refused == [], f"after {dropped_joins} dropped joins: {len(last)} of {JOIN} granted, {refused}")
    await asyncio.gather(*(release(*pair) for pair in last))
    check(
        0 < lifetime <= MAX_LIFETIME and lifetimes != [] and set(lifetimes) == {lifetime},
        f"max-allocate-lifetime={lifetime}: Chromium-style allocations granted lifetimes {set(lifetimes)}",
    )

    # -- 3. the quota: user-quota live allocations, then one more -------------------------------------
    held, refused = await join(coturn, member=4, count=quota)
    try:
        check(len(held) == quota, f"{len(held)} of {quota} live allocations granted, refused {refused}")
        _, over = await join(coturn, member=4, count=1)
        check(over == [486], f"allocation {quota + 1} of a member holding {quota} answered {over}")
    finally:
        await asyncio.gather(*(release(*pair) for pair in held))
        for silent in silenced:
            silent.close()

    wall = time.monotonic() - started
    record(
        "S10",
        node_id(request),
        attacked=(
            f"deploy/turnserver.conf on Debian coturn 4.6.1 (user-quota={quota}, max-allocate-lifetime="
            f"{lifetime}): a member joined and rejoined {REJOINS} times, {JOIN} allocations a join released"
            f" with Refresh 0, {REJOIN_GAP} s apart; {dropped_joins} dropped joins never released, then a"
            f" join allocating as Chromium (no LIFETIME); {quota} live allocations then one more"
        ),
        attempts=attempts,
        failures=len(broken),
        figure=(
            f"{attempts - len(broken)} of {attempts} held: rejoins granted {per_join} of {JOIN};"
            f" back-to-back rejoin (no gap) granted {len(at_once)} of {JOIN}; after {dropped_joins} dropped"
            f" joins a join granted {len(last)} of {JOIN}, lifetime {sorted(set(lifetimes))} s (dropped"
            f" relays stop counting then); {len(held)} live granted, allocation {quota + 1} -> {over};"
            f" {wall:.1f} s"
        )
        + (f"; broken: {'; '.join(broken[:3])}" if broken else ""),
        tier="fast",
    )
    assert broken == []
