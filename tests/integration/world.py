"""A populated world for integration tests: two provinces, an approving committee, cells and their people.

Users are inserted with one shared password hash (argon2 on every fixture would dominate the suite);
everything else is built through the public API as the operator, so the fixture exercises it too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from server.appkeys import CLOCK, DATABASE
from server.auth.passwords import hash_password_sync
from server.db.tables import User
from tests.integration.harness import ApiClient, RunningServer

PASSWORD = "mật-khẩu-thử-nghiệm-đủ-dài"


@cache
def _password_hash() -> str:
    return hash_password_sync(PASSWORD)


# username -> (org key, role) ; role None = a member account with no grant
PEOPLE: dict[str, tuple[str | None, str | None]] = {
    "operator": (None, None),
    "auditor_p": ("P", "auditor"),
    "approver_c": ("C", "approver"),
    "admin_c": ("C", "admin"),
    "sec_a": ("A", "secretary"),
    "deputy_a": ("A", "deputy_secretary"),
    "member_a": ("A", None),
    "sec_b": ("B", "secretary"),
    "auditor_q": ("Q", "auditor"),
    "approver_q": ("QC", "approver"),
    "sec_q": ("QA", "secretary"),
    "outsider": (None, None),
}

TREE: list[tuple[str, str, str | None, str]] = [
    ("P", "province", None, "Tỉnh ủy Thử Nghiệm"),
    ("C", "committee", "P", "Đảng ủy Khối Cơ quan"),
    ("G", "grassroots", "C", "Đảng bộ Công ty Vận tải Biển"),
    ("A", "cell", "G", "Chi bộ Tàu Biển Đông 01"),
    ("A1", "group", "A", "Tổ đảng số 1"),
    ("B", "cell", "G", "Chi bộ Văn phòng"),
    ("Q", "province", None, "Tỉnh ủy Bên Kia"),
    ("QC", "committee", "Q", "Đảng ủy Khối Doanh nghiệp"),
    ("QA", "cell", "QC", "Chi bộ Kho vận"),
]

# cell A qualifies (4 of 6 remote, with the linked member), cell B does not (1 of 4)
MEMBERS: dict[str, list[dict[str, Any]]] = {
    "A": [
        {"full_name": "Nguyễn Văn Một", "standing": "official", "remote_reason": "seafarer_offshore_island"},
        {"full_name": "Trần Thị Hai", "standing": "official", "remote_reason": "seafarer_offshore_island"},
        {"full_name": "Lê Văn Ba", "standing": "official", "remote_reason": "abroad"},
        {"full_name": "Phạm Thị Bốn", "standing": "official"},
        {"full_name": "Hoàng Văn Năm", "standing": "probationary"},
    ],
    "B": [
        {"full_name": "Đỗ Văn Sáu", "standing": "official", "remote_reason": "far_from_home"},
        {"full_name": "Ngô Thị Bảy", "standing": "official"},
        {"full_name": "Bùi Văn Tám", "standing": "official"},
        {"full_name": "Vũ Thị Chín", "standing": "official"},
    ],
    "QA": [
        {"full_name": "Đặng Văn Mười", "standing": "official", "remote_reason": "abroad"},
    ],
}


@dataclass
class World:
    server: RunningServer
    make_client: Callable[..., ApiClient]
    users: dict[str, int] = field(default_factory=dict)
    orgs: dict[str, int] = field(default_factory=dict)
    members: dict[str, list[int]] = field(default_factory=dict)
    clients: dict[str, ApiClient] = field(default_factory=dict)

    async def as_user(self, username: str, lang: str = "vi") -> ApiClient:
        key = f"{username}:{lang}"
        if key not in self.clients:
            client = self.make_client(lang)
            reply = await client.login(username, PASSWORD)
            assert reply.status == 200, reply.body
            self.clients[key] = client
        return self.clients[key]

    async def add_user(self, username: str, is_admin: bool = False) -> int:
        db = self.server.app[DATABASE]
        async with db.write() as session:
            user = User(
                username=username,
                full_name=username,
                password_hash=_password_hash(),
                is_admin=is_admin,
                created_at=self.server.app[CLOCK](),
            )
            session.add(user)
            await session.flush()
            assert user.id is not None
            self.users[username] = user.id
            return user.id


async def build_world(server: RunningServer, make_client: Callable[..., ApiClient]) -> World:
    world = World(server, make_client)
    for username in PEOPLE:
        await world.add_user(username, is_admin=username == "operator")
    operator = await world.as_user("operator")
    for key, kind, parent, name in TREE:
        body = {"name": name, "kind": kind, "parent_id": world.orgs[parent] if parent else None}
        reply = await operator.post("/api/v1/orgs", body)
        assert reply.status == 201, reply.body
        world.orgs[key] = reply.body["id"]
    for username, (org, role) in PEOPLE.items():
        if org and role:
            reply = await operator.post(
                f"/api/v1/orgs/{world.orgs[org]}/grants", {"user_id": world.users[username], "role": role}
            )
            assert reply.status == 201, reply.body
    for org, rows in MEMBERS.items():
        secretary = await world.as_user({"A": "sec_a", "B": "sec_b", "QA": "sec_q"}[org])
        world.members[org] = []
        for row in rows:
            reply = await secretary.post(f"/api/v1/orgs/{world.orgs[org]}/members", row)
            assert reply.status == 201, reply.body
            world.members[org].append(reply.body["id"])
    sec_a = await world.as_user("sec_a")
    reply = await sec_a.post(
        f"/api/v1/orgs/{world.orgs['A']}/members",
        {
            "full_name": "Đảng Viên Có Tài Khoản",
            "standing": "official",
            "remote_reason": "abroad",
            "user_id": world.users["member_a"],
            "group_id": world.orgs["A1"],
        },
    )
    assert reply.status == 201, reply.body
    world.members["A"].append(reply.body["id"])
    return world
