"""The shipped nginx site (deploy/nginx-cellmeet.conf) in a real nginx in front of a real cellmeet:
`/metrics` answers loopback and refuses every other address (issue 23, point 5).

The site file is used as shipped, with only its listen addresses, certificate and upstream port
changed for the test: nginx listens on 127.0.0.1 and on the host end of a veth pair whose other end is
in a network namespace the test makes (private 10.x addresses, nothing else on the machine touched),
so a client in that namespace is a real non-loopback address. Everything is removed afterwards.
"""

from __future__ import annotations

import ipaddress
import itertools
import json
import os
import random
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration import harness
from tests.integration.harness import FakeClock, RunningServer, free_port
from tests.integration.nginx_helpers import (
    SITE,
    main_config,
    make_certificate,
    replace_checked,
    run,
    running_nginx,
)

CLIENT_SECONDS = 30.0
_serial = itertools.count(1)

# Run by the test's clients (one process per side, the namespace's inside it): GET each path over TLS,
# the certificate checked against the test's own, and print [[path, status], ...].
CLIENT = """
import http.client, json, ssl, sys
host, port, cafile, *paths = sys.argv[1:]
context = ssl.create_default_context(cafile=cafile)
statuses = []
for path in paths:
    connection = http.client.HTTPSConnection(host, int(port), context=context, timeout=10)
    connection.request("GET", path, headers={"Host": "cellmeet.example.vn"})
    response = connection.getresponse()
    response.read()
    statuses.append([path, response.status])
    connection.close()
print(json.dumps(statuses))
"""


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


def _free_prefix() -> str:
    """A /24 of 10.0.0.0/8 that no interface or route of the machine uses now."""
    shown = subprocess.run(["ip", "-o", "-4", "addr", "show"], capture_output=True, text=True, timeout=10)
    routes = subprocess.run(["ip", "-4", "route", "show"], capture_output=True, text=True, timeout=10)
    taken = [
        ipaddress.ip_network(word, strict=False)
        for word in re.findall(r"\b10\.\d+\.\d+\.\d+(?:/\d+)?\b", shown.stdout + routes.stdout)
    ]
    while True:
        prefix = f"10.{random.randrange(200, 255)}.{random.randrange(1, 255)}"
        mine = ipaddress.ip_network(f"{prefix}.0/24")
        if not any(mine.overlaps(net) for net in taken):
            return prefix


@dataclass(frozen=True)
class ClientNet:
    namespace: str
    host_address: str  # this side of the veth (nginx listens here too)
    client_address: str  # the namespace's side: a non-loopback client


@pytest.fixture
def test_net() -> Iterator[ClientNet]:
    # Never skipped: CI runs as root (as for the Janus tests); a run without root fails and says why.
    assert os.geteuid() == 0, "making a network namespace for the non-loopback client needs root"
    suffix = f"{os.getpid() % 100000}{next(_serial)}"
    namespace, host_link, client_link = f"cmngx{suffix}", f"cmnh{suffix}", f"cmnc{suffix}"
    prefix = _free_prefix()
    net = ClientNet(namespace, f"{prefix}.1", f"{prefix}.2")
    try:
        _ip("netns", "add", namespace)
        _ip("link", "add", host_link, "type", "veth", "peer", "name", client_link)
        _ip("link", "set", client_link, "netns", namespace)
        _ip("addr", "add", f"{net.host_address}/24", "dev", host_link)
        _ip("link", "set", host_link, "up")
        _ip("netns", "exec", namespace, "ip", "link", "set", "lo", "up")
        _ip("netns", "exec", namespace, "ip", "addr", "add", f"{net.client_address}/24", "dev", client_link)
        _ip("netns", "exec", namespace, "ip", "link", "set", client_link, "up")
        yield net
    finally:
        subprocess.run(["ip", "link", "del", host_link], capture_output=True, timeout=10)
        subprocess.run(["ip", "netns", "del", namespace], capture_output=True, timeout=10)


@pytest.fixture
async def backend(tmp_path: Path) -> AsyncIterator[RunningServer]:
    """A real cellmeet on a loopback port: the site's upstream. (The database does not matter here.)"""
    data = tmp_path / "cellmeet"
    data.mkdir()
    settings = harness.test_settings(data, f"sqlite+aiosqlite:///{data / 'cellmeet.db'}")
    running = await RunningServer.start(settings, FakeClock())
    yield running
    await running.stop()


def site_for_test(folder: Path, tls_port: int, http_port: int, upstream_port: int, net: ClientNet) -> Path:
    """The shipped site with its listen lines, certificate and upstream port substituted."""
    cert_file, key_file = make_certificate(folder, ["127.0.0.1", net.host_address])
    site = SITE.read_text()
    site = replace_checked(
        r"^(\s*)listen 443 ([^;]*);$",
        rf"\1listen 127.0.0.1:{tls_port} \2;\n\1listen {net.host_address}:{tls_port} \2;",
        site,
    )
    site = replace_checked(r"^(\s*)listen 80;$", rf"\1listen 127.0.0.1:{http_port};", site)
    site = replace_checked(r"^(\s*)ssl_certificate\s+\S+;$", rf"\1ssl_certificate {cert_file};", site)
    site = replace_checked(r"^(\s*)ssl_certificate_key\s+\S+;$", rf"\1ssl_certificate_key {key_file};", site)
    upstreams = len(re.findall(r"proxy_pass ", site))
    site = replace_checked(
        r"proxy_pass http://127\.0\.0\.1:8080;", f"proxy_pass http://127.0.0.1:{upstream_port};", site, None
    )
    assert len(re.findall(rf"proxy_pass http://127\.0\.0\.1:{upstream_port};", site)) == upstreams
    path = folder / "site.conf"
    path.write_text(site)
    return path


@dataclass(frozen=True)
class Nginx:
    port: int
    cafile: Path


@pytest.fixture
async def nginx(tmp_path: Path, backend: RunningServer, test_net: ClientNet) -> AsyncIterator[Nginx]:
    folder = tmp_path / "nginx"
    folder.mkdir()
    tls_port, http_port = free_port(), free_port()
    assert backend.url.port is not None
    site = site_for_test(folder, tls_port, http_port, backend.url.port, test_net)
    # `nginx -t` first: the shipped site must load in this nginx as it is.
    async with running_nginx(folder, main_config(folder, site), tls_port):
        yield Nginx(tls_port, folder / "fullchain.pem")


async def statuses(*prefix: str, host: str, nginx: Nginx, paths: list[str]) -> dict[str, int]:
    command = [*prefix, sys.executable, "-I", "-c", CLIENT, host, str(nginx.port), str(nginx.cafile), *paths]
    code, out, err = await run(*command, timeout=CLIENT_SECONDS)
    assert code == 0, err
    return {path: status for path, status in json.loads(out)}


# /metrics and the spellings nginx normalises to it or matches with it.
METRICS_PATHS = ["/metrics", "/metrics/", "//metrics", "/%6Detrics", "/socket.io/../metrics"]


async def test_metrics_only_from_loopback_through_the_shipped_site(nginx: Nginx, test_net: ClientNet) -> None:
    local = await statuses(host="127.0.0.1", nginx=nginx, paths=["/metrics", "/healthz"])
    assert local == {"/metrics": 200, "/healthz": 200}

    # From a real non-loopback address: the same site, the same nginx, the health check answers
    # (so the path through nginx to cellmeet works), and /metrics is refused however it is spelled.
    remote = await statuses(
        "ip", "netns", "exec", test_net.namespace,
        host=test_net.host_address, nginx=nginx, paths=["/healthz", *METRICS_PATHS],
    )  # fmt: skip
    assert remote == {"/healthz": 200, **dict.fromkeys(METRICS_PATHS, 403)}
