"""A room client that keeps the meeting's state from the events it is sent, and after a cut joins again
with the last number it saw, as docs/api.md describes (quality.md R3; server.realtime.replay).

Its state is what a member's screen shows of the meeting: the latest presence, quorum, hands, cameras,
agenda, floor, meeting state and minutes, and each vote. `state_hash` is that state's digest, so two
members' screens can be compared, or a member's with the server's.

A non-test module: the tests import it, never each other.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from typing import Any

import aiohttp
from yarl import URL

from tests.integration.room_client import RoomClient

# Events whose payload is the whole of one part of the meeting's state: the latest wins.
WHOLE = ("presence", "quorum", "hands", "cameras", "agenda", "floor", "meeting-state", "minutes")
VOTES = ("vote-opened", "vote-progress", "vote-closed")


def state_hash(state: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(state, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


class ResumingClient(RoomClient):
    def __init__(self, url: str, meeting_id: int, *, cookies: dict[str, str], **options: Any) -> None:
        super().__init__(url, reconnection=True, **options)
        # The session cookie in every (re)connection's own HTTP session: python-engineio takes a Cookie
        # header out of the headers it was given at the first connection, so a reconnect would go
        # without it (and be refused as not logged in).
        self.cookies = cookies
        self.sio.eio.http_factory = self._http
        # A lost link is retried every half second (the page retries within 2 s).
        self.sio.reconnection_delay = 0.5
        self.sio.reconnection_delay_max = 0.5
        self.sio.randomization_factor = 0.0
        self.meeting_id = meeting_id
        self.state: dict[str, Any] = {}
        self.epoch: str | None = None
        self.last_seq = 0
        self.joining = False
        self.resumes: list[dict[str, Any]] = []  # the `resume` of each join ack
        self.state_before_resume: list[str] = []  # the state's hash just before each resume applied
        self.numbered = 0  # numbered events applied as they came
        self.live_between = 0  # events received live while a join was pending (the replay has them)

    def _http(self) -> aiohttp.ClientSession:
        jar = aiohttp.CookieJar(unsafe=True)  # loopback: an IP address, not a domain
        jar.update_cookies(self.cookies, response_url=URL(self.url))
        return aiohttp.ClientSession(cookie_jar=jar)

    def apply(self, event: str, data: Any) -> None:
        if event in WHOLE:
            self.state[event] = data
        elif event in VOTES and isinstance(data, dict):
            self.state.setdefault("votes", {})[str(data.get("id"))] = data

    @property
    def hash(self) -> str:
        return state_hash(self.state)

    async def _record(self, event: str, data: Any = None, meta: Any = None) -> None:
        seq = meta.get("seq") if isinstance(meta, dict) else None
        if isinstance(seq, int):
            if self.joining and self.epoch is not None:
                self.live_between += 1  # numbered up to the ack's `seq`: in its replay
            elif seq > self.last_seq:
                self.apply(event, data)
                self.last_seq = seq
                self.numbered += 1
        else:
            self.apply(event, data)
        await super()._record(event, data)

    async def _connected(self) -> None:
        task = asyncio.get_running_loop().create_task(self._join_again(self.meeting_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def join(self, meeting_id: int) -> Any:
        resume: Any = {"epoch": self.epoch, "last_seq": self.last_seq} if self.epoch else True
        self.joining = True
        try:
            ack = await self.call("join", {"meeting_id": meeting_id, "resume": resume})
        finally:
            self.joining = False
        if not isinstance(ack, dict) or not ack.get("ok"):
            return ack
        answer = ack["resume"]
        self.resumes.append(answer)
        self.state_before_resume.append(self.hash)
        if answer.get("replayed") is None:
            # Nothing to resume from (the first join, another process, too long away): the ack's state.
            state = ack["state"]
            self.state.update(
                {
                    "presence": state["presence"],
                    "quorum": state["quorum"],
                    "hands": {"hands": state["hands"]},
                    "cameras": state["cameras"],
                }
            )
        else:
            for missed in answer["replayed"]:
                self.apply(missed["event"], missed["data"])
            # The join's own presence is in its ack (the push that follows skips this connection).
            self.state.update({"presence": ack["state"]["presence"], "quorum": ack["state"]["quorum"]})
        self.epoch, self.last_seq = answer["epoch"], answer["seq"]
        return ack
