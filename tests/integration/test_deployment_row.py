"""quality.md S16 (issue 29): deployment config and dependency hygiene, as one row of docs/reliability.md.

nginx runs deploy/nginx-cellmeet.conf as shipped (only its listen lines, certificate and upstream port
changed, on loopback with a self-signed certificate) in front of a cellmeet whose settings are
deploy/cellmeet.env.example's (its data directory and database moved to the test's folder). Checked:
the security headers on pages and API answers through nginx; TLS 1.0 and 1.1 refused by nginx (1.2
and 1.3 accepted as the control); `cellmeet serve` refusing to start on unsafe settings (and starting
on safe ones); the installed python-socketio and python-engineio and pyproject's pins; the database and
Redis URLs of deploy/'s examples; the systemd units' hardening and `systemd-analyze security` score.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import ipaddress
import os
import re
import secrets
import shutil
import ssl
import sys
import tomllib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from server.redis_address import PRIVATE_NETWORKS
from server.settings import load_settings
from tests.integration.harness import FakeClock, RunningServer, free_port
from tests.integration.nginx_helpers import (
    DEPLOY,
    SITE,
    main_config,
    make_certificate,
    replace_checked,
    running_nginx,
)
from tests.reliability import Tally, node_id

RELIABILITY_ROW = "S16"

ROOT = Path(__file__).resolve().parents[2]
HOST = "cellmeet.example.vn"
CLI = Path(sys.executable).with_name("cellmeet")
MINIMUM = {"python-socketio": Version("5.16.2"), "python-engineio": Version("4.13.2")}
UNITS = [DEPLOY / "cellmeet.service", DEPLOY / "cellmeet@.service"]
UNIT_LINES = ["NoNewPrivileges=yes", "ProtectSystem=strict", "PrivateTmp=yes", "RestrictAddressFamilies="]
MAX_EXPOSURE = 2.0
PROCESS_SECONDS = 10.0  # each openssl, systemd-analyze and refused `cellmeet serve` run
# A first start migrates an empty database: a few seconds alone, several times that on a busy CI
# machine with the other test worker and two refused starts beside it (one CI run missed 10 s).
SERVE_START_SECONDS = 60.0
HANDSHAKE_SECONDS = 1.0  # then an s_client still connected (the handshake done) is told to quit
PAGES = ["/login", "/api/v1/auth/me", "/api/openapi.json"]  # a page, an API refusal, an API answer


def env_example() -> dict[str, str]:
    """deploy/cellmeet.env.example's settings (KEY=VALUE lines; comments skipped)."""
    values: dict[str, str] = {}
    for line in (DEPLOY / "cellmeet.env.example").read_text().splitlines():
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            values[key.strip()] = value.strip().strip('"')
    return values


@pytest.fixture
async def backend(tmp_path: Path) -> AsyncIterator[RunningServer]:
    """cellmeet with the example's settings (public https URL, nginx as the trusted proxy)."""
    data = tmp_path / "cellmeet"
    env = {
        **env_example(),
        "CELLMEET_DATA_DIR": str(data),
        "CELLMEET_DATABASE_URL": f"sqlite+aiosqlite:///{data / 'cellmeet.db'}",
    }
    running = await RunningServer.start(load_settings(env), FakeClock())
    yield running
    await running.stop()


@dataclass(frozen=True)
class Nginx:
    port: int
    cafile: Path


@pytest.fixture
async def nginx(tmp_path: Path, backend: RunningServer) -> AsyncIterator[Nginx]:
    folder = tmp_path / "nginx"
    folder.mkdir()
    tls_port, http_port = free_port(), free_port()
    cert_file, key_file = make_certificate(folder, ["127.0.0.1"])
    site = SITE.read_text()
    site = replace_checked(r"^(\s*)listen 443 ([^;]*);$", rf"\1listen 127.0.0.1:{tls_port} \2;", site)
    site = replace_checked(r"^(\s*)listen 80;$", rf"\1listen 127.0.0.1:{http_port};", site)
    site = replace_checked(r"^(\s*)ssl_certificate\s+\S+;$", rf"\1ssl_certificate {cert_file};", site)
    site = replace_checked(r"^(\s*)ssl_certificate_key\s+\S+;$", rf"\1ssl_certificate_key {key_file};", site)
    site = replace_checked(
        r"proxy_pass http://127\.0\.0\.1:8080;",
        f"proxy_pass http://127.0.0.1:{backend.url.port};",
        site,
        None,
    )
    (folder / "site.conf").write_text(site)
    async with running_nginx(folder, main_config(folder, folder / "site.conf"), tls_port):
        yield Nginx(tls_port, cert_file)


async def run_process(
    *command: str, env: dict[str, str] | None = None, seconds: float = PROCESS_SECONDS
) -> tuple[int | None, str]:
    """(exit code, stdout+stderr); None as the code: still running after `seconds`, killed."""
    process = await asyncio.create_subprocess_exec(
        *command, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT, env=env,
    )  # fmt: skip
    try:
        out, _ = await asyncio.wait_for(process.communicate(), seconds)
    except TimeoutError:
        process.kill()
        out, _ = await process.communicate()
        return None, out.decode(errors="replace")
    return process.returncode, out.decode(errors="replace")


def header_problems(headers: aiohttp.typedefs.LooseHeaders) -> list[str]:
    got = {key.lower(): value for key, value in dict(headers).items()}
    problems = []
    if "max-age=" not in got.get("strict-transport-security", ""):
        problems.append("no HSTS")
    csp: dict[str, list[str]] = {}
    for part in got.get("content-security-policy", "").split(";"):
        if part.split():
            csp[part.split()[0].lower()] = part.split()[1:]
    scripts = csp.get("script-src", csp.get("default-src"))
    if not scripts or "'unsafe-inline'" in scripts or "*" in scripts:
        problems.append(f"CSP script sources {scripts}")
    if csp.get("frame-ancestors") != ["'none'"]:
        problems.append(f"CSP frame-ancestors {csp.get('frame-ancestors')}")
    if got.get("x-content-type-options") != "nosniff":
        problems.append("no nosniff")
    if got.get("referrer-policy") != "no-referrer":
        problems.append(f"Referrer-Policy {got.get('referrer-policy')}")
    policy = {
        name.strip(): value.strip()
        for name, _, value in (p.partition("=") for p in got.get("permissions-policy", "").split(","))
    }
    for feature in ("camera", "microphone"):
        if policy.get(feature) not in ("(self)", "()"):
            problems.append(f"Permissions-Policy {feature}={policy.get(feature)}")
    return problems


async def tls_handshake(port: int, version: str) -> tuple[str, str]:
    """openssl s_client offering only `version` to nginx: ("accepted" | "refused" | "client cannot",
    the line that says so). The system's configuration and security level would stop TLS 1.0/1.1 in
    the client itself, so they are lifted: nginx is what must refuse."""
    # Its input stays open a moment, then "Q": at once at its end, s_client could quit before a TLS 1.3
    # handshake finished (one run printed only "DONE"). A refused version ends it at once anyway.
    command = ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername", HOST, f"-{version}"]
    if version in ("tls1", "tls1_1"):
        command += ["-cipher", "DEFAULT:@SECLEVEL=0"]
    env = {**os.environ, "OPENSSL_CONF": "/dev/null"}
    process = await asyncio.create_subprocess_exec(
        *command, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT, env=env,
    )  # fmt: skip
    try:
        await asyncio.wait_for(process.wait(), HANDSHAKE_SECONDS)
    except TimeoutError:
        pass  # still connected: the handshake is over (or hung); tell it to quit
    try:
        raw, _ = await asyncio.wait_for(process.communicate(b"Q\n"), PROCESS_SECONDS)
    except TimeoutError:
        process.kill()
        await process.wait()
        return "refused", "no handshake within the timeout"
    code, out = process.returncode, raw.decode(errors="replace")
    negotiated = re.search(r"^\s*Protocol\s*:\s*(\S+)", out, re.MULTILINE)
    if code == 0 and negotiated and "Cipher is (NONE)" not in out:
        return "accepted", negotiated.group(1)
    if re.search(r"no protocols available|unsupported protocol|no ciphers available", out):
        return "client cannot", next(line for line in out.splitlines() if "error" in line.lower())
    alert = re.search(r"alert protocol version|wrong version number|alert handshake failure", out)
    return ("refused", alert.group(0)) if alert else ("refused?", out.strip().splitlines()[-1])


def serve_env(data: Path, **extra: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "CELLMEET_DATA_DIR": str(data),
        "CELLMEET_DATABASE_URL": f"sqlite+aiosqlite:///{data / 'cellmeet.db'}",
        **extra,
    }


async def serve_refused(env: dict[str, str], variable: str) -> tuple[bool, str]:
    """`cellmeet serve` with `env` exits non-zero within the timeout, naming `variable`."""
    # As long as a first start may take beside the other worker (one refusal there printed nothing in 10 s)
    code, out = await run_process(
        str(CLI), "serve", "--host", "127.0.0.1", "--port", str(free_port()), env=env,
        seconds=SERVE_START_SECONDS,
    )  # fmt: skip
    held = code not in (None, 0) and "unsafe setting" in out and variable in out
    return held, f"exit {code}: {out.strip().splitlines()[-1] if out.strip() else '(no output)'}"


async def serve_starts(env: dict[str, str]) -> bool:
    """The control: the same start with safe values listens."""
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        str(CLI), "serve", "--host", "127.0.0.1", "--port", str(port), env=env,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SERVE_START_SECONDS
    try:
        while loop.time() < deadline and process.returncode is None:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.1)
                continue
            writer.close()
            return True
        return False
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 5)
            except TimeoutError:
                process.kill()
                await process.wait()


def url_problems(name: str, url: str) -> list[str]:
    parts = urlsplit(url)
    problems = []
    try:
        address = ipaddress.ip_address(parts.hostname or "")
        bound = address.is_loopback or any(address in network for network in PRIVATE_NETWORKS)
    except ValueError:
        bound = parts.hostname == "localhost"
    if not bound:
        problems.append(f"{name} host {parts.hostname} is neither loopback nor private")
    if not (parts.username and parts.password):
        problems.append(f"{name} has no user and password")
    return problems


@pytest.mark.reliability
async def test_deployment_config_and_dependencies(
    nginx: Nginx, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    tally = Tally("S16", node_id(request), "", "fast")
    notes: list[str] = []

    # Headers through nginx, on a page and on API answers.
    context = ssl.create_default_context(cafile=str(nginx.cafile))
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context)) as http:
        for path in PAGES:
            async with http.get(f"https://127.0.0.1:{nginx.port}{path}", headers={"Host": HOST}) as reply:
                problems = header_problems(reply.headers)
                tally.count(not problems, f"{path} ({reply.status}): {', '.join(problems)}")

    # TLS versions: 1.0 and 1.1 refused, 1.2 and 1.3 accepted.
    handshakes = dict(
        zip(
            ["tls1", "tls1_1", "tls1_2", "tls1_3"],
            await asyncio.gather(
                *(tls_handshake(nginx.port, v) for v in ["tls1", "tls1_1", "tls1_2", "tls1_3"])
            ),
            strict=True,
        )
    )
    for version in ("tls1", "tls1_1"):
        outcome, why = handshakes[version]
        if outcome == "client cannot":
            notes.append(f"this OpenSSL cannot offer {version} ({why}): not checked")
        else:
            tally.count(outcome == "refused", f"{version} {outcome}: {why}")
    for version in ("tls1_2", "tls1_3"):
        outcome, why = handshakes[version]
        tally.count(outcome == "accepted", f"{version} control {outcome}: {why}")

    # `cellmeet serve` on unsafe settings, and the safe control.
    strong = secrets.token_urlsafe(48)
    turn_url = '[{"urls": ["turn:turn.example.vn:3478?transport=udp"]}]'
    cases = {
        "weak secret (31 bytes)": (
            serve_env(tmp_path / "weak", CELLMEET_SECRET_KEY="x" * 31),
            "CELLMEET_SECRET_KEY",
        ),
        "TURN configured, no TURN secret": (
            serve_env(tmp_path / "turn", CELLMEET_SECRET_KEY=strong, CELLMEET_ICE_SERVERS=turn_url),
            "CELLMEET_TURN_SECRET",
        ),
    }
    safe = serve_env(
        tmp_path / "safe",
        CELLMEET_SECRET_KEY=strong,
        CELLMEET_ICE_SERVERS=turn_url,
        CELLMEET_TURN_SECRET=strong,
    )
    *refusals, started = await asyncio.gather(
        *(serve_refused(env, variable) for env, variable in cases.values()), serve_starts(safe)
    )
    for (case, _), (held, why) in zip(cases.items(), refusals, strict=True):
        tally.count(held, f"serve with {case}: {why}")
    tally.count(started, "serve with safe settings did not listen")
    # There is no CORS and no debug setting: the socket's allowed origins are the server's own
    # (server.realtime.attach), and no debug mode exists.
    settings_source = (ROOT / "server" / "settings.py").read_text()
    for word in ("cors", "debug"):
        tally.count(
            word not in settings_source.lower(), f"server/settings.py now has a {word} setting: test it"
        )
    notes.append("no CORS or debug setting exists to be misset")

    # Dependencies: installed versions and pyproject's pins (there is no lock file).
    pins = {
        Requirement(text).name: Requirement(text)
        for text in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    }
    installed_shown = []
    for name, minimum in MINIMUM.items():
        installed = Version(importlib.metadata.version(name))
        installed_shown.append(f"{name} {installed}")
        tally.count(installed >= minimum, f"installed {name} {installed} < {minimum}")
        pin = pins.get(name)
        floors = [
            Version(s.version) for s in (pin.specifier if pin else []) if s.operator in (">=", "==", "~=")
        ]
        tally.count(any(floor >= minimum for floor in floors), f"pyproject pin {pin} admits below {minimum}")
    locks = [p.name for p in ROOT.glob("*.lock")] + [p.name for p in ROOT.glob("requirements*.txt")]
    notes.append(f"lock files: {', '.join(locks) or 'none (pyproject lower bounds checked)'}")

    # Database and Redis URLs in deploy/'s examples: loopback or private, with credentials.
    examples = env_example()
    urls = {
        key: value
        for key, value in examples.items()
        if key in ("CELLMEET_DATABASE_URL", "CELLMEET_REDIS_URL")
    }
    for key, value in urls.items():
        problems = url_problems(key, value)
        tally.count(not problems, "; ".join(problems))
    notes.append(f"deploy/ example URLs: {', '.join(urls) or 'none'}")

    # systemd units: the directives, and systemd-analyze's exposure when it can read a unit file.
    scores = []
    analyze = shutil.which("systemd-analyze")
    for unit in UNITS:
        text = unit.read_text()
        for line in UNIT_LINES:
            tally.count(
                re.search(rf"^{re.escape(line)}", text, re.MULTILINE) is not None, f"{unit.name}: no {line}"
            )
        if analyze is None:
            continue
        code, out = await run_process(analyze, "security", "--offline=yes", "--no-pager", str(unit))
        found = re.search(r"Overall exposure level for \S+: ([\d.]+)", out)
        if code is None or not found:
            notes.append(f"systemd-analyze --offline unusable here ({out.strip()[-80:]}): lint only")
            continue
        scores.append(f"{unit.name} {found.group(1)}")
        tally.count(float(found.group(1)) <= MAX_EXPOSURE, f"{unit.name} exposure {found.group(1)}")

    tally.attacked = (
        f"deploy/'s nginx site as shipped on loopback TLS: security headers on {len(PAGES)} answers (a page,"
        " API answers), TLS 1.0/1.1 offered by openssl s_client (1.2/1.3 as controls); `cellmeet serve` with"
        " a weak secret and with TURN but no TURN secret (a safe start as control); socketio/engineio"
        " versions and pins; deploy/'s database and Redis URLs; the systemd units' hardening"
    )
    outcomes = ", ".join(f"{v} {o}" for v, (o, _) in handshakes.items())
    tally.write(
        f"{tally.attempts - tally.failures} of {tally.attempts} held: headers on {len(PAGES)} answers;"
        f" {outcomes};"
        f" {len(cases)} unsafe starts refused, the safe one listened; {', '.join(installed_shown)};"
        f" systemd exposure {', '.join(scores) or 'not measured'} (max {MAX_EXPOSURE}); " + "; ".join(notes)
    )
    assert tally.broken == []
