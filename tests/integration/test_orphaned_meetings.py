"""Several processes (issue 26): a meeting whose owner stopped and that no member joined again has no
process to let its members go; another process takes it over and gives the members still away one
leave, dated when it first found them orphaned (the restart sweep of one process, made per meeting)."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import pytest

from server.appkeys import SETTINGS
from server.db.tables import PresenceEvent
from server.settings import Secret
from tests.integration import harness
from tests.integration.harness import RunningServer
from tests.integration.helpers import count
from tests.integration.room_client import RoomClient, online_meeting, ticket
from tests.integration.world import World

REDIS = "redis://127.0.0.1:6379/0"
WAIT = 0.5  # the grace before a member not back is let go (presence_confirm_seconds)

# PostgreSQL only: the stop of a server holding a live connection takes 20 s (its WebSocket is waited
# for), once is enough; the sweep's queries are the restart sweep's, run on both databases elsewhere.
pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {
        "redis_url": Secret(REDIS),
        "redis_prefix": f"cellmeet-test-{uuid.uuid4().hex[:10]}",
        "presence_confirm_seconds": WAIT,
    }


async def test_a_member_of_a_meeting_whose_owner_stopped_is_let_go_by_another_process(
    world: World, tmp_path: Path, rooms: list[RoomClient]
) -> None:
    mid = await online_meeting(world)
    first = world.server.app[SETTINGS]
    data_dir = tmp_path / "owner"
    data_dir.mkdir()
    owner = await RunningServer.start(
        harness.test_settings(
            data_dir,
            first.database_url,
            secret_key=first.secret_key,
            redis_url=first.redis_url,
            redis_prefix=first.redis_prefix,
            presence_confirm_seconds=WAIT,
        ),
        world.server.clock,
    )
    member = world.members["A"][-1]  # member_a's own record
    try:
        client = RoomClient(str(owner.url), auth={"token": await ticket(world, "member_a", mid)})
        await client.connect()
        rooms.append(client)
        assert (await client.join(mid))["ok"] is True  # the meeting's room is the owner's
        assert await count(world, PresenceEvent, meeting_id=mid, member_id=member, kind="join") == 1
    finally:
        await owner.stop()  # its lease released; a stopping process writes no departures
    assert await count(world, PresenceEvent, meeting_id=mid, member_id=member, kind="leave") == 0

    deadline = asyncio.get_running_loop().time() + 10
    while await count(world, PresenceEvent, meeting_id=mid, member_id=member, kind="leave") == 0:
        assert asyncio.get_running_loop().time() < deadline, "the orphaned member was never let go"
        await asyncio.sleep(0.2)
    await asyncio.sleep(3 * WAIT)
    assert await count(world, PresenceEvent, meeting_id=mid, member_id=member, kind="leave") == 1
