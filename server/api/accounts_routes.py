"""The operator's account routes (issue 23) and the public use of a one-time account link.

Every route but the link's use is the operator's (is_admin): anyone else gets 403, as on
`POST /api/v1/users`. What they do is in server.services.accounts; each change is audited there.
"""

from __future__ import annotations

from aiohttp import web
from pydantic import Field

from meetings.decision import Text
from server.api.context import actor, database, json_response, now, path_id
from server.api.registry import Query, route
from server.api.responses import obj
from server.api.validation import Body, read_json
from server.appkeys import HUB, SETTINGS
from server.auth.identity import ACCOUNT_LINK_PATH
from server.auth.passwords import MAX_PASSWORD_LENGTH
from server.errors import forbidden, invalid
from server.services import accounts
from server.services.accounts_register import MAX_BATCH

ACCOUNTS = obj("Accounts", accounts="array")
CANDIDATES = obj("RegisterCandidates", org_id="integer", candidates="array")
CREATED = obj("AccountsCreated", accounts="array")
DISABLED = obj(
    "AccountDisabled", id="integer", disabled="boolean", changed="boolean", sessions_ended="integer"
)
RESET_LINK = obj("ResetLink", id="integer", purpose="string", link="string", expires_at="string")
TOTP_RESET = obj("TotpReset", id="integer", totp_enabled="boolean", was_on="boolean")
MEMBER_LINK = obj("AccountMember", id="integer", member="object?")
LINK_USED = obj("AccountLinkUsed", purpose="string", username="string")


class FromRegisterBody(Body):
    org_id: int = Field(ge=1)
    member_ids: list[int] = Field(min_length=1, max_length=MAX_BATCH)


class MemberLinkBody(Body):
    member_id: int | None = Field(ge=1)


class LinkUseBody(Body):
    token: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)


def _operator(request: web.Request) -> int:
    caller = actor(request)
    if not caller.user.is_admin:
        raise forbidden()
    return caller.user_id


async def _drop_sessions(request: web.Request, ended: list[str]) -> None:
    hub = request.app.get(HUB)
    if hub is not None:  # the ended sessions' live-room connections and unused join tickets end too
        for session_id in ended:
            await hub.drop_session(session_id, request.app[SETTINGS].join_ticket_seconds)


@route("GET", "/api/v1/users", summary="Every account (operator only)", tag="users", response=ACCOUNTS)
async def get_users(request: web.Request) -> web.StreamResponse:
    _operator(request)
    async with database(request).read() as session:
        found = await accounts.list_accounts(session, now(request))
    return json_response({"accounts": found})


@route(
    "GET",
    "/api/v1/users/register-candidates",
    summary="A unit's register entries without an account: name and unit only (operator only)",
    tag="users",
    query=(Query("org", "integer", required=True, minimum=1),),
    response=CANDIDATES,
)
async def get_register_candidates(request: web.Request) -> web.StreamResponse:
    _operator(request)
    raw = request.query.get("org", "")
    if not (raw.isascii() and raw.isdigit() and len(raw) < 10):
        raise invalid("org", Text("Hãy chọn một đơn vị.", "Choose a unit."))
    async with database(request).read() as session:
        found = await accounts.register_candidates(session, int(raw))
    return json_response({"org_id": int(raw), "candidates": found})


@route(
    "POST",
    "/api/v1/users/from-register",
    summary="Create accounts for register entries of a unit, each with a one-time activation link (operator)",
    tag="users",
    body=FromRegisterBody,
    response=CREATED,
)
async def post_from_register(request: web.Request) -> web.StreamResponse:
    operator = _operator(request)
    body = await read_json(request, FromRegisterBody)
    created = await accounts.create_from_register(
        database(request),
        org_id=body.org_id,
        member_ids=body.member_ids,
        actor_user_id=operator,
        at=now(request),
    )
    return json_response({"accounts": created})


async def _set_disabled(request: web.Request, disabled: bool) -> web.StreamResponse:
    operator = _operator(request)
    answer, ended = await accounts.set_disabled(
        database(request),
        user_id=path_id(request),
        disabled=disabled,
        actor_user_id=operator,
        at=now(request),
    )
    await _drop_sessions(request, ended)
    return json_response(answer)


@route(
    "POST",
    "/api/v1/users/{id}/disable",
    summary="Disable an account: it cannot log in, its sessions and script tokens end (operator only)",
    tag="users",
    response=DISABLED,
)
async def post_disable(request: web.Request) -> web.StreamResponse:
    return await _set_disabled(request, True)


@route(
    "POST",
    "/api/v1/users/{id}/enable",
    summary="Enable a disabled account again (operator only)",
    tag="users",
    response=DISABLED,
)
async def post_enable(request: web.Request) -> web.StreamResponse:
    return await _set_disabled(request, False)


@route(
    "POST",
    "/api/v1/users/{id}/password-reset",
    summary="A one-time password reset link for an account, shown once (operator only)",
    tag="users",
    response=RESET_LINK,
)
async def post_password_reset(request: web.Request) -> web.StreamResponse:
    operator = _operator(request)
    answer = await accounts.issue_reset(
        database(request), user_id=path_id(request), actor_user_id=operator, at=now(request)
    )
    return json_response(answer)


@route(
    "POST",
    "/api/v1/users/{id}/totp-reset",
    summary="Turn an account's two-step login off (operator only)",
    tag="users",
    response=TOTP_RESET,
)
async def post_totp_reset(request: web.Request) -> web.StreamResponse:
    operator = _operator(request)
    answer = await accounts.reset_totp(
        database(request), user_id=path_id(request), actor_user_id=operator, at=now(request)
    )
    return json_response(answer)


@route(
    "PUT",
    "/api/v1/users/{id}/member",
    summary="Link an account to a register entry, or unlink it with member_id null (operator only)",
    tag="users",
    body=MemberLinkBody,
    response=MEMBER_LINK,
)
async def put_user_member(request: web.Request) -> web.StreamResponse:
    operator = _operator(request)
    body = await read_json(request, MemberLinkBody)
    answer = await accounts.link_member(
        database(request),
        user_id=path_id(request),
        member_id=body.member_id,
        actor_user_id=operator,
        at=now(request),
    )
    return json_response(answer)


@route(
    "POST",
    ACCOUNT_LINK_PATH,
    summary="Choose a password with a one-time activation or reset link (public; the link works once)",
    tag="auth",
    body=LinkUseBody,
    public=True,
    response=LINK_USED,
)
async def post_account_link(request: web.Request) -> web.StreamResponse:
    body = await read_json(request, LinkUseBody)
    answer, ended = await accounts.use_link(
        database(request), token=body.token, password=body.password, at=now(request)
    )
    await _drop_sessions(request, ended)
    return json_response(answer)
