"""Small accessors a handler needs: the database, the clock, the caller, their language, path ids."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

from aiohttp import web

from server.appkeys import CLOCK, DATABASE, HUB, SETTINGS
from server.auth.identity import ACTOR, Actor
from server.clock import iso
from server.db.engine import Database
from server.errors import not_found, unauthenticated
from server.i18n import request_language
from server.services.live import LiveRooms

MAX_ID = 2**31 - 1


def database(request: web.Request) -> Database:
    return request.app[DATABASE]


def now(request: web.Request) -> datetime:
    return request.app[CLOCK]()


def public_base(request: web.Request) -> str:
    """The server's origin for links sent out (CELLMEET_PUBLIC_URL, else the request's), no trailing /."""
    return (request.app[SETTINGS].public_url or f"{request.scheme}://{request.host}").rstrip("/")


def lang(request: web.Request) -> str:
    return request_language(request, request.app[SETTINGS].lang)


def actor(request: web.Request) -> Actor:
    found: Actor | None = request.get(ACTOR)
    if found is None:
        raise unauthenticated()
    return found


def hub(request: web.Request) -> LiveRooms | None:
    """The live rooms of this process (None in an app without realtime)."""
    return request.app.get(HUB)


def room_changed(request: web.Request, meeting_id: int) -> None:
    """After a commit the live room shows (presence, chair, agenda, excuses): it reads its view of the
    meeting again and pushes presence and quorum."""
    hub = request.app.get(HUB)
    if hub is not None:
        hub.request_push(meeting_id, changed_elsewhere=True)


def path_id(request: web.Request, name: str = "id") -> int:
    """A malformed id is just a resource that does not exist."""
    raw = request.match_info[name]
    # ASCII digits only ("²".isdigit() is true) and within the 32-bit id columns of PostgreSQL.
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 10 or int(raw) > MAX_ID:
        raise not_found()
    return int(raw)


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def attachment(data: bytes, content_type: str, filename: str) -> web.Response:
    """A document to download (a report, an export), never cached on the way."""
    return web.Response(
        body=data,
        headers={
            "Content-Type": content_type,
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}",
            "Cache-Control": "no-store",
        },
    )


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.json_response(
        data, status=status, dumps=lambda obj: json.dumps(obj, default=_default, ensure_ascii=False)
    )
