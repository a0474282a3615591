"""The server's adapter over a real Janus (issue 20, step 1): one videoroom per meeting with a secret and
a PIN only the server holds, idempotent creation, destruction checked through Janus's own API, a
restarted server that finds its orphan rooms (and only its own), and an unreachable or stuck Janus that
is a clear error within the deadline, never a hang. The settings refuse a bad URL at start."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from server.bench.janus_net import JanusNet, available, janus_in_namespace
from server.media.sfu import AUDIO_FIRST_BITRATE, JanusClient, SfuError, SfuUnavailable, room_keys
from server.settings import UnsafeSettings, load_settings

KEY = "k" * 48
OTHER_KEY = "o" * 48


@pytest.fixture
async def janus(tmp_path: Path) -> AsyncIterator[JanusNet]:
    missing = available()
    assert missing is None, missing  # never skipped: CI installs janus and runs as root
    async with janus_in_namespace(tmp_path) as net:
        yield net


@pytest.fixture
async def clients() -> AsyncIterator[list[JanusClient]]:
    made: list[JanusClient] = []
    yield made
    for client in made:
        await client.close()


async def janus_room(net: JanusNet, number: int) -> dict | None:
    """The room as Janus itself lists it (a session of the test's own, not the server's)."""
    async with aiohttp.ClientSession() as http:

        async def post(path: str, body: dict) -> dict:
            async with http.post(net.api_url + path, json={**body, "transaction": "t"}) as response:
                return await response.json(content_type=None)

        session = (await post("", {"janus": "create"}))["data"]["id"]
        handle = (await post(f"/{session}", {"janus": "attach", "plugin": "janus.plugin.videoroom"}))["data"][
            "id"
        ]
        listed = await post(f"/{session}/{handle}", {"janus": "message", "body": {"request": "list"}})
        await post(f"/{session}", {"janus": "destroy"})
    rooms = listed["plugindata"]["data"]["list"]
    return next((room for room in rooms if room["room"] == number), None)


async def test_a_meetings_room_is_created_once_audio_first_and_destroyed(
    janus: JanusNet, clients: list[JanusClient]
) -> None:
    client = JanusClient(janus.api_url, KEY)
    clients.append(client)
    keys = await client.create_room(41, publishers=40)
    assert keys == room_keys(KEY, 41) and keys.secret and keys.pin
    listed = await janus_room(janus, keys.number)
    assert listed is not None, "Janus has no such room"
    assert listed["description"] == keys.description
    assert listed["max_publishers"] == 40 and listed["bitrate"] == AUDIO_FIRST_BITRATE
    assert listed["pin_required"] is True  # nobody joins without the PIN only the server holds
    assert await client.create_room(41, publishers=40) == keys  # idempotent
    assert list(await client.own_rooms()) == [41]

    # Destroying needs the secret: another server's client cannot.
    stranger = JanusClient(janus.api_url, OTHER_KEY)
    clients.append(stranger)
    with pytest.raises(SfuError):
        await stranger.request({"request": "destroy", "room": keys.number, "secret": "not-it"})
    assert await client.destroy_room(41) is True
    assert await janus_room(janus, keys.number) is None
    assert await client.destroy_room(41) is False


async def test_a_restarted_server_destroys_its_orphans_and_only_its_own(
    janus: JanusNet, clients: list[JanusClient]
) -> None:
    before = JanusClient(janus.api_url, KEY)
    neighbour = JanusClient(janus.api_url, OTHER_KEY)
    clients.extend([before, neighbour])
    for meeting_id in (1, 2, 3):
        await before.create_room(meeting_id, publishers=10)
    await neighbour.create_room(1, publishers=10)
    await before.close()  # the process dies; its rooms stay in Janus

    after = JanusClient(janus.api_url, KEY)
    clients.append(after)
    assert sorted(await after.own_rooms()) == [1, 2, 3]
    assert await after.destroy_orphans(live_meetings={2}) == [1, 3]
    assert sorted(await after.own_rooms()) == [2]
    assert sorted(await neighbour.own_rooms()) == [1]  # another server's room is not touched
    assert await janus_room(janus, room_keys(OTHER_KEY, 1).number) is not None


async def test_an_unreachable_or_stuck_janus_is_a_clear_error_within_the_deadline(
    clients: list[JanusClient],
) -> None:
    # Nobody listening: refused at once.
    refused = JanusClient("http://127.0.0.1:9/janus", KEY, call_seconds=2.0)
    clients.append(refused)
    started = time.monotonic()
    with pytest.raises(SfuUnavailable):
        await refused.create_room(1, publishers=10)
    assert time.monotonic() - started < 2.5

    # Listening but never answering: the deadline, not a hang.
    held: list[asyncio.StreamWriter] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)  # closed below: nothing may outlive the test's event loop
        await reader.read(65536)

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    stuck = JanusClient(f"http://127.0.0.1:{port}/janus", KEY, call_seconds=1.0)
    clients.append(stuck)
    started = time.monotonic()
    try:
        with pytest.raises(SfuUnavailable):
            await stuck.create_room(1, publishers=10)
        assert time.monotonic() - started < 2.0
    finally:
        server.close()
        for writer in held:
            writer.close()
        await server.wait_closed()
        await asyncio.sleep(0)  # the closed transports are released before the loop ends


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"CELLMEET_SFU_URL": "janus.example:8088"}, "CELLMEET_SFU_URL"),
        ({"CELLMEET_SFU_URL": "ftp://198.18.0.1/janus"}, "CELLMEET_SFU_URL"),
        ({"CELLMEET_SFU_URL": "http://198.18.0.1:99999/janus"}, "CELLMEET_SFU_URL"),
        ({"CELLMEET_SFU_MIN_PEERS": "1"}, "CELLMEET_SFU_MIN_PEERS"),
        ({"CELLMEET_SFU_MIN_PEERS": "six"}, "CELLMEET_SFU_MIN_PEERS"),
    ],
)
def test_bad_sfu_settings_stop_the_start(tmp_path: Path, env: dict[str, str], message: str) -> None:
    base = {"CELLMEET_DATA_DIR": str(tmp_path), "CELLMEET_SECRET_KEY": KEY}
    with pytest.raises(UnsafeSettings, match=message):
        load_settings({**base, **env})


def test_sfu_settings_default_to_mesh_only(tmp_path: Path) -> None:
    settings = load_settings({"CELLMEET_DATA_DIR": str(tmp_path), "CELLMEET_SECRET_KEY": KEY})
    assert (settings.sfu_url, settings.sfu_api_secret, settings.sfu_min_peers) == (None, None, 6)
    configured = load_settings(
        {
            "CELLMEET_DATA_DIR": str(tmp_path),
            "CELLMEET_SECRET_KEY": KEY,
            "CELLMEET_SFU_URL": "http://198.18.0.1:8088/janus/",
            "CELLMEET_SFU_API_SECRET": "janus-api-secret",
            "CELLMEET_SFU_MIN_PEERS": "8",
        }
    )
    assert configured.sfu_url == "http://198.18.0.1:8088/janus"
    assert configured.sfu_min_peers == 8
    assert "janus-api-secret" not in repr(configured)


def test_the_sfu_url_may_be_janus_websocket_api(tmp_path: Path) -> None:
    """api.md's example of CELLMEET_SFU_URL is Janus's WebSocket API."""
    base = {"CELLMEET_DATA_DIR": str(tmp_path), "CELLMEET_SECRET_KEY": KEY}
    for url in ("ws://127.0.0.1:8188", "wss://janus.internal:8989/"):
        assert load_settings({**base, "CELLMEET_SFU_URL": url}).sfu_url == url.rstrip("/")
    with pytest.raises(UnsafeSettings, match="CELLMEET_SFU_URL"):
        load_settings({**base, "CELLMEET_SFU_URL": "ws://127.0.0.1:8188?x=1"})
