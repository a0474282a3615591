"""The operator's page (/admin) and the public page of a one-time account link (/activate, /reset):
issue 23, point 2. Both are shells their scripts fill from server.api.accounts_routes; the link's page
checks the link first, so a used, expired or unknown one is told at once, in the visitor's language."""

from __future__ import annotations

import logging
import re

from aiohttp import web

from server.api.context import lang
from server.appkeys import CLOCK, DATABASE
from server.auth.identity import ACTOR, Actor
from server.errors import ApiError
from server.pages.views import _not_found, _page, _to_login
from server.services.account_links import link_state

# A one-time link's token is in its page's address; the access log keeps the request line, so the
# token is masked there (it still works once for 7 days: a log is no place for it).
# Also URL-encoded, as the language switch carries the page's address in `?next=`.
_LINK_TOKEN = re.compile(
    r"((?:/|%2F)(?:activate|reset)(?:\?|%3F)(?:[^\s\"]*?(?:&|%26))?token(?:=|%3D))[A-Za-z0-9_-]+",
    re.IGNORECASE,
)


class LinkTokenRedactor(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and "token" in record.msg:
            record.msg = _LINK_TOKEN.sub(r"\1…", record.msg)
        line = getattr(record, "first_request_line", None)
        if isinstance(line, str):
            record.first_request_line = _LINK_TOKEN.sub(r"\1…", line)
        return True


def mask_link_tokens_in_access_log() -> None:
    """Once per process, however many apps are made (the tests make many)."""
    logger = logging.getLogger("aiohttp.access")
    if not any(isinstance(f, LinkTokenRedactor) for f in logger.filters):
        logger.addFilter(LinkTokenRedactor())


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
