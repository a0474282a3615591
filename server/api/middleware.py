"""Request middleware: errors as api.md bodies (with refusals logged and audited), security headers, and
who is calling (with the access log of what an auditor reads)."""

from __future__ import annotations

import hashlib
import logging
import uuid

from aiohttp import web
from aiohttp.typedefs import Handler

from meetings.decision import Text
from server.api.access_log import with_access_log
from server.api.context import lang
from server.api.registry import ROUTES
from server.appkeys import CLOCK, DATABASE, REFUSALS, SETTINGS
from server.audit.refusals import Refusal
from server.auth.authz import DECIDED_UNIT, REFUSED_UNIT
from server.auth.client_address import client_address
from server.auth.identity import ACTOR, authenticate, check_same_origin
from server.errors import ApiError, unauthenticated

log = logging.getLogger("cellmeet.http")

STATIC_PREFIX = "/static/"

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; media-src 'self' blob:; object-src 'none'; base-uri 'none'; "
        "frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(self), microphone=(self), display-capture=(self), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def _error_response(request: web.Request, error: ApiError) -> web.Response:
    response = web.json_response(error.body(lang(request)), status=error.status)
    response.headers.update(error.headers)
    return response


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    # One task serves a keep-alive connection's requests in turn: start each without the last one's units.
    REFUSED_UNIT.set(None)
    DECIDED_UNIT.set(None)
    try:
        return await handler(request)
    except ApiError as error:
        request_id = None
        if error.status in (401, 403, 404):
            request_id = uuid.uuid4().hex[:16]
            await _log_refusal(request, error, request_id)
        response = _error_response(request, error)
        if request_id is not None:
            # The refusal's log line carries it: a member or an operator can name the line to look for.
            response.headers["X-Request-Id"] = request_id
        return response
    except web.HTTPException as exc:
        if not request.path.startswith("/api/") or exc.status < 400:
            raise
        code = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(exc.status, "http_error")
        message = {
            404: Text("Không tìm thấy.", "Not found."),
            405: Text("Phương thức không được hỗ trợ.", "Method not allowed."),
            413: Text("Nội dung gửi lên quá lớn.", "The body is too large."),
        }.get(exc.status, Text("Yêu cầu không hợp lệ.", "Bad request."))
        return _error_response(request, ApiError(exc.status, code, message))
    except Exception:
        incident = uuid.uuid4().hex[:12]
        log.exception("incident %s on %s %s", incident, request.method, request.path)
        return _error_response(
            request,
            ApiError(
                500,
                "internal_error",
                Text(
                    f"Lỗi hệ thống. Mã sự cố: {incident}.",
                    f"Internal error. Incident id: {incident}.",
                ),
                details={"incident": incident},
            ),
        )


async def _log_refusal(request: web.Request, error: ApiError, request_id: str) -> None:
    """Every refusal with who, which unit and which route (ASVS 7.1.3, 7.2.2), and a logged-in caller's
    403s and other units' 404s (indistinguishable from absent records to the caller) as `access.refused`
    rows of the audit chain, within a budget per user (server.audit.refusals)."""
    resource = request.match_info.route.resource
    refused_unit = REFUSED_UNIT.get()
    refusal = Refusal(
        method=request.method,
        route=resource.canonical if resource is not None else request.rel_url.raw_path,
        path=request.rel_url.raw_path,  # still percent-encoded: no line breaks into the log
        status=error.status,
        code=error.code,
        unit=refused_unit if refused_unit is not None else DECIDED_UNIT.get(),
        request_id=request_id,
    )
    refusals, at = request.app[REFUSALS], request.app[CLOCK]()
    caller = request.get(ACTOR)
    if caller is None:
        if error.status != 404:
            address = client_address(request, request.app[SETTINGS])
            refusals.refused_anonymous(
                refusal, address=hashlib.sha256(address.encode()).hexdigest()[:16], at=at
            )
        return
    audited = error.status == 403 or (error.status == 404 and refused_unit is not None)
    await refusals.refused(
        request.app[DATABASE],
        refusal,
        user_id=caller.user_id,
        username=caller.user.username,
        at=at,
        audit=audited,
    )


@web.middleware
async def security_headers_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        # aiohttp's own answers (404/405 outside /api, redirects) carry the headers too.
        _add_security_headers(request, exc)
        raise
    _add_security_headers(request, response)
    return response


def _add_security_headers(request: web.Request, response: web.StreamResponse | web.HTTPException) -> None:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.app[SETTINGS].https:
        response.headers.setdefault("Strict-Transport-Security", "max-age=63072000; includeSubDomains")


_CLOSED: set[tuple[str, str]] = set()


def _needs_login(request: web.Request) -> bool:
    """A route of the registry (server.api.registry) that is not `public`."""
    if not _CLOSED:
        _CLOSED.update((spec.method, spec.path) for spec in ROUTES if not spec.public)
    resource = request.match_info.route.resource
    method = "GET" if request.method == "HEAD" else request.method
    return resource is not None and (method, resource.canonical) in _CLOSED


@web.middleware
async def identity_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith(STATIC_PREFIX):
        # Stylesheets and scripts are public and identical for everyone: no session lookup per file.
        return await handler(request)
    settings = request.app[SETTINGS]
    check_same_origin(request, settings)
    async with request.app[DATABASE].read() as session:
        found = await authenticate(request, session, settings, request.app[CLOCK]())
    if found is None:
        if _needs_login(request):
            # Before the handler reads the path or the body: without a login, a closed route says only
            # that (quality.md S2), never whether the meeting exists nor what its body lacks.
            raise unauthenticated()
        return await handler(request)
    request[ACTOR] = found
    # What the caller reads under an auditor-only grant is logged for the unit (server.api.access_log).
    return await with_access_log(request, handler, found)
