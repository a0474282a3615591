"""Health, metrics and the OpenAPI document."""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from server.api.context import database
from server.api.openapi import openapi_document
from server.api.registry import route
from server.media.sfu_lifecycle import sfu_watch_of
from server.metrics import REGISTRY


@route("GET", "/healthz", summary="200 when the database answers", tag="system", public=True)
async def healthz(request: web.Request) -> web.StreamResponse:
    """With an SFU configured, also whether Janus answers (`sfu`: reachable, unreachable, checking).
    Janus alone down keeps the 200: the process still serves meetings (a mesh, or rooms waiting for
    Janus), and a load balancer must not take it out for that."""
    watch = sfu_watch_of(request.app)
    sfu = {"sfu": watch.state.value} if watch is not None else {}
    try:
        await database(request).ping()
    except Exception:
        return web.json_response({"status": "unavailable", **sfu}, status=503)
    return web.json_response({"status": "ok", **sfu})


@route("GET", "/metrics", summary="Prometheus metrics", tag="system", public=True)
async def metrics(request: web.Request) -> web.StreamResponse:
    return web.Response(body=generate_latest(REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST})


@route("GET", "/api/openapi.json", summary="The OpenAPI document", tag="system", public=True)
async def openapi(request: web.Request) -> web.StreamResponse:
    return web.json_response(openapi_document())
