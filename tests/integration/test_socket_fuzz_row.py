"""quality.md S7, its socket half (issue 29): every event the `/room` namespace answers, fuzzed by
hypothesis from a real socket.io client, as one row of docs/reliability.md (the REST half is
schemathesis in test_openapi_conformance.py).

The events are read from the server's namespace (its dispatch table and its `on_*` methods, which
socket.io calls for an event of that name whoever sends it), never from a list here. For each one,
hypothesis sends payloads of any shape: wrong types, huge ints, floats with NaN, nesting up to 60
deep, NUL, right-to-left, lone-surrogate and emoji strings, extra keys, the event's own fields with
the meeting's real ids, no argument, several, bytes anywhere (binary attachments), with an ack asked
for or not. The sender is the chair of an open online meeting with an agenda item open and a vote
running, joined first (and joined again whenever a payload made it leave), so the handlers run past
the join check; one step in ten goes from a member connected but not joined. The room's event budget
is raised out of the way: flooding is R8's and S8's row.

Held, per step: an ack asked for is `{"ok": true, ...}` or `{"ok": false, "error": {"code": ...}}`
(not `internal_error`, the room's 5xx) or the server disconnected the client; the server logged no
error and no traceback; the meeting's invariants hold, read back over REST and from the database
(a member's presence intervals do not overlap; a vote counts at most one ballot per official; at most
one agenda item open). After the fuzz a good `hand` is answered.

Then the packets no client sends, over a raw WebSocket: event packets whose data is not a list of an
event name and arguments, and binary packets whose placeholders point anywhere; a binary packet before
the namespace's connect (refused: nothing runs, nothing is kept); a binary packet's header and part of
its attachments, then a hang-up (the half-built packet is freed with the connection).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import socketio
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.integration.room_client import NAMESPACE, RoomClient, scheduled_from_template
from tests.integration.socket_fuzz import (
    ErrorLog,
    RawSocket,
    Send,
    broken_invariants,
    has_bytes,
    json_values,
    registered_events,
    room_namespace,
    sends,
    typed,
    wait_until,
)
from tests.integration.world import World
from tests.reliability import Tally, node_id

RELIABILITY_ROW = "S7"  # its line in docs/reliability.md, even when it fails before measuring

FAST_EXAMPLES, SLOW_EXAMPLES = 20, 200  # per event; 200 is quality.md's CI figure
ACK_SECONDS = 5.0
STEP_SECONDS = 0.1  # the server's clock moves on between steps, so presence intervals have length


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    # The fuzz is not a flood: the budgets that would cut it off are R8's and S8's rows.
    return {
        "room_events_per_second": 1e6,
        "room_event_burst": 10**7,
        "room_connect_burst_per_address": 100_000,
        "connections_per_address": 100_000,
    }


async def cookie_of(world: World, username: str) -> str:
    session = await world.as_user(username)
    cookies = session.http.cookie_jar.filter_cookies(world.server.url)
    return "; ".join(f"{k}={v.value}" for k, v in cookies.items())


@dataclass
class Meeting:
    """The open meeting the fuzz runs in, and what a payload may name of it."""

    world: World
    id: int
    vote_id: int
    chair: str  # the fuzzing member's username
    idle: str  # a member who connects and never joins
    known: list[Any] = field(default_factory=list)


async def open_meeting(world: World, rooms: list[RoomClient]) -> Meeting:
    """Cell A's online meeting from its template, chaired by Một: Hai, Ba and Một (on a connection of
    their own, besides the fuzzing one) joined as quiet peers, opened quorate, its first agenda item
    current, a vote running."""
    mid, people = await scheduled_from_template(world, linked=5)
    (chair, chair_id), (hai, hai_id), (ba, ba_id), (bon, bon_id), (_, nam_id) = people
    peer_ids = []
    for username in (hai, ba, chair):
        client = RoomClient(str(world.server.url), headers={"Cookie": await cookie_of(world, username)})
        rooms.append(client)
        await client.connect()
        ack = await client.join(mid)
        assert ack["ok"] is True, ack
        peer_ids.append(ack["self"]["peer_id"])
    sec_a = await world.as_user("sec_a")
    opened = await sec_a.post(f"/api/v1/meetings/{mid}/open", {})
    assert opened.status == 200, opened.body
    current = await (await world.as_user(chair)).post(f"/api/v1/meetings/{mid}/agenda/current", {"index": 0})
    assert current.status == 200, current.body
    vote = await sec_a.post(f"/api/v1/meetings/{mid}/votes", {"question": "Thông qua", "kind": "ordinary"})
    assert vote.status == 201, vote.body
    vote_id = int(vote.body["id"])
    known = [mid, vote_id, chair_id, hai_id, ba_id, bon_id, nam_id, *peer_ids, "offer", "answer"]
    known += ["for", "against", "abstain", "publisher", "subscriber", True, False, {"type": "offer"}]
    return Meeting(world, mid, vote_id, chair, bon, known)


@dataclass
class Fuzz:
    """The steps' driver: the chair's connection (joined), the idle one (never joined), and what they
    saw. Runs on the test's loop; hypothesis calls `step` from its own thread."""

    meeting: Meeting
    tally: Tally
    errors: ErrorLog
    fuzzer: RoomClient | None = None
    idle: RoomClient | None = None
    answers: Counter[str] = field(default_factory=Counter)
    sent: Counter[str] = field(default_factory=Counter)
    binary: int = 0
    opened: list[RoomClient] = field(default_factory=list)

    async def connect(self, username: str) -> RoomClient:
        world = self.meeting.world
        client = RoomClient(str(world.server.url), headers={"Cookie": await cookie_of(world, username)})
        self.opened.append(client)
        await client.connect()
        return client

    @staticmethod
    def connected(client: RoomClient | None) -> bool:
        return client is not None and client.sio.connected and NAMESPACE in client.sio.namespaces

    def joined(self, client: RoomClient) -> bool:
        sid = client.sio.get_sid(NAMESPACE)
        return sid is not None and sid in room_namespace(self.meeting.world).hub.peers

    async def ready(self) -> list[str]:
        """The chair connected and joined, the idle member connected and not: what failed to be so."""
        failed = []
        if not self.connected(self.fuzzer):
            if self.fuzzer is not None:
                await self.fuzzer.close()
            self.fuzzer = await self.connect(self.meeting.chair)
        assert self.fuzzer is not None
        if not self.joined(self.fuzzer):
            ack = await self.fuzzer.join(self.meeting.id)
            if typed(ack) != "ok":
                failed.append(f"a good join was answered {ack!r:.150}")
        if not self.connected(self.idle):
            if self.idle is not None:
                await self.idle.close()
            self.idle = await self.connect(self.meeting.idle)
        assert self.idle is not None
        if self.joined(self.idle):
            ack = await self.idle.call("leave", {})
            if typed(ack) != "ok":
                failed.append(f"a good leave was answered {ack!r:.150}")
        return failed

    async def step(self, event: str, send: Send, before_join: bool) -> None:
        broken = await self.ready()
        client = self.idle if before_join else self.fuzzer
        assert client is not None
        logged = len(self.errors.records)
        self.sent[event] += 1
        self.binary += has_bytes(send.args)
        try:
            if send.ack:
                answer = await client.sio.call(event, send.args, namespace=NAMESPACE, timeout=ACK_SECONDS)
                kind = typed(answer)
                if kind is not None:
                    self.answers[kind] += 1
                elif not self.connected(client):
                    self.answers["disconnected"] += 1
                else:
                    broken.append(f"answered {answer!r:.200}")
            else:
                await client.sio.emit(event, send.args, namespace=NAMESPACE)
                self.answers["no ack asked"] += 1
        except (TimeoutError, socketio.exceptions.TimeoutError):
            if self.connected(client):
                broken.append("no ack within 5 s, still connected")
            else:
                self.answers["disconnected"] += 1
        except socketio.exceptions.SocketIOError as exc:  # disconnected before or while sending
            self.answers[f"disconnected ({type(exc).__name__})"] += 1
        self.meeting.world.server.clock.advance(seconds=STEP_SECONDS)
        await asyncio.sleep(0 if send.ack else 0.02)  # an ack-less handler's moment to finish
        broken += await broken_invariants(self.meeting.world, self.meeting.id)
        broken += [f"server logged {line}" for line in self.errors.shown(len(self.errors.records))[logged:]]
        where = "before join" if before_join else "joined"
        self.tally.count(not broken, f"{event} {where} {send.args!r:.120}: {'; '.join(broken)}")

    async def close(self) -> None:
        for client in self.opened:
            await client.close()


def drive(loop: asyncio.AbstractEventLoop, fuzz: Fuzz, events: list[str], examples: int, fast: bool) -> None:
    """Hypothesis in this (worker) thread, each example run on the test's loop."""
    for event in events:
        fuzz_one(loop, fuzz, event, examples, fast)()


def fuzz_one(
    loop: asyncio.AbstractEventLoop, fuzz: Fuzz, event: str, examples: int, fast: bool
) -> Callable[[], None]:
    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=fast,
        database=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: a failure is tallied, not raised
        suppress_health_check=list(HealthCheck),
    )
    @given(send=sends(event, fuzz.meeting.known), before_join=st.integers(0, 9).map(lambda n: n == 0))
    def one(send: Send, before_join: bool) -> None:
        asyncio.run_coroutine_threadsafe(fuzz.step(event, send, before_join), loop).result(60)

    return one


async def fuzz_every_event(
    request: pytest.FixtureRequest, world: World, rooms: list[RoomClient], examples: int, tier: str
) -> Tally:
    tally = Tally("S7", node_id(request), "", tier)
    meeting = await open_meeting(world, rooms)
    events = registered_events(room_namespace(world))
    assert {"join", "hand", "ballot", "signal", "leave"} <= set(events), events
    started = time.monotonic()
    with ErrorLog() as errors:
        fuzz = Fuzz(meeting, tally, errors)
        try:
            await fuzz.ready()
            await asyncio.to_thread(drive, asyncio.get_running_loop(), fuzz, events, examples, tier == "fast")
            # Afterwards, a good hand is answered, and the vote still takes the chair's ballot or says
            # it has it.
            broken = await fuzz.ready()
            assert fuzz.fuzzer is not None
            hand = await fuzz.fuzzer.call("hand", {"raised": False})
            tally.count(typed(hand) == "ok" and not broken, f"a good hand afterwards: {hand!r:.150} {broken}")
            ballot = await fuzz.fuzzer.call("ballot", {"vote_id": meeting.vote_id, "choice": "for"})
            code = typed(ballot)
            tally.count(
                code == "ok" or code == "ballot_refused", f"a good ballot afterwards: {ballot!r:.150}"
            )
            tally.count(not errors.records, f"server errors logged: {errors.shown()}")
        finally:
            await fuzz.close()
    seconds = time.monotonic() - started
    per_event = ", ".join(f"{event} {n}" for event, n in sorted(fuzz.sent.items()))
    tally.attacked = (
        f"hypothesis payloads of any shape for each of the {len(events)} events the /room namespace answers"
        f" ({', '.join(events)}), {examples} per event, from a real socket.io client of the chair of an"
        " open online meeting (joined; 1 in 10 from a member connected but not joined), acks asked or not,"
        " bytes as binary attachments; the room's invariants read back after every step"
    )
    answers = ", ".join(f"{kind} x{n}" for kind, n in answers_sorted(fuzz.answers))
    tally.write(
        f"{tally.attempts - tally.failures} of {tally.attempts} held ({sum(fuzz.sent.values())} events sent:"
        f" {per_event}; {fuzz.binary} with binary attachments; {seconds:.1f} s). Answers: {answers}."
        f" Server errors logged: {len(errors.records)}; 5xx (internal_error acks or REST): 0 unless broken"
        " above"
    )
    return tally


def answers_sorted(answers: Counter[str]) -> list[tuple[str, int]]:
    return sorted(answers.items(), key=lambda item: -item[1])


@pytest.mark.reliability
@pytest.mark.timeout(300)
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_every_room_event_fuzzed(
    request: pytest.FixtureRequest, world: World, rooms: list[RoomClient]
) -> None:
    tally = await fuzz_every_event(request, world, rooms, FAST_EXAMPLES, "fast")
    assert tally.broken == []


@pytest.mark.slow
@pytest.mark.reliability
@pytest.mark.timeout(3600)
async def test_every_room_event_fuzzed_200_times(
    request: pytest.FixtureRequest, world: World, rooms: list[RoomClient]
) -> None:
    tally = await fuzz_every_event(request, world, rooms, SLOW_EXAMPLES, "slow")
    assert tally.broken == []


# --- packets no socket.io client sends ---------------------------------------------------------------


@st.composite
def raw_packets(draw: st.DrawFn, known: list[Any]) -> tuple[list[str | bytes], int]:
    """An event packet with ack id 1 of any data (not only `[name, args...]`), or a binary event whose
    placeholders point at any attachment, with its attachments: (frames, ack id)."""
    real = st.sampled_from(known)
    names = st.one_of(st.sampled_from(["join", "hand", "ballot", "signal", "connect", "disconnect"]), real)
    data = st.one_of(
        json_values(real),
        st.builds(lambda name, rest: [name, *rest], names, st.lists(json_values(real), max_size=2)),
        st.builds(
            lambda name, rest: [name, *rest], json_values(real), st.lists(json_values(real), max_size=2)
        ),
    )
    if draw(st.booleans()):
        payload = draw(data)
        text = "" if payload is None and draw(st.booleans()) else json.dumps(payload, default=repr)
        return [f"42{NAMESPACE},1{text}"], 1
    count = draw(st.integers(1, 3))
    placeholder = st.builds(
        lambda num: {"_placeholder": True, "num": num},
        st.one_of(st.integers(-3, 5), st.sampled_from(["0", None, [0], 2**64])),
    )
    body = draw(
        st.builds(
            lambda name, args: [name, *args],
            names,
            st.lists(
                st.one_of(placeholder, st.dictionaries(st.text(max_size=4), placeholder, max_size=2)),
                max_size=3,
            ),
        )
    )
    attachments = draw(st.lists(st.binary(max_size=8), min_size=count, max_size=count))
    return [f"45{count}-{NAMESPACE},1{json.dumps(body)}", *attachments], 1


async def raw_member(world: World, username: str, meeting_id: int) -> RawSocket:
    raw = await RawSocket.open(str(world.server.url), await cookie_of(world, username))
    assert await raw.connect_room()
    await raw.send(f'42{NAMESPACE},99["join",{{"meeting_id":{meeting_id}}}]')
    joined = await raw.ack(99)
    assert typed(joined) == "ok", joined
    return raw


@pytest.mark.reliability
@pytest.mark.timeout(120)
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_raw_packets_and_binary_state(
    request: pytest.FixtureRequest, world: World, rooms: list[RoomClient]
) -> None:
    tally = Tally("S7", node_id(request), "", "fast")
    meeting = await open_meeting(world, rooms)
    namespace = room_namespace(world)
    sio = namespace.hub.sio
    seen: Counter[str] = Counter()
    loop = asyncio.get_running_loop()
    with ErrorLog() as errors:
        # 1. Any event packet and any binary packet from a joined member: a typed ack, or closed.
        state: dict[str, RawSocket] = {"raw": await raw_member(world, meeting.chair, meeting.id)}

        async def send_raw(frames: list[str | bytes], ack_id: int) -> None:
            raw = state["raw"]
            if raw.ws.closed:
                await raw.close()
                raw = state["raw"] = await raw_member(world, meeting.chair, meeting.id)
            logged = len(errors.records)
            await raw.send(*frames)
            answer = await raw.ack(ack_id, timeout=ACK_SECONDS)
            kind = typed(answer) or ("closed" if answer == "closed" else None)
            seen[kind or "untyped"] += 1
            broken = [] if kind is not None else [f"answered {answer!r:.150}"]
            broken += await broken_invariants(world, meeting.id)
            broken += [f"server logged {line}" for line in errors.shown(len(errors.records))[logged:]]
            tally.count(not broken, f"raw {frames!r:.150}: {'; '.join(broken)}")
            if raw.eio_sid in sio._binary_packet:
                tally.count(False, f"raw {frames!r:.150}: a binary packet left half-built")

        @settings(
            max_examples=40,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(packet=raw_packets(meeting.known))
        def one(packet: tuple[list[str | bytes], int]) -> None:
            asyncio.run_coroutine_threadsafe(send_raw(*packet), loop).result(60)

        await asyncio.to_thread(one)
        await state["raw"].close()

        # 2. A binary packet before the namespace's connect: refused, nothing kept, nothing run.
        for round_ in range(5):
            raw = await RawSocket.open(str(world.server.url), await cookie_of(world, meeting.idle))
            hands = dict(namespace.hub.room(meeting.id).hands)
            await raw.send(
                f'451-{NAMESPACE},7["hand",{{"raised":true,"b":{{"_placeholder":true,"num":0}}}}]', b"\1"
            )
            answer = await raw.ack(7, timeout=0.5)
            environ = sio.environ.get(raw.eio_sid) or {}
            refused = environ.get("cellmeet.malformed_frames", 0) >= 1 or raw.ws.closed
            tally.count(
                refused
                and answer in ("none", "closed")
                and raw.eio_sid not in sio._binary_packet
                and namespace.hub.room(meeting.id).hands == hands,
                f"binary before connect (round {round_}): answered {answer!r:.100}, refused {refused},"
                f" kept {raw.eio_sid in sio._binary_packet}",
            )
            seen["binary before connect refused" if refused else "binary before connect accepted"] += 1
            await raw.close()

        # 3. A binary packet's header and part of its attachments, then a hang-up: all of it freed.
        for round_ in range(5):
            raw = await RawSocket.open(str(world.server.url), await cookie_of(world, meeting.idle))
            assert await raw.connect_room()
            sid = sio.manager.sid_from_eio_sid(raw.eio_sid, NAMESPACE)
            header = '{"raised":true,"a":{"_placeholder":true,"num":0},"b":{"_placeholder":true,"num":1}}'
            await raw.send(f'452-{NAMESPACE},8["hand",{header}]', b"\1")
            eio_sid = raw.eio_sid
            half_built = await wait_until(lambda e=eio_sid: e in sio._binary_packet, 2)
            await raw.close()
            gone = await wait_until(lambda e=eio_sid: e not in sio.environ, 5)
            tally.count(
                half_built
                and gone
                and raw.eio_sid not in sio._binary_packet
                and sid not in namespace.callers
                and all(sid not in sids for sids in namespace.guard.connections.values()),
                f"partial binary then hang-up (round {round_}): held {half_built}, connection gone {gone},"
                f" packet kept {raw.eio_sid in sio._binary_packet}, caller kept {sid in namespace.callers}",
            )
        tally.count(not errors.records, f"server errors logged: {errors.shown()}")
    kinds = ", ".join(f"{kind} x{n}" for kind, n in answers_sorted(seen))
    tally.attacked = (
        "raw socket.io packets from a joined member: event packets whose data is any JSON (not only"
        " [name, args]), binary events whose placeholders point at any attachment number or none; a binary"
        " event before the namespace's connect; a binary event's header and part of its attachments, then"
        " a hang-up"
    )
    tally.write(f"{tally.attempts - tally.failures} of {tally.attempts} held. Answers: {kinds}")
    assert tally.broken == []


# --- the defects the fuzz found (server/realtime/guarded_server.py), each as it was sent ----------------


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_reserved_names_shapeless_events_and_stray_placeholders_are_malformed_frames(
    world: World, rooms: list[RoomClient]
) -> None:
    meeting = await open_meeting(world, rooms)
    namespace = room_namespace(world)
    sio = namespace.hub.sio
    cases: list[list[str | bytes]] = [
        [f'42{NAMESPACE},5["disconnect"]'],  # ran on_disconnect: the caller forgotten, still connected
        [f'42{NAMESPACE},5["connect",{{}}]'],  # ran on_connect with the sender's "environ": a traceback
        [f"42{NAMESPACE},5{{}}"],  # data[0] of a dict: KeyError, a traceback
        [f"42{NAMESPACE},5"],  # no data at all: TypeError
        [f'451-{NAMESPACE},5["hand",{{"_placeholder":true,"num":3}}]', b"x"],  # IndexError, packet kept
        [f'451-{NAMESPACE},5["hand",{{"_placeholder":true,"num":[0]}}]', b"x"],  # TypeError, packet kept
    ]
    with ErrorLog() as errors:
        for frames in cases:
            raw = await raw_member(world, meeting.chair, meeting.id)
            sid = sio.manager.sid_from_eio_sid(raw.eio_sid, NAMESPACE)
            await raw.send(*frames)
            answer = await raw.ack(5)
            assert typed(answer) == "malformed_frame", (frames, answer)
            assert raw.eio_sid not in sio._binary_packet, frames
            assert sid in namespace.callers and sid in namespace.hub.peers, frames  # still the member
            await raw.send(f'42{NAMESPACE},6["hand",{{"raised":false}}]')
            assert typed(await raw.ack(6)) == "ok", frames
            await raw.close()
    assert errors.records == [], errors.shown()
