"""Typed keys of the application's shared state."""

from __future__ import annotations

from aiohttp import web

from server.audit.refusals import RefusalLog
from server.auth.throttle import LoginThrottle
from server.clock import Clock
from server.db.engine import Database
from server.net_limits import ConnectionGuard
from server.realtime.guard import RoomGuard
from server.realtime.hub import Hub
from server.settings import Settings

SETTINGS = web.AppKey("settings", Settings)
DATABASE = web.AppKey("database", Database)
CLOCK = web.AppKey("clock", Clock)
THROTTLE = web.AppKey("throttle", LoginThrottle)
REFUSALS = web.AppKey("refusals", RefusalLog)
HUB = web.AppKey("hub", Hub)
ROOM_GUARD = web.AppKey("room_guard", RoomGuard)
CONNECTION_GUARD = web.AppKey("connection_guard", ConnectionGuard)
