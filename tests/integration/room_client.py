"""A real socket.io client of `/room` for tests and the benchmark's checks, and the world's room set-up."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import socketio

from tests.integration.helpers import approve_a, regular_template, schedule
from tests.integration.world import World

NAMESPACE = "/room"


class RoomClient:
    """One connection to `/room` that records every event the server pushes."""

    def __init__(
        self,
        url: str,
        *,
        auth: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        reconnection: bool = False,
        rejoin: int | None = None,
    ) -> None:
        self.url = url
        self.auth = auth
        self.headers = headers or {}
        # As the room page's socket.io-client (web/static/js/room.js): first retry after about 1 s,
        # then up to 2 s apart (±50 %).
        self.sio = socketio.AsyncClient(
            reconnection=reconnection,
            reconnection_delay=1,
            reconnection_delay_max=2,
            randomization_factor=0.5,
        )
        # Like the room page: every (re)connection joins the meeting again.
        self.rejoin = rejoin
        self.joins: list[tuple[float, Any]] = []  # (loop time, ack) of each automatic join
        self._tasks: set[asyncio.Task[None]] = set()
        self.sio.on("connect", self._connected, namespace=NAMESPACE)
        self.events: list[tuple[str, Any]] = []
        self._changed = asyncio.Event()
        self.sio.on("*", self._record, namespace=NAMESPACE)
        self.connect_error: Any = None
        self.sio.on("connect_error", self._refused, namespace=NAMESPACE)

    async def _record(self, event: str, data: Any = None) -> None:
        self.events.append((event, data))
        self._changed.set()

    async def _connected(self) -> None:
        if self.rejoin is not None:
            task = asyncio.get_running_loop().create_task(self._join_again(self.rejoin))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _join_again(self, meeting_id: int) -> None:
        ack = await self.join(meeting_id)
        self.joins.append((asyncio.get_running_loop().time(), ack))
        self._changed.set()

    async def _refused(self, data: Any = None) -> None:
        # socket.io carries the server's refusal as {message, data}: the data is {code, message}
        self.connect_error = data.get("data", data) if isinstance(data, dict) else data
        self._changed.set()

    async def connect(self) -> None:
        try:
            await self._connect()
        except Exception:
            await self._close_http()  # a refused connection leaves the engine.io HTTP session open
            raise

    async def _connect(self) -> None:
        await self.sio.connect(
            self.url,
            namespaces=[NAMESPACE],
            transports=["websocket"],
            socketio_path="socket.io",
            auth=self.auth,
            headers=self.headers,
            wait_timeout=5,
        )

    async def call(self, event: str, data: Any = None, timeout: float = 5.0) -> Any:
        return await self.sio.call(event, {} if data is None else data, namespace=NAMESPACE, timeout=timeout)

    async def join(self, meeting_id: int) -> Any:
        return await self.call("join", {"meeting_id": meeting_id})

    def received(self, event: str) -> list[Any]:
        return [data for name, data in self.events if name == event]

    def mark(self) -> int:
        """A point in the received events: `wait_for(..., since=mark)` looks only after it."""
        return len(self.events)

    async def wait_for(
        self, event: str, check: Callable[[Any], bool] = lambda _: True, timeout: float = 5.0, since: int = 0
    ) -> Any:
        """The first `event` (received after `since`, or coming) whose payload passes `check`."""

        async def look() -> Any:
            while True:
                for name, data in self.events[since:]:
                    if name == event and check(data):
                        return data
                self._changed.clear()
                await self._changed.wait()

        return await asyncio.wait_for(look(), timeout)

    async def close(self) -> None:
        await self.sio.disconnect()
        await self._close_http()

    async def _close_http(self) -> None:
        http = getattr(self.sio.eio, "http", None)
        if http is not None and not http.closed:
            await http.close()


async def link_members(world: World, unit: str, how_many: int) -> list[tuple[str, int]]:
    """Give the first unlinked members of a unit their own accounts: [(username, member_id)]."""
    secretary = await world.as_user({"A": "sec_a", "B": "sec_b", "QA": "sec_q"}[unit])
    linked: list[tuple[str, int]] = []
    for index, member_id in enumerate(world.members[unit][:how_many]):
        username = f"{unit.lower()}_member_{index}"
        if username not in world.users:
            await world.add_user(username)
        reply = await secretary.patch(f"/api/v1/members/{member_id}", {"user_id": world.users[username]})
        assert reply.status == 200, reply.body
        linked.append((username, member_id))
    return linked


async def cell_of(world: World, size: int) -> list[tuple[str, int]]:
    """Cell A grown to `size` official members, each with an account."""
    sec_a = await world.as_user("sec_a")
    while len(world.members["A"]) < size:
        reply = await sec_a.post(
            f"/api/v1/orgs/{world.orgs['A']}/members",
            {
                "full_name": f"Thành Viên {len(world.members['A'])}",
                "standing": "official",
                "remote_reason": "abroad",
            },
        )
        assert reply.status == 201, reply.body
        world.members["A"].append(int(reply.body["id"]))
    return await link_members(world, "A", size)


async def online_meeting(world: World, unit: str = "A") -> int:
    """An online meeting of cell A (approved for the pilot), still scheduled."""
    await approve_a(world)
    created = await schedule(world, "sec_a", unit, mode="online")
    assert created.status == 201, created.body
    return int(created.body["id"])


async def ticket(world: World, username: str, meeting_id: int) -> str:
    reply = await (await world.as_user(username)).post(f"/api/v1/meetings/{meeting_id}/join-ticket", {})
    assert reply.status == 201, reply.body
    return str(reply.body["token"])


async def joined(world: World, username: str, meeting_id: int, **options: Any) -> tuple[RoomClient, Any]:
    client = RoomClient(
        str(world.server.url), auth={"token": await ticket(world, username, meeting_id)}, **options
    )
    await client.connect()
    ack = await client.join(meeting_id)
    assert ack["ok"] is True, ack
    return client, ack


async def scheduled_from_template(world: World, linked: int = 5) -> tuple[int, list[tuple[str, int]]]:
    """An online meeting of cell A from its regular template, chaired by the first linked member
    (Một) with the second (Hai) taking the minutes; the first `linked` members have accounts
    (5: Một, Hai, Ba, Bốn, Năm the probationary one)."""
    people = await link_members(world, "A", linked)
    await approve_a(world)
    template = await regular_template(world)
    created = await schedule(
        world,
        "sec_a",
        "A",
        mode="online",
        agenda_template_id=template["id"],
        chair_id=people[0][1],
        minute_taker_id=people[1][1],
    )
    assert created.status == 201, created.body
    return int(created.body["id"]), people
