"""S4, S5, S6 and passwords: what a user or an attacker notices of login, sessions, CSRF and throttling.

A real server over loopback on both databases, real cookies; time moves only through the server's
fake clock. Tests that need other settings (HTTPS public URL, small throttling limits) start a
second server of their own on the same parametrised database.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyotp
import pytest

from server.api.routes import ROUTES
from tests.integration import harness
from tests.integration.harness import ApiClient, FakeClock, Reply, RunningServer
from tests.integration.world import PASSWORD, World

ME = "/api/v1/auth/me"
LOGIN = "/api/v1/auth/login"
LOGOUT = "/api/v1/auth/logout"
TOKENS = "/api/v1/auth/tokens"
PLAIN_COOKIE = "cellmeet_session"
SECURE_COOKIE = "__Host-cellmeet"
BAD_LOGIN_VI = "Tên đăng nhập, mật khẩu hoặc mã xác thực không đúng."
BAD_LOGIN_EN = "Wrong username, password or code."


# --- helpers -------------------------------------------------------------------------------------


@dataclass
class SetCookie:
    name: str
    value: str
    attributes: dict[str, str]  # lower-cased attribute name -> value ("" for flags)

    def has(self, flag: str) -> bool:
        return flag.lower() in self.attributes


def set_cookies(reply: Reply) -> list[SetCookie]:
    found = []
    for header in reply.headers.getall("Set-Cookie", []):
        first, *rest = [part.strip() for part in header.split(";")]
        name, _, value = first.partition("=")
        attributes = {}
        for part in rest:
            key, _, attr_value = part.partition("=")
            attributes[key.strip().lower()] = attr_value.strip()
        found.append(SetCookie(name, value.strip('"'), attributes))
    return found


def session_cookie(reply: Reply, name: str = PLAIN_COOKIE) -> SetCookie:
    matching = [cookie for cookie in set_cookies(reply) if cookie.name == name]
    assert len(matching) == 1, reply.headers.getall("Set-Cookie", [])
    return matching[0]


def code_at(secret: str, clock: FakeClock, steps: int = 0) -> str:
    """The code an authenticator app shows at the server's time, moved by whole 30-second steps."""
    return pyotp.TOTP(secret).at(clock.now + timedelta(seconds=30 * steps))


def other_otp(secret: str, clock: FakeClock) -> str:
    """A well-formed code that no step of the accepted window (±1) would produce."""
    window = {code_at(secret, clock, steps) for steps in (-1, 0, 1)}
    candidate = int(code_at(secret, clock))
    while f"{candidate:06d}" in window:
        candidate = (candidate + 1) % 1_000_000
    return f"{candidate:06d}"


@dataclass
class Stack:
    """A running server with its own settings, a way to make clients, and a way to add users."""

    server: RunningServer
    clients: list[ApiClient] = field(default_factory=list)

    def client(self, lang: str = "vi") -> ApiClient:
        made = ApiClient(self.server.url, lang=lang)
        self.clients.append(made)
        return made

    @property
    def people(self) -> World:
        return World(self.server, self.client)


@pytest.fixture
async def start_server(database_url: str, tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[Stack]]]:
    stacks: list[Stack] = []

    async def start(**overrides: Any) -> Stack:
        data_dir = tmp_path / f"server{len(stacks)}"
        data_dir.mkdir()
        running = await RunningServer.start(
            harness.test_settings(data_dir, database_url, **overrides), FakeClock()
        )
        stack = Stack(running)
        stacks.append(stack)
        return stack

    yield start
    for stack in stacks:
        for client in stack.clients:
            await client.close()
        await stack.server.stop()


@pytest.fixture
async def people(server: RunningServer, client_factory: Callable[..., ApiClient]) -> World:
    """Users only (no tree): alice and bob, plus an operator."""
    world = World(server, client_factory)
    await world.add_user("alice")
    await world.add_user("bob")
    await world.add_user("operator", is_admin=True)
    return world


# --- login and the session cookie (S4) -----------------------------------------------------------


async def test_login_returns_csrf_token_and_user_and_a_safe_cookie(people: World) -> None:
    client = people.make_client()
    reply = await client.login("alice", PASSWORD)
    assert reply.status == 200, reply.body
    assert isinstance(reply.body["csrf_token"], str) and len(reply.body["csrf_token"]) >= 22
    assert reply.body["user"]["username"] == "alice"
    assert reply.body["user"]["id"] == people.users["alice"]
    assert "password_hash" not in reply.body["user"] and "totp_secret" not in reply.body["user"]

    cookie = session_cookie(reply)
    assert cookie.has("httponly")
    assert cookie.attributes.get("samesite", "").lower() == "lax"
    assert cookie.attributes.get("path") == "/"
    assert not cookie.has("secure"), "a Secure cookie would never come back over plain http"
    assert "domain" not in cookie.attributes
    # 256-bit token, URL-safe base64: at least 128 bits whatever the encoding (ASVS 3.2.2)
    assert len(cookie.value) >= 22
    assert re.fullmatch(r"[A-Za-z0-9_-]+", cookie.value)
    # the token is not the CSRF token and is not echoed in the body
    assert cookie.value != reply.body["csrf_token"]
    assert cookie.value not in str(reply.body)

    me = await client.get(ME)
    assert me.status == 200
    assert me.body["user"]["username"] == "alice"
    assert me.body["csrf_token"] == reply.body["csrf_token"]


async def test_https_public_url_gives_a_host_prefixed_secure_cookie(
    start_server: Callable[..., Awaitable[Stack]],
) -> None:
    stack = await start_server(public_url="https://example.test")
    await stack.people.add_user("alice")
    client = stack.client()
    reply = await client.login("alice", PASSWORD)
    assert reply.status == 200, reply.body
    names = [cookie.name for cookie in set_cookies(reply)]
    assert PLAIN_COOKIE not in names
    cookie = session_cookie(reply, SECURE_COOKIE)
    assert cookie.has("secure")
    assert cookie.has("httponly")
    assert cookie.attributes.get("samesite", "").lower() == "lax"
    assert cookie.attributes.get("path") == "/"
    assert "domain" not in cookie.attributes  # __Host- forbids Domain
    assert "max-age=63072000" in reply.headers.get("Strict-Transport-Security", "").lower()

    # behind the TLS proxy the browser sends the cookie back: it is the session
    fresh = stack.client()
    me = await fresh.get(ME, headers={"Cookie": f"{SECURE_COOKIE}={cookie.value}"})
    assert me.status == 200, me.body
    assert me.body["user"]["username"] == "alice"
    # the plain name is not accepted on an HTTPS deployment
    other = stack.client()
    me = await other.get(ME, headers={"Cookie": f"{PLAIN_COOKIE}={cookie.value}"})
    assert me.status == 401
    # the public origin counts as same-origin for state changes
    token = await fresh.post(
        TOKENS,
        {"name": "t"},
        headers={
            "Cookie": f"{SECURE_COOKIE}={cookie.value}",
            "X-CSRF-Token": reply.body["csrf_token"],
            "Origin": "https://example.test",
        },
    )
    assert token.status == 201, token.body


async def test_each_login_gets_a_new_session_and_logout_ends_only_that_one(people: World) -> None:
    first, second = people.make_client(), people.make_client()
    one = await first.login("alice", PASSWORD)
    two = await second.login("alice", PASSWORD)
    assert one.status == two.status == 200
    cookie_one, cookie_two = session_cookie(one).value, session_cookie(two).value
    assert cookie_one != cookie_two
    assert one.body["csrf_token"] != two.body["csrf_token"]
    assert (await first.get(ME)).status == 200
    assert (await second.get(ME)).status == 200

    # logging in again from the same browser replaces its session id too
    again = await first.login("alice", PASSWORD)
    cookie_again = session_cookie(again).value
    assert cookie_again not in (cookie_one, cookie_two)

    out = await first.post(LOGOUT)
    assert out.status == 200, out.body
    cleared = session_cookie(out)
    assert cleared.value == "" or cleared.attributes.get("max-age") == "0"

    replay = people.make_client()
    me = await replay.get(ME, headers={"Cookie": f"{PLAIN_COOKIE}={cookie_again}"})
    assert me.status == 401
    assert me.error_code == "unauthenticated"
    # the other logins of the same user are separate sessions and still work
    for cookie in (cookie_one, cookie_two):
        replay = people.make_client()
        me = await replay.get(ME, headers={"Cookie": f"{PLAIN_COOKIE}={cookie}"})
        assert me.status == 200, me.body


async def test_old_cookie_after_logout_is_refused_for_reads_and_writes(people: World) -> None:
    client = people.make_client()
    reply = await client.login("bob", PASSWORD)
    cookie, csrf = session_cookie(reply).value, reply.body["csrf_token"]
    assert (await client.post(LOGOUT)).status == 200
    assert (await client.get(ME)).status == 401

    thief = people.make_client()
    me = await thief.get(ME, headers={"Cookie": f"{PLAIN_COOKIE}={cookie}"})
    assert me.status == 401
    assert me.error_code == "unauthenticated"
    write = await thief.post(
        TOKENS, {"name": "x"}, headers={"Cookie": f"{PLAIN_COOKIE}={cookie}", "X-CSRF-Token": csrf}
    )
    assert write.status == 401


async def test_a_planted_session_id_is_never_accepted(people: World) -> None:
    planted = "planted-session-id-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    victim = people.make_client()
    assert (await victim.get(ME, headers={"Cookie": f"{PLAIN_COOKIE}={planted}"})).status == 401
    victim.http.cookie_jar.update_cookies({PLAIN_COOKIE: planted}, response_url=people.server.url)
    reply = await victim.login("alice", PASSWORD)
    assert reply.status == 200
    assert session_cookie(reply).value != planted
    attacker = people.make_client()
    assert (await attacker.get(ME, headers={"Cookie": f"{PLAIN_COOKIE}={planted}"})).status == 401


async def test_anonymous_me_is_401(people: World) -> None:
    reply = await people.make_client().get(ME)
    assert reply.status == 401
    assert reply.error_code == "unauthenticated"


async def test_wrong_password_and_unknown_user_look_the_same(people: World) -> None:
    for lang, message in (("vi", BAD_LOGIN_VI), ("en", BAD_LOGIN_EN)):
        client = people.make_client(lang)
        wrong = await client.login("alice", PASSWORD + "x")
        unknown = await client.login("nobody-here", PASSWORD)
        assert wrong.status == unknown.status == 401
        assert wrong.body == unknown.body
        assert wrong.error_code == "invalid_credentials"
        assert wrong.body["error"]["message"] == message
        assert not set_cookies(wrong) and not set_cookies(unknown)
        assert (await client.get(ME)).status == 401


async def test_login_message_language_follows_accept_language(people: World) -> None:
    client = people.make_client()
    default = await client.login("alice", "sai-mật-khẩu-hoàn-toàn")
    english = await client.request(
        "POST",
        LOGIN,
        {"username": "alice", "password": "wrong"},
        headers={"Accept-Language": "en-US,en;q=0.9"},
    )
    assert default.body["error"]["message"] == BAD_LOGIN_VI
    assert english.body["error"]["message"] == BAD_LOGIN_EN


# --- session lifetime (S4) -----------------------------------------------------------------------


async def test_idle_session_expires_after_thirty_minutes(people: World) -> None:
    clock = people.server.clock
    client = people.make_client()
    assert (await client.login("alice", PASSWORD)).status == 200
    clock.advance(minutes=29)
    assert (await client.get(ME)).status == 200
    clock.advance(minutes=31)
    reply = await client.get(ME)
    assert reply.status == 401
    assert reply.error_code == "unauthenticated"
    # gone for good: coming back does not revive it
    clock.advance(minutes=-31)
    assert (await client.get(ME)).status == 401
    # and logging in again works
    assert (await client.login("alice", PASSWORD)).status == 200
    assert (await client.get(ME)).status == 200


async def test_activity_keeps_the_session_until_twelve_hours_absolute(people: World) -> None:
    clock = people.server.clock
    client = people.make_client()
    assert (await client.login("alice", PASSWORD)).status == 200
    elapsed = 0
    while elapsed + 20 < 12 * 60:
        clock.advance(minutes=20)
        elapsed += 20
        reply = await client.get(ME)
        assert reply.status == 200, f"refused after {elapsed} minutes of activity"
    assert elapsed == 11 * 60 + 40
    clock.advance(minutes=21)  # 12 h 01 min after login, only 21 min idle
    reply = await client.get(ME)
    assert reply.status == 401
    assert reply.error_code == "unauthenticated"


# --- CSRF and cross-site requests (S6) -----------------------------------------------------------


async def test_cookie_writes_need_the_csrf_token(people: World) -> None:
    client = people.make_client()
    login = await client.login("alice", PASSWORD)
    csrf = login.body["csrf_token"]

    client.csrf = None
    missing = await client.post(TOKENS, {"name": "no-token"})
    assert missing.status == 403
    assert missing.error_code == "csrf"
    wrong = await client.post(
        TOKENS, {"name": "wrong"}, headers={"X-CSRF-Token": csrf[:-1] + ("A" if csrf[-1] != "A" else "B")}
    )
    assert wrong.status == 403
    assert wrong.error_code == "csrf"
    other = people.make_client()
    other_login = await other.login("bob", PASSWORD)
    borrowed = await client.post(
        TOKENS, {"name": "bob's"}, headers={"X-CSRF-Token": other_login.body["csrf_token"]}
    )
    assert borrowed.status == 403
    assert borrowed.error_code == "csrf"
    # a refused write did nothing: logout without the token is refused and the session lives on
    assert (await client.post(LOGOUT)).status == 403
    assert (await client.get(ME)).status == 200

    client.csrf = csrf
    ok = await client.post(TOKENS, {"name": "with-token"})
    assert ok.status == 201, ok.body
    assert ok.body["token"].startswith("cm_")


async def test_cross_site_requests_are_refused_even_with_the_token(people: World) -> None:
    client = people.make_client()
    assert (await client.login("alice", PASSWORD)).status == 200
    origin = str(people.server.url)

    cross = await client.post(TOKENS, {"name": "x"}, headers={"Sec-Fetch-Site": "cross-site"})
    assert cross.status == 403
    assert cross.error_code == "cross_site"
    same_site = await client.post(TOKENS, {"name": "x"}, headers={"Sec-Fetch-Site": "same-site"})
    assert same_site.status == 403
    evil = await client.post(TOKENS, {"name": "x"}, headers={"Origin": "https://evil.example"})
    assert evil.status == 403
    assert evil.error_code == "cross_site"
    other_port = await client.post(TOKENS, {"name": "x"}, headers={"Origin": "http://127.0.0.1:1"})
    assert other_port.status == 403
    null_origin = await client.post(TOKENS, {"name": "x"}, headers={"Origin": "null"})
    assert null_origin.status == 403

    # same-origin controls pass
    same = await client.post(TOKENS, {"name": "x"}, headers={"Sec-Fetch-Site": "same-origin"})
    assert same.status == 201, same.body
    matching = await client.post(TOKENS, {"name": "x"}, headers={"Origin": origin})
    assert matching.status == 201, matching.body
    # reads are not state changes
    read = await client.get(ME, headers={"Sec-Fetch-Site": "cross-site"})
    assert read.status == 200


async def test_every_state_changing_route_refuses_cross_site(people: World) -> None:
    client = people.make_client()
    assert (await client.login("operator", PASSWORD)).status == 200
    unsafe = [spec for spec in ROUTES if spec.method in ("POST", "PUT", "PATCH", "DELETE")]
    assert unsafe, "no state-changing routes registered"
    for spec in unsafe:
        path = re.sub(r"{\w+}", "1", spec.path)
        for headers in ({"Sec-Fetch-Site": "cross-site"}, {"Origin": "https://evil.example"}):
            reply = await client.request(spec.method, path, {}, headers=headers)
            assert reply.status == 403, (spec.method, spec.path, headers, reply.body)
            assert reply.error_code == "cross_site", (spec.method, spec.path, headers)


async def test_cross_site_login_is_refused(people: World) -> None:
    client = people.make_client()
    reply = await client.post(
        LOGIN, {"username": "alice", "password": PASSWORD}, headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert reply.status == 403
    assert reply.error_code == "cross_site"
    assert not set_cookies(reply)


async def test_bearer_token_needs_no_csrf_and_is_refused_when_altered(people: World) -> None:
    browser = people.make_client()
    assert (await browser.login("alice", PASSWORD)).status == 200
    made = await browser.post(TOKENS, {"name": "nightly-export"})
    assert made.status == 201, made.body
    token = made.body["token"]
    assert len(token) >= 3 + 22

    script = people.make_client()
    script.bearer = token
    me = await script.get(ME)
    assert me.status == 200
    assert me.body["user"]["username"] == "alice"
    write = await script.post(TOKENS, {"name": "from-script"})  # no cookie, no X-CSRF-Token
    assert write.status == 201, write.body

    for altered in (token[:-1] + ("A" if token[-1] != "A" else "B"), token + "x", token[3:], "cm_"):
        forged = people.make_client()
        forged.bearer = altered
        reply = await forged.get(ME)
        assert reply.status == 401, altered
        assert reply.error_code == "invalid_token"
        reply = await forged.post(TOKENS, {"name": "forged"})
        assert reply.status == 401
        assert reply.error_code == "invalid_token"


# --- login throttling (S5) -----------------------------------------------------------------------


async def test_account_is_throttled_after_the_failure_limit(
    start_server: Callable[..., Awaitable[Stack]],
) -> None:
    stack = await start_server(login_failures_per_account_per_hour=5)
    await stack.people.add_user("alice")
    await stack.people.add_user("bob")
    client = stack.client()
    for attempt in range(5):
        reply = await client.login("alice", f"wrong-password-{attempt}")
        assert reply.status == 401, (attempt, reply.body)

    throttled = await client.login("alice", PASSWORD)
    assert throttled.status == 429
    assert throttled.error_code == "too_many_attempts"
    retry_after = int(throttled.headers["Retry-After"])
    assert 0 < retry_after <= 3600
    assert str(retry_after) in throttled.body["error"]["message"]
    assert not set_cookies(throttled)
    english = await stack.client("en").login("alice", PASSWORD)
    assert english.status == 429
    assert english.body["error"]["message"].startswith("Too many failed logins")

    # the lock is on the account, not on everyone behind this address
    assert (await stack.client().login("bob", PASSWORD)).status == 200

    stack.server.clock.advance(minutes=30)
    assert (await client.login("alice", PASSWORD)).status == 429
    stack.server.clock.advance(minutes=31)
    reply = await client.login("alice", PASSWORD)
    assert reply.status == 200, reply.body
    assert (await client.get(ME)).status == 200


async def test_address_is_throttled_across_usernames(start_server: Callable[..., Awaitable[Stack]]) -> None:
    stack = await start_server(login_failures_per_account_per_hour=100, login_failures_per_address_per_hour=5)
    await stack.people.add_user("alice")
    client = stack.client()
    for index in range(5):
        reply = await client.login(f"sprayed-{index}", "Password123!")
        assert reply.status == 401, (index, reply.body)
    for username in ("alice", "someone-else"):
        reply = await client.login(username, PASSWORD)
        assert reply.status == 429, (username, reply.body)
        assert reply.error_code == "too_many_attempts"
        assert int(reply.headers["Retry-After"]) > 0
    stack.server.clock.advance(minutes=61)
    assert (await client.login("alice", PASSWORD)).status == 200


# --- TOTP ----------------------------------------------------------------------------------------


async def test_totp_enrolment_then_login_needs_the_code(people: World) -> None:
    clock = people.server.clock
    client = people.make_client()
    assert (await client.login("alice", PASSWORD)).status == 200
    enrol = await client.post("/api/v1/auth/totp")
    assert enrol.status == 200, enrol.body
    secret = enrol.body["secret"]
    assert secret in enrol.body["uri"] and enrol.body["uri"].startswith("otpauth://totp/")

    # not enabled until confirmed: a password alone still logs in
    assert (await people.make_client().login("alice", PASSWORD)).status == 200
    bad = await client.post("/api/v1/auth/totp/confirm", {"otp": other_otp(secret, clock)})
    assert bad.status == 422
    assert bad.error_code == "invalid_otp"
    confirmed = await client.post("/api/v1/auth/totp/confirm", {"otp": pyotp.TOTP(secret).at(clock.now)})
    assert confirmed.status == 200, confirmed.body
    assert confirmed.body["totp_enabled"] is True

    clock.advance(minutes=5)
    fresh = people.make_client()
    wrong_password = await fresh.login("alice", PASSWORD + "x", otp=pyotp.TOTP(secret).at(clock.now))
    no_code = await fresh.login("alice", PASSWORD)
    assert no_code.status == 401
    assert no_code.body == wrong_password.body  # nothing tells that the password was right
    wrong_code = await fresh.login("alice", PASSWORD, otp=other_otp(secret, clock))
    assert wrong_code.status == 401
    assert wrong_code.error_code == "invalid_credentials"
    assert (await fresh.get(ME)).status == 401

    right = await fresh.login("alice", PASSWORD, otp=pyotp.TOTP(secret).at(clock.now))
    assert right.status == 200, right.body
    assert right.body["user"]["totp_enabled"] is True
    assert (await fresh.get(ME)).status == 200
    # an old code (10 minutes ago) is refused
    stale = code_at(secret, clock, -20)
    if stale not in {code_at(secret, clock, steps) for steps in (-1, 0, 1)}:
        assert (await people.make_client().login("alice", PASSWORD, otp=stale)).status == 401


async def test_a_totp_code_is_accepted_once(people: World) -> None:
    clock = people.server.clock
    client = people.make_client()
    assert (await client.login("alice", PASSWORD)).status == 200
    secret = (await client.post("/api/v1/auth/totp")).body["secret"]
    assert (
        await client.post("/api/v1/auth/totp/confirm", {"otp": pyotp.TOTP(secret).at(clock.now)})
    ).status == 200
    clock.advance(minutes=1)
    code = pyotp.TOTP(secret).at(clock.now)
    assert (await people.make_client().login("alice", PASSWORD, otp=code)).status == 200
    # the same code again, still inside its 30-second window: someone who watched it cannot reuse it
    replay = await people.make_client().login("alice", PASSWORD, otp=code)
    assert replay.status == 401
    assert replay.error_code == "invalid_credentials"


async def test_a_stolen_session_cannot_remove_the_second_factor(people: World) -> None:
    clock = people.server.clock
    client = people.make_client()
    assert (await client.login("alice", PASSWORD)).status == 200
    secret = (await client.post("/api/v1/auth/totp")).body["secret"]
    assert (
        await client.post("/api/v1/auth/totp/confirm", {"otp": pyotp.TOTP(secret).at(clock.now)})
    ).status == 200
    clock.advance(minutes=1)
    refused = await client.post("/api/v1/auth/totp")
    assert refused.status == 403
    assert refused.error_code == "otp_required"
    clock.advance(minutes=1)
    # the second factor is still on: a password alone does not log in
    assert (await people.make_client().login("alice", PASSWORD)).status == 401
    replaced = await client.post("/api/v1/auth/totp", {"otp": pyotp.TOTP(secret).at(clock.now)})
    assert replaced.status == 200
    assert replaced.body["secret"] != secret


async def test_logging_in_again_over_a_live_session_needs_no_csrf_token(people: World) -> None:
    client = people.make_client()
    assert (await client.login("alice", PASSWORD)).status == 200
    client.csrf = None  # a login form posted from a tab that still holds a session
    again = await client.post(LOGIN, {"username": "alice", "password": PASSWORD})
    assert again.status == 200, again.body


# --- passwords and accounts ----------------------------------------------------------------------


async def test_operator_cannot_create_a_user_with_a_short_password(people: World) -> None:
    operator = people.make_client()
    assert (await operator.login("operator", PASSWORD)).status == 200
    short = "abcdefghijk"
    assert len(short) == 11
    weak = await operator.post(
        "/api/v1/users", {"username": "newbie", "password": short, "full_name": "Người Mới"}
    )
    assert weak.status == 422
    assert weak.error_code == "weak_password"
    assert "12" in weak.body["error"]["message"]
    # nothing was created
    assert (await people.make_client().login("newbie", short)).status == 401
    strong = "một-mật-khẩu-đủ-dài"
    made = await operator.post(
        "/api/v1/users", {"username": "newbie", "password": strong, "full_name": "Người Mới"}
    )
    assert made.status == 201, made.body
    assert isinstance(made.body["id"], int)
    login = await people.make_client().login("newbie", strong)
    assert login.status == 200, login.body
    assert login.body["user"]["id"] == made.body["id"]
    assert login.body["user"]["is_admin"] is False


async def test_twelve_characters_is_enough(people: World) -> None:
    operator = people.make_client()
    assert (await operator.login("operator", PASSWORD)).status == 200
    made = await operator.post(
        "/api/v1/users", {"username": "carol", "password": "abcdefghijkl", "full_name": "C"}
    )
    assert made.status == 201, made.body
    assert (await people.make_client().login("carol", "abcdefghijkl")).status == 200


async def test_only_the_operator_creates_users(people: World) -> None:
    body = {"username": "sneaky", "password": "một-mật-khẩu-đủ-dài", "full_name": "Kẻ Lạ", "is_admin": True}
    alice = people.make_client()
    assert (await alice.login("alice", PASSWORD)).status == 200
    refused = await alice.post("/api/v1/users", body)
    assert refused.status == 403
    assert refused.error_code == "forbidden"
    anonymous = await people.make_client().post("/api/v1/users", body)
    assert anonymous.status == 401
    assert (await people.make_client().login("sneaky", body["password"])).status == 401
    # nothing was created: the operator can still take the name
    operator = people.make_client()
    assert (await operator.login("operator", PASSWORD)).status == 200
    assert (await operator.post("/api/v1/users", {**body, "is_admin": False})).status == 201


async def test_duplicate_username_is_a_conflict_and_keeps_the_old_password(people: World) -> None:
    operator = people.make_client()
    assert (await operator.login("operator", PASSWORD)).status == 200
    taken = await operator.post(
        "/api/v1/users", {"username": "alice", "password": "mật-khẩu-mới-đủ-dài", "full_name": "A"}
    )
    assert taken.status == 409
    assert taken.error_code == "username_taken"
    assert (await people.make_client().login("alice", "mật-khẩu-mới-đủ-dài")).status == 401
    assert (await people.make_client().login("alice", PASSWORD)).status == 200
