"""The pre-join check of the path to the SFU (issue 24, point 5): the member's browser connects to the
unit's Janus as it will in the meeting, through Janus's echo test plugin, which sends back the audio,
video and probe messages it receives. The server only relays the offer and the answer (the browser
gathers every candidate into its offer), as it relays the meeting's negotiation; Janus is told no name.

The same limits as the server's own echo (settings.echo_*): one check per user, a bounded number at
once, each ended after a bounded time.
"""

from __future__ import annotations

import asyncio
import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from server.media.echo import EchoBusy
from server.media.sfu import JanusClient, SfuError
from server.settings import Settings

ECHO_PLUGIN = "janus.plugin.echotest"


class NoSfu(Exception):
    """No SFU is configured: there is no path to check."""


@dataclass
class SfuEchoSession:
    id: str
    user_id: int
    handle: int | None
    deadline: float  # event-loop time
    timer: asyncio.Task[None] | None = None


class SfuEchoRegistry:
    def __init__(self, settings: Settings, client_of: Callable[[], JanusClient | None]) -> None:
        self.settings = settings
        self.client_of = client_of
        self.sessions: dict[str, SfuEchoSession] = {}
        self._by_user: dict[int, str] = {}

    def of_user(self, session_id: str, user_id: int) -> SfuEchoSession | None:
        session = self.sessions.get(session_id)
        return session if session is not None and session.user_id == user_id else None

    async def start(self, user_id: int, offer: dict[str, Any]) -> tuple[SfuEchoSession, dict[str, Any]]:
        """Janus's answer to the browser's offer. Raises NoSfu, EchoBusy, SfuError."""
        client = self.client_of()
        if client is None:
            raise NoSfu()
        previous = self._by_user.get(user_id)
        if previous is not None:
            await self.close(previous)
        loop = asyncio.get_running_loop()
        if len(self.sessions) >= self.settings.echo_max_sessions:
            first_free = min(s.deadline for s in self.sessions.values())
            raise EchoBusy(max(1, math.ceil(first_free - loop.time())))
        session = SfuEchoSession(
            id="sfu-" + secrets.token_urlsafe(16),
            user_id=user_id,
            handle=None,
            deadline=loop.time() + self.settings.echo_session_seconds,
        )
        self.sessions[session.id] = session  # the slot is taken before the first await
        self._by_user[user_id] = session.id
        session.timer = asyncio.create_task(self._expire(session))
        try:
            session.handle = await client.attach(plugin=ECHO_PLUGIN)
            _, answer = await client.message(session.handle, {"audio": True, "video": True}, offer)
            await client.trickle(session.handle, None)  # every candidate was in the offer
        except BaseException:
            await self.close(session.id)
            raise
        if answer is None:
            await self.close(session.id)
            raise SfuError(None, "the echo test gave no answer")
        return session, answer

    async def _expire(self, session: SfuEchoSession) -> None:
        await asyncio.sleep(max(0.0, session.deadline - asyncio.get_running_loop().time()))
        await self.close(session.id, from_timer=True)

    async def close(self, session_id: str, *, from_timer: bool = False) -> None:
        session = self.sessions.pop(session_id, None)
        if session is None:
            return
        if self._by_user.get(session.user_id) == session_id:
            del self._by_user[session.user_id]
        if session.timer is not None and not from_timer:
            session.timer.cancel()
        client = self.client_of()
        if session.handle is not None and client is not None:
            try:
                await client.detach(session.handle)
            except SfuError:
                pass  # Janus gone: its handle went with it

    async def close_all(self) -> None:
        for session_id in list(self.sessions):
            await self.close(session_id)


SFU_ECHO = web.AppKey("sfu_echo", SfuEchoRegistry)
