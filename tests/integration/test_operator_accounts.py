"""Issue 23, point 2: the operator's accounts. Accounts made from a unit's register with a one-time
activation link each; disabling; a password reset link; two-step reset; linking to the register. Only
the operator may; a link works once and expires; every change is audited with the operator as actor."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from tests.integration.world import PASSWORD, World

NEW_PASSWORD = "mật-khẩu-mới-của-đảng-viên-2026"
LINK = "/api/v1/auth/account-link"


def token_of(link: str) -> str:
    return parse_qs(urlsplit(link).query)["token"][0]


async def audit_entries(world: World) -> list[dict[str, object]]:
    operator = world.make_client()  # a fresh session: a test may have moved the clock past the old one
    assert (await operator.login("operator", PASSWORD)).status == 200
    entries: list[dict[str, object]] = []
    after = 0
    while True:
        page = (await operator.get(f"/api/v1/audit/log?after={after}")).body["entries"]
        if not page:
            return entries
        entries += page
        after = page[-1]["seq"]


async def test_others_get_403_on_every_operator_route(world: World) -> None:
    member = world.members["A"][0]
    target = world.users["member_a"]
    calls = [
        ("GET", "/api/v1/users", None),
        ("GET", f"/api/v1/users/register-candidates?org={world.orgs['A']}", None),
        ("POST", "/api/v1/users/from-register", {"org_id": world.orgs["A"], "member_ids": [member]}),
        ("POST", f"/api/v1/users/{target}/disable", None),
        ("POST", f"/api/v1/users/{target}/enable", None),
        ("POST", f"/api/v1/users/{target}/password-reset", None),
        ("POST", f"/api/v1/users/{target}/totp-reset", None),
        ("PUT", f"/api/v1/users/{target}/member", {"member_id": member}),
    ]
    for who in ("sec_a", "member_a", "auditor_p", "admin_c"):
        client = await world.as_user(who)
        for method, url, body in calls:
            reply = await client.request(method, url, body)
            assert (reply.status, reply.error_code) == (403, "forbidden"), (who, method, url, reply.body)
    anonymous = world.make_client()
    assert (await anonymous.get("/api/v1/users")).status == 401
    # the register is unchanged: nobody got an account
    operator = await world.as_user("operator")
    candidates = await operator.get(f"/api/v1/users/register-candidates?org={world.orgs['A']}")
    assert len(candidates.body["candidates"]) == 5


async def test_accounts_from_the_register_activate_once(world: World) -> None:
    operator = await world.as_user("operator")
    candidates = await operator.get(f"/api/v1/users/register-candidates?org={world.orgs['A']}")
    assert candidates.status == 200, candidates.body
    rows = candidates.body["candidates"]
    assert {row["full_name"] for row in rows} == {
        "Nguyễn Văn Một",
        "Trần Thị Hai",
        "Lê Văn Ba",
        "Phạm Thị Bốn",
        "Hoàng Văn Năm",
    }
    assert set(rows[0]) == {"member_id", "full_name", "org_id", "org_name"}  # names only
    made = await operator.post(
        "/api/v1/users/from-register",
        {"org_id": world.orgs["A"], "member_ids": [row["member_id"] for row in rows]},
    )
    assert made.status == 200, made.body
    accounts = made.body["accounts"]
    assert len(accounts) == 5
    assert {a["username"] for a in accounts} >= {"nguyen.van.mot", "tran.thi.hai", "le.van.ba"}
    assert all(a["activation_link"].startswith("/activate?token=") for a in accounts)
    # they are linked and no longer candidates; not one can log in yet
    again = await operator.get(f"/api/v1/users/register-candidates?org={world.orgs['A']}")
    assert again.body["candidates"] == []
    listed = {a["username"]: a for a in (await operator.get("/api/v1/users")).body["accounts"]}
    first = accounts[0]
    assert listed[first["username"]]["member"]["id"] == first["member_id"]
    assert listed[first["username"]]["activation_pending"] is True
    assert listed[first["username"]]["activated"] is False
    person = world.make_client()
    assert (await person.login(first["username"], "!unset")).status == 401
    # a second batch with an entry that now has an account is refused
    twice = await operator.post(
        "/api/v1/users/from-register", {"org_id": world.orgs["A"], "member_ids": [first["member_id"]]}
    )
    assert (twice.status, twice.error_code) == (409, "already_linked"), twice.body
    # a member of another unit is refused
    other = await operator.post(
        "/api/v1/users/from-register", {"org_id": world.orgs["A"], "member_ids": [world.members["B"][0]]}
    )
    assert other.status == 422, other.body

    token = token_of(first["activation_link"])
    weak = await person.post(LINK, {"token": token, "password": "short"})
    assert (weak.status, weak.error_code) == (422, "weak_password"), weak.body
    used = await person.post(LINK, {"token": token, "password": NEW_PASSWORD})
    assert used.status == 200 and used.body == {"purpose": "activate", "username": first["username"]}
    assert (await person.login(first["username"], NEW_PASSWORD)).status == 200
    replay = await world.make_client().post(LINK, {"token": token, "password": NEW_PASSWORD + "x"})
    assert (replay.status, replay.error_code) == (410, "link_used"), replay.body
    unknown = await world.make_client("en").post(LINK, {"token": "khong-co", "password": NEW_PASSWORD})
    assert (unknown.status, unknown.error_code) == (404, "link_unknown"), unknown.body
    assert "not valid" in unknown.body["error"]["message"]

    # a link expires after seven days
    late = accounts[1]
    world.server.clock.advance(days=7, seconds=1)
    expired = await world.make_client().post(
        LINK, {"token": token_of(late["activation_link"]), "password": NEW_PASSWORD}
    )
    assert (expired.status, expired.error_code) == (410, "link_expired"), expired.body
    assert "hết hạn" in expired.body["error"]["message"]

    entries = await audit_entries(world)
    created = [e for e in entries if e["action"] == "user.created"]
    assert len(created) == 5 and all(e["actor"] == world.users["operator"] for e in created)
    assert "auth.account_activated" in {e["action"] for e in entries}
    assert token not in repr(entries)


async def test_a_password_reset_disable_and_totp_reset(world: World) -> None:
    operator = await world.as_user("operator")
    target = world.users["member_a"]
    member_session = world.make_client()
    assert (await member_session.login("member_a", PASSWORD)).status == 200

    reset = await operator.post(f"/api/v1/users/{target}/password-reset")
    assert reset.status == 200 and reset.body["link"].startswith("/reset?token="), reset.body
    # until the new password is set, the old one still works
    assert (await world.make_client().login("member_a", PASSWORD)).status == 200
    used = await world.make_client().post(
        LINK, {"token": token_of(reset.body["link"]), "password": NEW_PASSWORD}
    )
    assert used.status == 200 and used.body["purpose"] == "reset", used.body
    assert (await world.make_client().login("member_a", PASSWORD)).status == 401
    assert (await world.make_client().login("member_a", NEW_PASSWORD)).status == 200
    assert (await member_session.get("/api/v1/auth/me")).status == 401  # its sessions ended

    disabled = await operator.post(f"/api/v1/users/{target}/disable")
    assert disabled.status == 200 and disabled.body["disabled"] is True, disabled.body
    refused = await world.make_client().login("member_a", NEW_PASSWORD)
    assert (refused.status, refused.error_code) == (403, "account_disabled"), refused.body
    no_link = await operator.post(f"/api/v1/users/{target}/password-reset")
    assert no_link.status == 404 and no_link.error_code == "account_disabled"
    own = await operator.post(f"/api/v1/users/{world.users['operator']}/disable")
    assert own.status == 409
    enabled = await operator.post(f"/api/v1/users/{target}/enable")
    assert enabled.status == 200 and enabled.body["disabled"] is False
    assert (await world.make_client().login("member_a", NEW_PASSWORD)).status == 200

    totp = await operator.post(f"/api/v1/users/{target}/totp-reset")
    assert totp.status == 200 and totp.body["totp_enabled"] is False

    # relink member_a to another register entry, then unlink
    entry = world.members["B"][0]
    linked = await operator.put(f"/api/v1/users/{target}/member", {"member_id": entry})
    assert linked.status == 200 and linked.body["member"]["id"] == entry, linked.body
    listed = {a["id"]: a for a in (await operator.get("/api/v1/users")).body["accounts"]}
    assert listed[target]["member"]["id"] == entry
    taken = await operator.put(f"/api/v1/users/{world.users['sec_b']}/member", {"member_id": entry})
    assert (taken.status, taken.error_code) == (409, "already_linked")
    unlinked = await operator.put(f"/api/v1/users/{target}/member", {"member_id": None})
    assert unlinked.status == 200 and unlinked.body["member"] is None

    actions = [
        (e["action"], e["actor"]) for e in await audit_entries(world) if e["target"] == f"user:{target}"
    ]
    op = world.users["operator"]
    for action in (
        "user.password_reset_issued",
        "user.disabled",
        "user.enabled",
        "user.totp_reset",
        "user.member_linked",
        "user.member_unlinked",
    ):
        assert (action, op) in actions, action
    assert ("auth.password_reset", target) in actions
