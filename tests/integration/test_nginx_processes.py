"""The shipped upstream (deploy/nginx-cellmeet-upstream.conf) in a real nginx in front of two real
cellmeet processes on one PostgreSQL and one Redis (issue 26): requests from one client address reach
both processes (no stickiness), and once one process is gone every request is still answered, by the
other, without a 502; the dead process is tried once and then skipped.

The configuration is built the way docs/operator-guide.md "Running several processes" says: the shipped
site and the shipped upstream file included in nginx's http context, each `proxy_pass` of the site
pointed at `cellmeet_processes`, `Connection ""` added where the site does not upgrade to WebSocket.
For the test only the listen lines (127.0.0.1, free ports), the certificate and the upstream's two
ports are changed. The access log names the process (or processes) of every request.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import ssl
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest

from server.settings import Secret
from tests.integration import harness
from tests.integration.harness import FakeClock, RunningServer, free_port
from tests.integration.nginx_helpers import (
    DEPLOY,
    SITE,
    main_config,
    make_certificate,
    replace_checked,
    running_nginx,
)

UPSTREAM = DEPLOY / "nginx-cellmeet-upstream.conf"
REDIS = "redis://127.0.0.1:6379/0"
SERVER_SECONDS = 10.0  # a cellmeet started or stopped
REQUESTS = 20
REQUEST_SECONDS = 5.0
LOG_SECONDS = 5.0

pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


@dataclass
class Processes:
    """Two in-process cellmeet servers sharing the database, the secret key, the data directory and a
    Redis prefix of their own; `stop` one to see it gone."""

    running: list[RunningServer] = field(default_factory=list)
    stopped: list[RunningServer] = field(default_factory=list)

    def ports(self) -> list[int]:
        ports = [server.url.port for server in self.running]
        assert all(port is not None for port in ports)
        return [port for port in ports if port is not None]

    async def stop(self, server: RunningServer) -> None:
        self.stopped.append(server)
        await asyncio.wait_for(server.stop(), SERVER_SECONDS)


@pytest.fixture
async def processes(database_url: str, tmp_path: Path) -> AsyncIterator[Processes]:
    data = tmp_path / "cellmeet"
    data.mkdir()
    secret = Secret(secrets.token_urlsafe(48))
    prefix = f"cellmeet-test-{uuid.uuid4().hex[:10]}"
    clock = FakeClock()
    started = Processes()
    try:
        for _ in range(2):
            settings = harness.test_settings(
                data, database_url, secret_key=secret, redis_url=Secret(REDIS), redis_prefix=prefix,
                trusted_proxies=("127.0.0.1",),
            )  # fmt: skip
            server = await asyncio.wait_for(RunningServer.start(settings, clock), SERVER_SECONDS)
            started.running.append(server)
        yield started
    finally:
        for server in started.running:
            if server not in started.stopped:
                await asyncio.wait_for(server.stop(), SERVER_SECONDS)


def site_for_processes(site: str) -> str:
    """The operator's change to the shipped site: every `proxy_pass` to the upstream, and
    `Connection ""` (keepalive to the processes) in each location but the WebSocket one."""
    lines: list[str] = []
    location, changed = None, []
    for line in site.splitlines():
        opened = re.fullmatch(r"\s*location (\S+) \{", line)
        location = opened[1] if opened else location
        proxied = re.fullmatch(r"(\s*)proxy_pass http://127\.0\.0\.1:8080;", line)
        if proxied is None:
            lines.append(line)
            continue
        lines.append(f"{proxied[1]}proxy_pass http://cellmeet_processes;")
        if location != "/socket.io/":
            lines.append(f'{proxied[1]}proxy_set_header Connection "";')
        changed.append(location)
    # A changed site stops the test instead of being tested half-substituted.
    assert changed == ["/", "/metrics", "/socket.io/"], changed
    changed_site = "\n".join(lines) + "\n"
    assert len(re.findall(r"proxy_pass ", changed_site)) == len(changed)
    return changed_site


def config_for_test(folder: Path, tls_port: int, http_port: int, process_ports: list[int]) -> Path:
    """nginx's file: the upstream file and the site as the guide says, with the test's ports and
    certificate."""
    cert_file, key_file = make_certificate(folder, ["127.0.0.1"])
    site = site_for_processes(SITE.read_text())
    site = replace_checked(r"^(\s*)listen 443 ([^;]*);$", rf"\1listen 127.0.0.1:{tls_port} \2;", site)
    site = replace_checked(r"^(\s*)listen 80;$", rf"\1listen 127.0.0.1:{http_port};", site)
    site = replace_checked(r"^(\s*)ssl_certificate\s+\S+;$", rf"\1ssl_certificate {cert_file};", site)
    site = replace_checked(r"^(\s*)ssl_certificate_key\s+\S+;$", rf"\1ssl_certificate_key {key_file};", site)
    ports = iter(process_ports)
    upstream = replace_checked(
        r"^(\s*server )127\.0\.0\.1:\d+( [^;]*)?;$",
        lambda server: f"{server[1]}127.0.0.1:{next(ports)}{server[2] or ''};",
        UPSTREAM.read_text(),
        len(process_ports),
    )
    (folder / "upstream.conf").write_text(upstream)
    (folder / "site.conf").write_text(site)
    return main_config(folder, folder / "upstream.conf", folder / "site.conf")


@dataclass(frozen=True)
class Nginx:
    port: int
    cafile: Path
    access_log: Path


@pytest.fixture
async def nginx(tmp_path: Path, processes: Processes) -> AsyncIterator[Nginx]:
    folder = tmp_path / "nginx"
    folder.mkdir()
    tls_port, http_port = free_port(), free_port()
    config = config_for_test(folder, tls_port, http_port, processes.ports())
    async with running_nginx(folder, config, tls_port):  # `nginx -t` first: it must load as it is
        yield Nginx(tls_port, folder / "fullchain.pem", folder / "access.log")


@dataclass(frozen=True)
class Logged:
    status: int
    tried: list[int]  # the processes' ports nginx tried, in order (the last one answered)


async def access_lines(nginx: Nginx, count: int) -> list[Logged]:
    """The first `count` /healthz lines of the access log (nginx_helpers.ACCESS_FORMAT). nginx writes a
    request's line after its answer has gone, so the last ones may take a moment."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + LOG_SECONDS
    while True:
        logged = []
        for line in nginx.access_log.read_text().splitlines():
            found = re.fullmatch(r'(\d+) "GET /healthz HTTP/1\.1" upstream=(.*) upstream_status=.*', line)
            if found:
                tried = [int(address.rsplit(":", 1)[1]) for address in found[2].split(", ")]
                logged.append(Logged(int(found[1]), tried))
        if len(logged) >= count or loop.time() > deadline:
            assert len(logged) == count, logged
            return logged
        await asyncio.sleep(0.02)


async def healthz_statuses(http: aiohttp.ClientSession, nginx: Nginx, count: int) -> list[int]:
    """GET /healthz through nginx over TLS, one after the other: the statuses."""
    statuses = []
    for _ in range(count):
        async with http.get(f"https://127.0.0.1:{nginx.port}/healthz") as response:
            await response.read()
            statuses.append(response.status)
    return statuses


async def websocket_opens(http: aiohttp.ClientSession, nginx: Nginx) -> None:
    """A WebSocket through the site's /socket.io/ location reaches a process: engine.io's open packet."""
    url = f"wss://127.0.0.1:{nginx.port}/socket.io/?EIO=4&transport=websocket"
    async with http.ws_connect(url, headers={"Host": "cellmeet.example.vn"}) as socket:
        opened = await socket.receive(timeout=REQUEST_SECONDS)
        assert opened.type == aiohttp.WSMsgType.TEXT and opened.data.startswith("0{"), opened


async def test_requests_reach_both_processes_and_the_live_one_when_the_other_is_gone(
    nginx: Nginx, processes: Processes
) -> None:
    first, second = processes.ports()
    context = ssl.create_default_context(cafile=str(nginx.cafile))
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(ssl=context),
        headers={"Host": "cellmeet.example.vn"},
        timeout=aiohttp.ClientTimeout(total=REQUEST_SECONDS),
    ) as http:
        # Both processes serve one client address: nothing pins it to one of them.
        assert await healthz_statuses(http, nginx, REQUESTS) == [200] * REQUESTS
        before = await access_lines(nginx, REQUESTS)
        assert [line.status for line in before] == [200] * REQUESTS
        served = [line.tried[-1] for line in before]
        assert {first, second} == set(served), served
        await websocket_opens(http, nginx)

        # One process gone (its port refuses connections): every request is still answered, by the
        # other; the dead one is tried once and then skipped for the upstream's fail_timeout.
        await processes.stop(processes.running[0])
        loop = asyncio.get_running_loop()
        stopped_at = loop.time()
        assert await healthz_statuses(http, nginx, REQUESTS) == [200] * REQUESTS
        elapsed = loop.time() - stopped_at
        after = (await access_lines(nginx, 2 * REQUESTS))[REQUESTS:]
        assert [line.status for line in after] == [200] * REQUESTS
        assert {line.tried[-1] for line in after} == {second}, after
        # max_fails=1: one failure and the process is skipped for the shipped fail_timeout.
        fail_timeout = {int(seconds) for seconds in re.findall(r"fail_timeout=(\d+)s", UPSTREAM.read_text())}
        assert len(fail_timeout) == 1, fail_timeout
        tries_of_dead = sum(line.tried.count(first) for line in after)
        assert 1 <= tries_of_dead <= 1 + elapsed // fail_timeout.pop(), (after, elapsed)
        await websocket_opens(http, nginx)
