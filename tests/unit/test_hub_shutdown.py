"""A push waiting for the end of its room's quiet interval when the hub closes starts nothing later.

Found in CI: the timer fired after `close`, created a task nobody awaited, and its coroutine's
"never awaited" warning failed whichever test was running when it was collected."""

import asyncio
import gc
import warnings
from datetime import UTC, datetime
from pathlib import Path

import socketio

from server.db.engine import Database
from server.realtime.hub import PUSH_INTERVAL_SECONDS, Hub


async def test_a_push_due_after_close_starts_no_task(tmp_path: Path) -> None:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}")
    hub = Hub(socketio.AsyncServer(async_mode="aiohttp"), database, lambda: datetime.now(UTC))
    try:
        room = hub.room(1)
        pushed_at = room.last_push = asyncio.get_running_loop().time()  # the next push must wait
        hub.request_push(1)
        assert room.push_scheduled
        await hub.close()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            await asyncio.sleep(PUSH_INTERVAL_SECONDS * 3)
            gc.collect()
        assert room.last_push == pushed_at, "a push ran after the hub closed"
        assert not hub._tasks, "a task started after the hub closed"
        assert not [w for w in caught if "never awaited" in str(w.message)]
    finally:
        await database.engine.dispose()
