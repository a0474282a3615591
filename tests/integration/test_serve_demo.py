"""`cellmeet serve --demo`, what `make run` starts: a subprocess on a free port, demo data, logins."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from meetings.agenda_templates import builtin
from tests.integration.harness import free_port


async def _wait_healthy(url: str, process: asyncio.subprocess.Process) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(200):
            if process.returncode is not None:
                raise AssertionError(f"server exited with {process.returncode}")
            try:
                async with http.get(url + "/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError("server did not become healthy in 20 s")


@pytest.fixture
async def demo_server(tmp_path: Path) -> AsyncIterator[tuple[str, str]]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CELLMEET_")}
    env["CELLMEET_DATA_DIR"] = str(tmp_path)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server.cli",
        "serve",
        "--demo",
        "--port",
        str(port),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        await _wait_healthy(url, process)
        yield url, (tmp_path / "demo-logins.txt").read_text()
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 15)
        assert process.stdout is not None
        await process.stdout.read()


def _password(logins: str, username: str) -> str:
    match = re.search(rf"^{username}\s+(\S+)", logins, re.MULTILINE)
    assert match, logins
    return match.group(1)


async def test_demo_seeds_a_qualifying_cell_abroad_and_a_domestic_cell_that_does_not(
    demo_server: tuple[str, str],
) -> None:
    url, logins = demo_server
    assert {"quantri", "bithu", "pheduyet", "kiemtra"} <= set(re.findall(r"^(\w+)\s", logins, re.MULTILINE))
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        login = {"username": "kiemtra", "password": _password(logins, "kiemtra")}
        async with http.post(url + "/api/v1/auth/login", json=login) as response:
            assert response.status == 200
        async with http.get(url + "/api/v1/orgs") as response:
            orgs = (await response.json())["orgs"]
        kinds = {org["kind"] for org in orgs}
        assert {"province", "committee", "grassroots", "cell"} <= kinds
        outcomes = {}
        for cell in (org for org in orgs if org["kind"] == "cell"):
            async with http.get(f"{url}/api/v1/orgs/{cell['id']}/eligibility") as response:
                outcomes[cell["name"]] = (await response.json())["outcome"]
            async with http.get(f"{url}/api/v1/orgs/{cell['id']}") as response:
                outcomes[cell["name"] + " approved"] = (await response.json())["pilot"]["online"]["approved"]
    assert outcomes == {
        "Chi bộ Lao động tại Hàn Quốc": True,
        "Chi bộ Lao động tại Hàn Quốc approved": True,
        "Chi bộ Văn phòng Công ty": False,
        "Chi bộ Văn phòng Công ty approved": False,
    }


async def test_audit_verify_passes_on_the_demo_database(demo_server: tuple[str, str], tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CELLMEET_")}
    env["CELLMEET_DATA_DIR"] = str(tmp_path)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server.cli",
        "audit",
        "verify",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=env,
    )
    out, _ = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, out.decode()
    assert re.search(r"nguyên vẹn: \d+ mục, mã băm đầu chuỗi [0-9a-f]{64}", out.decode())


async def test_demo_has_an_online_meeting_scheduled_for_the_cell_abroad(demo_server: tuple[str, str]) -> None:
    url, logins = demo_server
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        login = {"username": "bithu", "password": _password(logins, "bithu")}
        async with http.post(url + "/api/v1/auth/login", json=login) as response:
            assert response.status == 200
        async with http.get(url + "/api/v1/orgs") as response:
            [cell] = [org for org in (await response.json())["orgs"] if org["kind"] == "cell"]
        async with http.get(f"{url}/api/v1/orgs/{cell['id']}/meetings") as response:
            [meeting] = (await response.json())["meetings"]
        assert (meeting["mode"], meeting["status"], meeting["kind"]) == ("online", "scheduled", "regular")
        async with http.get(f"{url}/api/v1/meetings/{meeting['id']}") as response:
            detail = await response.json()
        assert detail["timezone"] == "Asia/Seoul" and "T20:00" in detail["starts_at_local"]
        async with http.get(f"{url}/api/v1/meetings/{meeting['id']}/agenda") as response:
            items = (await response.json())["items"]
        # The demo's agenda is copied from the built-in regular template (R-AGENDA-2..4).
        assert [item["title"] for item in items] == [item.title.vi for item in builtin("regular").items]


async def test_demo_members_can_enter_the_meeting_room(demo_server: tuple[str, str]) -> None:
    url, logins = demo_server
    for username in ("bithu", "dangvien1", "dangvien2"):
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            login = {"username": username, "password": _password(logins, username)}
            async with http.post(url + "/api/v1/auth/login", json=login) as response:
                assert response.status == 200
                csrf = (await response.json())["csrf_token"]
            async with http.get(url + "/api/v1/orgs") as response:
                [cell] = [org for org in (await response.json())["orgs"] if org["kind"] == "cell"]
            async with http.get(f"{url}/api/v1/orgs/{cell['id']}/meetings") as response:
                [meeting] = (await response.json())["meetings"]
            async with http.get(f"{url}/meetings/{meeting['id']}/room") as response:
                assert response.status == 200
            ticket_path = f"{url}/api/v1/meetings/{meeting['id']}/join-ticket"
            async with http.post(ticket_path, json={}, headers={"X-CSRF-Token": csrf}) as response:
                assert response.status == 201, await response.text()
