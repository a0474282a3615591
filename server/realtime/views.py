"""The rooms' views of their meetings, read together (issue 22).

At 19:00 the first joins of a province's rooms each need their room's view (services.presence.Snapshot):
read one by one, that was about ten queries per room, 10 ms of CPU each on this machine, all at the
start of the burst. Here a room asks and waits; one reader takes every room asked for so far, reads
their views with one set of queries (`load_snapshots`) in one read transaction, and answers each. A
room asked for while a read is under way goes into the next one, which starts after it: what a room
is answered was read after it asked, so its view holds every join it committed before asking.
The hub gives the reader (`hub._read_views`: services.presence.load_snapshots).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from server.db.engine import Database
from server.services.presence import Snapshot

# (session, meeting ids, instant) -> each meeting's view, None for a meeting that does not exist.
Reader = Callable[[AsyncSession, Sequence[int], datetime], Awaitable[dict[int, Snapshot | None]]]

# At most this many rooms per read: the queries' IN lists stay short.
MAX_ROOMS_PER_READ = 100


class ViewLoader:
    def __init__(self, database: Database, clock: Callable[[], datetime], read: Reader) -> None:
        self.database = database
        self.clock = clock
        self.read = read
        self._asked: dict[int, list[asyncio.Future[Snapshot | None]]] = {}
        self._reader: asyncio.Task[None] | None = None
        self.reads = 0  # read transactions made (the tests count them)

    async def load(self, meeting_id: int) -> Snapshot | None:
        """The meeting's view as committed after this call began; None when there is no such meeting."""
        future: asyncio.Future[Snapshot | None] = asyncio.get_running_loop().create_future()
        self._asked.setdefault(meeting_id, []).append(future)
        if self._reader is None or self._reader.done():
            self._reader = asyncio.create_task(self._read_all())
        return await asyncio.shield(future)  # a caller that goes away does not cancel the others' read

    async def _read_all(self) -> None:
        while self._asked:
            rooms = list(self._asked)[:MAX_ROOMS_PER_READ]
            batch = {meeting_id: self._asked.pop(meeting_id) for meeting_id in rooms}
            try:
                async with self.database.read() as session:
                    views = await self.read(session, rooms, self.clock())
                self.reads += 1
            except asyncio.CancelledError:
                for futures in [*batch.values(), *self._asked.values()]:
                    for future in futures:
                        future.cancel()
                self._asked = {}
                raise
            except Exception as exc:
                for futures in batch.values():
                    for future in futures:
                        if not future.done():
                            future.set_exception(exc)
                continue
            for meeting_id, futures in batch.items():
                for future in futures:
                    if not future.done():
                        future.set_result(views.get(meeting_id))
