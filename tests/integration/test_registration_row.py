"""quality.md S2 (issue 29): every route and event is registered, with its access and its schema, and
nothing is allowed by default; one row of docs/reliability.md.

- REST: every `/api/` route the router serves is in the registry (server.api.registry: its summary, body
  schema, answers), and every registered route is served. The routes open without a login are exactly
  the ones listed here, each with its reason; every other route, called without a login, answers 401
  `unauthenticated` before its handler reads anything. Every state-changing route declares its body
  schema, or is one of the body-less routes listed here (their input is the path).
- `/room`: every event of the handler table, sent by a joined member with a payload of the wrong shape,
  is answered by a typed error ack (`validation_error`) and never acts; an unknown event is answered
  `unknown_event` and logged once a minute per user. Who may do what in the room, event by event, is
  the authorisation matrix's and the room tests' (S1).
"""

from __future__ import annotations

import logging
import re

import pytest
from aiohttp import web

from server.api.routes import ROUTES, add_routes
from server.realtime.attach import LIVE_HUB
from server.realtime.hub import NAMESPACE
from server.realtime.namespace import RoomNamespace
from tests.integration.room_client import RoomClient, joined, link_members, online_meeting
from tests.integration.world import World
from tests.reliability import Tally, node_id

RELIABILITY_ROW = "S2"  # its line in docs/reliability.md, even when it fails before measuring

# Open without a login, and why: a new route is closed unless it is added here on purpose.
PUBLIC = {
    "POST /api/v1/auth/login": "the login itself",
    "POST /api/v1/auth/account-link": "an activation link's one-time token is the credential",
    "GET /api/v1/audit/public-key": "checkpoints are verified by anyone holding the public key",
    "GET /healthz": "the process answers (for systemd and nginx)",
    "GET /metrics": "Prometheus on the host; nginx does not proxy it (deploy/)",
    "GET /api/openapi.json": "the interface's description, no data",
}
# State changes whose only input is the path (and the caller): no body to check.
BODYLESS = {
    "POST /api/v1/users/{id}/disable",
    "POST /api/v1/users/{id}/enable",
    "POST /api/v1/users/{id}/password-reset",
    "POST /api/v1/users/{id}/totp-reset",
    "POST /api/v1/users/{id}/login-unlock",
    "POST /api/v1/meetings/{id}/close",
    "POST /api/v1/meetings/{id}/breakout/end",
    "POST /api/v1/meetings/{id}/invitations",
    "POST /api/v1/meetings/{id}/minutes/sign",
    "POST /api/v1/meetings/{id}/join-ticket",
    "POST /api/v1/votes/{id}/close",
    "POST /api/v1/auth/logout",
    "DELETE /api/v1/auth/tokens/{token_id}",
    "DELETE /api/v1/users/{id}/tokens/{token_id}",
    "DELETE /api/v1/media/echo/{session_id}",
}
# The wrong shape for every event: a payload object with none of its fields and one it never has.
WRONG_SHAPE = {"not_a_field": [[[1]]]}


def served_api_routes() -> set[str]:
    app = web.Application()
    add_routes(app)
    served = set()
    for resource in app.router.resources():
        for route in resource:
            if route.method != "HEAD":
                served.add(f"{route.method} {resource.canonical}")
    return served


@pytest.mark.reliability
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_every_route_and_event_is_registered_and_nothing_is_open_by_default(
    world: World, request: pytest.FixtureRequest, rooms: list[RoomClient], caplog: pytest.LogCaptureFixture
) -> None:
    tally = Tally("S2", node_id(request), "", "fast")
    registered = {f"{spec.method} {spec.path}" for spec in ROUTES}
    served = served_api_routes()
    for key in sorted(served | registered):
        tally.count(
            key in served and key in registered,
            f"{key}: served {key in served}, registered {key in registered}",
        )
    public = {f"{spec.method} {spec.path}" for spec in ROUTES if spec.public}
    for key in sorted(public | set(PUBLIC)):
        tally.count(key in PUBLIC and key in public, f"{key}: public {key in public}, listed {key in PUBLIC}")
    anonymous = world.make_client()
    closed = [spec for spec in ROUTES if not spec.public]
    for spec in closed:
        reply = await anonymous.request(spec.method, re.sub(r"{\w+}", "1", spec.path), {})
        held = (reply.status, reply.error_code) == (401, "unauthenticated")
        tally.count(held, f"{spec.method} {spec.path} without a login: {reply.status} {reply.error_code}")
    unsafe = [spec for spec in ROUTES if spec.method in ("POST", "PUT", "PATCH", "DELETE")]
    for spec in unsafe:
        key = f"{spec.method} {spec.path}"
        declared = spec.body is not None or spec.upload or key in BODYLESS
        tally.count(declared and not (spec.body is not None and key in BODYLESS), f"{key}: body schema")

    people = await link_members(world, "A", 1)
    mid = await online_meeting(world)
    member, _ = await joined(world, people[0][0], mid)
    rooms.append(member)
    hub = world.server.app[LIVE_HUB]
    namespace: RoomNamespace = hub.sio.namespace_handlers[NAMESPACE]
    events = sorted(namespace.handlers)
    for event in events:
        if event == "join":
            continue  # a second join answers the state; its schema is checked by the first attempt below
        ack = await member.call(event, WRONG_SHAPE)
        held = isinstance(ack, dict) and ack.get("ok") is False and ack["error"]["code"] == "validation_error"
        tally.count(held, f"room event {event} with a payload of the wrong shape: {ack}")
    bad_join = await member.call("join", {"meeting_id": "1; DROP TABLE"})
    tally.count(
        bad_join["ok"] is False and bad_join["error"]["code"] == "validation_error", f"join: {bad_join}"
    )
    with caplog.at_level(logging.WARNING, logger="cellmeet"):
        unknown = await member.call("make-me-chair", {"meeting_id": mid})
    held = unknown["ok"] is False and unknown["error"]["code"] == "unknown_event"
    tally.count(held, f"an unknown event answered {unknown}")
    logged = [r.getMessage() for r in caplog.records if "code=unknown_event" in r.getMessage()]
    tally.count(
        len(logged) == 1 and "event=make-me-chair" in logged[0], f"the unknown event logged: {logged}"
    )

    tally.attacked = (
        f"the router against the registry ({len(served)} API routes served), the routes open without a"
        f" login against a fixed list ({len(PUBLIC)}), each of {len(closed)} closed routes called without a"
        f" login, the body schema of {len(unsafe)} state-changing routes, {len(events)} room events with a"
        " payload of the wrong shape, an unknown room event"
    )
    tally.write(
        f"{tally.attempts - tally.failures} of {tally.attempts} held: every route registered and served,"
        f" only the {len(PUBLIC)} listed open, every other answering 401 before its handler, every change"
        " with its schema or no body, every room event's wrong payload a validation_error, the unknown event"
        " refused and logged"
    )
    assert tally.broken == [], "\n".join(tally.broken)
