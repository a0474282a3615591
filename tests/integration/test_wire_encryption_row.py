"""quality.md S11, encryption on the wire and no third-party contact (issue 29).

1. The wire. tcpdump on `lo` (tests/integration/wire_capture.py) while two aiortc members of an online
   meeting, signalled through the real server's `signal` relay, hold a call: PCMU only, every 20 ms
   frame a known 16-byte pattern of µ-law codes, and a 64-byte marker sent over an RTCDataChannel; and,
   meanwhile, the secretary saves a minutes edit carrying a 64-byte marker text through deploy/'s nginx
   site over TLS. The capture takes UDP (the media) and nginx's TLS port (the member's side), and also
   nginx's upstream port, the plain-HTTP hop from nginx to cellmeet on the same machine, as the control
   that shows the search finds cleartext where there is some. Pass: DTLS handshake records (content
   type 22) open UDP payloads; 0 occurrences of the pattern, the data channel marker or the minutes
   text in any captured byte of the UDP and TLS packets (and of each TLS direction reassembled). The
   oracle: the encoder's own PCMU payloads (before SRTP) carry the pattern, the other member received
   the marker, and the minutes text is on the upstream hop.
2. The `a=fingerprint` lines each member sent are byte-identical to those the other received from the
   server (and to the ones its DTLS transport uses).
3. A member whose remote description's fingerprint was changed (the last byte) before
   setRemoteDescription reaches connectionState `failed` within 10 s.
4. No third-party contact: a network namespace with no default route; a dummy interface there takes
   0.0.0.0/1, 128.0.0.0/1, ::/1 and 8000::/1 so that any attempt to reach an outside address (a
   public STUN server, a DNS resolver, a font or CDN host) is a packet on it, captured, where nothing
   answers. The fast tier runs two aiortc members in the namespace with the ICE servers the server's
   join ack gives them, aioice unpatched; the slow tier a whole meeting in Chromium: `cellmeet serve`
   and Chromium both in the namespace (Chromium through a wrapper that `ip netns exec`s it; playwright's
   pipe crosses namespaces). Pass: 0 packets to an address outside the allow-list (the namespace's own
   addresses, which never reach the dummy). Controls, in a namespace of their own: a datagram to a
   TEST-NET address is seen, and aiortc with no configuration (its Google STUN default) is seen trying.

Each part records its result (tests/reliability.py) before it asserts.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import aioice.ice
import pytest
from aiortc.codecs import g711
from yarl import URL

from tests.integration.harness import ApiClient, free_port
from tests.integration.lossy_call import relay
from tests.integration.nginx_helpers import (
    SITE,
    main_config,
    make_certificate,
    replace_checked,
    running_nginx,
)
from tests.integration.room_client import RoomClient, joined, link_members, online_meeting
from tests.integration.wire_capture import (
    PCMU_PATTERN,
    PROBE_ADDRESS,
    Capture,
    Packet,
    Sealed,
    WirePeer,
    audio_payload_types,
    describe,
    dns_name,
    dtls_records,
    fingerprints,
    left,
    marker,
    occurrences,
    read_pcap,
    sealed_namespace,
    srtp_packets,
    wrong_fingerprint,
)
from tests.integration.world import PASSWORD, World
from tests.reliability import node_id, record

RELIABILITY_ROW = "S11"  # its line in docs/reliability.md, even when it fails before measuring

ROOT = Path(__file__).resolve().parent.parent.parent
FAST_CALL_SECONDS = 3.0
SLOW_CALL_SECONDS = 30.0  # quality.md's 30 s call
FAILED_LIMIT_S = 10.0
STEP = 10.0
SUBPROCESS_SECONDS = 60.0

pytestmark = [
    pytest.mark.reliability,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]


# --- nginx in front of the world's server ----------------------------------------------------------


@dataclass(frozen=True)
class Tls:
    port: int
    upstream: int
    cafile: Path


@contextlib.asynccontextmanager
async def nginx_site(folder: Path, upstream: int) -> AsyncIterator[Tls]:
    """deploy/'s site as shipped, with only its listen lines, certificate and upstream port changed."""
    folder.mkdir()
    tls_port, http_port = free_port(), free_port()
    cert_file, key_file = make_certificate(folder, ["127.0.0.1"])
    site = SITE.read_text()
    site = replace_checked(r"^(\s*)listen 443 ([^;]*);$", rf"\1listen 127.0.0.1:{tls_port} \2;", site)
    site = replace_checked(r"^(\s*)listen 80;$", rf"\1listen 127.0.0.1:{http_port};", site)
    site = replace_checked(r"^(\s*)ssl_certificate\s+\S+;$", rf"\1ssl_certificate {cert_file};", site)
    site = replace_checked(r"^(\s*)ssl_certificate_key\s+\S+;$", rf"\1ssl_certificate_key {key_file};", site)
    site = replace_checked(
        r"proxy_pass http://127\.0\.0\.1:8080;", f"proxy_pass http://127.0.0.1:{upstream};", site, None
    )
    (folder / "site.conf").write_text(site)
    async with running_nginx(folder, main_config(folder, folder / "site.conf"), tls_port):
        yield Tls(tls_port, upstream, cert_file)


async def edit_minutes_over_tls(tls: Tls, meeting_id: int, text: str) -> dict[str, Any]:
    """The secretary logs in and saves a minutes edit, every request through nginx over TLS."""
    client = ApiClient(URL(f"https://127.0.0.1:{tls.port}"))
    await client.http.close()
    context = ssl.create_default_context(cafile=str(tls.cafile))
    client.http = aiohttp.ClientSession(
        cookie_jar=aiohttp.CookieJar(unsafe=True), connector=aiohttp.TCPConnector(ssl=context)
    )
    try:
        assert (await client.login("sec_a", PASSWORD)).status == 200
        path = f"/api/v1/meetings/{meeting_id}/minutes"
        current = await client.get(path)
        assert current.status == 200, current.body
        saved = await client.put(path, {"version": current.body["version"], "fields": {"opening": text}})
        assert saved.status == 200, saved.body
        assert saved.body["fields"]["opening"] == text
        return dict(saved.body)
    finally:
        await client.close()


# --- 1 and 2: the call on the wire, and the fingerprints ---------------------------------------------


def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: ["127.0.0.1"])


async def wire_call(
    world: World,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    seconds: float,
    tier: str,
) -> None:
    _loopback_only(monkeypatch)
    encoded: list[bytes] = []  # the oracle: the PCMU payloads the encoder made, before SRTP
    original = g711.PcmEncoder.encode

    def keep(self: Any, frame: Any, force_keyframe: bool = False) -> Any:
        payloads, timestamp = original(self, frame, force_keyframe)
        encoded.extend(payloads)
        return payloads, timestamp

    monkeypatch.setattr(g711.PcmEncoder, "encode", keep)

    people = await link_members(world, "A", 2)
    mid = await online_meeting(world, "A")
    channel_marker, minutes_text = marker("datachannel"), marker("minutes").decode()
    assert world.server.url.port is not None
    clients: list[RoomClient] = []
    offerer, answerer = WirePeer.make(), WirePeer.make()
    tls_port = free_port()  # replaced by nginx's below; the filter is built once nginx listens
    capture: Capture | None = None
    try:
        async with nginx_site(tmp_path / "nginx", world.server.url.port) as tls:
            tls_port = tls.port
            bpf = f"udp or tcp port {tls.port} or tcp port {tls.upstream}"
            capture = Capture(tmp_path / "wire.pcap", "lo", bpf)
            await capture.start()

            first, _ = await joined(world, people[0][0], mid)
            clients.append(first)
            second, ack = await joined(world, people[1][0], mid)
            clients.append(second)
            first_id, second_id = ack["peers"][0]["peer_id"], ack["self"]["peer_id"]
            offer = await offerer.offer()
            got_offer = (await relay(second, first, first_id, "offer", offer))["description"]["sdp"]
            answer = await answerer.answer(got_offer)
            got_answer = (await relay(first, second, second_id, "answer", answer))["description"]["sdp"]
            await offerer.accept(got_answer)
            await asyncio.wait_for(offerer.opened.wait(), STEP)
            assert offerer.channel is not None
            offerer.channel.send(channel_marker)
            await asyncio.wait_for(answerer.received.wait(), STEP)
            minutes = await edit_minutes_over_tls(tls, mid, minutes_text)
            await asyncio.sleep(seconds)
            await capture.stop()
    finally:
        if capture is not None:
            capture.kill()
        for client in clients:
            with contextlib.suppress(Exception):
                await client.close()
        await offerer.close()
        await answerer.close()

    packets = read_pcap(capture.path)
    wire = [p for p in packets if p.proto == "udp" or tls_port in (p.sport, p.dport)]
    upstream = [p for p in packets if p.proto == "tcp" and world.server.url.port in (p.sport, p.dport)]
    records = dtls_records(wire)
    found = {
        "PCMU pattern": occurrences(PCMU_PATTERN, wire),
        "data channel marker": occurrences(channel_marker, wire),
        "minutes text": occurrences(minutes_text.encode(), wire),
    }
    oracle = {
        "encoder payloads with the pattern": sum(1 for payload in encoded if PCMU_PATTERN in payload),
        "marker received": channel_marker in answerer.messages,
        "minutes text on the plain upstream hop": occurrences(minutes_text.encode(), upstream),
        "audio frames received": min(offerer.frames_in, answerer.frames_in),
    }
    sent_received = {
        "offer": (fingerprints(offer), fingerprints(got_offer)),
        "answer": (fingerprints(answer), fingerprints(got_answer)),
    }
    own = {
        "offerer": [
            f"a=fingerprint:{f.algorithm} {f.value}" for f in _dtls(offerer).getLocalParameters().fingerprints
        ],
        "answerer": [
            f"a=fingerprint:{f.algorithm} {f.value}"
            for f in _dtls(answerer).getLocalParameters().fingerprints
        ],
    }
    broken = {
        "no DTLS handshake": records.get(22, 0) == 0,
        "cleartext on the wire": any(found.values()),
        "oracle": not (
            oracle["encoder payloads with the pattern"] > 0
            and oracle["marker received"]
            and oracle["minutes text on the plain upstream hop"] > 0
            and oracle["audio frames received"] > 0
        ),
        "not PCMU only": audio_payload_types(offer) != ["0"] or audio_payload_types(answer) != ["0"],
        "minutes not saved": minutes["fields"]["opening"] != minutes_text,
        "capture dropped packets": capture.dropped() > 0,
    }
    record(
        "S11",
        node_id(request),
        attacked=(
            f"tcpdump on lo during a {seconds:g} s call of two aiortc members signalled through the server "
            "(PCMU with a known 16-byte code pattern, a 64-byte data channel marker) and a minutes edit with "
            "a 64-byte marker through deploy/'s nginx over TLS; searched every captured UDP and TLS byte"
        ),
        attempts=3,
        failures=sum(1 for count in found.values() if count) + int(broken["no DTLS handshake"]),
        figure=(
            f"{len(wire)} packets on the wire ({srtp_packets(wire)} SRTP/SRTCP, DTLS records {records}); "
            f"cleartext found: {found}; oracle: {oracle}; problems: "
            f"{[name for name, bad in broken.items() if bad] or 'none'}; {capture.summary}"
        ),
        tier=tier,
    )
    fingerprint_broken = [
        kind for kind, (sent, received) in sent_received.items() if not sent or sent != received
    ] + [  # every m-section repeats the transport's fingerprints (bundled: one DTLS transport)
        who
        for who, lines in own.items()
        if sorted(lines) != sorted(set(fingerprints(offer if who == "offerer" else answer)))
    ]
    record(
        "S11",
        node_id(request) + "[fingerprints]",
        attacked="compared the a=fingerprint lines each member sent with those the other received from "
        "the server",
        attempts=2,
        failures=len(fingerprint_broken),
        figure=f"offer {sorted(set(sent_received['offer'][0]))}, "
        f"answer {sorted(set(sent_received['answer'][0]))}; differing: {fingerprint_broken or 'none'}",
        tier=tier,
    )
    assert not any(broken.values()), (broken, found, oracle, records, capture.summary)
    assert fingerprint_broken == [], (fingerprint_broken, sent_received, own)


def _dtls(peer: WirePeer) -> Any:
    return peer.pc.getTransceivers()[0].sender.transport


async def test_the_call_and_the_minutes_are_encrypted_on_the_wire(
    world: World, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    await wire_call(world, request, monkeypatch, tmp_path, FAST_CALL_SECONDS, "fast")


@pytest.mark.slow
async def test_a_30_second_call_is_encrypted_on_the_wire(
    world: World, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    await wire_call(world, request, monkeypatch, tmp_path, SLOW_CALL_SECONDS, "slow")


# --- 3: a wrong fingerprint ------------------------------------------------------------------------


async def test_a_wrong_fingerprint_fails_within_10_seconds(
    world: World, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    _loopback_only(monkeypatch)
    people = await link_members(world, "A", 2)
    mid = await online_meeting(world, "A")
    clients: list[RoomClient] = []
    offerer, answerer = WirePeer.make(), WirePeer.make()
    failed_s: float | None = None
    try:
        first, _ = await joined(world, people[0][0], mid)
        clients.append(first)
        second, ack = await joined(world, people[1][0], mid)
        clients.append(second)
        first_id, second_id = ack["peers"][0]["peer_id"], ack["self"]["peer_id"]
        offer = await offerer.offer()
        got_offer = (await relay(second, first, first_id, "offer", offer))["description"]["sdp"]
        answer = await answerer.answer(got_offer)
        got_answer = (await relay(first, second, second_id, "answer", answer))["description"]["sdp"]
        started = time.monotonic()
        await offerer.accept(wrong_fingerprint(got_answer))
        while time.monotonic() - started < FAILED_LIMIT_S + 5 and offerer.reached("failed") is None:
            await asyncio.sleep(0.02)
        at = offerer.reached("failed")
        failed_s = None if at is None else at - started
    finally:
        for client in clients:
            with contextlib.suppress(Exception):
                await client.close()
        await offerer.close()
        await answerer.close()
    ok = failed_s is not None and failed_s <= FAILED_LIMIT_S
    record(
        "S11",
        node_id(request),
        attacked="changed the last byte of the answer's a=fingerprint (relayed by the server) before the "
        "offerer's setRemoteDescription",
        attempts=1,
        failures=0 if ok else 1,
        figure=f"connectionState failed after {None if failed_s is None else round(failed_s, 2)} s "
        f"(limit {FAILED_LIMIT_S:g} s); states {[state for _, state in offerer.states]}; "
        f"connected ever: {offerer.reached('connected') is not None}",
        tier="fast",
    )
    assert ok, offerer.states
    assert offerer.reached("connected") is None, offerer.states


# --- 4: no third-party contact ----------------------------------------------------------------------


async def _inside(sealed: Sealed, *arguments: str, timeout: float = SUBPROCESS_SECONDS) -> dict[str, Any]:
    process = await asyncio.create_subprocess_exec(
        *sealed.inside(), sys.executable, "-m", "tests.integration.wire_capture", *arguments,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=ROOT,
    )  # fmt: skip
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise AssertionError(f"{arguments[0]} in the namespace did not finish within {timeout} s") from None
    assert process.returncode == 0, err.decode(errors="replace")[-3000:]
    return dict(json.loads(out.decode().strip().splitlines()[-1]))


async def controls(tmp_path: Path) -> dict[str, int]:
    """What the counter sees of attempts that do leave: one datagram to a TEST-NET address, and aiortc
    with no configuration at all (its Google STUN default) gathering for 3 s."""
    seen: dict[str, int] = {}
    for name, arguments in (("probe", ["probe", PROBE_ADDRESS]), ("aiortc default", ["default", "3"])):
        with sealed_namespace() as sealed:
            capture = Capture(
                tmp_path / f"control-{name.replace(' ', '-')}.pcap", sealed.outside, "", sealed.netns
            )
            try:
                await capture.start()
                await _inside(sealed, *arguments)
                await capture.stop()
            finally:
                capture.kill()
            seen[name] = len(left(read_pcap(capture.path)))
    return seen


async def test_aiortc_members_with_the_servers_ice_config_contact_no_third_party(
    world: World, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    people = await link_members(world, "A", 1)
    mid = await online_meeting(world, "A")
    client, ack = await joined(world, people[0][0], mid)
    await client.close()
    ice_servers = ack["media"]["ice_servers"]
    result: dict[str, Any] = {}
    with sealed_namespace() as sealed:
        capture = Capture(tmp_path / "outside.pcap", sealed.outside, "", sealed.netns)
        try:
            await capture.start()
            result = await _inside(sealed, "members", json.dumps(ice_servers), "2")
            await capture.stop()
        finally:
            capture.kill()
    outside = left(read_pcap(capture.path))
    seen = await controls(tmp_path)
    working = result.get("connected") == [True, True] and min(result.get("frames", [0])) > 0
    record(
        "S11",
        node_id(request),
        attacked="two aiortc members with the ICE servers of the server's join ack, aioice unpatched, held a "
        "call with audio and a data channel in a network namespace with no default route (every outside "
        "address routed to a dummy interface nothing answers on)",
        attempts=1,
        failures=1 if outside else 0,
        figure=f"{len(outside)} packets to outside addresses {describe(outside)}; ICE servers {ice_servers}; "
        f"call {result}; controls seen on the same counter: {seen}",
        tier="fast",
    )
    assert outside == [], describe(outside)
    assert working, result
    assert seen["probe"] >= 1 and seen["aiortc default"] >= 1, seen


# --- 4, slow: a whole meeting in Chromium, inside the namespace ------------------------------------

ENTER_TIMEOUT_MS = 30_000
# Debian's Chromium itself, without its launcher script (/usr/bin/chromium), which only adds flags and
# Google's API keys (/etc/chromium.d/apikeys): with those keys the browser signs in to and fetches from
# Google's services on its own, whatever page it shows.
CHROMIUM_BINARY = "/usr/lib/chromium/chromium"
# The browser's own Google services (autofill, component and extension updates, sign-in, optimization
# hints), which the room's pages and the server never name: switched off, so that what is left on the
# counter is the meeting's. One --disable-features (the last one given wins), the room's own included.
QUIET_BROWSER = [
    "--disable-features=WebRtcHideLocalIpsWithMdns,AutofillServerCommunication,OptimizationHints,"
    "OptimizationGuideModelDownloading,OptimizationHintsFetching,MediaRouter,Translate,"
    "CertificateTransparencyComponentUpdater,InterestFeedContentSuggestions",
    "--disable-extensions",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--no-pings",
    "--no-service-autorun",
]
# What Debian's Chromium still looks up on its own with every switch above (seen here: at its start,
# whatever the page): sign-in, component and extension updates. Never named by the room's pages or the
# server; counted apart in the figure. Anything else (a STUN server, a font or script host) fails the row.
BROWSER_OWN = {
    "accounts.google.com",
    "update.googleapis.com",
    "clients2.google.com",
    "optimizationguide-pa.googleapis.com",
    "content-autofill.googleapis.com",
}


@pytest.mark.slow
async def test_a_meeting_in_chromium_contacts_no_third_party(
    world: World, request: pytest.FixtureRequest, database_url: str, tmp_path: Path
) -> None:
    from datetime import UTC, datetime

    from playwright.async_api import async_playwright, expect

    from server.appkeys import SETTINGS
    from tests.e2e.browser import CHROMIUM_ARGS, HEARD, log_in
    from tests.integration.serve_process import online_meeting_now, serve_env

    # `cellmeet serve` reads the real time: the meeting starts now, and every session is made at it.
    world.server.clock.now = datetime.now(UTC).replace(microsecond=0)
    world.clients.clear()  # the template's sessions were made at the world's own time (closed at its end)
    mid, people = await online_meeting_now(world, 2)
    settings = world.server.app[SETTINGS]
    await world.server.stop()
    port = free_port()
    env = serve_env(tmp_path, database_url, settings.secret_key.value, many_connects=True)
    outside: list[Packet] = []
    heard: dict[str, dict[str, int]] = {}
    requests: list[str] = []
    with sealed_namespace() as sealed:
        wrapper = tmp_path / "chromium-in-namespace"
        wrapper.write_text(f'#!/bin/sh\nexec ip netns exec {sealed.netns} {CHROMIUM_BINARY} "$@"\n')
        wrapper.chmod(0o755)
        capture = Capture(tmp_path / "outside.pcap", sealed.outside, "", sealed.netns)
        served: asyncio.subprocess.Process | None = None
        log = (tmp_path / "serve.log").open("wb")
        try:
            await capture.start()
            cellmeet = Path(sys.executable).parent / "cellmeet"
            served = await asyncio.create_subprocess_exec(
                *sealed.inside(), str(cellmeet), "serve", "--host", "127.0.0.1", "--port", str(port),
                env=env, stdout=log, stderr=asyncio.subprocess.STDOUT,
            )  # fmt: skip
            base = f"http://127.0.0.1:{port}"
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(
                    executable_path=str(wrapper),
                    headless=True,
                    args=[a for a in CHROMIUM_ARGS if not a.startswith("--disable-features=")]
                    + QUIET_BROWSER,
                    timeout=60_000,
                )
                try:
                    pages = []
                    for username, _ in people:
                        context = await browser.new_context(locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh")
                        context.on("request", lambda r: requests.append(r.url))
                        page = await context.new_page()
                        for _ in range(100):  # the served process is up (its health check, from inside)
                            with contextlib.suppress(Exception):
                                if (await page.goto(base + "/healthz", timeout=2000)).ok:  # type: ignore[union-attr]
                                    break
                            await asyncio.sleep(0.2)
                        await log_in(page, base, username, f"/meetings/{mid}/room")
                        await page.get_by_role("button", name="Vào phòng họp").click()
                        await expect(page.locator("#room")).to_have_attribute(
                            "data-state", "joined", timeout=ENTER_TIMEOUT_MS
                        )
                        pages.append(page)
                    await asyncio.sleep(10)
                    for (username, _), page in zip(people, pages, strict=True):
                        heard[username] = await page.evaluate(HEARD)
                finally:
                    await browser.close()
            await capture.stop()
        finally:
            capture.kill()
            if served is not None and served.returncode is None:
                served.kill()
                await served.wait()
            log.close()
        attempts = left(read_pcap(capture.path))
    browser_own = [p for p in attempts if dns_name(p) in BROWSER_OWN]
    outside = [p for p in attempts if dns_name(p) not in BROWSER_OWN]
    strangers = [url for url in requests if not url.startswith(f"http://127.0.0.1:{port}/")]
    others_heard = all(
        any(count > 0 for member, count in counts.items() if member != str(member_id))
        for (_, member_id), counts in zip(people, heard.values(), strict=False)
    ) and len(heard) == len(people)
    record(
        "S11",
        node_id(request),
        attacked="a meeting in Chromium (two members logged in, entered the room and heard each other for "
        "10 s) with `cellmeet serve` and Chromium in a network namespace with no default route (every "
        "outside address routed to a dummy interface nothing answers on)",
        attempts=1,
        failures=1 if outside or strangers else 0,
        figure=f"{len(outside)} packets to outside addresses {describe(outside)}; page requests elsewhere "
        f"than the server: {strangers}; Chromium's own lookups, counted apart: {len(browser_own)} "
        f"({sorted({dns_name(p) or '-' for p in browser_own})}); packets heard {heard}",
        tier="slow",
    )
    assert outside == [], describe(outside)
    assert strangers == [], strangers
    assert others_heard, heard
