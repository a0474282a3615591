"""Whether Janus answers, watched (issue 27): a probe every PROBE_EVERY_SECONDS on this process's
session, so a Janus that dies mid-meeting is noticed within a few seconds (not at the next member's
request, nor at the 25 s keepalive), and a Janus that comes back, or restarted between two probes
and forgot every room, is noticed as quickly.

The watch only observes and tells its listeners (the realtime layer's recovery: members told, rooms
recreated); `/healthz` and `/metrics` read its state.
"""

from __future__ import annotations

import asyncio
import logging
from enum import StrEnum
from typing import Protocol

from server.media.sfu import JanusClient, SfuError

log = logging.getLogger("cellmeet.sfu")

PROBE_EVERY_SECONDS = 1.0
# A probe not answered within this is a Janus lost: a stopped (not dead) Janus is noticed in 3 s.
PROBE_DEADLINE_SECONDS = 2.0


class SfuState(StrEnum):
    CHECKING = "checking"  # no probe answered or failed yet (the first second after the start)
    REACHABLE = "reachable"
    UNREACHABLE = "unreachable"


class SfuListener(Protocol):
    async def sfu_lost(self) -> None:
        """Janus stopped answering, or answered having forgotten this server (its rooms are gone)."""
        ...

    async def sfu_answering(self) -> None:
        """Janus answered a probe: called after every successful probe (cheap when nothing is lost)."""
        ...


class SfuWatch:
    def __init__(
        self,
        client: JanusClient,
        every: float = PROBE_EVERY_SECONDS,
        deadline: float = PROBE_DEADLINE_SECONDS,
    ) -> None:
        self.client = client
        self.every = every
        self.deadline = deadline
        self.state = SfuState.CHECKING
        self.listeners: list[SfuListener] = []

    @property
    def reachable(self) -> bool:
        return self.state is SfuState.REACHABLE

    async def run(self) -> None:
        while True:
            await self.probe_once()
            await asyncio.sleep(self.every)

    async def probe_once(self) -> None:
        try:
            async with asyncio.timeout(self.deadline):
                session_lived = await self.client.probe()
        except (SfuError, TimeoutError) as exc:
            if self.state is not SfuState.UNREACHABLE:
                log.warning("SFU: Janus does not answer (%s); members are told, rooms wait for it", exc)
                self.state = SfuState.UNREACHABLE
                await self._tell(lost=True)
            return
        if not session_lived and self.state is SfuState.REACHABLE:
            # Janus restarted between two probes: what it had of this server is gone all the same.
            log.warning("SFU: Janus restarted and forgot this server's rooms; they are made again")
            await self._tell(lost=True)
        if self.state is SfuState.UNREACHABLE:
            log.warning("SFU: Janus answers again; rooms are made again and members renegotiate")
        self.state = SfuState.REACHABLE
        await self._tell(lost=False)

    async def _tell(self, *, lost: bool) -> None:
        for listener in list(self.listeners):
            try:
                await (listener.sfu_lost() if lost else listener.sfu_answering())
            except Exception:  # a listener's failure must never stop the watch
                log.exception("SFU: telling %r that Janus is %s failed", listener, "lost" if lost else "back")
