"""The `cellmeet` console script as an operator runs it: a subprocess on the test's database (SQLite file or
a fresh PostgreSQL database), with the settings in the environment (api.md "Command line")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncpg

from server.appkeys import DATABASE
from tests.integration import harness
from tests.integration.harness import ApiClient, FakeClock, RunningServer
from tests.integration.helpers import cellmeet
from tests.integration.world import World

PASSWORD = "một-mật-khẩu-rất-dài-cho-quản-trị"


async def sql(database_url: str, statement: str, *params: Any) -> None:
    """Change the database behind the server's back, with the plain driver."""
    if database_url.startswith("sqlite"):
        import sqlite3

        connection = sqlite3.connect(database_url.split(":///", 1)[1])
        try:
            connection.execute(statement.replace("$1", "?").replace("$2", "?"), params)
            connection.commit()
        finally:
            connection.close()
        return
    conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(statement, *params)
    finally:
        await conn.close()


async def test_db_upgrade_then_an_admin_created_on_the_command_line_logs_in(
    database_url: str, tmp_path: Path
) -> None:
    upgraded = await cellmeet(tmp_path, database_url, "db", "upgrade")
    assert upgraded.code == 0, upgraded
    assert "Cơ sở dữ liệu đã được cập nhật" in upgraded.stdout

    created = await cellmeet(
        tmp_path,
        database_url,
        "admin",
        "create-user",
        "--username",
        "quantri",
        "--password-stdin",
        "--full-name",
        "Quản Trị Viên",
        "--admin",
        stdin=PASSWORD + "\n",
    )
    assert created.code == 0, created
    assert "quantri" in created.stdout
    assert PASSWORD not in created.stdout + created.stderr

    server = await RunningServer.start(harness.test_settings(tmp_path, database_url), FakeClock())
    client, stranger = ApiClient(server.url), ApiClient(server.url)
    try:
        login = await client.login("quantri", PASSWORD)
        assert login.status == 200, login.body
        assert (login.body["user"]["username"], login.body["user"]["is_admin"]) == ("quantri", True)
        assert login.body["user"]["full_name"] == "Quản Trị Viên"
        # an admin may build the tree
        reply = await client.post("/api/v1/orgs", {"name": "Tỉnh ủy Dòng Lệnh", "kind": "province"})
        assert reply.status == 201, reply.body
        wrong = await stranger.login("quantri", PASSWORD + "x")
        assert wrong.status == 401
    finally:
        await client.close()
        await stranger.close()
        await server.stop()


async def test_audit_verify_prints_the_head_and_names_an_altered_entry(
    world: World, database_url: str, tmp_path: Path
) -> None:
    operator = await world.as_user("operator")
    entries = (await operator.get("/api/v1/audit/log")).body["entries"]
    intact = await cellmeet(tmp_path, database_url, "audit", "verify")
    assert intact.code == 0, intact
    assert entries[-1]["hash"] in intact.stdout
    assert f"{len(entries)} mục" in intact.stdout

    altered = next(e for e in entries if e["action"] == "member.created")["seq"]
    await sql(database_url, "UPDATE audit_events SET target = $1 WHERE seq = $2", "member:999", altered)
    broken = await cellmeet(tmp_path, database_url, "audit", "verify")
    assert broken.code == 1, broken
    assert f"HỎNG tại mục {altered}:" in broken.stdout, broken
    assert entries[-1]["hash"] not in broken.stdout


async def test_import_members_on_the_command_line_is_all_or_nothing(
    world: World, database_url: str, tmp_path: Path
) -> None:
    sec_a = await world.as_user("sec_a")
    a = world.orgs["A"]

    async def names() -> list[str]:
        return [m["full_name"] for m in (await sec_a.get(f"/api/v1/orgs/{a}/members")).body["members"]]

    before = await names()
    bad = tmp_path / "chi-bo-a.csv"
    bad.write_text(
        "Họ và tên,Đảng viên,Lý do\nCao Văn Dòng,chính thức,ở nước ngoài\nTạ Thị Lệnh,,\n", encoding="utf-8"
    )
    refused = await cellmeet(tmp_path, database_url, "import", "members", "--org", str(a), str(bad))
    assert refused.code == 1, refused
    assert "Dòng 3:" in refused.stderr and "Đảng viên" in refused.stderr, refused
    assert "không có đảng viên nào được nhập" in refused.stderr
    assert await names() == before

    good = tmp_path / "chi-bo-a-sua.csv"
    good.write_text(
        bad.read_text(encoding="utf-8").replace("Tạ Thị Lệnh,,", "Tạ Thị Lệnh,dự bị,"), encoding="utf-8"
    )
    imported = await cellmeet(tmp_path, database_url, "import", "members", "--org", str(a), str(good))
    assert imported.code == 0, imported
    assert "Đã nhập 2 đảng viên" in imported.stdout
    assert await names() == [*before, "Cao Văn Dòng", "Tạ Thị Lệnh"]
    members = {m["full_name"]: m for m in (await sec_a.get(f"/api/v1/orgs/{a}/members")).body["members"]}
    assert (members["Cao Văn Dòng"]["remote_reason"], members["Tạ Thị Lệnh"]["standing"]) == (
        "abroad",
        "probationary",
    )

    # the import is in the audit chain, which still verifies
    log = (await (await world.as_user("operator")).get("/api/v1/audit/log")).body["entries"]
    assert (log[-1]["action"], log[-1]["actor"], log[-1]["data"]["count"]) == ("members.imported", None, 2)
    from server.audit.verify import verify_database

    assert (await verify_database(world.server.app[DATABASE])).ok
