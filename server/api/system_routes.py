"""Health, metrics and the OpenAPI document."""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from server.api.context import database
from server.api.openapi import openapi_document
from server.api.registry import route
from server.metrics import REGISTRY


@route("GET", "/healthz", summary="200 when the database answers", tag="system", public=True)
async def healthz(request: web.Request) -> web.StreamResponse:
    try:
        await database(request).ping()
    except Exception:
        return web.json_response({"status": "unavailable"}, status=503)
    return web.json_response({"status": "ok"})


@route("GET", "/metrics", summary="Prometheus metrics", tag="system", public=True)
async def metrics(request: web.Request) -> web.StreamResponse:
    return web.Response(body=generate_latest(REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST})


@route("GET", "/api/openapi.json", summary="The OpenAPI document", tag="system", public=True)
async def openapi(request: web.Request) -> web.StreamResponse:
    return web.json_response(openapi_document())
