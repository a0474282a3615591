"""The room page through a real coturn on loopback, with TURN credentials that live a few seconds (issue 21
point 1): a member who joins after the first member's credential expired is connected to it over the relay,
and every peer connection a page makes carries a credential that had not expired when it was made.

The pages are told to use relay candidates only (`iceTransportPolicy: "relay"`, added by the script that
also records every RTCPeerConnection's configuration and time), so a connection exists only if coturn
allocated for it, and coturn refuses an allocation with an expired credential (401).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page

from server.settings import Secret
from tests.e2e.browser import HEARS_SOMEONE, Watched, enter, link_accounts
from tests.integration import harness
from tests.integration.coturn import LOOPBACK, SECRET, Coturn, start_coturn
from tests.integration.harness import FakeClock, RunningServer
from tests.integration.helpers import approve_a, schedule
from tests.integration.world import World

__all__ = ["start_coturn"]  # the fixture that starts coturn (tests/integration/coturn.py)

Watch = Callable[..., Awaitable[Watched]]
TTL_SECONDS = 6  # CELLMEET_TURN_TTL_SECONDS: the page asks again once half of it has passed

# Before any page script: every RTCPeerConnection and setConfiguration is recorded with the time, and
# made relay-only.
RECORD_PEER_CONNECTIONS = """
(() => {
  const Native = window.RTCPeerConnection;
  const copy = (config) => JSON.parse(JSON.stringify(config || {}));
  window.__pcs = [];
  window.__pcConfigs = [];
  class Recorded extends Native {
    constructor(config, ...rest) {
      super({ ...(config || {}), iceTransportPolicy: "relay" }, ...rest);
      window.__pcs.push(this);
      window.__pcConfigs.push({ what: "new", at: Date.now(), config: copy(config) });
    }
    setConfiguration(config) {
      window.__pcConfigs.push({ what: "set", at: Date.now(), config: copy(config) });
      return super.setConfiguration({ ...(config || {}), iceTransportPolicy: "relay" });
    }
  }
  window.RTCPeerConnection = Recorded;
})();
"""
# Every connection the page made is connected, over a relay candidate of its own.
CONNECTED_THROUGH_RELAY = """
async () => {
  if (window.__pcs.length === 0) return false;
  for (const pc of window.__pcs) {
    if (pc.connectionState !== "connected") return false;
    const stats = await pc.getStats();
    let pairId = null;
    stats.forEach((entry) => { if (entry.type === "transport") pairId = entry.selectedCandidatePairId; });
    const pair = pairId && stats.get(pairId);
    const local = pair && stats.get(pair.localCandidateId);
    if (!local || local.candidateType !== "relay") return false;
  }
  return true;
}
"""


class RealTimeClock(FakeClock):
    """The fake clock while the world is built, then the real time: coturn checks expiries against it."""

    def __init__(self) -> None:
        super().__init__()
        self.real = False

    def __call__(self) -> datetime:
        return datetime.now(UTC) if self.real else self.now


@pytest.fixture
async def coturn(start_coturn: Callable[..., Awaitable[Coturn]]) -> Coturn:
    return await start_coturn(
        "room",
        "-n",
        "--use-auth-secret",
        f"--static-auth-secret={SECRET}",
        "--realm=cellmeet.test",
        "--allow-loopback-peers",  # both members' relays are on loopback
    )


@pytest.fixture
async def server(tmp_path: Path, coturn: Coturn) -> AsyncIterator[RunningServer]:
    """The e2e server (SQLite) with coturn as its only ICE server and short-lived credentials."""
    settings = harness.test_settings(
        tmp_path,
        f"sqlite+aiosqlite:///{tmp_path / 'cellmeet.db'}",
        turn_secret=Secret(SECRET),
        turn_ttl_seconds=TTL_SECONDS,
        ice_servers=[{"urls": [f"turn:{LOOPBACK}:{coturn.port}?transport=udp"]}],
    )
    running = await RunningServer.start(settings, RealTimeClock())
    yield running
    await running.stop()


async def recorded(page: Page) -> list[dict[str, Any]]:
    return list(await page.evaluate("window.__pcConfigs"))


async def connected_through_relay(page: Page, timeout: float = 15.0) -> None:
    """Polled from here: wait_for_function does not wait for an async predicate's promise."""
    deadline = time.monotonic() + timeout
    while not await page.evaluate(CONNECTED_THROUGH_RELAY):
        if time.monotonic() > deadline:
            states = await page.evaluate("window.__pcs.map((pc) => pc.connectionState)")
            raise AssertionError(f"not connected through the relay within {timeout} s: {states}")
        await asyncio.sleep(0.25)


def turn_expiries(config: dict[str, Any]) -> list[int]:
    """Each TURN entry's credential expiry (unix time): the username is "<expiry>:m<member>-g<meeting>"."""
    return [
        int(server["username"].split(":", 1)[0])
        for server in config.get("iceServers", [])
        if any(str(url).startswith(("turn:", "turns:")) for url in server.get("urls", []))
    ]


@pytest.mark.browser
async def test_a_late_joiner_connects_through_turn_after_the_first_credential_expired(
    world: World, watch: Watch, coturn: Coturn
) -> None:
    base = str(world.server.url)
    await link_accounts(world, ["mot", "hai"])
    await approve_a(world)
    created = await schedule(world, "sec_a", "A", mode="online")
    assert created.status == 201, created.body
    meeting_id = created.body["id"]
    clock = world.server.clock
    assert isinstance(clock, RealTimeClock)
    clock.real = True

    async def recording(**options: Any) -> Watched:
        watched = await watch(**options)
        await watched.context.add_init_script(RECORD_PEER_CONNECTIONS)
        return watched

    one_watch, one = await enter(recording, base, "mot", meeting_id)
    # Alone in the room: no connection yet. Wait until the credential of its join ack has expired.
    first_expired = time.time() + TTL_SECONDS + 1
    assert await recorded(one) == []
    await asyncio.sleep(first_expired - time.time())

    two_watch, two = await enter(recording, base, "hai", meeting_id)
    pages = (one, two)
    # Every configuration either page gave a connection carried a TURN credential still valid then; the
    # first member's came from the REST route, not from its expired join ack.
    for page in pages:
        await page.wait_for_function("() => window.__pcConfigs.length > 0", polling=100, timeout=10_000)
        for entry in await recorded(page):
            expiries = turn_expiries(entry["config"])
            assert expiries, entry
            assert all(expiry > entry["at"] / 1000 for expiry in expiries), entry
    for page in pages:
        await connected_through_relay(page)
        await page.wait_for_function(HEARS_SOMEONE, polling=250, timeout=10_000)
        made = await recorded(page)
        assert [entry["what"] for entry in made] == ["new"], made  # one connection each, no restart
    assert any(url.endswith(f"/api/v1/meetings/{meeting_id}/ice-servers") for url in one_watch.requests)
    # coturn allocated for both members (the user part names member and meeting).
    for member_id in world.members["A"][:2]:
        assert f":m{member_id}-g{meeting_id}>" in coturn.output()

    for watched in (one_watch, two_watch):
        await watched.assert_clean()


# Two meshes of room-media.js in one page, signalling to each other, each with a stand-in for
# room-ice.js that hands out a new TURN entry at every call. The offerer restarts ICE (what it does when
# its connection failed): both sides take fresh servers first, and connect again over host candidates.
RESTART = """
async () => {
  const { Mesh } = await import("/static/js/room-media.js");
  const { IceServers } = await import("/static/js/room-ice.js");
  let minted = 0;
  const ice = {
    async fresh() {
      minted += 1;
      return [{ urls: ["turn:127.0.0.1:9?transport=udp"], username: `${minted}:x`, credential: "c" }];
    },
  };
  const local = { audioTrack: null, videoTrack: null, sinkId: null };
  const meshes = {};
  const make = (self, other) =>
    new Mesh({
      ice,
      local,
      sink: document.createElement("div"),
      send: (to, payload) => meshes[other].handleSignal({ from: self, ...payload }),
      onChange: () => {},
    });
  meshes.a = make("a", "b");
  meshes.b = make("b", "a");
  const offerer = meshes.a.add({ peer_id: "b", member_id: 2, full_name: "B" }, { offer: true });
  const connected = async (peer) => {
    for (let i = 0; i < 100 && (!peer.pc || peer.pc.connectionState !== "connected"); i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return peer.pc.connectionState;
  };
  const answerer = () => meshes.b.peers.get("a");
  const user = (peer) => peer.pc.getConfiguration().iceServers.map((server) => server.username);
  const states = [await connected(offerer), await connected(answerer())];
  const before = [user(offerer), user(answerer())];
  const ufrag = offerer.pc.localDescription.sdp.match(/a=ice-ufrag:(.*)/)[1];
  await meshes.a.restart(offerer);
  await answerer().queue;
  const after = [user(offerer), user(answerer())];
  const restarted = offerer.pc.localDescription.sdp.match(/a=ice-ufrag:(.*)/)[1] !== ufrag;
  const again = [await connected(offerer), await connected(answerer())];
  meshes.a.close();
  meshes.b.close();

  // room-ice.js: a failed refresh keeps the last list (and says so on the console).
  const last = [{ urls: ["turn:127.0.0.1:9"], username: "1:x", credential: "c" }];
  const stale = new IceServers(0, last);
  stale.receivedAt -= 60000;
  const kept = (await stale.fresh()) === last;
  return { states, before, after, restarted, again, minted, kept };
}
"""


@pytest.mark.browser
async def test_an_ice_restart_takes_fresh_servers_on_both_sides(server: RunningServer, watch: Watch) -> None:
    watched = await watch()
    page = await watched.new_page()
    warnings: list[str] = []
    page.on("console", lambda message: warnings.append(message.text) if message.type == "warning" else None)
    await page.goto(str(server.url) + "/login")
    result = await page.evaluate(RESTART)
    assert result["states"] == ["connected", "connected"], result
    assert result["before"] == [["1:x"], ["2:x"]], result  # each connection made with its own call
    assert result["after"] == [["3:x"], ["4:x"]], result  # the restart's offer, then the answer to it
    assert result["restarted"] is True, result
    assert result["again"] == ["connected", "connected"], result
    assert result["minted"] == 4, result
    assert result["kept"] is True, result
    assert any("could not refresh the ICE servers" in text for text in warnings), warnings
    await watched.assert_clean(expected_failures=1)  # the refused refresh (meeting 0 does not exist)
