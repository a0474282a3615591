"""Typed keys of the application's shared state. The live rooms are known here by their port
(`server.services.live`), never by the realtime layer's own types."""

from __future__ import annotations

from aiohttp import web

from server.audit.refusals import RefusalLog
from server.auth.throttle import LoginThrottle
from server.clock import Clock
from server.db.engine import Database
from server.net_limits import ConnectionGuard
from server.services.live import LiveRooms
from server.settings import Settings

SETTINGS = web.AppKey("settings", Settings)
DATABASE = web.AppKey("database", Database)
CLOCK = web.AppKey[Clock]("clock")  # Clock is a Callable, not a class: a type argument
THROTTLE = web.AppKey("throttle", LoginThrottle)
REFUSALS = web.AppKey("refusals", RefusalLog)
HUB = web.AppKey("hub", LiveRooms)
CONNECTION_GUARD = web.AppKey("connection_guard", ConnectionGuard)
