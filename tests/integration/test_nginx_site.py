"""The shipped nginx site (deploy/nginx-cellmeet.conf) in a real nginx in front of a real cellmeet:
`/metrics` answers loopback and refuses every other address (issue 23, point 5).

The site file is used as shipped, with only its listen addresses, certificate and upstream port
changed for the test: nginx listens on 127.0.0.1 and on the host end of a veth pair whose other end is
in a network namespace the test makes (private 10.x addresses, nothing else on the machine touched),
so a client in that namespace is a real non-loopback address. Everything is removed afterwards.
"""

from __future__ import annotations

import asyncio
import datetime
import grp
import ipaddress
import itertools
import json
import os
import pwd
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.integration import harness
from tests.integration.harness import FakeClock, RunningServer

SITE = Path(__file__).resolve().parents[2] / "deploy" / "nginx-cellmeet.conf"
NGINX_HINT = "nginx is missing: apt-get install -y nginx (it is in .ci/run's apt-get install line)"
START_SECONDS = 15.0
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


def nginx_binary() -> str:
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
    )
    if found is None:
        pytest.fail(NGINX_HINT)
    return found


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


def _certificate(folder: Path, addresses: list[str]) -> tuple[Path, Path]:
    """A self-signed certificate for the site's name and the test's addresses."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cellmeet.example.vn")])
    now = datetime.datetime.now(datetime.UTC)
    names: list[x509.GeneralName] = [x509.DNSName("cellmeet.example.vn")]
    names += [x509.IPAddress(ipaddress.ip_address(a)) for a in addresses]
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "fullchain.pem", folder / "privkey.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    key_file.chmod(0o600)
    return cert_file, key_file


def _replace(pattern: str, replacement: str, text: str, count: int | None = 1) -> str:
    """Replace `pattern` (multiline regex); the site must hold it `count` times (None: at least once),
    so a changed site file stops the test instead of being tested half-substituted."""
    found = len(re.findall(pattern, text, flags=re.MULTILINE))
    assert found == count if count is not None else found >= 1, (pattern, found)
    return re.sub(pattern, replacement, text, flags=re.MULTILINE)


def site_for_test(folder: Path, tls_port: int, http_port: int, upstream_port: int, net: ClientNet) -> Path:
    """The shipped site with its listen lines, certificate and upstream port substituted."""
    cert_file, key_file = _certificate(folder, ["127.0.0.1", net.host_address])
    site = SITE.read_text()
    site = _replace(
        r"^(\s*)listen 443 ([^;]*);$",
        rf"\1listen 127.0.0.1:{tls_port} \2;\n\1listen {net.host_address}:{tls_port} \2;",
        site,
    )
    site = _replace(r"^(\s*)listen 80;$", rf"\1listen 127.0.0.1:{http_port};", site)
    site = _replace(r"^(\s*)ssl_certificate\s+\S+;$", rf"\1ssl_certificate {cert_file};", site)
    site = _replace(r"^(\s*)ssl_certificate_key\s+\S+;$", rf"\1ssl_certificate_key {key_file};", site)
    upstreams = len(re.findall(r"proxy_pass ", site))
    site = _replace(
        r"proxy_pass http://127\.0\.0\.1:8080;", f"proxy_pass http://127.0.0.1:{upstream_port};", site, None
    )
    assert len(re.findall(rf"proxy_pass http://127\.0\.0\.1:{upstream_port};", site)) == upstreams
    path = folder / "site.conf"
    path.write_text(site)
    return path


def main_config(folder: Path, site: Path) -> Path:
    """nginx's own file around the site: everything (pid, logs, temporary files) under the test's folder."""
    nobody = pwd.getpwnam("nobody")
    group = grp.getgrgid(nobody.pw_gid).gr_name
    for temp in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (folder / temp).mkdir()
    config = folder / "nginx.conf"
    config.write_text(
        f"""
daemon off;
worker_processes 1;
user nobody {group};
pid {folder}/nginx.pid;
error_log {folder}/error.log notice;
events {{ worker_connections 64; }}
http {{
    access_log {folder}/access.log;
    client_body_temp_path {folder}/client_body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    # The workers (nobody) cannot reach the test's folder: answers are never buffered to a file.
    proxy_max_temp_file_size 0;
    include {site};
}}
"""
    )
    return config


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _run(*command: str, timeout: float) -> tuple[int, str, str]:
    """A subprocess awaited without blocking the loop (the cellmeet behind nginx runs on it)."""
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise AssertionError(f"{command[0]} did not finish within {timeout} s") from None
    assert process.returncode is not None
    return process.returncode, out.decode(errors="replace"), err.decode(errors="replace")


@dataclass(frozen=True)
class Nginx:
    port: int
    cafile: Path


@pytest.fixture
async def nginx(tmp_path: Path, backend: RunningServer, test_net: ClientNet) -> AsyncIterator[Nginx]:
    binary = nginx_binary()
    folder = tmp_path / "nginx"
    folder.mkdir()
    tls_port, http_port = _free_port(), _free_port()
    assert backend.url.port is not None
    site = site_for_test(folder, tls_port, http_port, backend.url.port, test_net)
    config = main_config(folder, site)
    error_log = folder / "error.log"
    # The configuration test first: the shipped site must load in this nginx as it is.
    code, out, err = await _run(
        binary, "-t", "-p", str(folder), "-e", str(error_log), "-c", str(config), timeout=30
    )
    assert code == 0, f"nginx -t refused the site:\n{out}{err}"
    process = await asyncio.create_subprocess_exec(
        binary, "-p", str(folder), "-e", str(error_log), "-c", str(config),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL, cwd=folder,
    )  # fmt: skip
    try:
        await _wait_for_port(tls_port, process, error_log)
        yield Nginx(tls_port, folder / "fullchain.pem")
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()


async def _wait_for_port(port: int, process: asyncio.subprocess.Process, error_log: Path) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + START_SECONDS
    while loop.time() < deadline:
        if process.returncode is not None:
            break
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            await writer.wait_closed()
            return
        except OSError:
            await asyncio.sleep(0.1)
    tail = error_log.read_text(errors="replace")[-2000:] if error_log.exists() else "(no log)"
    raise AssertionError(f"nginx did not listen on 127.0.0.1:{port} (exit {process.returncode}):\n{tail}")


async def statuses(*prefix: str, host: str, nginx: Nginx, paths: list[str]) -> dict[str, int]:
    command = [*prefix, sys.executable, "-I", "-c", CLIENT, host, str(nginx.port), str(nginx.cafile), *paths]
    code, out, err = await _run(*command, timeout=CLIENT_SECONDS)
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
