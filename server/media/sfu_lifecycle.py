"""The SFU in the app's life (issue 20, step 2a): the Janus client made at start when `CELLMEET_SFU_URL`
is set, this server's orphan rooms destroyed once Janus answers (rooms of meetings no longer live),
a meeting's room destroyed when it closes or is cancelled, the client closed at shutdown; and (issue
27) Janus watched from the start, its loss and return told to the listeners.

Janus being down never stops the server nor holds a request: the start-up sweep runs in the
background, a room's destruction has the adapter's deadline, and a failure is logged once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from aiohttp import web
from sqlalchemy import select
from sqlmodel import col

from meetings.enums import MeetingStatus
from server.appkeys import DATABASE, SETTINGS
from server.db.columns import key
from server.db.tables import Meeting
from server.media.sfu import JanusClient, SfuError
from server.media.sfu_echo import SFU_ECHO, SfuEchoRegistry
from server.media.sfu_watch import SfuListener, SfuWatch
from server.metrics import forget_sfu_reachability, watch_sfu_reachability

log = logging.getLogger("cellmeet.sfu")

SFU = web.AppKey("sfu", JanusClient)
SWEEP = web.AppKey("sfu_sweep", asyncio.Task)
SFU_WATCH = web.AppKey("sfu_watch", SfuWatch)
WATCHING = web.AppKey("sfu_watching", asyncio.Task)
# Who is told when Janus is lost and when it answers again (the realtime layer's recovery).
SFU_LISTENERS = web.AppKey("sfu_listeners", list)
LIVE = (MeetingStatus.SCHEDULED.value, MeetingStatus.OPEN.value)


def sfu_of(app: web.Application) -> JanusClient | None:
    return app.get(SFU)


def sfu_watch_of(app: web.Application) -> SfuWatch | None:
    return app.get(SFU_WATCH)


def sfu_listeners(app: web.Application) -> list[SfuListener]:
    """The one list the watch tells, whichever of the watch and its listeners starts first."""
    listeners: list[SfuListener] = app.setdefault(SFU_LISTENERS, [])
    return listeners


async def _sweep_orphans(app: web.Application) -> None:
    client = app[SFU]
    try:
        async with app[DATABASE].read() as session:
            rows = await session.execute(select(key(Meeting.id)).where(col(Meeting.status).in_(LIVE)))
            live = {int(meeting_id) for (meeting_id,) in rows.all()}
        destroyed = await client.destroy_orphans(live)
        if destroyed:
            log.info("SFU: destroyed the rooms of %d meetings no longer live: %s", len(destroyed), destroyed)
    except SfuError as exc:
        log.warning(
            "SFU: could not look for orphan rooms at start (%s); rooms stay mesh until it answers", exc
        )


async def sfu_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    # The pre-join check of the path to the SFU; without an SFU it says there is none to check.
    app[SFU_ECHO] = SfuEchoRegistry(settings, lambda: sfu_of(app))
    if settings.sfu_url is None:
        yield
        return
    app[SFU] = JanusClient(
        settings.sfu_url,
        settings.secret_key.value,
        settings.sfu_api_secret.value if settings.sfu_api_secret else None,
    )
    app[SWEEP] = asyncio.create_task(_sweep_orphans(app))
    watch = app[SFU_WATCH] = SfuWatch(app[SFU])
    watch.listeners = sfu_listeners(app)
    watch_sfu_reachability(watch)  # /metrics
    app[WATCHING] = asyncio.create_task(watch.run())
    try:
        yield
    finally:
        app[WATCHING].cancel()
        forget_sfu_reachability(watch)
        app[SWEEP].cancel()
        await app[SFU_ECHO].close_all()
        await app[SFU].close()


async def meeting_ended(app: web.Application, meeting_id: int) -> None:
    """A meeting closed or was cancelled: its room in Janus goes (nothing to do without an SFU)."""
    client = sfu_of(app)
    if client is None:
        return
    try:
        await client.destroy_room(meeting_id)
    except SfuError as exc:
        log.warning(
            "SFU: the room of meeting %s could not be destroyed now (%s); the next start sweeps it",
            meeting_id,
            exc,
        )
