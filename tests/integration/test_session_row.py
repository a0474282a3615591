"""quality.md S4 (issue 29): session cookies and lifetime, as one row of docs/reliability.md.

Logging in through the REST API, each promise of S4 is tried and counted:

- the cookie of an HTTPS deployment (a second server on the world's database whose public URL is
  https) is `__Host-cellmeet`, Secure, HttpOnly, SameSite Lax or Strict, Path=/ and no Domain; the
  plain-http one (development, tests) keeps HttpOnly, SameSite and Path;
- fixation: a planted session id (sent before login, on the login request itself, on both
  deployments) is never accepted and never kept: login always issues a new id;
- logout: the old cookie gets 401 on a read and a write, the room socket refuses a connection
  with it, an open connection with it is closed and a join ticket it obtained no longer connects;
- lifetime: the server's idle (30 min) and absolute (12 h) limits as the settings say, on the
  server's fake clock: idle just under the limit passes, just over gets 401 and a refused socket;
  activity every 20 min keeps a session until the absolute limit, then 401;
- every session id is at least 128 bits (URL-safe base64, 43 characters: 256 bits) and distinct;
- no session id, CSRF token or join ticket in any URL the server makes (the invitation's link,
  the meeting's room_url, the links of the meeting and room pages, a redirect's Location) nor in any
  log line of the whole test (aiohttp's access lines, with every requested URL, included); every
  page is sent with `Referrer-Policy: no-referrer`.
"""

from __future__ import annotations

import asyncio
import logging
import re
from pathlib import Path

import pytest
import socketio

from server.appkeys import SETTINGS
from tests.integration import harness
from tests.integration.harness import ApiClient, FakeClock, Reply, RunningServer
from tests.integration.room_client import RoomClient, link_members, online_meeting
from tests.integration.world import PASSWORD, World
from tests.reliability import Tally, node_id

RELIABILITY_ROW = "S4"  # its line in docs/reliability.md, even when it fails before measuring

ME = "/api/v1/auth/me"
LOGOUT = "/api/v1/auth/logout"
TOKENS = "/api/v1/auth/tokens"
PLAIN_COOKIE = "cellmeet_session"
SECURE_COOKIE = "__Host-cellmeet"
HTTPS_URL = "https://cellmeet.test"
PLANTED = "planted-session-id-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"


def set_cookies(reply: Reply) -> dict[str, dict[str, str]]:
    """name -> {"": value, lower-cased attribute: value ("" for a flag)}"""
    found: dict[str, dict[str, str]] = {}
    for header in reply.headers.getall("Set-Cookie", []):
        first, *rest = [part.strip() for part in header.split(";")]
        name, _, value = first.partition("=")
        attributes = {"": value.strip('"')}
        for part in rest:
            key, _, attr_value = part.partition("=")
            attributes[key.strip().lower()] = attr_value.strip()
        found[name] = attributes
    return found


def bits(token: str) -> int:
    """The whole bytes a URL-safe base64 token carries (6 bits a character), in bits."""
    return 6 * len(token) // 8 * 8 if re.fullmatch(r"[A-Za-z0-9_-]+", token) else 0


async def socket_accepted(url: str, headers: dict[str, str], rooms: list[RoomClient]) -> bool:
    client = RoomClient(url, headers=headers)
    try:
        await client.connect()
    except socketio.exceptions.ConnectionError:
        return False
    rooms.append(client)
    return True


@pytest.mark.reliability
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_session_cookies_fixation_logout_lifetime_and_leaks(
    world: World,
    database_url: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    rooms: list[RoomClient],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="cellmeet")
    caplog.set_level(logging.INFO)
    tally = Tally("S4", node_id(request), "", "fast")
    secrets_seen: set[str] = set()  # every session id, CSRF token and join ticket of the test
    session_ids: list[str] = []
    url = str(world.server.url)
    origin = url.rstrip("/")
    people = await link_members(world, "A", 1)
    username = people[0][0]
    mid = await online_meeting(world)

    def login_cookie(reply: Reply, name: str) -> str:
        value = set_cookies(reply).get(name, {}).get("", "")
        if value:
            session_ids.append(value)
            secrets_seen.update({value, str(reply.body.get("csrf_token", ""))})
        return value

    # --- the cookie of an HTTPS deployment, and of plain http ----------------------------------
    https_dir = tmp_path / "https"
    https_dir.mkdir()
    https = await RunningServer.start(
        harness.test_settings(https_dir, database_url, public_url=HTTPS_URL), FakeClock()
    )
    https_client = ApiClient(https.url)
    try:
        # the login request itself carries a planted id: the answer is a new one
        reply = await https_client.post(
            "/api/v1/auth/login",
            {"username": username, "password": PASSWORD},
            headers={"Cookie": f"{SECURE_COOKIE}={PLANTED}"},
        )
        tally.count(reply.status == 200, f"https login answered {reply.status}")
        cookies = set_cookies(reply)
        cookie = cookies.get(SECURE_COOKIE, {})
        value = login_cookie(reply, SECURE_COOKIE)
        tally.count(bool(value) and PLAIN_COOKIE not in cookies, f"https Set-Cookie names {list(cookies)}")
        tally.count("secure" in cookie, f"https cookie without Secure: {cookie}")
        tally.count("httponly" in cookie, f"https cookie without HttpOnly: {cookie}")
        tally.count(cookie.get("samesite", "").lower() in ("lax", "strict"), f"https SameSite {cookie}")
        tally.count(cookie.get("path") == "/", f"https cookie Path {cookie.get('path')}")
        tally.count("domain" not in cookie, f"https cookie has a Domain: {cookie}")
        tally.count(value != PLANTED, "https login kept the planted session id")
        fresh = ApiClient(https.url)
        me = await fresh.get(ME, headers={"Cookie": f"{SECURE_COOKIE}={value}"})
        tally.count(me.status == 200, f"the https cookie sent back answered {me.status}")
        planted = await fresh.get(ME, headers={"Cookie": f"{SECURE_COOKIE}={PLANTED}"})
        tally.count(planted.status == 401, f"the planted https id answered {planted.status}")
        await fresh.close()
    finally:
        await https_client.close()
        await https.stop()

    client = world.make_client()
    reply = await client.login(username, PASSWORD)
    plain = set_cookies(reply).get(PLAIN_COOKIE, {})
    first = login_cookie(reply, PLAIN_COOKIE)
    tally.count(bool(first) and "httponly" in plain, f"http cookie without HttpOnly: {plain}")
    tally.count(plain.get("samesite", "").lower() in ("lax", "strict"), f"http SameSite {plain}")
    tally.count(plain.get("path") == "/" and "domain" not in plain, f"http cookie Path/Domain {plain}")

    # --- fixation -------------------------------------------------------------------------------
    victim = world.make_client()
    before = await victim.get(ME, headers={"Cookie": f"{PLAIN_COOKIE}={PLANTED}"})
    tally.count(before.status == 401, f"a planted id before login answered {before.status}")
    victim.http.cookie_jar.update_cookies({PLAIN_COOKIE: PLANTED}, response_url=world.server.url)
    reply = await victim.login(username, PASSWORD)
    victim_id = login_cookie(reply, PLAIN_COOKIE)
    tally.count(bool(victim_id) and victim_id != PLANTED, "login kept the planted session id")
    attacker = world.make_client()
    after = await attacker.get(ME, headers={"Cookie": f"{PLAIN_COOKIE}={PLANTED}"})
    tally.count(after.status == 401, f"the planted id after the victim's login answered {after.status}")
    again = login_cookie(await client.login(username, PASSWORD), PLAIN_COOKIE)
    tally.count(again not in ("", first), "logging in again from the same browser kept its session id")

    # --- logout: REST and the room socket -------------------------------------------------------
    cookie_header = {"Cookie": f"{PLAIN_COOKIE}={again}", "Origin": origin}
    open_before = await socket_accepted(url, cookie_header, rooms)
    tally.count(open_before, "the room socket refused a live session's cookie (control)")
    joined = await rooms[-1].join(mid) if open_before else {}
    tally.count(joined.get("ok") is True, f"the control's room join answered {joined}")
    ticket_reply = await client.post(f"/api/v1/meetings/{mid}/join-ticket", {})
    ticket = str(ticket_reply.body.get("token", "")) if ticket_reply.status == 201 else ""
    tally.count(bool(ticket), f"join ticket answered {ticket_reply.status}")
    secrets_seen.add(ticket)
    csrf = client.csrf or ""
    out = await client.post(LOGOUT)
    cleared = set_cookies(out).get(PLAIN_COOKIE, {})
    tally.count(
        out.status == 200 and (cleared.get("") == "" or cleared.get("max-age") == "0"),
        f"logout answered {out.status}, Set-Cookie {cleared}",
    )
    thief = world.make_client()
    read = await thief.get(ME, headers={"Cookie": f"{PLAIN_COOKIE}={again}"})
    tally.count(read.status == 401, f"the old cookie's read after logout answered {read.status}")
    write = await thief.post(
        TOKENS, {"name": "x"}, headers={"Cookie": f"{PLAIN_COOKIE}={again}", "X-CSRF-Token": csrf}
    )
    tally.count(write.status == 401, f"the old cookie's write after logout answered {write.status}")
    refused = not await socket_accepted(url, cookie_header, rooms)
    tally.count(refused, "the room socket accepted the old cookie after logout")
    if open_before:
        live = rooms[0]
        for _ in range(100):
            if not live.sio.connected:
                break
            await asyncio.sleep(0.02)
        tally.count(not live.sio.connected, "the socket opened with the cookie stayed open after logout")
    ticket_socket = RoomClient(url, auth={"token": ticket})
    try:
        await ticket_socket.connect()
        rooms.append(ticket_socket)
        ticket_refused = False
    except socketio.exceptions.ConnectionError:
        ticket_refused = True
    tally.count(ticket_refused, "a join ticket of the logged-out session still connected")

    # --- token size, and no token in a URL the server makes -------------------------------------
    member = world.make_client()
    reply = await member.login(username, PASSWORD)
    live_id = login_cookie(reply, PLAIN_COOKIE)
    secrets_seen.add(str(await member_ticket(member, mid)))
    made_urls: list[str] = []
    ics = await member.get(f"/api/v1/meetings/{mid}/invite.ics")
    made_urls += re.findall(r"https?://\S+|/meetings/\S+", bytes_text(ics.body))
    meeting = await member.get(f"/api/v1/meetings/{mid}")
    made_urls += [v for v in walk_strings(meeting.body) if "/" in v and " " not in v]
    referrer_ok = True
    for page in (f"/meetings/{mid}", f"/meetings/{mid}/room"):
        shown = await member.get(page)
        made_urls += re.findall(r'(?:href|src|action)="([^"]*)"', bytes_text(shown.body))
        referrer_ok &= shown.headers.get("Referrer-Policy") == "no-referrer"
    anonymous = world.make_client()
    async with anonymous.http.get(
        world.server.url.join(world.server.url.with_path(f"/meetings/{mid}/room")), allow_redirects=False
    ) as redirect:
        made_urls.append(redirect.headers.get("Location", ""))
    tally.count(referrer_ok, "a page without Referrer-Policy: no-referrer")
    tally.count(
        len(made_urls) >= 5 and any(f"/meetings/{mid}/room" in u for u in made_urls),
        f"too few URLs found to search: {made_urls}",
    )
    secrets = {s for s in secrets_seen if len(s) >= 16}
    leaking = [u for u in made_urls if any(s in u for s in secrets)]
    tally.count(not leaking, f"a token in a URL the server made: {leaking[:2]}")
    small = [len(s) for s in session_ids if bits(s) < 128]
    tally.count(not small and len(set(session_ids)) == len(session_ids), f"short or repeated ids {small}")
    await member.get(ME)

    # --- lifetime on the fake clock -------------------------------------------------------------
    settings = world.server.app[SETTINGS]
    idle, absolute = settings.session_idle_seconds, settings.session_absolute_seconds
    tally.count(idle <= 30 * 60, f"the idle limit is {idle} s")
    tally.count(absolute <= 12 * 3600, f"the absolute limit is {absolute} s")
    clock = world.server.clock
    clock.advance(seconds=idle - 60)
    kept = await member.get(ME)
    tally.count(kept.status == 200, f"{idle - 60} s idle answered {kept.status}")
    clock.advance(seconds=idle + 1)
    expired = await member.get(ME)
    tally.count(expired.status == 401, f"{idle + 1} s idle answered {expired.status}")
    idle_socket = {"Cookie": f"{PLAIN_COOKIE}={live_id}", "Origin": origin}
    tally.count(
        not await socket_accepted(url, idle_socket, rooms), "the room accepted an idle-expired cookie"
    )
    relogin = await member.login(username, PASSWORD)
    tally.count(relogin.status == 200, f"logging in again after idle expiry answered {relogin.status}")
    login_cookie(relogin, PLAIN_COOKIE)
    active, step = 0, 20 * 60
    refused_at = None
    while active + step < absolute:
        clock.advance(seconds=step)
        active += step
        if (await member.get(ME)).status != 200:
            refused_at = active
            break
    tally.count(refused_at is None, f"an active session was refused after {refused_at} s")
    clock.advance(seconds=absolute - active + 60)  # past the absolute limit, idle only a little
    late = await member.get(ME)
    tally.count(late.status == 401, f"{absolute + 60} s after login answered {late.status}")
    tally.count((await member.login(username, PASSWORD)).status == 200, "re-authentication failed")

    # --- no token in any log line ---------------------------------------------------------------
    lines = [record.getMessage() for record in caplog.records]
    access_lines = [line for line in lines if '"GET ' in line or '"POST ' in line]
    tally.count(len(access_lines) >= 10, f"only {len(access_lines)} access lines captured")
    secrets = {s for s in secrets_seen if len(s) >= 16}
    logged = [line for line in lines if any(s in line for s in secrets)]
    tally.count(not logged, f"a token in a log line: {logged[:1]}")

    tally.attacked = (
        "logins through the REST API on an https and a plain-http deployment: Set-Cookie flags; planted"
        " session ids (before login, on the login request, after it); logout then the old cookie on a"
        " read, a write, a room connection, an open connection and a join ticket; idle and absolute"
        f" limits on the fake clock ({idle // 60} min, {absolute // 3600} h); {len(session_ids)} session"
        f" ids' size; {len(made_urls)} URLs the server made and {len(lines)} log lines searched for"
        f" {len(secrets)} tokens"
    )
    tally.write(
        f"{tally.attempts - tally.failures} of {tally.attempts} held: __Host- Secure HttpOnly"
        " SameSite=Lax Path=/ over https; a planted id never accepted; after logout 401 and a refused"
        f" socket; {idle // 60} min idle and {absolute // 3600} h absolute end the session;"
        f" ids of {min(bits(s) for s in session_ids)} bits (token_urlsafe(32)); 0 tokens in"
        f" {len(made_urls)} URLs and {len(lines)} log lines"
    )
    assert tally.broken == []


async def member_ticket(client: ApiClient, meeting_id: int) -> str:
    reply = await client.post(f"/api/v1/meetings/{meeting_id}/join-ticket", {})
    assert reply.status == 201, reply.body
    return str(reply.body["token"])


def bytes_text(body: object) -> str:
    return body.decode() if isinstance(body, bytes) else str(body)


def walk_strings(value: object) -> list[str]:
    if isinstance(value, dict):
        return [s for item in value.values() for s in walk_strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in walk_strings(item)]
    return [value] if isinstance(value, str) else []
