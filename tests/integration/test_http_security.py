"""HTTP hardening seen from outside: headers, limits, error shapes, health, metrics, OpenAPI, settings, logs.

A real server over loopback on both databases (the `database_url` fixture), no mocks.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text

from server.api.routes import ROUTES
from server.appkeys import DATABASE
from server.settings import UnsafeSettings, load_settings
from tests.integration.harness import ApiClient, Reply, RunningServer
from tests.integration.world import PASSWORD, World

LOGIN = "/api/v1/auth/login"
MIB = 1024 * 1024


def csp_directives(reply: Reply) -> dict[str, list[str]]:
    policy = reply.headers.get("Content-Security-Policy", "")
    directives: dict[str, list[str]] = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            directives[words[0].lower()] = words[1:]
    return directives


def assert_security_headers(reply: Reply) -> None:
    csp = csp_directives(reply)
    assert csp, f"no Content-Security-Policy on {reply.status}"
    script_src = csp.get("script-src", csp.get("default-src"))
    assert script_src, "neither script-src nor default-src"
    assert "'unsafe-inline'" not in script_src
    assert "'unsafe-eval'" not in script_src
    assert "*" not in script_src
    assert csp.get("frame-ancestors") == ["'none'"]
    assert csp.get("object-src") == ["'none'"]
    assert reply.headers.get("X-Content-Type-Options") == "nosniff"
    assert reply.headers.get("Referrer-Policy") == "no-referrer"


@pytest.fixture
async def people(server: RunningServer, client_factory: Callable[..., ApiClient]) -> World:
    world = World(server, client_factory)
    await world.add_user("alice")
    await world.add_user("operator", is_admin=True)
    return world


async def test_security_headers_on_api_responses_and_healthz(people: World) -> None:
    anonymous = people.make_client()
    alice = await people.as_user("alice")
    replies = {
        "healthz": await anonymous.get("/healthz"),
        "me": await alice.get("/api/v1/auth/me"),
        "401": await anonymous.get("/api/v1/auth/me"),
        "404": await anonymous.get("/api/v1/no-such-thing"),
        "login-failure": await anonymous.login("alice", "not-the-password"),
    }
    replies["page-404"] = await anonymous.get("/no-such-page")
    replies["page-405"] = await anonymous.request("DELETE", "/healthz")
    for name, reply in replies.items():
        assert_security_headers(reply), name
    # over plain http no HSTS is promised (it would be ignored anyway)
    assert "Strict-Transport-Security" not in replies["healthz"].headers


async def test_body_over_one_mebibyte_is_413_with_an_error_code(people: World) -> None:
    client = people.make_client()
    prefix, suffix = b'{"username": "', b'", "password": "x"}'

    def body(size: int) -> io.BytesIO:
        return io.BytesIO(prefix + b"a" * (size - len(prefix) - len(suffix)) + suffix)

    at_limit = await client.post(LOGIN, data=body(MIB), headers={"Content-Type": "application/json"})
    assert at_limit.status == 422, at_limit.status  # read in full, then refused by validation
    assert at_limit.error_code == "validation_error"

    over = await client.post(LOGIN, data=body(MIB + 1), headers={"Content-Type": "application/json"})
    assert over.status == 413
    assert over.error_code == "too_large"
    assert over.body["error"]["message"]

    alice = await people.as_user("alice")
    big = await alice.post(
        "/api/v1/auth/tokens", data=body(2 * MIB), headers={"Content-Type": "application/json"}
    )
    assert big.status == 413
    assert big.error_code == "too_large"
    # the server is still fine afterwards
    assert (await client.get("/healthz")).body == {"status": "ok"}


@pytest.mark.parametrize(
    "raw", [b"{not json", b'{"username": "alice",}', b"\xff\xfe{}", b'["alice"]', b'"alice"']
)
async def test_malformed_json_is_422_invalid_json(people: World, raw: bytes) -> None:
    client = people.make_client()
    reply = await client.post(LOGIN, data=raw, headers={"Content-Type": "application/json"})
    assert reply.status == 422, reply.body
    assert reply.error_code == "invalid_json"
    english = await people.make_client("en").post(
        LOGIN, data=raw, headers={"Content-Type": "application/json"}
    )
    assert english.body["error"]["message"].startswith("The body")


async def test_unknown_api_path_is_a_json_404(people: World) -> None:
    client = people.make_client()
    for path in ("/api/v1/no-such-thing", "/api/v1/orgs/1/no-such-thing", "/api/v2/orgs"):
        reply = await client.get(path)
        assert reply.status == 404, path
        assert reply.error_code == "not_found", path
        assert set(reply.body["error"]) == {"code", "message", "rule", "details"}
    wrong_method = await client.request("DELETE", "/api/v1/auth/me")
    assert wrong_method.status == 405
    assert wrong_method.error_code == "method_not_allowed"


async def test_non_numeric_id_is_404(people: World) -> None:
    operator = await people.as_user("operator")
    ids = (
        "abc",
        "1.5",
        "-1",
        "1e3",
        "%20",
        "%C2%B2",
        "%D9%A1",
        "2147483648",
        "9999999999",
        "99999999999999999999999",
    )
    for raw in ids:
        reply = await operator.get(f"/api/v1/orgs/{raw}")
        assert reply.status == 404, (raw, reply.status, reply.body)
        assert reply.error_code == "not_found"
    unknown = await operator.get("/api/v1/orgs/987654")
    assert unknown.status == 404
    assert (await operator.get("/api/v1/orgs/abc")).body == unknown.body


async def test_hostile_input_is_refused_alike_on_both_databases(people: World) -> None:
    """Input PostgreSQL cannot store, or Python cannot parse, is a 4xx on both databases, never a 500."""
    anonymous = people.make_client()
    nul_login = await anonymous.post(LOGIN, {"username": "al\x00ice", "password": "x"})
    assert nul_login.status == 422, nul_login.body
    assert nul_login.error_code == "validation_error"
    deep = b'{"username": ' + b"[" * 100_000 + b"]" * 100_000 + b', "password": "x"}'
    nested = await anonymous.post(LOGIN, data=io.BytesIO(deep), headers={"Content-Type": "application/json"})
    assert nested.status == 422, nested.body
    assert nested.error_code == "invalid_json"

    operator = await people.as_user("operator")
    nul_name = await operator.post(
        "/api/v1/users", {"username": "nul", "password": PASSWORD, "full_name": "A\x00B"}
    )
    assert nul_name.status == 422, nul_name.body
    for parent_id in (2**31, 2**62, -(2**40)):
        huge = await operator.post(
            "/api/v1/orgs", {"name": "Tỉnh X", "kind": "province", "parent_id": parent_id}
        )
        assert huge.status == 422, (parent_id, huge.body)
        assert huge.error_code == "validation_error"
    for after in ("%C2%B2", "99999999999", "-5", "abc"):
        log_page = await operator.get(f"/api/v1/audit/log?after={after}")
        assert log_page.status == 200, (after, log_page.body)
    # what is refused is only the unstorable: the user named above can still be made
    assert (
        await operator.post("/api/v1/users", {"username": "nul", "password": PASSWORD, "full_name": "AB"})
    ).status == 201


async def test_unexpected_error_is_generic_with_an_incident_id_in_the_log(
    people: World, caplog: pytest.LogCaptureFixture
) -> None:
    """A fault under the server (its table for script tokens disappears) must not leak internals."""
    alice = await people.as_user("alice")
    async with people.server.app[DATABASE].write() as session:
        await session.execute(text("DROP TABLE api_tokens"))
    caplog.set_level(logging.INFO)
    for lang in ("vi", "en"):
        client = await people.as_user("alice", lang) if lang == "en" else alice
        reply = await client.post("/api/v1/auth/tokens", {"name": "boom"})
        assert reply.status == 500
        assert reply.error_code == "internal_error"
        incident = reply.body["error"]["details"]["incident"]
        assert re.fullmatch(r"[0-9a-f]{8,}", incident)
        message = reply.body["error"]["message"]
        assert incident in message
        assert ("Incident id" in message) == (lang == "en")
        for leak in ("api_tokens", "Traceback", "sqlalchemy", "SELECT", "INSERT", "sqlite", "asyncpg"):
            assert leak.lower() not in str(reply.body).lower(), leak
        assert_security_headers(reply)
        logged = [record for record in caplog.records if incident in record.getMessage()]
        assert len(logged) == 1
        assert logged[0].levelno == logging.ERROR
        assert logged[0].exc_info is not None  # the trace is in the log, not in the answer
    # the rest of the server still answers
    assert (await alice.get("/api/v1/auth/me")).status == 200


async def test_healthz(server: RunningServer, client_factory: Callable[..., ApiClient]) -> None:
    reply = await client_factory().get("/healthz")
    assert reply.status == 200
    assert reply.body == {"status": "ok"}


async def test_metrics_count_requests(
    server: RunningServer, client_factory: Callable[..., ApiClient]
) -> None:
    client = client_factory()
    assert (await client.get("/healthz")).status == 200
    assert (await client.get("/api/v1/orgs/123")).status == 401
    reply = await client.get("/metrics")
    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("text/plain")
    metrics = reply.body.decode()
    assert "# TYPE cellmeet_http_requests_total counter" in metrics
    assert re.search(
        r'cellmeet_http_requests_total\{method="GET",route="/healthz",status="200"\} [1-9]', metrics
    )
    # route templates, never raw ids, in the labels
    assert 'route="/api/v1/orgs/{id}"' in metrics
    assert "/api/v1/orgs/123" not in metrics


async def test_openapi_documents_every_api_route(
    server: RunningServer, client_factory: Callable[..., ApiClient]
) -> None:
    reply = await client_factory().get("/api/openapi.json")
    assert reply.status == 200
    document = reply.body
    assert str(document["openapi"]).startswith("3.")
    assert document["info"]["title"]
    api_routes = [spec for spec in ROUTES if spec.path.startswith("/api/v1")]
    assert len(api_routes) >= 10
    missing = []
    for spec in api_routes:
        operation = document["paths"].get(spec.path, {}).get(spec.method.lower())
        if operation is None:
            missing.append(f"{spec.method} {spec.path}")
            continue
        assert operation.get("summary"), f"{spec.method} {spec.path} has no summary"
        if spec.body is not None:
            ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            assert ref.rsplit("/", 1)[-1] in document["components"]["schemas"]
        for name in re.findall(r"{(\w+)}", spec.path):
            assert any(p["name"] == name and p["in"] == "path" for p in operation.get("parameters", [])), (
                spec.path
            )
    assert not missing, missing
    documented = {(path, method) for path, item in document["paths"].items() for method in item}
    registered = {(spec.path, spec.method.lower()) for spec in api_routes}
    assert documented == registered


async def test_settings_refuse_a_weak_secret(database_url: str, tmp_path: Path) -> None:
    env = {"CELLMEET_DATA_DIR": str(tmp_path), "CELLMEET_DATABASE_URL": database_url}
    with pytest.raises(UnsafeSettings):
        load_settings({**env, "CELLMEET_SECRET_KEY": "short"})
    with pytest.raises(UnsafeSettings):
        load_settings({**env, "CELLMEET_SECRET_KEY": "x" * 31})
    strong = "s" * 48
    settings = load_settings({**env, "CELLMEET_SECRET_KEY": strong})
    assert settings.database_url == database_url
    assert settings.secret_key.value == strong
    assert strong not in repr(settings)
    # without a key one is generated, kept private, and reused
    generated = load_settings(env)
    assert len(generated.secret_key.value) >= 32
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    assert load_settings(env).secret_key.value == generated.secret_key.value


async def test_no_secret_appears_in_the_logs_of_a_login_flow(
    people: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="cellmeet")
    caplog.set_level(logging.INFO)
    wrong_password = "an-attempted-p4ssword-that-is-wrong"
    client = people.make_client()
    assert (await client.login("alice", wrong_password)).status == 401
    reply = await client.login("alice", PASSWORD)
    assert reply.status == 200
    cookie = next(
        header.split(";")[0].split("=", 1)[1]
        for header in reply.headers.getall("Set-Cookie")
        if header.startswith("cellmeet_session=")
    )
    csrf = reply.body["csrf_token"]
    assert (await client.get("/api/v1/auth/me")).status == 200
    made = await client.post("/api/v1/auth/tokens", {"name": "logs"})
    assert made.status == 201
    token = made.body["token"]
    script = people.make_client()
    script.bearer = token
    assert (await script.get("/api/v1/auth/me")).status == 200
    forged = people.make_client()
    forged.bearer = token + "x"
    assert (await forged.get("/api/v1/auth/me")).status == 401
    assert (await client.post("/api/v1/auth/logout")).status == 200
    assert (
        await people.make_client().get("/api/v1/auth/me", headers={"Cookie": f"cellmeet_session={cookie}"})
    ).status == 401

    logged = "\n".join([record.getMessage() for record in caplog.records] + [caplog.text])
    assert "login ok" in logged
    # the one failure is logged once, with the account and a hash of the address, not the address
    failures = [record.getMessage() for record in caplog.records if "login failed" in record.getMessage()]
    assert len(failures) == 1
    assert "alice" in failures[0] and "127.0.0.1" not in failures[0]
    for secret in (PASSWORD, wrong_password, cookie, csrf, token, token.removeprefix("cm_")):
        assert secret not in logged
