"""A real Janus for tests and `cellmeet bench --sfu`, alone in a network namespace made for it
(tech-notes.md "Janus — verified recipe"): libnice gathers no candidates on loopback, and both ends
of a veth in one namespace fail silently. Names carry the pid and a counter so runs never collide;
everything is removed afterwards."""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import shutil
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp

JANUS = shutil.which("janus")
START_SECONDS = 15.0
_serial = itertools.count(1)


@dataclass
class JanusNet:
    api_url: str  # Janus's HTTP API, reached over the veth
    ws_url: str  # its WebSocket API (api.md's example of CELLMEET_SFU_URL)
    host_address: str  # this side's address (the server's and the test peers')
    janus_address: str
    netns: str
    janus_link: str
    config: Path
    log_file: Path
    log_dir: Path
    process: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int:
        """Janus's own pid (not `ip netns exec`'s: it execs Janus in place)."""
        assert self.process is not None
        return self.process.pid

    async def start(self) -> None:
        """Janus started (again) in its namespace, answering on its API."""
        assert JANUS is not None
        self.process = await asyncio.create_subprocess_exec(
            "ip", "netns", "exec", self.netns, JANUS, "-F", str(self.config),
            f"--ice-enforce-list={self.janus_link}", "-L", str(self.log_file), "-o",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
            cwd=self.log_dir,  # a crash's core file stays with the test's files, never in the checkout
        )  # fmt: skip
        try:
            await _wait_for_api(self.api_url, self.process)
        except RuntimeError as exc:
            tail = self.log_file.read_text(errors="replace")[-2000:] if self.log_file.exists() else "(no log)"
            raise RuntimeError(f"{exc}; janus log ends:\n{tail}") from exc

    async def kill(self) -> None:
        """SIGKILL, as a crash: Janus forgets every session, handle and room."""
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 5)
            except TimeoutError:
                await self.kill()


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


def _free_prefix() -> str:
    """A /24 of 198.18.0.0/15 (never the machine's own networks) that no interface uses now: two test
    workers each running a Janus must not route to each other's."""
    shown = subprocess.run(["ip", "-o", "-4", "addr", "show"], capture_output=True, text=True, timeout=10)
    used = shown.stdout
    while True:
        prefix = f"198.{random.choice((18, 19))}.{random.randrange(1, 255)}"
        if f" {prefix}." not in used:
            return prefix


def available() -> str | None:
    """Why a real Janus cannot run here, or None."""
    if JANUS is None:
        return "janus is not installed (apt-get install janus)"
    if os.geteuid() != 0:
        return "network namespaces need root"
    return None


@asynccontextmanager
async def janus_in_namespace(log_dir: Path, config: Path | None = None) -> AsyncIterator[JanusNet]:
    """`config`: a Janus configuration folder (default: Debian's, reduced to what cellmeet uses)."""
    n = next(_serial)
    suffix = f"{os.getpid() % 100000}{n}"
    netns, host_link, janus_link = f"cmsfu{suffix}", f"cmh{suffix}", f"cmj{suffix}"
    prefix = _free_prefix()
    host_address, janus_address = f"{prefix}.2", f"{prefix}.1"
    net: JanusNet | None = None
    try:
        _ip("netns", "add", netns)
        _ip("link", "add", host_link, "type", "veth", "peer", "name", janus_link)
        _ip("link", "set", janus_link, "netns", netns)
        _ip("addr", "add", f"{host_address}/24", "dev", host_link)
        _ip("link", "set", host_link, "up")
        _ip("netns", "exec", netns, "ip", "link", "set", "lo", "up")
        _ip("netns", "exec", netns, "ip", "addr", "add", f"{janus_address}/24", "dev", janus_link)
        _ip("netns", "exec", netns, "ip", "link", "set", janus_link, "up")
        net = JanusNet(
            api_url=f"http://{janus_address}:8088/janus",
            ws_url=f"ws://{janus_address}:8188",
            host_address=host_address,
            janus_address=janus_address,
            netns=netns,
            janus_link=janus_link,
            config=config or _config(log_dir / f"janus-{suffix}"),
            log_file=log_dir / f"janus-{suffix}.log",
            log_dir=log_dir,
        )
        await net.start()
        yield net
    finally:
        if net is not None:
            await net.stop()
        subprocess.run(["ip", "link", "del", host_link], capture_output=True, timeout=10)
        subprocess.run(["ip", "netns", "del", netns], capture_output=True, timeout=10)


# Only the videoroom and echo test plugins (the echo test: the pre-join check of the path to the SFU) and
# the HTTP and WebSocket transports: the packaged configuration loads every plugin, and one of them
# (Lua, Duktape, SIP, streaming ...) now and then crashes Janus while it starts.
PLUGINS_OFF = (
    "libjanus_audiobridge.so,libjanus_duktape.so,libjanus_lua.so,libjanus_nosip.so,"
    "libjanus_recordplay.so,libjanus_sip.so,libjanus_streaming.so,libjanus_textroom.so,"
    "libjanus_videocall.so,libjanus_voicemail.so"
)
TRANSPORTS_OFF = "libjanus_mqtt.so,libjanus_nanomsg.so,libjanus_pfunix.so,libjanus_rabbitmq.so"


def _config(folder: Path) -> Path:
    """A copy of Debian's /etc/janus with everything but the videoroom, echo test, HTTP and WebSocket off."""
    shutil.copytree("/etc/janus", folder)
    main = folder / "janus.jcfg"
    text = main.read_text()
    text = text.replace('configs_folder = "/etc/janus"', f'configs_folder = "{folder}"', 1)
    text = text.replace(
        '#disable = "libjanus_voicemail.so,libjanus_recordplay.so"', f'disable = "{PLUGINS_OFF}"', 1
    )
    text = text.replace('#disable = "libjanus_rabbitmq.so"', f'disable = "{TRANSPORTS_OFF}"', 1)
    assert PLUGINS_OFF in text and TRANSPORTS_OFF in text, (
        "Debian's janus.jcfg changed: update the test set-up"
    )
    main.write_text(text)
    return folder


async def _wait_for_api(api_url: str, process: asyncio.subprocess.Process) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + START_SECONDS
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=1)) as http:
        while loop.time() < deadline:
            if process.returncode is not None:
                raise RuntimeError(f"janus exited with {process.returncode}")
            try:
                async with http.get(api_url + "/info") as response:
                    if response.status == 200:
                        return
            except (aiohttp.ClientError, TimeoutError):
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"janus did not answer at {api_url} within {START_SECONDS} s")
