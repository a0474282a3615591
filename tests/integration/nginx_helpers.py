"""What the tests that run the shipped nginx files in a real nginx share (test_nginx_site.py,
test_nginx_processes.py): the binary, a self-signed certificate, nginx's own file around the site with
everything under the test's folder, checked substitutions, and nginx started, awaited and stopped.

Every wait has a timeout, so a stuck nginx fails the test in seconds instead of hanging the run."""

from __future__ import annotations

import asyncio
import datetime
import grp
import ipaddress
import os
import pwd
import re
import shutil
import signal
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
SITE = DEPLOY / "nginx-cellmeet.conf"
NGINX_HINT = "nginx is missing: apt-get install -y nginx (it is in .ci/run's apt-get install line)"
START_SECONDS = 10.0  # nginx listening after its start
CHECK_SECONDS = 10.0  # `nginx -t`
STOP_SECONDS = 5.0  # nginx gone after SIGTERM, else it is killed


def nginx_binary() -> str:
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
    )
    if found is None:
        pytest.fail(NGINX_HINT)
    return found


def make_certificate(folder: Path, addresses: list[str]) -> tuple[Path, Path]:
    """A self-signed certificate for the site's name and the test's addresses: (fullchain, key)."""
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


def replace_checked(
    pattern: str, replacement: str | Callable[[re.Match[str]], str], text: str, count: int | None = 1
) -> str:
    """Replace `pattern` (multiline regex); the text must hold it `count` times (None: at least once),
    so a changed deploy file stops the test instead of being tested half-substituted."""
    found = len(re.findall(pattern, text, flags=re.MULTILINE))
    assert found == count if count is not None else found >= 1, (pattern, found)
    return re.sub(pattern, replacement, text, flags=re.MULTILINE)


# The access log names the process (or processes, when nginx moved on to the next) of each request.
ACCESS_FORMAT = '$status "$request" upstream=$upstream_addr upstream_status=$upstream_status'


def main_config(folder: Path, *includes: Path) -> Path:
    """nginx's own file around the site (and whatever else is `include`d in http, in this order):
    everything (pid, logs, temporary files) under the test's folder."""
    nobody = pwd.getpwnam("nobody")
    group = grp.getgrgid(nobody.pw_gid).gr_name
    for temp in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (folder / temp).mkdir()
    included = "\n".join(f"    include {path};" for path in includes)
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
    log_format upstreams '{ACCESS_FORMAT}';
    access_log {folder}/access.log upstreams;
    client_body_temp_path {folder}/client_body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    # The workers (nobody) cannot reach the test's folder: answers are never buffered to a file.
    proxy_max_temp_file_size 0;
{included}
}}
"""
    )
    return config


async def run(*command: str, timeout: float) -> tuple[int, str, str]:
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


async def wait_for_port(port: int, process: asyncio.subprocess.Process, error_log: Path) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + START_SECONDS
    while loop.time() < deadline:
        if process.returncode is not None:
            break
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 2)
            writer.close()
            await writer.wait_closed()
            return
        except (OSError, TimeoutError):
            await asyncio.sleep(0.1)
    tail = error_log.read_text(errors="replace")[-2000:] if error_log.exists() else "(no log)"
    raise AssertionError(f"nginx did not listen on 127.0.0.1:{port} (exit {process.returncode}):\n{tail}")


@asynccontextmanager
async def running_nginx(folder: Path, config: Path, port: int) -> AsyncIterator[None]:
    """`nginx -t` on the configuration (it must load as it is), then nginx itself until the block ends,
    listening on 127.0.0.1:`port`."""
    binary = nginx_binary()
    error_log = folder / "error.log"
    code, out, err = await run(
        binary, "-t", "-p", str(folder), "-e", str(error_log), "-c", str(config), timeout=CHECK_SECONDS
    )
    assert code == 0, f"nginx -t refused the configuration:\n{out}{err}"
    process = await asyncio.create_subprocess_exec(
        binary, "-p", str(folder), "-e", str(error_log), "-c", str(config),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL, cwd=folder,
    )  # fmt: skip
    try:
        await wait_for_port(port, process, error_log)
        yield
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), STOP_SECONDS)
            except TimeoutError:
                process.kill()
                await process.wait()
