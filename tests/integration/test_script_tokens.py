"""Script tokens are no longer permanent access (issue 31, part 2): made only with the password entered
again (and the code when two-factor is on), with an expiry, listed and revoked by their owner and the
operator, all revoked when two-factor is turned on, and unable to outlive the token that made them."""

from __future__ import annotations

from collections.abc import Callable

import pyotp
import pytest

from tests.integration.harness import ApiClient, RunningServer
from tests.integration.world import PASSWORD, World

TOKENS = "/api/v1/auth/tokens"
ME = "/api/v1/auth/me"


@pytest.fixture
async def people(server: RunningServer, client_factory: Callable[..., ApiClient]) -> World:
    world = World(server, client_factory)
    await world.add_user("alice")
    await world.add_user("bob")
    await world.add_user("operator", is_admin=True)
    return world


def as_script(world: World, token: str) -> ApiClient:
    script = world.make_client()
    script.bearer = token
    return script


async def test_a_token_needs_the_password_again_once_the_login_is_not_fresh(people: World) -> None:
    alice = await people.as_user("alice")
    people.server.clock.advance(seconds=6 * 60)
    refused = await alice.post(TOKENS, {"name": "nightly"})
    assert refused.status == 403 and refused.error_code == "reauth_required"
    wrong = await alice.post(TOKENS, {"name": "nightly", "password": "not-the-password-at-all"})
    assert wrong.status == 403 and wrong.error_code == "reauth_required"
    made = await alice.post(TOKENS, {"name": "nightly", "password": PASSWORD})
    assert made.status == 201, made.body
    assert made.body["expires_at"] == "2026-12-23T08:06:00Z"  # 30 days from now
    assert (await as_script(people, made.body["token"]).get(ME)).status == 200


async def test_wrong_reentries_end_the_session(people: World) -> None:
    alice = await people.as_user("alice")
    people.server.clock.advance(seconds=6 * 60)
    for _ in range(5):
        reply = await alice.post(TOKENS, {"name": "x", "password": "guess-guess-guess"})
        assert reply.status in (403, 401)
    assert (await alice.get(ME)).status == 401  # a stolen session cannot guess on


async def test_a_token_expires(people: World) -> None:
    alice = await people.as_user("alice")
    made = await alice.post(TOKENS, {"name": "week", "days": 7})
    assert made.status == 201, made.body
    script = as_script(people, made.body["token"])
    people.server.clock.advance(seconds=6 * 86400)
    assert (await script.get(ME)).status == 200
    people.server.clock.advance(seconds=2 * 86400)
    expired = await script.get(ME)
    assert expired.status == 401 and expired.error_code == "token_expired"
    # with no days given, 30
    bob = await people.as_user("bob")
    default = await bob.post(TOKENS, {"name": "month"})
    assert default.status == 201, default.body
    script = as_script(people, default.body["token"])
    people.server.clock.advance(seconds=29 * 86400)
    assert (await script.get(ME)).status == 200
    people.server.clock.advance(seconds=2 * 86400)
    assert (await script.get(ME)).status == 401


async def test_the_owner_lists_and_revokes_and_no_one_else_can(people: World) -> None:
    alice = await people.as_user("alice")
    made = await alice.post(TOKENS, {"name": "export"})
    assert made.status == 201, made.body
    listed = await alice.get(TOKENS)
    assert listed.status == 200
    (entry,) = listed.body["tokens"]
    assert entry["name"] == "export" and entry["revoked_at"] is None
    assert made.body["token"] not in str(listed.body)  # never the token itself

    bob = await people.as_user("bob")
    assert (await bob.get(TOKENS)).body["tokens"] == []
    assert (await bob.request("DELETE", f"{TOKENS}/{entry['id']}")).status == 404
    assert (await as_script(people, made.body["token"]).get(ME)).status == 200

    revoked = await alice.request("DELETE", f"{TOKENS}/{entry['id']}")
    assert revoked.status == 200 and revoked.body["revoked_at"] is not None
    gone = await as_script(people, made.body["token"]).get(ME)
    assert gone.status == 401 and gone.error_code == "invalid_token"


async def test_the_operator_lists_and_revokes_a_users_tokens(people: World) -> None:
    alice = await people.as_user("alice")
    made = await alice.post(TOKENS, {"name": "export"})
    operator = await people.as_user("operator")
    alice_id = people.users["alice"]
    listed = await operator.get(f"/api/v1/users/{alice_id}/tokens")
    assert listed.status == 200
    (entry,) = listed.body["tokens"]
    bob = await people.as_user("bob")
    assert (await bob.get(f"/api/v1/users/{alice_id}/tokens")).status == 403
    assert (await bob.request("DELETE", f"/api/v1/users/{alice_id}/tokens/{entry['id']}")).status == 403
    revoked = await operator.request("DELETE", f"/api/v1/users/{alice_id}/tokens/{entry['id']}")
    assert revoked.status == 200, revoked.body
    assert (await as_script(people, made.body["token"]).get(ME)).status == 401


async def test_turning_on_two_factor_revokes_every_token_and_then_the_code_is_asked(people: World) -> None:
    alice = await people.as_user("alice")
    made = await alice.post(TOKENS, {"name": "before-2fa"})
    script = as_script(people, made.body["token"])
    assert (await script.get(ME)).status == 200

    clock = people.server.clock
    secret = (await alice.post("/api/v1/auth/totp")).body["secret"]
    confirmed = await alice.post("/api/v1/auth/totp/confirm", {"otp": pyotp.TOTP(secret).at(clock.now)})
    assert confirmed.status == 200, confirmed.body
    assert (await script.get(ME)).status == 401

    clock.advance(seconds=6 * 60)
    no_code = await alice.post(TOKENS, {"name": "after", "password": PASSWORD})
    assert no_code.status == 403 and no_code.error_code == "reauth_required"
    code = pyotp.TOTP(secret).at(clock.now)
    with_code = await alice.post(TOKENS, {"name": "after", "password": PASSWORD, "otp": code})
    assert with_code.status == 201, with_code.body


async def test_a_token_made_by_a_token_never_outlives_it(people: World) -> None:
    alice = await people.as_user("alice")
    parent = await alice.post(TOKENS, {"name": "parent", "days": 2})
    child = await as_script(people, parent.body["token"]).post(TOKENS, {"name": "child", "days": 365})
    assert child.status == 201, child.body
    assert child.body["expires_at"] == parent.body["expires_at"]
