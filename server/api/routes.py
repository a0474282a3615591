"""The registry of REST routes: each names its summary and body model, for the router and OpenAPI."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web
from pydantic import BaseModel

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class RouteSpec:
    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    body: type[BaseModel] | None
    public: bool


ROUTES: list[RouteSpec] = []


def route(
    method: str,
    path: str,
    *,
    summary: str,
    tag: str,
    body: type[BaseModel] | None = None,
    public: bool = False,
) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        ROUTES.append(RouteSpec(method, path, handler, summary, tag, body, public))
        return handler

    return register


def add_routes(app: web.Application) -> None:
    # Importing the handler modules fills ROUTES.
    from server.api import (  # noqa: F401
        access_routes,
        attendance_routes,
        audit_routes,
        auth_routes,
        breakout_routes,
        conduct_routes,
        eligibility_routes,
        groups_routes,
        media_routes,
        meetings_routes,
        members_routes,
        minutes_routes,
        notices_routes,
        orgs_routes,
        password_routes,
        pilot_routes,
        record_routes,
        report_routes,
        room_routes,
        system_routes,
        token_routes,
        usage_routes,
        users_routes,
        votes_routes,
    )

    for spec in ROUTES:
        app.router.add_route(spec.method, spec.path, spec.handler)
