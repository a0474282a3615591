"""Prometheus metrics of the HTTP server, in a registry of our own."""

from __future__ import annotations

import time

from aiohttp import web
from aiohttp.typedefs import Handler
from prometheus_client import CollectorRegistry, Counter, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)
REQUESTS = Counter(
    "cellmeet_http_requests_total",
    "HTTP requests by route and status",
    ["method", "route", "status"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "cellmeet_http_request_seconds", "HTTP request latency", ["method", "route"], registry=REGISTRY
)


@web.middleware
async def metrics_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    started = time.perf_counter()
    # The route template, never the raw path: ids in paths would explode the label space.
    resource = request.match_info.route.resource
    route_name = resource.canonical if resource is not None else "unmatched"
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        REQUESTS.labels(request.method, route_name, str(status)).inc()
        LATENCY.labels(request.method, route_name).observe(time.perf_counter() - started)
