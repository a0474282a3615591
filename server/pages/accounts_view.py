"""The operator's page (/admin) and the public page of a one-time account link (/activate, /reset):
issue 23, point 2. Both are shells their scripts fill from server.api.accounts_routes; the link's page
checks the link first, so a used, expired or unknown one is told at once, in the visitor's language."""

from __future__ import annotations

from aiohttp import web

from server.api.context import ACTOR, lang
from server.api.errors import ApiError
from server.appkeys import CLOCK, DATABASE
from server.auth.identity import Actor
from server.pages.views import _not_found, _page, _to_login
from server.services.accounts import link_state


async def account_link_page(request: web.Request) -> web.StreamResponse:
    """/activate?token= and /reset?token=: choose a password with a one-time link."""
    token = request.query.get("token", "")
    try:
        state = await link_state(request.app[DATABASE], token, request.app[CLOCK]())
    except ApiError as refused:
        return _page(
            request,
            "account_link.html",
            status=refused.status,
            refusal=refused.message.in_language(lang(request)),
            refusal_code=refused.code,
            page_script="common.js",
        )
    return _page(
        request,
        "account_link.html",
        refusal=None,
        purpose=state["purpose"],
        username=state["username"],
        full_name=state["full_name"],
        page_script="account-link.js",
    )


async def admin_page(request: web.Request) -> web.StreamResponse:
    """The operator's accounts; anyone else gets the not-found page, as for a unit they cannot see."""
    caller: Actor | None = request.get(ACTOR)
    if caller is None:
        return _to_login(request)
    if not caller.user.is_admin:
        return _not_found(request)
    return _page(request, "admin.html", page_script="admin.js")
