"""The operator guide's "The SFU (Janus)" section followed as written (issue 27, third acceptance point):
deploy/janus/*.jcfg copied over a copy of Debian's /etc/janus, Janus run with it (as the unprivileged
user the systemd drop-in gives it) alone in a fresh network namespace, its APIs on the loopback only,
no STUN server, the fixed RTP range; then `cellmeet serve` in the same namespace (so 127.0.0.1:8188 is
Janus's loopback) with CELLMEET_SFU_URL=ws://127.0.0.1:8188 reports the SFU reachable on /healthz, and
unreachable once Janus is killed.

The first tests read the shipped files only (no Janus): no public STUN or TURN, every listening address
127.0.0.1, the Admin API off, no demo room, the firewall's ports the configuration's.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from server.bench.janus_net import JANUS, PLUGINS_OFF, TRANSPORTS_OFF, available

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy" / "janus"
GUIDE = ROOT / "docs" / "operator-guide.md"
RTP_RANGE = "20000-20999"
API_PORTS = (7088, 7188, 7889, 7989, 8088, 8089, 8188, 8989)  # Janus and Admin API, plain and TLS
CELLMEET_PORT = 8080
NOBODY = 65534


def settings(path: Path) -> dict[str, str]:
    """The active `key = value` lines of a .jcfg (comments dropped), as `section.key` -> value."""
    found: dict[str, str] = {}
    section = ""
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if opened := re.fullmatch(r"([\w-]+)\s*:\s*\{", line):
            section = opened.group(1)
        elif assigned := re.fullmatch(r"(\w+)\s*=\s*(.*)", line):
            found[f"{section}.{assigned.group(1)}"] = assigned.group(2).strip().strip('"')
    return found


# -- the shipped files -----------------------------------------------------------------------------


def test_janus_jcfg_names_no_stun_or_turn_and_fixes_the_rtp_range() -> None:
    text = (DEPLOY / "janus.jcfg").read_text()
    active = settings(DEPLOY / "janus.jcfg")
    assert not re.search(r"stun\.|stun:|\.stun|google", text, re.IGNORECASE), "a public STUN server named"
    for key in ("stun_server", "stun_port", "turn_server", "turn_user", "turn_pwd", "turn_rest_api"):
        assert f"nat.{key}" not in active, key
    assert active["media.rtp_port_range"] == RTP_RANGE
    assert active["nat.ice_lite"] == "false" and active["nat.full_trickle"] == "false"
    assert "general.admin_secret" not in active  # Debian's well-known "janusoverlord" gone
    assert active["plugins.disable"] == PLUGINS_OFF  # only videoroom and echotest
    assert active["transports.disable"] == TRANSPORTS_OFF  # only HTTP and WebSocket
    assert active["general.configs_folder"] == "/etc/janus"
    assert "nat_1_1_mapping" in text  # explained, left to the operator


def test_transports_listen_on_the_loopback_only_with_the_admin_api_off() -> None:
    ws = settings(DEPLOY / "janus.transport.websockets.jcfg")
    http = settings(DEPLOY / "janus.transport.http.jcfg")
    for name, active in (("websockets", ws), ("http", http)):
        listening = {
            key: value for key, value in active.items() if re.search(r"(^|_|\.)(ip|interface)$", key)
        }
        assert listening, name
        assert set(listening.values()) == {"127.0.0.1"}, (name, listening)
        assert all(value == "127." for key, value in active.items() if key.endswith("acl")), name
    assert (
        ws["general.ws"] == "true" and ws["general.ws_port"] == "8188" and ws["general.ws_ip"] == "127.0.0.1"
    )
    assert ws["general.wss"] == "false"
    assert ws["admin.admin_ws"] == "false" and ws["admin.admin_wss"] == "false"
    assert http["general.ip"] == "127.0.0.1" and http["general.https"] == "false"
    assert http["admin.admin_http"] == "false" and http["admin.admin_https"] == "false"


def test_videoroom_has_no_demo_room_and_no_admin_key() -> None:
    active = settings(DEPLOY / "janus.plugin.videoroom.jcfg")
    assert not any(key.startswith("room-") for key in active), active
    assert "general.admin_key" not in active  # cellmeet sends none: its room creation would be refused
    assert (DEPLOY / "janus.plugin.echotest.jcfg").exists()  # the pre-join check uses it


def test_firewall_and_guide_use_the_configured_ports() -> None:
    rules = (DEPLOY / "janus-firewall.nft").read_text()
    assert f"udp dport {RTP_RANGE} accept" in rules
    dropped = re.search(r"tcp dport \{([^}]*)\} drop", rules)
    assert dropped is not None
    assert {int(port) for port in dropped.group(1).split(",")} == set(API_PORTS)
    assert rules.index('iif "lo" accept') < rules.index("tcp dport")
    guide = GUIDE.read_text()
    section = guide[guide.index("## The SFU (Janus)") :]
    section = section[: section.index("\n## ", 1)]
    assert RTP_RANGE.replace("-", "–") in section
    assert "cp deploy/janus/*.jcfg /etc/janus/" in section
    assert "CELLMEET_SFU_URL=ws://127.0.0.1:8188" in section
    for unit in ("cellmeet.service", "cellmeet@.service"):
        text = (ROOT / "deploy" / unit).read_text()
        assert "After=janus.service" in text and "Wants=janus.service" in text, unit


# -- the guide followed with a real Janus ------------------------------------------------------------


def ip(*args: str) -> str:
    return subprocess.run(["ip", *args], check=True, capture_output=True, text=True, timeout=10).stdout


@pytest.fixture
def netns() -> Iterator[str]:
    """A fresh network namespace: the loopback, and an interface standing for the public one."""
    missing = available()
    assert missing is None, missing  # never skipped: CI installs janus and runs as root
    name = f"cmjd{os.getpid() % 100000}"
    try:
        ip("netns", "add", name)
        ip("netns", "exec", name, "ip", "link", "set", "lo", "up")
        # A veth pair inside the namespace (no dummy module on every kernel); nothing is sent on it.
        ip("netns", "exec", name, "ip", "link", "add", "pub0", "type", "veth", "peer", "name", "pub1")
        ip("netns", "exec", name, "ip", "addr", "add", "198.18.0.1/24", "dev", "pub0")
        ip("netns", "exec", name, "ip", "link", "set", "pub0", "up")
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10)


@pytest.fixture
def etc_janus() -> Iterator[Path]:
    """Debian's /etc/janus with the guide's `cp deploy/janus/*.jcfg /etc/janus/` done, in a folder
    the unprivileged Janus can read (pytest's tmp_path is root's only)."""
    base = Path(tempfile.mkdtemp(prefix="cellmeet-janus-"))
    try:
        base.chmod(0o755)
        folder = base / "etc-janus"
        shutil.copytree("/etc/janus", folder)
        for shipped in DEPLOY.glob("*.jcfg"):
            shutil.copy(shipped, folder / shipped.name)
        main = folder / "janus.jcfg"
        # The one change the test makes: the folder is not /etc/janus.
        text = main.read_text()
        assert text.count('configs_folder = "/etc/janus"') == 1
        main.write_text(text.replace('configs_folder = "/etc/janus"', f'configs_folder = "{folder}"'))
        for path in [base, *folder.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        yield folder
    finally:
        shutil.rmtree(base, ignore_errors=True)


def in_netns(netns: str, code: str, timeout: float) -> str:
    """Python run inside the namespace (its 127.0.0.1 is Janus's and cellmeet's loopback)."""
    done = subprocess.run(
        ["ip", "netns", "exec", netns, sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=timeout + 10,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


POLL = """
import json, sys, time, urllib.request
url, key, wanted, seconds = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
start = time.monotonic()
last = None
while time.monotonic() - start < seconds:
    try:
        with urllib.request.urlopen(url, timeout=1) as reply:
            last = {"code": reply.status, "body": json.loads(reply.read())}
    except Exception as exc:
        last = {"error": repr(exc)}
    if key in last.get("body", {}) and (wanted == "*" or last["body"][key] == wanted):
        break
    time.sleep(0.1)
last["seconds"] = time.monotonic() - start
print(json.dumps(last))
"""


def poll(netns: str, url: str, key: str, wanted: str, seconds: float) -> dict[str, Any]:
    """Polls `url` from inside the namespace until its JSON has `key` == `wanted` ("*": any value)."""
    code = f"import sys; sys.argv = ['poll', {url!r}, {key!r}, {wanted!r}, '{seconds}']\n" + POLL
    return dict(json.loads(in_netns(netns, code, seconds)))


def test_the_guide_followed_janus_on_loopback_and_healthz_reports_it(
    netns: str, etc_janus: Path, tmp_path: Path
) -> None:
    assert JANUS is not None
    janus_log = tmp_path / "janus.log"
    serve_log = tmp_path / "serve.log"
    janus: subprocess.Popen[bytes] | None = None
    served: subprocess.Popen[bytes] | None = None
    try:
        with janus_log.open("wb") as log:
            # As the drop-in runs it: in the foreground, an unprivileged user, no root.
            janus = subprocess.Popen(
                ["ip", "netns", "exec", netns, "setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}",
                 "--clear-groups", JANUS, "-F", str(etc_janus), "--disable-colors", "--log-stdout"],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=etc_janus.parent,
            )  # fmt: skip
        info = poll(netns, "http://127.0.0.1:8088/janus/info", "janus", "server_info", 15)
        assert "body" in info, (info, janus_log.read_text()[-3000:])
        body = info["body"]
        assert body["version_string"] == "1.1.2"
        assert body["ice-lite"] is False and body["full-trickle"] is False
        assert not body.get("stun-server") and not body.get("turn-server"), body
        assert set(body["plugins"]) == {"janus.plugin.videoroom", "janus.plugin.echotest"}, body["plugins"]
        assert set(body["transports"]) == {"janus.transport.http", "janus.transport.websockets"}
        log_text = janus_log.read_text()
        assert "RTP port range: 20000 -- 20999" in log_text, log_text[-3000:]

        # Only 127.0.0.1 listens on the API ports: 8088 (HTTP) and 8188 (WebSocket), no admin.
        listening = ip("netns", "exec", netns, "ss", "-ltnH")
        sockets = {line.split()[3] for line in listening.splitlines() if line.strip()}
        api = {address for address in sockets if int(address.rsplit(":", 1)[1]) in API_PORTS}
        assert api == {"127.0.0.1:8088", "127.0.0.1:8188"}, listening

        # cellmeet in the same namespace, on SQLite, as the guide's env file says.
        env = {key: value for key, value in os.environ.items() if not key.startswith("CELLMEET_")}
        env |= {"CELLMEET_DATA_DIR": str(tmp_path / "data"), "CELLMEET_SFU_URL": "ws://127.0.0.1:8188"}
        cellmeet = Path(sys.executable).parent / "cellmeet"
        with serve_log.open("wb") as log:
            served = subprocess.Popen(
                ["ip", "netns", "exec", netns, str(cellmeet), "serve", "--host", "127.0.0.1",
                 "--port", str(CELLMEET_PORT)],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=tmp_path,
            )  # fmt: skip
        healthz = f"http://127.0.0.1:{CELLMEET_PORT}/healthz"
        reachable = poll(netns, healthz, "sfu", "reachable", 15)
        assert reachable.get("body") == {"status": "ok", "sfu": "reachable"}, (
            reachable,
            serve_log.read_text()[-3000:],
        )
        assert reachable["code"] == 200

        janus.send_signal(signal.SIGKILL)  # a crash
        janus.wait(10)
        unreachable = poll(netns, healthz, "sfu", "unreachable", 5)
        assert unreachable.get("body") == {"status": "ok", "sfu": "unreachable"}, (
            unreachable,
            serve_log.read_text()[-3000:],
        )
        assert unreachable["code"] == 200  # a load balancer keeps the process
    finally:
        for process in (served, janus):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait(10)
