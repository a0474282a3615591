"""S1: unit isolation and role limits, as an authorisation matrix over the register and pilot routes.

Every (actor, route) pair is its own test id. The world is built once per database for the whole
module (a module-scoped copy of the `database_url` + `server` + `world` fixtures), because building
it for each of the several hundred attempts would dominate the suite. Denials change nothing, so
they share the world; the positive controls, which do change it, run last.

Who gets what (the expectations below are the contract):
- an actor who holds nothing on a unit gets 404 with exactly the body of a unit that does not exist,
  on every route, reads and writes alike;
- an auditor reads its subtree (200; the list of grants is the admins') and changes nothing (403);
- a member linked to cell A reads the cell and its eligibility (200), nothing else of A (403: the
  register, applications and grants are for the unit's officers), and nothing of cell B (404);
- the operator (is_admin, no grant) manages structure and accounts: it reads and renames a unit and
  grants roles on it, and gets 403 on every member, eligibility and application route: never a 2xx,
  never member data (product.md "Quality bars": an operator reads no meeting content);
- an anonymous caller gets 401 everywhere.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import pytest_asyncio

from tests.conftest import PG_ADMIN_DSN, _pg_url
from tests.integration import harness
from tests.integration.harness import ApiClient, FakeClock, Reply, RunningServer
from tests.integration.world import MEMBERS, World, build_world

pytestmark = pytest.mark.asyncio(loop_scope="module")

NOT_FOUND_BODY: dict[str, Any] = {
    "error": {"code": "not_found", "message": "Không tìm thấy.", "rule": None, "details": {}}
}
IMPORT_CSV = "Họ và tên,Đảng viên,Lý do\nNgười Nhập Thử Quyền,chính thức,ở nước ngoài\n".encode()
MEMBER_NAMES = {row["full_name"] for rows in MEMBERS.values() for row in rows}


@dataclass(frozen=True)
class Route:
    key: str
    method: str
    path: str  # placeholders: {org}, {member}, {app}
    write: bool
    body: Any = None

    def url(self, targets: Targets) -> str:
        return self.path.format(org=targets.org, member=targets.member, app=targets.app)


@dataclass(frozen=True)
class Targets:
    org: int
    member: int
    app: int


DECISION = {
    "approved": True,
    "decision_no": "15-QĐ/ĐUK",
    "decided_on": "2026-11-20",
    "valid_from": "2026-11-20",
    "valid_to": "2027-11-19",
}

ROUTES: list[Route] = [
    Route("GET org", "GET", "/api/v1/orgs/{org}", False),
    Route("PATCH org", "PATCH", "/api/v1/orgs/{org}", True, {"timezone": "Asia/Ho_Chi_Minh"}),
    Route("GET members", "GET", "/api/v1/orgs/{org}/members", False),
    Route(
        "POST members",
        "POST",
        "/api/v1/orgs/{org}/members",
        True,
        {"full_name": "Người Thử Quyền", "standing": "official", "remote_reason": "abroad"},
    ),
    Route("GET member", "GET", "/api/v1/members/{member}", False),
    Route("PATCH member", "PATCH", "/api/v1/members/{member}", True, {"activity": "active"}),
    Route("POST import", "POST", "/api/v1/orgs/{org}/members/import?filename=x.csv", True, IMPORT_CSV),
    Route("GET eligibility", "GET", "/api/v1/orgs/{org}/eligibility", False),
    Route("GET group-eligibility", "GET", "/api/v1/orgs/{org}/group-eligibility", False),
    Route("GET applications", "GET", "/api/v1/orgs/{org}/pilot-applications", False),
    Route("POST application", "POST", "/api/v1/orgs/{org}/pilot-applications", True, {"kind": "group"}),
    Route("GET application", "GET", "/api/v1/pilot-applications/{app}", False),
    Route("POST decision", "POST", "/api/v1/pilot-applications/{app}/decision", True, DECISION),
    Route(
        "POST revoke", "POST", "/api/v1/pilot-applications/{app}/revoke", True, {"reason": "Kiểm tra quyền"}
    ),
    Route("GET eligibility-flags", "GET", "/api/v1/orgs/{org}/eligibility-flags", False),
    Route("GET grants", "GET", "/api/v1/orgs/{org}/grants", False),
    Route("POST grants", "POST", "/api/v1/orgs/{org}/grants", True, {"user_id": "spare", "role": "auditor"}),
]
BY_KEY = {route.key: route for route in ROUTES}

P_ACTORS = ["sec_a", "deputy_a", "member_a", "auditor_p", "approver_c", "admin_c", "sec_b"]
Q_ACTORS = ["auditor_q", "approver_q", "sec_q"]

# (actor, unit attacked): nothing held there, so every route answers 404.
CROSS_UNIT: list[tuple[str, str]] = [
    *[(actor, "QA") for actor in P_ACTORS],
    *[(actor, "A") for actor in Q_ACTORS],
    ("outsider", "A"),
    ("outsider", "QA"),
    # siblings inside one grassroots committee see nothing of each other
    ("sec_b", "A"),
    ("sec_a", "B"),
    ("member_a", "B"),
]

OPERATOR_2XX = {"GET org": 200, "PATCH org": 200, "GET grants": 200, "POST grants": 201}
# Listing grants (not in api.md) is checked as grant.create: only an admin sees who holds what.
ADMIN_ONLY_READS = {"GET grants"}
MEMBER_A_READS = {"GET org", "GET eligibility", "GET group-eligibility"}

# Positive controls in unit A, in this order (the decision needs the pending application, the
# revocation needs the approval): (route, actor, status).
POSITIVE: list[tuple[str, str, int]] = [
    ("GET org", "sec_a", 200),
    ("PATCH org", "admin_c", 200),
    ("GET members", "sec_a", 200),
    ("POST members", "sec_a", 201),
    ("GET member", "sec_a", 200),
    ("PATCH member", "deputy_a", 200),
    ("POST import", "sec_a", 201),
    ("GET eligibility", "sec_a", 200),
    ("GET group-eligibility", "sec_a", 200),
    ("GET applications", "sec_a", 200),
    ("POST application", "sec_a", 201),
    ("GET application", "sec_a", 200),
    ("POST decision", "approver_c", 200),
    ("POST revoke", "approver_c", 200),
    ("GET eligibility-flags", "approver_c", 200),
    ("GET grants", "admin_c", 200),
    ("POST grants", "admin_c", 201),
]


@dataclass
class Matrix:
    world: World
    targets: dict[str, Targets]
    anonymous: ApiClient
    setup_seq: int

    async def attempt(self, actor: str, unit: str, route: Route, targets: Targets | None = None) -> Reply:
        client = self.anonymous if actor == "anonymous" else await self.world.as_user(actor)
        body = route.body
        if isinstance(body, dict) and body.get("user_id") == "spare":
            body = {**body, "user_id": self.world.users["spare"]}
        url = route.url(targets or self.targets[unit])
        if isinstance(body, bytes):
            return await client.request(route.method, url, data=body, headers={"Content-Type": "text/csv"})
        return await client.request(route.method, url, body if route.write else None)


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=["sqlite", "postgresql"])
async def matrix(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Matrix]:
    data_dir: Path = tmp_path_factory.mktemp("authz")
    pg_name = None
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{data_dir / 'cellmeet.db'}"
    else:
        template = request.getfixturevalue("pg_template")
        pg_name = f"cellmeet_t_{uuid.uuid4().hex[:10]}"
        conn = await asyncpg.connect(PG_ADMIN_DSN)
        await conn.execute(f'CREATE DATABASE "{pg_name}" TEMPLATE "{template}"')
        await conn.close()
        url = _pg_url(pg_name)
    server = await RunningServer.start(harness.test_settings(data_dir, url), FakeClock())
    clients: list[ApiClient] = []

    def make(lang: str = "vi") -> ApiClient:
        client = ApiClient(server.url, lang=lang)
        clients.append(client)
        return client

    try:
        world = await build_world(server, make)
        await world.add_user("spare")  # the user that attempted grants name; holds nothing
        targets: dict[str, Targets] = {}
        for unit, secretary in (("A", "sec_a"), ("B", "sec_b"), ("QA", "sec_q")):
            reply = await (await world.as_user(secretary)).post(
                f"/api/v1/orgs/{world.orgs[unit]}/pilot-applications", {"kind": "online"}
            )
            assert reply.status == 201, reply.body
            targets[unit] = Targets(world.orgs[unit], world.members[unit][0], reply.body["id"])
        log = await (await world.as_user("operator")).get("/api/v1/audit/log?after=0")
        yield Matrix(world, targets, make(), log.body["entries"][-1]["seq"])
    finally:
        for client in clients:
            await client.close()
        await server.stop()
        if pg_name:
            conn = await asyncpg.connect(PG_ADMIN_DSN)
            await conn.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
            await conn.close()


def _ids(cases: list[tuple[Any, ...]]) -> list[str]:
    return [" ".join(str(part) for part in case) for case in cases]


CROSS_CASES = [(actor, unit, route.key) for actor, unit in CROSS_UNIT for route in ROUTES]


@pytest.mark.parametrize(("actor", "unit", "route"), CROSS_CASES, ids=_ids(CROSS_CASES))
async def test_another_units_resource_does_not_exist(
    matrix: Matrix, actor: str, unit: str, route: str
) -> None:
    reply = await matrix.attempt(actor, unit, BY_KEY[route])
    assert reply.status == 404, (actor, unit, route, reply.status, reply.body)
    assert reply.body == NOT_FOUND_BODY


@pytest.mark.parametrize("route", [r.key for r in ROUTES])
async def test_a_missing_resource_answers_exactly_like_another_units(matrix: Matrix, route: str) -> None:
    """S1: the denial is indistinguishable from "does not exist" (same status, same body)."""
    missing = Targets(org=987_654, member=987_654, app=987_654)
    absent = await matrix.attempt("sec_q", "A", BY_KEY[route], missing)
    hidden = await matrix.attempt("sec_q", "A", BY_KEY[route])
    assert (absent.status, absent.body) == (hidden.status, hidden.body) == (404, NOT_FOUND_BODY)


OPERATOR_CASES = [("operator", "QA", route.key) for route in ROUTES]


@pytest.mark.parametrize(("actor", "unit", "route"), OPERATOR_CASES, ids=_ids(OPERATOR_CASES))
async def test_the_operator_manages_structure_and_reads_no_member_data(
    matrix: Matrix, actor: str, unit: str, route: str
) -> None:
    reply = await matrix.attempt(actor, unit, BY_KEY[route])
    expected = OPERATOR_2XX.get(route, 403)
    assert reply.status == expected, (route, reply.status, reply.body)
    text = repr(reply.body)
    assert not any(name in text for name in MEMBER_NAMES), reply.body
    assert "members" not in (reply.body if isinstance(reply.body, dict) else {})


AUDITOR_CASES = [("auditor_p", "A", route.key) for route in ROUTES]


@pytest.mark.parametrize(("actor", "unit", "route"), AUDITOR_CASES, ids=_ids(AUDITOR_CASES))
async def test_the_auditor_reads_its_subtree_and_changes_nothing(
    matrix: Matrix, actor: str, unit: str, route: str
) -> None:
    reply = await matrix.attempt(actor, unit, BY_KEY[route])
    expected = 403 if BY_KEY[route].write or route in ADMIN_ONLY_READS else 200
    assert reply.status == expected, (route, reply.status, reply.body)
    if expected == 403:
        assert reply.error_code == "forbidden"


MEMBER_CASES = [("member_a", "A", route.key) for route in ROUTES]


@pytest.mark.parametrize(("actor", "unit", "route"), MEMBER_CASES, ids=_ids(MEMBER_CASES))
async def test_a_member_reads_its_own_cell_and_changes_nothing(
    matrix: Matrix, actor: str, unit: str, route: str
) -> None:
    reply = await matrix.attempt(actor, unit, BY_KEY[route])
    expected = 200 if route in MEMBER_A_READS else 403
    assert reply.status == expected, (route, reply.status, reply.body)


ANONYMOUS_CASES = [("anonymous", "A", route.key) for route in ROUTES]


@pytest.mark.parametrize(("actor", "unit", "route"), ANONYMOUS_CASES, ids=_ids(ANONYMOUS_CASES))
async def test_an_anonymous_caller_must_log_in(matrix: Matrix, actor: str, unit: str, route: str) -> None:
    reply = await matrix.attempt(actor, unit, BY_KEY[route])
    assert (reply.status, reply.error_code) == (401, "unauthenticated"), (route, reply.body)


async def test_no_denial_changed_anything(matrix: Matrix) -> None:
    """After every attempt above, the only audit rows written are logins and the operator's own changes."""
    operator = await matrix.world.as_user("operator")
    reply = await operator.get(f"/api/v1/audit/log?after={matrix.setup_seq}")
    written = {(e["actor"], e["action"]) for e in reply.body["entries"] if e["action"] != "auth.login"}
    assert written <= {
        (matrix.world.users["operator"], "org.updated"),
        (matrix.world.users["operator"], "grant.created"),
    }
    auditor_p, auditor_q = await matrix.world.as_user("auditor_p"), await matrix.world.as_user("auditor_q")
    for unit, auditor in (("A", auditor_p), ("B", auditor_p), ("QA", auditor_q)):
        members = await auditor.get(f"/api/v1/orgs/{matrix.world.orgs[unit]}/members")
        assert [m["id"] for m in members.body["members"]] == matrix.world.members[unit]
        apps = await auditor.get(f"/api/v1/orgs/{matrix.world.orgs[unit]}/pilot-applications")
        assert [(a["kind"], a["status"]) for a in apps.body["applications"]] == [("online", "pending")]


POSITIVE_CASES = [("A", route, actor, status) for route, actor, status in POSITIVE]


@pytest.mark.parametrize(("unit", "route", "actor", "status"), POSITIVE_CASES, ids=_ids(POSITIVE_CASES))
async def test_positive_controls_in_unit_a(
    matrix: Matrix, unit: str, route: str, actor: str, status: int
) -> None:
    if route == "POST revoke":  # needs the approval; approve here too when this case runs alone
        approval = await matrix.attempt("approver_c", unit, BY_KEY["POST decision"])
        assert approval.status == 200 or approval.error_code == "already_decided", approval.body
    reply = await matrix.attempt(actor, unit, BY_KEY[route])
    assert reply.status == status, (actor, route, reply.status, reply.body)
