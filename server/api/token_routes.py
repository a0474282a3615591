"""Bearer tokens for scripts: made only after the password is entered again, with an expiry, listed and
revoked by their owner and by the operator, all revoked when the password or second factor changes,
and never a seat in a live meeting (docs/security.md "Accounts and sessions")."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web
from pydantic import Field
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings.decision import Text
from server.api import responses
from server.api.context import actor, database, json_response, now, path_id
from server.api.registry import route
from server.api.validation import Body, read_json
from server.audit.log import append
from server.auth.identity import TOKEN_DAYS_DEFAULT, Actor, token_expiry
from server.auth.passwords import MAX_PASSWORD_LENGTH, verify_password
from server.auth.tokens import API_TOKEN_PREFIX, new_token, token_id
from server.auth.totp import accepted_step
from server.clock import as_utc, iso
from server.db.tables import ApiToken, User, WebSession
from server.errors import ApiError, forbidden, not_found

# A session this young was opened with the password (and the second factor, when on) moments ago:
# that entry counts as the re-entry. Later, the password is asked for again.
FRESH_LOGIN_SECONDS = 5 * 60
# Wrong re-entries a session may make before it is ended (a stolen session cannot guess on).
REAUTH_FAILURES_MAX = 5
_reauth_failures: dict[str, int] = {}


class TokenBody(Body):
    name: str = Field(default="script", min_length=1, max_length=100)
    password: str | None = Field(default=None, min_length=1, max_length=MAX_PASSWORD_LENGTH)
    otp: str | None = Field(default=None, max_length=10)
    days: int = Field(default=TOKEN_DAYS_DEFAULT, ge=1, le=365)


TO_CREATE_A_TOKEN = Text(
    "Nhập lại mật khẩu (và mã xác thực nếu đã bật) để tạo mã truy cập.",
    "Enter your password again (and your code, if two-factor is on) to create a token.",
)


def _reauth_required(message: Text = TO_CREATE_A_TOKEN) -> ApiError:
    return ApiError(403, "reauth_required", message)


async def check_reentry(
    session: AsyncSession,
    caller: Actor,
    password: str | None,
    otp: str | None,
    at: datetime,
    *,
    fresh_login_counts: bool = True,
    message: Text = TO_CREATE_A_TOKEN,
) -> None:
    """The password (and the TOTP code when on) entered again, or (when `fresh_login_counts`) a login of
    the last minutes. Wrong entries are audited; the fifth ends the session."""
    assert caller.session is not None
    if password is None:
        fresh = (at - as_utc(caller.session.created_at)).total_seconds() <= FRESH_LOGIN_SECONDS
        if fresh and fresh_login_counts:
            return
        raise _reauth_required(message)
    user = await session.get(User, caller.user_id)
    assert user is not None
    ok = await verify_password(user.password_hash, password)
    step = None
    if ok and user.totp_enabled:
        step = accepted_step(user.totp_secret or "", otp or "", at, user.totp_last_step)
        ok = step is not None
    if ok:
        _reauth_failures.pop(caller.session.id, None)
        if step is not None:
            user.totp_last_step = step
            session.add(user)
        return
    failures = _reauth_failures[caller.session.id] = _reauth_failures.get(caller.session.id, 0) + 1
    if len(_reauth_failures) > 10_000:
        _reauth_failures.clear()
    await append(
        session,
        at=at,
        actor_user_id=caller.user_id,
        org_id=None,
        action="auth.reauth_failed",
        target=f"user:{caller.user_id}",
        data={"failures": failures},
    )
    if failures >= REAUTH_FAILURES_MAX:
        await session.delete(await session.get(WebSession, caller.session.id))
    raise _reauth_required(message)


def _token_json(token: ApiToken) -> dict[str, Any]:
    return {
        "id": token.public_id,
        "name": token.name,
        "created_at": iso(as_utc(token.created_at)),
        "expires_at": iso(token_expiry(token)),
        "revoked_at": iso(as_utc(token.revoked_at)) if token.revoked_at else None,
    }


@route(
    "POST",
    "/api/v1/auth/tokens",
    summary="Create a bearer token for scripts",
    tag="auth",
    body=TokenBody,
    status=201,
    response=responses.TOKEN_CREATED,
)
async def create_token(request: web.Request) -> web.StreamResponse:
    caller = actor(request)
    body = await read_json(request, TokenBody)
    token = new_token(API_TOKEN_PREFIX)
    at = now(request)
    expires_at = at + timedelta(days=body.days)
    if caller.token is not None:
        # A script may make another token for itself, never one that outlives its own.
        expires_at = min(expires_at, token_expiry(caller.token))
    # The failures of a wrong re-entry are written even though the request is refused.
    failure: ApiError | None
    async with database(request).write() as session:
        try:
            if caller.token is None:
                await check_reentry(session, caller, body.password, body.otp, at)
        except ApiError as refused:
            failure = refused
        else:
            failure = None
            made = ApiToken(
                id=token_id(token),
                user_id=caller.user_id,
                name=body.name,
                created_at=at,
                public_id=secrets.token_urlsafe(9),
                expires_at=expires_at,
            )
            session.add(made)
            await append(
                session,
                at=at,
                actor_user_id=caller.user_id,
                org_id=None,
                action="auth.token_created",
                target=f"user:{caller.user_id}",
                data={"name": body.name, "token": made.public_id, "days": body.days},
            )
    if failure is not None:
        raise failure
    return json_response({"token": token, **_token_json(made)}, status=201)


async def _tokens_of(session: AsyncSession, user_id: int) -> list[ApiToken]:
    query = select(ApiToken).where(col(ApiToken.user_id) == user_id).order_by(col(ApiToken.created_at))
    return list((await session.execute(query)).scalars())


@route(
    "GET",
    "/api/v1/auth/tokens",
    summary="The caller's script tokens (never the tokens themselves)",
    tag="auth",
    response=responses.TOKENS,
)
async def list_own_tokens(request: web.Request) -> web.StreamResponse:
    caller = actor(request)
    async with database(request).read() as session:
        tokens = await _tokens_of(session, caller.user_id)
    return json_response({"tokens": [_token_json(t) for t in tokens]})


async def _revoke(request: web.Request, user_id: int, public_id: str, caller: Actor) -> web.StreamResponse:
    at = now(request)
    async with database(request).write() as session:
        token = (
            await session.execute(
                select(ApiToken).where(col(ApiToken.user_id) == user_id, col(ApiToken.public_id) == public_id)
            )
        ).scalar_one_or_none()
        if token is None:
            raise not_found()
        if token.revoked_at is None:
            token.revoked_at = at
            session.add(token)
            await append(
                session,
                at=at,
                actor_user_id=caller.user_id,
                org_id=None,
                action="auth.token_revoked",
                target=f"user:{user_id}",
                data={"token": public_id, "why": "revoked"},
            )
    return json_response(_token_json(token))


@route(
    "DELETE",
    "/api/v1/auth/tokens/{token_id}",
    summary="Revoke one of the caller's script tokens",
    tag="auth",
    response=responses.TOKEN,
)
async def revoke_own_token(request: web.Request) -> web.StreamResponse:
    caller = actor(request)
    return await _revoke(request, caller.user_id, request.match_info["token_id"], caller)


@route(
    "GET",
    "/api/v1/users/{id}/tokens",
    summary="A user's script tokens (operator only)",
    tag="users",
    response=responses.TOKENS,
)
async def list_user_tokens(request: web.Request) -> web.StreamResponse:
    caller = actor(request)
    if not caller.user.is_admin:
        raise forbidden()
    async with database(request).read() as session:
        if await session.get(User, path_id(request)) is None:
            raise not_found()
        tokens = await _tokens_of(session, path_id(request))
    return json_response({"tokens": [_token_json(t) for t in tokens]})


@route(
    "DELETE",
    "/api/v1/users/{id}/tokens/{token_id}",
    summary="Revoke a user's script token (operator only)",
    tag="users",
    response=responses.TOKEN,
)
async def revoke_user_token(request: web.Request) -> web.StreamResponse:
    caller = actor(request)
    if not caller.user.is_admin:
        raise forbidden()
    return await _revoke(request, path_id(request), request.match_info["token_id"], caller)


async def revoke_all_tokens(session: AsyncSession, user_id: int, at: datetime, why: str) -> None:
    """A change of password or second factor ends every script token of the account (and says so)."""
    result = await session.execute(
        update(ApiToken)
        .where(col(ApiToken.user_id) == user_id, col(ApiToken.revoked_at).is_(None))
        .values(revoked_at=at)
    )
    if result.rowcount:  # type: ignore[attr-defined]
        await append(
            session,
            at=at,
            actor_user_id=user_id,
            org_id=None,
            action="auth.token_revoked",
            target=f"user:{user_id}",
            data={"tokens": result.rowcount, "why": why},  # type: ignore[attr-defined]
        )
