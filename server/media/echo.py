"""The pre-join echo check (kiểm tra thiết bị trước khi vào họp): an aiortc peer that sends back what it gets.

A member's browser offers audio/video tracks and a "probe" data channel; the server's peer returns
every received track (through a MediaRelay) and every probe message unchanged, so the browser can see
its microphone and camera arrive and measure round-trip time and loss. One check per user, a bounded
number per server, each closed after a bounded time (settings.echo_*). The ICE servers come only from
settings (STUN entries; never aiortc's public default) and, when settings.media_host_addresses is set,
aioice offers only those host addresses.
"""

from __future__ import annotations

import asyncio
import logging
import math
import secrets
import weakref
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import aioice.ice
from aiohttp import web
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCDataChannel,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.contrib.media import MediaRelay
from aiortc.exceptions import InvalidAccessError, InvalidStateError, OperationError

from server.appkeys import SETTINGS
from server.media.turn import ice_servers_for
from server.metrics import forget_echo_peers, watch_echo_peers
from server.settings import Settings

log = logging.getLogger("cellmeet.media.echo")

PROBE_LABEL = "probe"
# Host candidates only need no network round trip; a configured STUN server that does not answer
# stalls gathering about 5 s. Past this the offer is given up.
NEGOTIATION_TIMEOUT_SECONDS = 15.0


class EchoBusy(Exception):
    """Every echo slot of the server is taken; retry_after is when the first one frees at the latest."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("echo_busy")
        self.retry_after = retry_after


class InvalidOffer(Exception):
    """The browser's SDP offer could not be negotiated."""


# aiortc's SDP parser has no error type of its own: a malformed offer fails with one of the builtins;
# aiortc refuses an unusable one (or one whose check was replaced meanwhile) with its own exceptions.
_NEGOTIATION_ERRORS: tuple[type[Exception], ...] = (
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
    InvalidAccessError,
    InvalidStateError,
    OperationError,
    TimeoutError,  # gathering stalled past NEGOTIATION_TIMEOUT_SECONDS
)


def rtc_configuration(settings: Settings) -> RTCConfiguration:
    """Always an explicit list (empty: host candidates only); STUN only — TURN is for meeting members."""
    servers = []
    for entry in ice_servers_for(settings.ice_servers, None):
        urls = [str(url) for url in entry["urls"] if str(url).startswith("stun:")]
        if urls:
            servers.append(RTCIceServer(urls=urls))
    return RTCConfiguration(iceServers=servers)


@dataclass
class EchoSession:
    id: str
    user_id: int
    pc: RTCPeerConnection
    deadline: float  # event-loop time
    relay: MediaRelay = field(default_factory=MediaRelay)
    timer: asyncio.Task[None] | None = None


class EchoRegistry:
    """The running echo checks of this process, by id and by user."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.sessions: dict[str, EchoSession] = {}
        self._by_user: dict[int, str] = {}
        self._closing: set[asyncio.Task[bool]] = set()
        # Every peer this registry made, held weakly: the gauge counts those not closed, whether or
        # not a session still holds them (a peer dropped without close() would be a leak).
        self._peers: weakref.WeakSet[RTCPeerConnection] = weakref.WeakSet()

    def live_peers(self) -> int:
        return sum(1 for pc in list(self._peers) if pc.connectionState != "closed")

    def of_user(self, session_id: str, user_id: int) -> EchoSession | None:
        session = self.sessions.get(session_id)
        return session if session is not None and session.user_id == user_id else None

    async def start(self, user_id: int, offer_sdp: str) -> tuple[EchoSession, RTCSessionDescription]:
        """Answer the offer; the user's previous check is closed first. Raises EchoBusy, InvalidOffer."""
        previous = self._by_user.get(user_id)
        if previous is not None:
            await self.close(previous)
        loop = asyncio.get_running_loop()
        if len(self.sessions) >= self.settings.echo_max_sessions:
            first_free = min(s.deadline for s in self.sessions.values())
            raise EchoBusy(max(1, math.ceil(first_free - loop.time())))
        # Registered before the first await, so concurrent offers see the slot taken.
        session = EchoSession(
            id=secrets.token_urlsafe(16),
            user_id=user_id,
            pc=RTCPeerConnection(configuration=rtc_configuration(self.settings)),
            deadline=loop.time() + self.settings.echo_session_seconds,
        )
        self.sessions[session.id] = session
        self._peers.add(session.pc)
        self._by_user[user_id] = session.id
        session.timer = asyncio.create_task(self._expire(session))
        self._wire(session)
        try:
            answer = await asyncio.wait_for(self._answer(session, offer_sdp), NEGOTIATION_TIMEOUT_SECONDS)
        except _NEGOTIATION_ERRORS as exc:
            await self.close(session.id)
            raise InvalidOffer(str(exc)) from None
        except BaseException:
            await self.close(session.id)
            raise
        return session, answer

    async def _answer(self, session: EchoSession, offer_sdp: str) -> RTCSessionDescription:
        pc = session.pc
        if "a=fingerprint:" not in offer_sdp:
            # aiortc would accept it, then fail the DTLS start in a task of its own
            raise ValueError("the offer has no DTLS fingerprint")
        await pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
        if not pc.getTransceivers() and pc.sctp is None:
            raise ValueError("the offer has no audio, video or data channel")
        # No trickle ICE in aiortc: setLocalDescription gathers every candidate into the answer.
        await pc.setLocalDescription(await pc.createAnswer())
        answer = pc.localDescription
        assert answer is not None
        return answer

    def _wire(self, session: EchoSession) -> None:
        pc = session.pc

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            # Fired during setRemoteDescription, so the answer already sends the echo back.
            pc.addTrack(session.relay.subscribe(track, buffered=False))

        @pc.on("datachannel")
        def on_datachannel(channel: RTCDataChannel) -> None:
            if channel.label != PROBE_LABEL:
                return

            @channel.on("message")
            def on_message(message: str | bytes) -> None:
                channel.send(message)

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if pc.connectionState in ("failed", "closed"):
                self._close_later(session.id)

    async def _expire(self, session: EchoSession) -> None:
        await asyncio.sleep(self.settings.echo_session_seconds)
        session.timer = None  # this task is finishing: close() must not cancel it
        await self.close(session.id)

    def _close_later(self, session_id: str) -> None:
        task = asyncio.create_task(self.close(session_id))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def close(self, session_id: str) -> bool:
        """Close one check; False when it is not (or no longer) running."""
        session = self.sessions.pop(session_id, None)
        if session is None:
            return False
        if self._by_user.get(session.user_id) == session_id:
            del self._by_user[session.user_id]
        if session.timer is not None:
            session.timer.cancel()
        await session.pc.close()
        log.info("echo check %s of user %s closed", session_id[:6], session.user_id)
        return True

    async def close_all(self) -> None:
        for session_id in list(self.sessions):
            await self.close(session_id)
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)


ECHO = web.AppKey("echo", EchoRegistry)


def limit_host_addresses(addresses: tuple[str, ...]) -> Callable[[], None]:
    """Make aioice offer only these host addresses (process-wide); returns the undo."""
    original = aioice.ice.get_host_addresses

    def configured(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return [a for a in addresses if (use_ipv6 if ":" in a else use_ipv4)]

    aioice.ice.get_host_addresses = configured

    def restore() -> None:
        aioice.ice.get_host_addresses = original

    return restore


async def echo_ctx(app: web.Application) -> AsyncIterator[None]:
    """App start: the registry (and the host addresses, when configured); shutdown: every peer closed."""
    settings = app[SETTINGS]
    app[ECHO] = EchoRegistry(settings)
    watch_echo_peers(app[ECHO])
    restore = limit_host_addresses(settings.media_host_addresses) if settings.media_host_addresses else None
    try:
        yield
        await app[ECHO].close_all()
    finally:
        forget_echo_peers(app[ECHO])
        if restore is not None:
            restore()
