"""quality.md R4 as a member sees it (issue 28): in a real headless Chromium, the room page marks a member
whose media path is lossy and jittery "poor", and a member on a clean path beside it "good".

The set-up: Một's page joins a mesh meeting first; then two aiortc audio members of the test process
(tests/integration/lossy_peer.py `AudioPeer`) join through real socket.io connections and offer to the
page through the server's `signal` relay, as a newcomer's page would (docs/api.md). Hai's path is clean;
Ba's every datagram, either way (STUN, DTLS, SRTP, SRTCP alike), is dropped with probability 20 % or
handed on after 80 ms ± 20 ms (`Impairment.attach`: this kernel has no sch_netem, and only Ba's
sockets are impaired, so all three stay on loopback in one process, no namespace needed). Only
127.0.0.1: aioice gathers that one address, the page's loopback candidates are the only ones passed on,
and the room has no ICE servers (never a public STUN).

The page's mark (web/static/js/room-quality.js, drawn by room-panels.js as `.quality-mark` with
`data-quality` beside each member of `#participants`) judges each second's loss from the page's own
getStats: above 8 % is poor. With 20 % loss each second's 50 packets lose 10 on average; a second at
8 % or less happens about once in 50.

Pass: both aiortc members connected within CONNECT_LIMIT_S of the first offer; Ba's mark "poor" within
POOR_WITHIN_S of both connecting; Hai's mark never "poor" and "good" in at least CLEAN_GOOD_SHARE of
the samples of OBSERVE_S from the first one drawn (a second's stall of the test process, which runs the
aiortc members, can read as a "fair" round trip on a busy machine; a clean member marked poor, or
mostly not good, is the fault a member would see); the loss Chromium itself counted (inbound-rtp) from Ba
above the poor threshold, from Hai at most 2 %. The row's figure has the marks' tally and those losses.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aioice.ice
import pytest
from aiortc.sdp import candidate_from_sdp

from tests.e2e.browser import Watched, join, online_meeting_of_three
from tests.integration.lossy_peer import AudioPeer, Impairment
from tests.integration.room_client import NAMESPACE, RoomClient, joined
from tests.integration.world import World
from tests.reliability import node_id, record

RELIABILITY_ROW = "R4"  # its line in docs/reliability.md, even when it fails before measuring

Watch = Callable[..., Awaitable[Watched]]

LOOPBACK = "127.0.0.1"
LOSS_PERCENT = 20.0
DELAY_MS, JITTER_MS = 80.0, 20.0
POOR_LOSS = 0.08  # room-quality.js FAIR.loss: above it, poor
CLEAN_GOOD_SHARE = 0.8
GOOD_LOSS = 0.02
# The lossy member is aiortc, whose DTLS (OpenSSL) resends a lost handshake flight after 1, 2, 4 and 8 s;
# at 20 % loss both ways a flight is lost two or three times in a row now and then: connections took 0.6 to
# 7.6 s in seven runs here, and one quiet `make test-reliability` run missed 10 s. Chromium's own DTLS
# resends sooner; the mark, not the stand-in's handshake, is what this row measures.
CONNECT_LIMIT_S = 16.0
POOR_WITHIN_S = 5.0  # the page reads its statistics once a second
OBSERVE_S = 6.0
SAMPLE_EVERY_S = 0.25
STEP_TIMEOUT = 10.0
CONNECT_TIMEOUT = 20.0

# Each member's mark in the participants list (null: none drawn), and the page's own link.
MARKS = """
(ids) => ({
  marks: Object.fromEntries(ids.map((id) => {
    const mark = document.querySelector(`#participants li[data-member-id="${id}"] .quality-mark`);
    return [id, mark ? mark.dataset.quality : null];
  })),
  mine: document.querySelector("#my-link").dataset.quality || null,
})
"""

# What Chromium counted on each open connection: audio packets received and lost, the selected pair's
# round trip and the remote port (which aiortc member it is).
CHROMIUM_COUNTS = """
async () => {
  const rows = [];
  for (const pc of window.__connections) {
    if (pc.connectionState === "closed") continue;
    const report = await pc.getStats();
    const row = { lost: 0, received: 0, port: null, rtt: null };
    let pairId = null;
    report.forEach((s) => {
      if (s.type === "inbound-rtp" && s.kind === "audio") {
        row.lost = s.packetsLost || 0;
        row.received = s.packetsReceived || 0;
      }
      if (s.type === "transport" && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
    });
    const pair = pairId ? report.get(pairId) : null;
    if (pair) {
      row.rtt = pair.currentRoundTripTime ?? null;
      const remote = report.get(pair.remoteCandidateId);
      row.port = remote ? remote.port : null;
    }
    rows.push(row);
  }
  return rows;
}
"""


@dataclass
class Member:
    """An aiortc audio member of the meeting: its socket.io connection and its one peer connection,
    towards the page, with the page's answer and loopback candidates applied in order."""

    name: str
    client: RoomClient
    to: str  # the page's peer id
    peer: AudioPeer = field(default_factory=AudioPeer)
    signals: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    task: asyncio.Task[None] | None = None
    offered_at: float = 0.0
    port: int | None = None

    def start(self) -> None:
        async def on_signal(data: dict[str, Any]) -> None:
            if data.get("from") == self.to:
                await self.signals.put(data)

        self.client.sio.on("signal", on_signal, namespace=NAMESPACE)
        self.task = asyncio.get_running_loop().create_task(self._apply())

    async def _apply(self) -> None:
        pending: list[dict[str, Any] | None] = []
        while True:
            signal = await self.signals.get()
            description = signal.get("description")
            if description and description.get("type") == "answer":
                await self.peer.accept(description["sdp"])
                for candidate in pending:
                    await self._add(candidate)
            elif "candidate" in signal:
                if self.peer.pc.remoteDescription is None:
                    pending.append(signal["candidate"])
                else:
                    await self._add(signal["candidate"])

    async def _add(self, candidate: dict[str, Any] | None) -> None:
        if candidate is None or not candidate.get("candidate"):
            await self.peer.pc.addIceCandidate(None)  # end of candidates
            return
        parsed = candidate_from_sdp(candidate["candidate"].removeprefix("candidate:"))
        if parsed.ip != LOOPBACK or parsed.protocol != "udp":
            return  # only the page's loopback candidates: nothing leaves this machine's lo
        parsed.sdpMid = candidate.get("sdpMid")
        parsed.sdpMLineIndex = candidate.get("sdpMLineIndex")
        await self.peer.pc.addIceCandidate(parsed)

    async def offer(self, impairment: Impairment | None) -> None:
        sdp = await self.peer.offer()
        if impairment is not None:
            impairment.attach(self.peer.pc)  # gathered, nothing sent yet
        found = re.search(rf"a=candidate:\S+ 1 udp \d+ {re.escape(LOOPBACK)} (\d+) typ host", sdp)
        assert found, sdp
        self.port = int(found.group(1))
        self.offered_at = time.monotonic()
        ack = await self.client.call("signal", {"to": self.to, "description": {"type": "offer", "sdp": sdp}})
        assert ack == {"ok": True}, ack

    def connected(self) -> bool:
        return self.peer.pc.connectionState == "connected"

    async def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
        await self.peer.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.client.close(), 5.0)


def loss(row: dict[str, Any] | None) -> float | None:
    if not row or row["lost"] + row["received"] == 0:
        return None  # not seen, or nothing counted yet
    lost, received = int(row["lost"]), int(row["received"])
    return lost / (lost + received)


def pct(value: float | None) -> str:
    return "none" if value is None else f"{100 * value:.1f} %"


@pytest.mark.browser
@pytest.mark.reliability
@pytest.mark.timeout(90)
async def test_the_page_marks_a_member_on_a_lossy_path_poor_and_a_clean_one_good(
    world: World, watch: Watch, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: [LOOPBACK])
    meeting_id = await online_meeting_of_three(world)
    page_member, clean_id, lossy_id = (str(m) for m in world.members["A"][:3])
    page = await join(watch, world, "mot", meeting_id)

    impairment = Impairment(LOSS_PERCENT, DELAY_MS, JITTER_MS)
    members: list[Member] = []
    samples: list[tuple[float, dict[str, Any]]] = []  # (seconds since both connected, marks)
    connect_s: float | None = None
    counts: list[dict[str, Any]] = []
    try:
        for name, impaired in (("hai", None), ("ba", impairment)):
            client, ack = await joined(world, name, meeting_id)
            to = next(p["peer_id"] for p in ack["peers"] if str(p["member_id"]) == page_member)
            member = Member(name, client, to)
            members.append(member)
            member.start()
            await member.offer(impaired)
        clean, lossy = members

        deadline = time.monotonic() + STEP_TIMEOUT
        while time.monotonic() < deadline and not all(m.connected() for m in members):
            await asyncio.sleep(0.05)
        if all(m.connected() for m in members):
            connect_s = time.monotonic() - clean.offered_at
            since = time.monotonic()
            while (elapsed := time.monotonic() - since) < OBSERVE_S:
                seen = await asyncio.wait_for(page.evaluate(MARKS, [clean_id, lossy_id]), STEP_TIMEOUT)
                samples.append((elapsed, seen))
                await asyncio.sleep(SAMPLE_EVERY_S)
        counts = await asyncio.wait_for(page.evaluate(CHROMIUM_COUNTS), STEP_TIMEOUT)
        states = {m.name: m.peer.pc.connectionState for m in members}
        sent = {m.name: (await m.peer.stats()).get("sent") for m in members}
    finally:
        for member in members:
            await member.close()

    by_port = {row["port"]: row for row in counts}
    clean_row, lossy_row = by_port.get(clean.port), by_port.get(lossy.port)
    # The clean member's marks from the first one drawn (the page reads its statistics once a second).
    clean_all = [seen["marks"][clean_id] for _, seen in samples]
    clean_marks = clean_all[next((i for i, mark in enumerate(clean_all) if mark), len(clean_all)) :]
    lossy_marks = [seen["marks"][lossy_id] for _, seen in samples]
    first_poor = next((at for at, seen in samples if seen["marks"][lossy_id] == "poor"), None)
    mine = sorted({seen["mine"] for _, seen in samples if seen["mine"]})
    clean_loss, lossy_loss = loss(clean_row), loss(lossy_row)
    broken = {
        "connect": connect_s is None or connect_s > CONNECT_LIMIT_S,
        "lossy not poor in time": first_poor is None or first_poor > POOR_WITHIN_S,
        "clean poor or mostly not good": not clean_marks
        or "poor" in clean_marks
        or clean_marks.count("good") < CLEAN_GOOD_SHARE * len(clean_marks),
        "chromium counted no heavy loss": lossy_loss is None or lossy_loss <= POOR_LOSS,
        "chromium counted loss on the clean path": clean_loss is None or clean_loss > GOOD_LOSS,
    }
    tally = {level: lossy_marks.count(level) for level in ("poor", "fair", "good", None)}
    clean_said = (
        f"good in all {len(clean_marks)}"
        if clean_marks and set(clean_marks) == {"good"}
        else f"{sorted(map(str, set(clean_marks)))} in {len(clean_marks)}"
    )
    figure = (
        f"connected in {connect_s if connect_s is None else round(connect_s, 2)} s; "
        f"the lossy member marked poor after {first_poor if first_poor is None else round(first_poor, 2)} s "
        f"(of {len(lossy_marks)} samples over {OBSERVE_S:g} s: {tally['poor']} poor, {tally['fair']} fair, "
        f"{tally['good']} good, {tally[None]} none), the clean one "
        f"{clean_said}; Chromium counted loss {pct(lossy_loss)} from the lossy member "
        f"({lossy_row and lossy_row['lost'] + lossy_row['received']} packets, round trip "
        f"{lossy_row and lossy_row['rtt']} s), {pct(clean_loss)} from the clean one "
        f"({clean_row and clean_row['lost'] + clean_row['received']} packets, round trip "
        f"{clean_row and clean_row['rtt']} s); configured {LOSS_PERCENT:g} %; the page's own link "
        f"{mine or 'unmarked'}; failed: {[name for name, bad in broken.items() if bad] or 'none'}"
    )
    record(
        "R4",
        node_id(request),
        attacked=(
            f"an aiortc member's media through loss {LOSS_PERCENT:g}% delay {DELAY_MS:g}ms {JITTER_MS:g}ms "
            "both ways (its own datagram impairment, no sch_netem) on loopback, in a mesh meeting with a "
            "member in headless Chromium and a clean aiortc member; the page's quality marks read"
        ),
        attempts=len(broken),
        failures=sum(broken.values()),
        figure=figure,
        tier="fast",
    )
    print(figure)
    assert connect_s is not None and connect_s <= CONNECT_LIMIT_S, (connect_s, states)
    assert first_poor is not None and first_poor <= POOR_WITHIN_S, samples
    assert not broken["clean poor or mostly not good"], samples
    assert lossy_loss is not None and lossy_loss > POOR_LOSS, (counts, lossy.port)
    assert clean_loss is not None and clean_loss <= GOOD_LOSS, (counts, clean.port, sent)
