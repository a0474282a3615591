"""quality.md S15, join tickets: a ticket is HMAC-signed, bound to (member, meeting), lives at most
5 minutes and opens one connection. Attacked through the real `/room` socket of an in-process server:
every character of a real ticket changed (and its last characters, which carry the base64 padding
bits, to every other token character), a replay, an expired ticket, a ticket of meeting X joining
meeting Y, a ticket of member M presented on member N's logged-in session; the control is an untouched
fresh ticket that connects and joins. The socket has no HTTP status: an expired ticket's "410" is its
own refusal code, `ticket_expired`, with a message that says what to do.

All the module's attempts make one line of docs/reliability.md (a `Tally` written at the module's end).
"""

from __future__ import annotations

import asyncio
import base64
import functools
import json
import string
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import socketio

from server.appkeys import SETTINGS
from server.auth.tickets import Ticket, issue
from tests.integration.helpers import schedule
from tests.integration.room_client import RoomClient, link_members, online_meeting
from tests.integration.world import World
from tests.reliability import Tally, module_id

RELIABILITY_ROW = "S15"  # its line in docs/reliability.md, even when it fails before measuring
RELIABILITY_TALLIED = True  # one line for the module, written by `tally` (a failed case is counted there)

pytestmark = [
    pytest.mark.reliability,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]

# base64url in its own order (a character's index is its 6-bit value), as tickets are written
TOKEN_CHARACTERS = string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_"
MAX_TTL = timedelta(minutes=5)
# An expired ticket's message names what happened and what to do, in each language.
ACTIONABLE = (("expired", "new one"), ("hết hạn", "vé mới"))
CONNECT_TIMEOUT = 10.0  # seconds for one connection attempt, refused or not


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    # An address may try 60 connections at once, then 2 a second (room_gate_middleware): a guesser
    # from one address is slowed long before a ticket is checked. Raised here, so that each of the
    # few hundred forgeries reaches the ticket check itself, the thing this row attacks.
    return {"room_connect_burst_per_address": 10_000}


class Attempts(Tally):
    """The row's tally, also counted by kind of attack for its figure."""

    kinds: dict[str, list[int]]

    def by_kind(self, kind: str, held: bool, what: str = "") -> bool:
        counts = self.kinds.setdefault(kind, [0, 0])
        counts[0] += 1
        counts[1] += 0 if held else 1
        return self.count(held, f"{kind}: {what}" if what else kind)

    def summary(self) -> str:
        parts = [f"{kind} {tried - failed}/{tried} held" for kind, (tried, failed) in self.kinds.items()]
        return f"{self.attempts - self.failures} of {self.attempts} held: " + ", ".join(parts)


@pytest.fixture(scope="module")
def tally(request: pytest.FixtureRequest) -> Iterator[Attempts]:
    attempts = Attempts(
        "S15",
        module_id(request),
        attacked=(
            "real join tickets on the live /room socket: every character changed to another token "
            "character (the padding-bit characters to all 63 others, and '=' appended), replayed, "
            "expired, used on another meeting, presented on another member's session; control: an "
            "untouched fresh ticket connects and joins, and the TTL from the REST answer is <= 5 min"
        ),
        tier="fast",
    )
    attempts.kinds = {}
    yield attempts
    if attempts.attempts:
        attempts.write(attempts.summary())


def counted(test: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
    """A case that breaks before its own counted check failed (a set-up step, a control) is one
    failure of the row, not a case missing from it."""

    @functools.wraps(test)
    async def run(*args: Any, **fixtures: Any) -> None:
        tally: Attempts = fixtures["tally"]
        before = tally.failures
        try:
            await test(*args, **fixtures)
        except Exception as exc:
            if tally.failures == before:
                tally.by_kind("case broke", False, f"{test.__name__}: {exc!r}"[:300])
            raise

    return run


# --- helpers -----------------------------------------------------------------------------------


async def new_ticket(world: World, username: str, meeting_id: int) -> dict[str, Any]:
    reply = await (await world.as_user(username)).post(f"/api/v1/meetings/{meeting_id}/join-ticket", {})
    assert reply.status == 201, reply.body
    return dict(reply.body)


async def attempt(
    world: World, rooms: list[RoomClient], token: str, headers: dict[str, str] | None = None
) -> tuple[RoomClient | None, Any]:
    """Connect with `token`: (the client, None) when it connected, (None, the refusal) when not."""
    client = RoomClient(str(world.server.url), auth={"token": token}, headers=headers)
    try:
        await asyncio.wait_for(client.connect(), CONNECT_TIMEOUT)
    except socketio.exceptions.ConnectionError as exc:
        # A refused client keeps its engine.io WebSocket open: closed here, or the server's limit of
        # connections per address would refuse the next attempts for a reason of its own.
        await asyncio.wait_for(client.close(), CONNECT_TIMEOUT)
        return None, client.connect_error or {"code": None, "message": str(exc)}
    rooms.append(client)
    return client, None


def refused_with(refusal: Any, code: str) -> bool:
    return isinstance(refusal, dict) and refusal.get("code") == code and bool(refusal.get("message"))


async def cookie_of(world: World, username: str) -> dict[str, str]:
    session = await world.as_user(username)
    cookies = session.http.cookie_jar.filter_cookies(world.server.url)
    return {"Cookie": "; ".join(f"{name}={morsel.value}" for name, morsel in cookies.items())}


def payload_of(token: str) -> dict[str, Any]:
    body = token.split(".")[0]
    return dict(json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))))


def single_changes(token: str) -> Iterator[tuple[int, str]]:
    """(position, changed token): every character replaced by another token character (rotating
    through the alphabet), and the last character of each segment, whose low bits are base64 padding,
    by every other one."""
    ends = {len(token.split(".")[0]) - 1, len(token) - 1}
    for position, original in enumerate(token):
        if original == ".":
            continue
        others = [c for c in TOKEN_CHARACTERS if c != original]
        chosen = others if position in ends else [others[position % len(others)]]
        for replacement in chosen:
            yield position, token[:position] + replacement + token[position + 1 :]


async def two_members_and_a_meeting(world: World) -> tuple[list[tuple[str, int]], int]:
    people = await link_members(world, "A", 2)
    return people, await online_meeting(world)


# --- the attacks -------------------------------------------------------------------------------


@counted
async def test_a_fresh_ticket_connects_and_joins_and_lives_at_most_five_minutes(
    world: World, rooms: list[RoomClient], tally: Attempts
) -> None:
    people, mid = await two_members_and_a_meeting(world)
    issued_at = world.server.clock()
    answer = await new_ticket(world, people[0][0], mid)
    ttl = datetime.fromisoformat(answer["expires_at"]) - issued_at
    signed = payload_of(answer["token"])
    ttl_held = tally.by_kind(
        "TTL <= 5 min",
        timedelta(0) < ttl <= MAX_TTL and signed["exp"] == int(issued_at.timestamp() + ttl.total_seconds()),
        f"ttl {ttl}, signed exp {signed['exp']}",
    )
    client, refusal = await attempt(world, rooms, answer["token"])
    ack = await client.join(mid) if client else refusal
    joined = tally.by_kind(
        "fresh ticket joins",
        client is not None
        and ack.get("ok") is True
        and ack["self"]["member_id"] == people[0][1] == answer["member_id"],
        str(ack),
    )
    assert ttl_held, (ttl, answer, signed)
    assert joined, ack


@counted
async def test_every_single_character_change_is_refused(
    world: World, rooms: list[RoomClient], tally: Attempts
) -> None:
    people, mid = await two_members_and_a_meeting(world)
    token = (await new_ticket(world, people[0][0], mid))["token"]
    admitted: list[str] = []
    for position, changed in single_changes(token):
        client, refusal = await attempt(world, rooms, changed)
        what = f"position {position} -> {changed[position]!r}: {'connected' if client else refusal}"
        if not tally.by_kind("single-character change", refused_with(refusal, "invalid_ticket"), what):
            admitted.append(what)
    # The same ticket in another spelling (base64 padding) is another token string, not another ticket.
    client, refusal = await attempt(world, rooms, token + "=")
    if not tally.by_kind("'=' appended", refused_with(refusal, "invalid_ticket"), str(refusal)):
        admitted.append(f"'=' appended: {'connected' if client else refusal}")
    # Control: the untouched ticket was never used by any of them and still opens the room.
    client, refusal = await attempt(world, rooms, token)
    ack = await client.join(mid) if client else refusal
    control = tally.by_kind("untouched original joins after the changes", ack.get("ok") is True, str(ack))
    assert not admitted, admitted
    assert control, ack


@counted
async def test_a_replay_is_refused_while_connected_and_after(
    world: World, rooms: list[RoomClient], tally: Attempts
) -> None:
    people, mid = await two_members_and_a_meeting(world)
    token = (await new_ticket(world, people[0][0], mid))["token"]
    first, refusal = await attempt(world, rooms, token)
    assert first is not None, refusal
    assert (await first.join(mid))["ok"] is True
    _, during = await attempt(world, rooms, token)
    held_during = tally.by_kind("replay while connected", refused_with(during, "ticket_used"), str(during))
    # The same ticket spelt otherwise (base64 padding, the unused low bits of its last character).
    respelt = [token + "=", token[:-1] + TOKEN_CHARACTERS[TOKEN_CHARACTERS.index(token[-1]) ^ 1]]
    other_spellings = []
    for spelling in respelt:
        client, refusal = await attempt(world, rooms, spelling)
        if not tally.by_kind("replay in another spelling", client is None, str(refusal)):
            other_spellings.append(spelling[-3:])
    await first.close()
    _, after = await attempt(world, rooms, token)
    held_after = tally.by_kind("replay after disconnect", refused_with(after, "ticket_used"), str(after))
    assert held_during, during
    assert not other_spellings, other_spellings
    assert held_after, after


@counted
async def test_an_expired_ticket_is_refused_with_an_actionable_message(
    world: World, rooms: list[RoomClient], tally: Attempts
) -> None:
    people, mid = await two_members_and_a_meeting(world)
    settings = world.server.app[SETTINGS]
    token = (await new_ticket(world, people[0][0], mid))["token"]
    world.server.clock.advance(seconds=settings.join_ticket_seconds)  # the first second it is expired
    checks: list[tuple[str, Any]] = []
    for lang in ("en", "vi"):
        _, refusal = await attempt(world, rooms, token, headers={"Accept-Language": lang})
        checks.append((f"REST ticket at its expiry ({lang})", refusal))
    # Signed with the server's own key for a real member and meeting, expired a day ago.
    old = Ticket(
        world.users[people[1][0]],
        people[1][1],
        mid,
        int((world.server.clock() - timedelta(days=1)).timestamp()),
        "expired-long-ago",
    )
    _, refusal = await attempt(
        world, rooms, issue(settings.secret_key.value, old), headers={"Accept-Language": "en"}
    )
    checks.append(("signed ticket expired a day ago (en)", refusal))
    failed = []
    for what, refusal in checks:
        message = str(refusal.get("message") or "") if isinstance(refusal, dict) else ""
        # Actionable: it says the ticket expired and what to do (get a new one), not a generic error.
        actionable = any(gone in message and new in message for gone, new in ACTIONABLE)
        held = refused_with(refusal, "ticket_expired") and actionable
        if not tally.by_kind("expired", held, f"{what}: {refusal}"):
            failed.append((what, refusal))
    assert not failed, failed


@counted
async def test_a_ticket_for_meeting_x_cannot_join_meeting_y(
    world: World, rooms: list[RoomClient], tally: Attempts
) -> None:
    people, x = await two_members_and_a_meeting(world)
    created = await schedule(world, "sec_a", "A", mode="online")
    assert created.status == 201, created.body
    y = int(created.body["id"])
    client, refusal = await attempt(world, rooms, (await new_ticket(world, people[0][0], x))["token"])
    assert client is not None, refusal
    wrong = await client.join(y)
    held = tally.by_kind(
        "ticket of meeting X on meeting Y",
        wrong.get("ok") is False and wrong["error"]["code"] == "ticket_mismatch",
        str(wrong),
    )
    # Controls: the same connection still joins its own meeting, and a ticket of Y joins Y.
    own = await client.join(x)
    other, refusal = await attempt(world, rooms, (await new_ticket(world, people[0][0], y))["token"])
    ack_y = await other.join(y) if other else refusal
    assert held, wrong
    assert own["ok"] is True, own
    assert ack_y.get("ok") is True, ack_y


@counted
async def test_a_ticket_of_member_m_is_refused_on_member_ns_session(
    world: World, rooms: list[RoomClient], tally: Attempts
) -> None:
    [(m, m_member), (n, _)], mid = await two_members_and_a_meeting(world)
    m_token = (await new_ticket(world, m, mid))["token"]
    client, refusal = await attempt(world, rooms, m_token, headers=await cookie_of(world, n))
    ack = await client.join(mid) if client else None
    held = tally.by_kind(
        "ticket of member M on member N's session",
        client is None and isinstance(refusal, dict) and refusal.get("code") == "ticket_mismatch",
        f"connected, join ack {ack}" if client else str(refusal),
    )
    # Control: M's own session may carry M's ticket (same person, the cookie adds nothing).
    m_again = (await new_ticket(world, m, mid))["token"]
    own, own_refusal = await attempt(world, rooms, m_again, headers=await cookie_of(world, m))
    own_ack = await own.join(mid) if own else own_refusal
    assert held, (refusal, ack, m_member)
    assert own_ack.get("ok") is True, own_ack
