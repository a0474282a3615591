"""Every REST route of the app: the handler modules, each registering its routes with
`server.api.registry` when imported, gathered here and added to the router."""

from __future__ import annotations

from aiohttp import web

from server.api import (  # noqa: F401  (importing a handler module registers its routes)
    access_routes,
    accounts_routes,
    agenda_routes,
    attendance_routes,
    audit_routes,
    auth_routes,
    breakout_routes,
    conduct_routes,
    eligibility_routes,
    excuses_routes,
    groups_routes,
    media_routes,
    meeting_changes_routes,
    meetings_routes,
    members_routes,
    minutes_routes,
    notices_routes,
    orgs_routes,
    password_routes,
    pilot_report_routes,
    pilot_routes,
    record_routes,
    relays_routes,
    report_routes,
    room_routes,
    system_routes,
    token_routes,
    usage_routes,
    users_routes,
    votes_routes,
)
from server.api.registry import ROUTES, Query, RouteSpec, Shape, route

__all__ = ["ROUTES", "Query", "RouteSpec", "Shape", "add_routes", "route"]


def add_routes(app: web.Application) -> None:
    for spec in ROUTES:
        app.router.add_route(spec.method, spec.path, spec.handler)
