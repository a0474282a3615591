"""The web pages: server-rendered shells, Vietnamese first, that their script modules fill from the API."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from server.pages.accounts_view import account_link_page, admin_page, mask_link_tokens_in_access_log
from server.pages.audit_page import CHAIN_CHECK, audit_page
from server.pages.record_view import record_page
from server.pages.rendering import PAGES, STATIC_DIR, Pages
from server.pages.rule_sets_view import rule_sets_page
from server.pages.usage_view import usage_page
from server.pages.views import (
    account_page,
    home_page,
    login_page,
    login_without_script,
    meeting_page,
    minutes_page,
    not_found_page,
    org_page,
    room_page,
    set_language,
)
from server.services.audit_view import ChainCheck

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def _revalidate_static(request: web.Request, response: web.StreamResponse) -> None:
    # Script modules import each other by plain URL: revalidate (ETag) so an upgrade is never half-cached.
    if request.path.startswith("/static/"):
        response.headers["Cache-Control"] = "no-cache"


@web.middleware
async def _styled_not_found(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A mistyped page address gets the site's own not-found page, in the visitor's language, not
    aiohttp's plain-text English one (the API and static files keep their own answers)."""
    try:
        return await handler(request)
    except web.HTTPNotFound:
        if request.method not in ("GET", "HEAD") or request.path.startswith(
            ("/api/", "/static/", "/socket.io")
        ):
            raise
        return not_found_page(request)


def setup_pages(app: web.Application) -> None:
    app[PAGES] = Pages.load()
    # Innermost: the identity middleware has named the visitor, so the page shows who is logged in.
    app.middlewares.append(_styled_not_found)
    app.router.add_get("/", home_page, name="page_home")
    app.router.add_get("/account", account_page, name="page_account")
    app.router.add_get("/admin", admin_page, name="page_admin")
    app.router.add_get("/activate", account_link_page, name="page_activate")
    app.router.add_get("/reset", account_link_page, name="page_reset")
    mask_link_tokens_in_access_log()
    app.router.add_get("/login", login_page, name="page_login")
    app.router.add_post("/login", login_without_script)
    app.router.add_get("/orgs/{id}", org_page, name="page_org")
    app.router.add_get("/orgs/{id}/usage", usage_page, name="page_usage")
    app[CHAIN_CHECK] = ChainCheck()
    app.router.add_get("/orgs/{id}/audit", audit_page, name="page_audit")
    app.router.add_get("/orgs/{id}/record", record_page, name="page_record")
    app.router.add_get("/rule-sets", rule_sets_page, name="page_rule_sets")
    app.router.add_get("/meetings/{id}", meeting_page, name="page_meeting")
    app.router.add_get("/meetings/{id}/room", room_page, name="page_room")
    app.router.add_get("/meetings/{id}/minutes", minutes_page, name="page_minutes")
    app.router.add_get("/language/{code}", set_language, name="page_language")
    app.router.add_static("/static/", STATIC_DIR, name="static", follow_symlinks=False)
    app.on_response_prepare.append(_revalidate_static)
