"""quality.md S13, logging hygiene (issue 29): a whole meeting's journey against `cellmeet serve` in its
own process, then everything that process wrote (its stdout and stderr, where its log goes, and every
file it wrote in its data directory apart from the database) read back and searched.

The journey: members log in with their passwords, a wrong password and an unknown user are tried; join
tickets are issued and used to connect to `/room`, whose join acks carry TURN credentials (a TURN secret
and a loopback TURN URL are configured; no coturn is needed, only the minted credentials); two members
exchange a real SDP offer and answer (aiortc, no ICE servers) through `signal`; the minute-taker writes a
canary sentence into the confidential minutes; a member is refused a REST write and a room event; user
input with CR/LF and ANSI escapes goes into a login name, the minutes, a request path, the User-Agent and
Referer headers and a room event's name; an internal error is forced (the script-token table dropped
under the running server). The process runs in a time zone far from UTC (TZ=Asia/Ho_Chi_Minh).

Pass: no password, cookie value, CSRF token, join ticket, TURN password, `ice-pwd` or canary sentence in
any of it; every authorisation failure logged with a request or sid id, the actor, the resource and the
decision; CR/LF/ANSI from user input never raw (no ESC or CR byte, no forged line); the internal error's
incident id, which its answer carries, in the log; timestamps in UTC.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from yarl import URL

from server.appkeys import SETTINGS
from server.cli import ACCESS_LOG_FORMAT
from tests.integration.harness import ApiClient, free_port
from tests.integration.helpers import apply, decide, decision, schedule
from tests.integration.room_client import RoomClient, joined, link_members
from tests.integration.serve_process import ServeProcess, serve_env, starts_now, world
from tests.integration.world import PASSWORD, World
from tests.reliability import node_id, record

RELIABILITY_ROW = "S13"  # its line in docs/reliability.md, even when it fails before measuring

__all__ = ["world"]

CANARY = "Hồ sơ mật S13: con chim hoàng yến hót lúc 03 giờ 17 phút"
FORGED = "FORGED-S13-LINE"
# What an attacker would type to forge a log line of their own and to colour the operator's terminal.
INJECTED = f"x\r\n2000-01-01 00:00:00,000 WARNING cellmeet.auth {FORGED} \x1b[31mred\x1b[0m\x1b]0;title\x07"
SHORT_INJECTED = f"n\r\n{FORGED}\x1b[31m"  # a login name has at most 64 characters
TURN_URL = "turn:127.0.0.1:3478?transport=udp"
LOCAL_ZONE = "Asia/Ho_Chi_Minh"  # UTC+7 all year: a local time would be 7 hours off
# The prefix logging's basicConfig gives every line (server/cli.py), and aiohttp's access line's time.
LINE_TIME = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),\d{3} ")
ACCESS_TIME = re.compile(r"\[(\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d) ([+-]\d{4})\]")
ICE_PWD = re.compile(r"^a=ice-pwd:(\S+)", re.MULTILINE)
STEP_TIMEOUT = 10.0


async def raw_request(port: int, request: bytes) -> bytes:
    """One HTTP request written byte for byte (aiohttp's client refuses control characters in headers)."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), STEP_TIMEOUT)
    try:
        writer.write(request)
        await writer.drain()
        return await asyncio.wait_for(reader.read(), STEP_TIMEOUT)
    finally:
        writer.close()


async def offer_and_answer(offerer: RoomClient, answerer: RoomClient, answerer_peer: str) -> list[str]:
    """A real SDP offer and answer between two members through `signal`; both descriptions' SDP."""
    pcs = [RTCPeerConnection(RTCConfiguration(iceServers=[])) for _ in range(2)]
    try:
        for pc in pcs:
            pc.addTransceiver("audio")
        await pcs[0].setLocalDescription(await pcs[0].createOffer())
        offer = pcs[0].localDescription.sdp
        mark = answerer.mark()
        sent = await offerer.call(
            "signal", {"to": answerer_peer, "description": {"type": "offer", "sdp": offer}}
        )
        assert sent == {"ok": True}, sent
        relayed = await answerer.wait_for("signal", lambda d: "description" in d, STEP_TIMEOUT, mark)
        await pcs[1].setRemoteDescription(RTCSessionDescription(relayed["description"]["sdp"], "offer"))
        await pcs[1].setLocalDescription(await pcs[1].createAnswer())
        answer = pcs[1].localDescription.sdp
        mark = offerer.mark()
        back = await answerer.call(
            "signal", {"to": relayed["from"], "description": {"type": "answer", "sdp": answer}}
        )
        assert back == {"ok": True}, back
        returned = await offerer.wait_for("signal", lambda d: "description" in d, STEP_TIMEOUT, mark)
        await pcs[0].setRemoteDescription(RTCSessionDescription(returned["description"]["sdp"], "answer"))
        return [offer, answer]
    finally:
        for pc in pcs:
            await pc.close()


def written_files(data_dir: Path, before: dict[Path, float], log: Path) -> list[Path]:
    """Every file the process created or changed in its data directory, but the database's own."""
    found = []
    for path in sorted(p for p in data_dir.rglob("*") if p.is_file()):
        if path == log or path.name.startswith("cellmeet.db"):
            continue
        if path not in before or path.stat().st_mtime != before[path]:
            found.append(path)
    return [log, *found]


async def chaired_meeting(world: World) -> tuple[int, list[tuple[str, int]]]:
    """Cell A approved for the pilot, three members with accounts, an online meeting starting now
    chaired by the first, the second taking the minutes."""
    today = world.server.clock.now.date()
    application = await apply(world, "sec_a", "A")
    approval = decision(
        str(today - timedelta(days=1)), str(today + timedelta(days=300)), decided_on=str(today)
    )
    assert (await decide(await world.as_user("approver_c"), application["id"], approval)).status == 200
    people = await link_members(world, "A", 3)
    created = await schedule(
        world,
        "sec_a",
        "A",
        mode="online",
        starts_at=starts_now(world),
        chair_id=people[0][1],
        minute_taker_id=people[1][1],
    )
    assert created.status == 201, created.body
    mid = int(created.body["id"])
    return mid, people


async def journey(world: World, tmp_path: Path, database_url: str) -> dict[str, Any]:
    """The meeting, against `cellmeet serve`; what was sent and answered, and what the process wrote."""
    mid, people = await chaired_meeting(world)
    settings = world.server.app[SETTINGS]
    await world.server.stop()

    turn_secret = secrets.token_urlsafe(24)
    wrong_password = "sai-mật-khẩu-" + secrets.token_urlsafe(12)
    unknown_password = "mật-khẩu-lạ-" + secrets.token_urlsafe(12)
    env = serve_env(
        tmp_path,
        database_url,
        settings.secret_key.value,
        CELLMEET_TURN_SECRET=turn_secret,
        CELLMEET_ICE_SERVERS=f'[{{"urls": ["{TURN_URL}"]}}]',
        TZ=LOCAL_ZONE,
    )
    before = {p: p.stat().st_mtime for p in tmp_path.rglob("*") if p.is_file()}
    log = tmp_path / "serve.log"
    served = ServeProcess(env, free_port(), log)
    base = f"http://127.0.0.1:{served.port}"
    out: dict[str, Any] = {
        "secrets": {},
        "refusals": [],
        "incident": None,
        "started": datetime.now(UTC),
        "log": log,
    }
    secret_values: dict[str, set[str]] = {
        "password": {PASSWORD, wrong_password, unknown_password},
        "cookie": set(),
        "csrf token": set(),
        "join ticket": set(),
        "TURN password": set(),
        "ice-pwd": set(),
        "canary": {CANARY},
    }
    clients: dict[str, ApiClient] = {}
    rooms: list[RoomClient] = []
    await asyncio.wait_for(served.start(), 30)
    try:
        # Logins: each member with the password, then a wrong password and an unknown user, the latter
        # with a forged line and ANSI escapes in its name.
        for username, _ in people:
            client = ApiClient(URL(base))
            logged = await client.login(username, PASSWORD)
            assert logged.status == 200, logged.body
            secret_values["csrf token"].add(str(logged.body["csrf_token"]))
            clients[username] = client
        stranger = ApiClient(URL(base))
        clients["stranger"] = stranger
        assert (await stranger.login(people[0][0], wrong_password)).status == 401
        assert (await stranger.login(SHORT_INJECTED, unknown_password)).status == 401

        # Join tickets, used to enter the room: the acks carry TURN credentials.
        acks = []
        for username, _ in people:
            reply = await clients[username].post(f"/api/v1/meetings/{mid}/join-ticket", {})
            assert reply.status == 201, reply.body
            token = str(reply.body["token"])
            secret_values["join ticket"].add(token)
            room = RoomClient(base, auth={"token": token})
            await asyncio.wait_for(room.connect(), STEP_TIMEOUT)
            rooms.append(room)
            ack = await room.join(mid)
            assert ack["ok"] is True, ack
            acks.append(ack)
        for ack in acks:
            turn = [s for s in ack["media"]["ice_servers"] if s.get("credential")]
            assert turn and turn[0]["urls"] == [TURN_URL], ack["media"]
            secret_values["TURN password"].update(str(s["credential"]) for s in turn)

        # A real offer and answer between the chair and the third member.
        sdps = await asyncio.wait_for(
            offer_and_answer(rooms[2], rooms[0], acks[0]["self"]["peer_id"]), 3 * STEP_TIMEOUT
        )
        for sdp in sdps:
            secret_values["ice-pwd"].update(ICE_PWD.findall(sdp))
        assert len(secret_values["ice-pwd"]) == 2, sdps

        # The minute-taker writes the canary, and a field with a forged line and ANSI escapes.
        taker = clients[people[1][0]]
        current = await taker.get(f"/api/v1/meetings/{mid}/minutes")
        assert current.status == 200, current.body
        written = await taker.put(
            f"/api/v1/meetings/{mid}/minutes",
            {"version": current.body["version"], "fields": {"conclusions": f"{CANARY}. {INJECTED}"}},
        )
        assert written.status == 200, written.body

        # Authorisation failures: a member who does not take the minutes writes them (REST 403); the
        # same member lowers the chair's hand in the room (a room event refused, 403).
        member = clients[people[2][0]]
        refused = await member.put(
            f"/api/v1/meetings/{mid}/minutes",
            {"version": written.body["version"], "fields": {"conclusions": "Không được phép."}},
        )
        assert refused.status == 403, refused.body
        out["refusals"].append(
            {
                "kind": "rest",
                "user_id": world.users[people[2][0]],
                "resource": f"/api/v1/meetings/{mid}/minutes",
            }
        )
        raised = await rooms[0].call("hand", {"raised": True})
        assert raised["ok"] is True, raised
        lowered = await rooms[2].call("hand", {"raised": False, "member_id": people[0][1]})
        assert lowered["ok"] is False and lowered["error"]["code"] == "forbidden", lowered
        out["refusals"].append(
            {
                "kind": "room",
                "user_id": world.users[people[2][0]],
                "sid": rooms[2].sio.get_sid("/room"),
                "resource": "hand",
            }
        )

        # CR/LF and ANSI in a request path, in headers, and in a room event's name.
        await member.get(f"/api/v1/meetings/{mid}x%0D%0A{FORGED}%1B%5B31m")
        escaped = INJECTED.replace("\r\n", " ").encode()  # a header cannot carry CR/LF at all
        await raw_request(
            served.port,
            b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: "
            + escaped
            + b"\r\nReferer: http://127.0.0.1/\x1b[2J"
            + b"\r\nConnection: close\r\n\r\n",
        )
        unknown = await rooms[2].call("hand\r\n" + FORGED + "\x1b[31m", {"raised": True})
        assert unknown["ok"] is False, unknown

        # A forced internal error: the table of script tokens dropped under the running server.
        path = database_url.removeprefix("sqlite+aiosqlite:///")
        with sqlite3.connect(path) as db:
            db.execute("DROP TABLE api_tokens")
        boom = await member.post("/api/v1/auth/tokens", {"name": "boom"})
        assert boom.status == 500, boom.body
        out["incident"] = boom.body["error"]["details"]["incident"]
        out["incident_message"] = boom.body["error"]["message"]

        for client in clients.values():
            secret_values["cookie"].update(c.value for c in client.http.cookie_jar if c.value)
    finally:
        for room in rooms:
            await room.close()
        for client in clients.values():
            await client.close()
        if served.process is not None and served.process.poll() is None:
            await served.terminate()
        served.kill()
    out["secrets"] = secret_values
    out["files"] = written_files(tmp_path, before, log)
    return out


def judge(out: dict[str, Any]) -> dict[str, Any]:
    texts = {path: path.read_bytes().decode("utf-8", errors="replace") for path in out["files"]}
    log_text = texts[out["log"]]
    everything = "\n".join(texts.values())
    broken: list[str] = []
    attempts = 0

    # 1. No secret anywhere: each value of each kind, searched in every file, is one attempt.
    hits: dict[str, int] = {}
    for kind, values in out["secrets"].items():
        assert values, f"no {kind} was captured: the journey did not produce it"
        for value in values:
            attempts += 1
            found = everything.count(value)
            if found:
                hits[kind] = hits.get(kind, 0) + found
                broken.append(f"{kind} logged {found}x")

    # 2. Authorisation failures with a request or sid id, the actor, the resource and the decision.
    for refusal in out["refusals"]:
        attempts += 1
        user = str(refusal["user_id"])
        lines = [
            line
            for line in log_text.splitlines()
            if "refused" in line and re.search(rf"\buser(?:_id)?[= ]{user}\b", line)
        ]
        if refusal["kind"] == "rest":
            lines = [line for line in lines if refusal["resource"] in line]
            ident = [line for line in lines if re.search(r"\brequest(?:_id)?=\S+", line)]
        else:
            lines = [line for line in lines if refusal["resource"] in line]
            ident = [line for line in lines if refusal["sid"] in line]
        decided = [line for line in ident if re.search(r"status=403|code=forbidden", line)]
        if not decided:
            why = "not logged" if not lines else "logged without a request/sid id or decision"
            broken.append(f"{refusal['kind']} refusal {why}")

    # 3. CR/LF and ANSI escapes never raw: no ESC, BEL or CR byte, no line begun by the forged text.
    for name, text in texts.items():
        for byte, label in (("\x1b", "ESC"), ("\x07", "BEL"), ("\r", "CR")):
            attempts += 1
            if byte in text:
                broken.append(f"raw {label} {text.count(byte)}x in {name.name}")
        attempts += 1
        forged = [
            line for line in text.split("\n") if line.startswith("2000-01-01") or line.startswith(FORGED)
        ]
        if forged:
            broken.append(f"{len(forged)} forged line(s) in {name.name}")

    # 4. The internal error: a generic answer with an incident id, the id in the log.
    attempts += 1
    incident = out["incident"]
    if not (incident and incident in out["incident_message"] and incident in log_text):
        broken.append("incident id missing from the answer or the log")
    for leak in ("api_tokens", "Traceback", "sqlite"):
        attempts += 1
        if leak.lower() in out["incident_message"].lower():
            broken.append(f"the 500's message shows {leak}")

    # 5. UTC: every line's time within a minute of the run's UTC time (the process ran at UTC+7).
    started = out["started"].replace(tzinfo=None) - timedelta(minutes=1)
    ended = datetime.now(UTC).replace(tzinfo=None) + timedelta(minutes=1)
    stamps = 0
    for line in log_text.splitlines():
        for when in [m.group(1) for m in [LINE_TIME.match(line)] if m]:
            stamps += 1
            at = datetime.strptime(when, "%Y-%m-%d %H:%M:%S")
            if not started <= at <= ended:
                broken.append(f"log time not UTC: {line[:60]}")
        for when, zone in ACCESS_TIME.findall(line):
            stamps += 1
            at = datetime.strptime(when, "%d/%b/%Y:%H:%M:%S")
            if zone != "+0000" or not started <= at <= ended:
                broken.append(f"access log time not UTC: [{when} {zone}]")
    attempts += stamps
    if stamps == 0:
        broken.append("no timestamp found in the log")
    return {
        "attempts": attempts,
        "failures": len(broken),
        "broken": broken,
        "hits": hits,
        "secrets": sum(len(v) for v in out["secrets"].values()),
        "files": [p.name for p in out["files"]],
        "lines": len(log_text.splitlines()),
        "stamps": stamps,
    }


@pytest.mark.reliability
@pytest.mark.timeout(120)
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_no_secret_in_any_log_line_and_refusals_errors_and_input_logged_safely(
    request: pytest.FixtureRequest, world: World, database_url: str, tmp_path: Path
) -> None:
    out = await journey(world, tmp_path, database_url)
    figures = judge(out)
    shown = "; ".join(dict.fromkeys(figures["broken"]))
    record(
        "S13",
        node_id(request),
        attacked=(
            "a meeting's journey against cellmeet serve (logins, a wrong password and an unknown user,"
            " join tickets, TURN credentials, an SDP offer/answer, a canary in the minutes, a REST and a"
            " room refusal, CR/LF/ANSI in a login name, the minutes, a path, headers and an event name, a"
            " forced 500, the process at UTC+7); every log line it wrote searched"
        ),
        attempts=figures["attempts"],
        failures=figures["failures"],
        figure=(
            f"{figures['secrets']} secret values in {len(figures['files'])} file(s) ({figures['lines']}"
            f" log lines): {sum(figures['hits'].values())} hits; {figures['stamps']} timestamps checked"
            + (f"; broken: {shown}" if shown else "")
        ),
        tier="fast",
    )
    assert figures["hits"] == {}, figures["hits"]
    assert figures["broken"] == [], figures["broken"]


# --- regressions of what this row found, in the fast tier ---------------------------------------------


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_refused_room_event_is_logged_with_sid_actor_event_and_decision(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """A member lowering the chair's hand was refused without a trace (found by S13): the refusal is a
    log line with the connection's sid, the user, the meeting, the event and the decision."""
    mid, people = await chaired_meeting(world)
    chair, member = people[0], people[2]
    caplog.set_level(logging.INFO, logger="cellmeet.realtime")
    rooms = [(await joined(world, username, mid))[0] for username, _ in (chair, member)]
    try:
        assert (await rooms[0].call("hand", {"raised": True}))["ok"] is True
        for _ in range(2):  # the second within the minute is not logged again
            lowered = await rooms[1].call("hand", {"raised": False, "member_id": chair[1]})
            assert lowered["ok"] is False and lowered["error"]["code"] == "forbidden", lowered
        sid = rooms[1].sio.get_sid("/room")
    finally:
        for room in rooms:
            await room.close()
    lines = [r.getMessage() for r in caplog.records if "room event refused" in r.getMessage()]
    assert lines == [
        f"room event refused sid={sid} user={world.users[member[0]]} meeting={mid} event=hand status=403"
        " code=forbidden (further ones within 60 s are not logged)"
    ], lines


def test_the_access_log_has_no_local_time() -> None:
    """aiohttp's `%t` is the machine's local time (found by S13 with TZ=Asia/Ho_Chi_Minh: +0700); each
    line already begins with logging's UTC time."""
    assert "%t" not in ACCESS_LOG_FORMAT


async def test_a_refused_request_names_its_log_line(world: World, caplog: pytest.LogCaptureFixture) -> None:
    """A refused REST request answers with an `X-Request-Id`, and its refusal line carries the same id
    (with who, the route and the decision), so a report of the refusal finds its line."""
    secretary_of_a = await world.as_user("sec_a")
    with caplog.at_level(logging.INFO, logger="cellmeet"):
        reply = await secretary_of_a.get(f"/api/v1/orgs/{world.orgs['B']}/members")
    assert reply.status == 404, reply.body
    request_id = reply.headers.get("X-Request-Id")
    assert request_id and re.fullmatch(r"[0-9a-f]{16}", request_id), reply.headers
    lines = [r.getMessage() for r in caplog.records if f"request={request_id}" in r.getMessage()]
    assert len(lines) == 1, [r.getMessage() for r in caplog.records]
    assert f"user={world.users['sec_a']}" in lines[0] and "status=404" in lines[0], lines
    assert "route=/api/v1/orgs/{id}/members" in lines[0], lines
