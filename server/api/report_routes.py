"""The pilot review report as a download (`GET /api/v1/audit/usage/report`): the usage figures of
`GET /api/v1/audit/usage`, same query, same rights, rendered as XLSX, CSV or PDF."""

from __future__ import annotations

import asyncio

from aiohttp import web

from meetings.decision import Text
from server.api.context import attachment
from server.api.registry import Query, route
from server.api.usage_routes import USAGE_QUERY, read_usage
from server.errors import ApiError
from server.exports.report import FORMATS, render_report


@route(
    "GET",
    "/api/v1/audit/usage/report",
    summary="The pilot review report of a subtree for a period (?org=&from=&to=&format=xlsx|csv|pdf)",
    tag="audit",
    query=(*USAGE_QUERY, Query("format", enum=FORMATS)),
    media_types=(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "text/csv",
        "application/pdf",
    ),
)
async def get_usage_report(request: web.Request) -> web.StreamResponse:
    fmt = request.query.get("format", "xlsx")
    if fmt not in FORMATS:
        raise ApiError(
            422,
            "validation_error",
            Text("'format' phải là xlsx, csv hoặc pdf.", "'format' must be xlsx, csv or pdf."),
            details={"fields": {"format": "xlsx, csv or pdf"}},
        )
    usage = await read_usage(request)
    # Rendering a PDF takes about a second of CPU: off the event loop, so the rooms keep talking.
    report = await asyncio.to_thread(render_report, usage, fmt)
    return attachment(report.data, report.content_type, report.filename)
