"""Login, logout, the current user, bearer tokens for scripts and TOTP enrolment."""

from __future__ import annotations

import hashlib
import logging

import pyotp
from aiohttp import web
from pydantic import Field
from sqlalchemy import delete, select
from sqlmodel import col

from meetings.decision import Text
from server.api import responses
from server.api.context import actor, database, json_response, now
from server.api.registry import route
from server.api.token_routes import revoke_all_tokens
from server.api.validation import Body, read_json
from server.appkeys import HUB, SETTINGS, THROTTLE
from server.audit.log import append
from server.auth.client_address import client_address
from server.auth.identity import session_cookie_name
from server.auth.passwords import MAX_PASSWORD_LENGTH, verify_password
from server.auth.tokens import new_token, token_id
from server.auth.totp import accepted_step
from server.db.tables import User, WebSession
from server.errors import ApiError
from server.mail.address import normal_address
from server.services.users import user_json, user_profile

log = logging.getLogger("cellmeet.auth")

BAD_LOGIN = ApiError(
    401,
    "invalid_credentials",
    Text("Tên đăng nhập, mật khẩu hoặc mã xác thực không đúng.", "Wrong username, password or code."),
)


class LoginBody(Body):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)
    otp: str | None = Field(default=None, max_length=10)


class TotpEnrolBody(Body):
    otp: str | None = Field(default=None, max_length=10)


class OtpBody(Body):
    otp: str = Field(min_length=6, max_length=10)


class AccountBody(Body):
    # Checked by server.mail.address (at most 254 characters); "" or null removes it.
    email: str | None = Field(default=None, max_length=1000)


def _invalid_email() -> ApiError:
    reason = {"vi": "không phải địa chỉ e-mail hợp lệ", "en": "is not a valid e-mail address"}
    return ApiError(
        422,
        "invalid_email",
        Text(
            "Địa chỉ e-mail không hợp lệ (ví dụ: ten@example.vn).",
            "The e-mail address is not valid (for example: name@example.vn).",
        ),
        details={
            "field": "email",
            "fields": {"email": {"type": "invalid_email", "message": reason["en"], "reason": reason}},
        },
    )


def _address_key(request: web.Request) -> str:
    # The client's address (a trusted proxy's forwarded one), kept only as a hash in memory and logs
    # (ASVS 7.1).
    address = client_address(request, request.app[SETTINGS])
    return hashlib.sha256(address.encode()).hexdigest()[:16]


def _who(user: User | None) -> str:
    # The typed name only when it names an account: otherwise it may be a password typed in the
    # wrong field (ASVS 7.1.1).
    return f"user={user.id} ({user.username})" if user is not None else "an unknown account"


@route(
    "POST",
    "/api/v1/auth/login",
    summary="Log in; sets the session cookie",
    tag="auth",
    body=LoginBody,
    public=True,
    response=responses.LOGIN,
)
async def login(request: web.Request) -> web.StreamResponse:
    body = await read_json(request, LoginBody)
    settings = request.app[SETTINGS]
    throttle = request.app[THROTTLE]
    address = _address_key(request)
    at = now(request)
    # Read before the throttle is asked, so a throttled attempt's line names whom it was for, as a
    # failure's does (quality.md S5: every failure logged with the actor); no password is checked.
    async with database(request).read() as session:
        user = (
            await session.execute(select(User).where(col(User.username) == body.username))
        ).scalar_one_or_none()
    wait = throttle.retry_after(body.username, address, at)
    if wait is not None:
        log.warning("login throttled for %s address=%s", _who(user), address)
        raise ApiError(
            429,
            "too_many_attempts",
            Text(
                f"Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau {wait} giây.",
                f"Too many failed logins. Try again in {wait} seconds.",
            ),
            headers={"Retry-After": str(wait)},
        )
    ok = await verify_password(user.password_hash if user else None, body.password)
    totp_step = None
    if ok and user is not None and user.totp_enabled:
        totp_step = accepted_step(user.totp_secret or "", body.otp or "", at, user.totp_last_step)
        ok = totp_step is not None
    if not ok or user is None:
        throttle.record_failure(body.username, address, at)
        log.warning("login failed for %s address=%s", _who(user), address)
        raise BAD_LOGIN
    throttle.record_success(body.username, address, at)
    if user.disabled_at is not None:  # told only to whoever knows the password
        log.warning("login refused for disabled user=%s address=%s", user.id, address)
        raise ApiError(
            403,
            "account_disabled",
            Text(
                "Tài khoản này đã bị vô hiệu hóa. Hãy liên hệ quản trị viên.",
                "This account is disabled. Contact the operator.",
            ),
        )
    assert user.id is not None  # read from the database
    token = new_token()
    csrf = new_token()
    async with database(request).write() as session:
        # A fresh id at every login: a planted session id is never adopted (ASVS 3.2.1).
        session.add(
            WebSession(id=token_id(token), user_id=user.id, csrf_token=csrf, created_at=at, last_seen_at=at)
        )
        if totp_step is not None:
            stored = await session.get(User, user.id)
            assert stored is not None
            stored.totp_last_step = totp_step
        await append(
            session,
            at=at,
            actor_user_id=user.id,
            org_id=None,
            action="auth.login",
            target=f"user:{user.id}",
            data={},
        )
    log.info("login ok user_id=%s address=%s", user.id, address)
    response = json_response({"csrf_token": csrf, "user": user_json(user)})
    response.set_cookie(
        session_cookie_name(settings),
        token,
        httponly=True,
        secure=settings.https,
        samesite="Lax",
        path="/",
        max_age=settings.session_absolute_seconds,
    )
    return response


@route(
    "POST",
    "/api/v1/auth/logout",
    summary="Log out; the session ends server-side",
    tag="auth",
    response=responses.OK,
)
async def logout(request: web.Request) -> web.StreamResponse:
    caller = actor(request)
    if caller.session is not None:
        async with database(request).write() as session:
            await session.execute(delete(WebSession).where(col(WebSession.id) == caller.session.id))
        hub = request.app.get(HUB)
        if hub is not None:
            await hub.drop_session(caller.session.id, request.app[SETTINGS].join_ticket_seconds)
    response = json_response({"ok": True})
    response.del_cookie(session_cookie_name(request.app[SETTINGS]), path="/")
    return response


@route(
    "GET",
    "/api/v1/auth/me",
    summary="The current user, their grants and CSRF token",
    tag="auth",
    response=responses.ME,
)
async def me(request: web.Request) -> web.StreamResponse:
    caller = actor(request)
    async with database(request).read() as session:
        profile = await user_profile(session, caller.user)
    profile["csrf_token"] = caller.session.csrf_token if caller.session else None
    return json_response(profile)


@route(
    "PATCH",
    "/api/v1/auth/me",
    summary="Change one's own account: the e-mail address invitations are sent to (audited)",
    tag="auth",
    body=AccountBody,
    response=responses.ME,
)
async def patch_me(request: web.Request) -> web.StreamResponse:
    caller = actor(request)
    body = await read_json(request, AccountBody)
    at = now(request)
    async with database(request).write() as session:
        user = await session.get(User, caller.user_id)
        assert user is not None
        if "email" in body.model_fields_set:
            email = normal_address(body.email) if body.email else None
            if body.email and email is None:
                raise _invalid_email()
            if email != user.email:
                # The address itself stays out of the audit trail (personal data): only that it changed.
                await append(
                    session,
                    at=at,
                    actor_user_id=user.id,
                    org_id=None,
                    action="auth.email_changed",
                    target=f"user:{user.id}",
                    data={"had_email": user.email is not None, "has_email": email is not None},
                )
                user.email = email
                session.add(user)
        profile = await user_profile(session, user)
    profile["csrf_token"] = caller.session.csrf_token if caller.session else None
    return json_response(profile)


@route(
    "POST",
    "/api/v1/auth/totp",
    summary="Start TOTP enrolment: returns the secret",
    tag="auth",
    body=TotpEnrolBody,
    response=responses.TOTP_ENROL,
)
async def totp_enrol(request: web.Request) -> web.StreamResponse:
    caller = actor(request)
    body = await read_json(request, TotpEnrolBody)
    secret = pyotp.random_base32()
    async with database(request).write() as session:
        user = await session.get(User, caller.user_id)
        assert user is not None
        # Replacing an active second factor needs a current code: a stolen session alone cannot remove it.
        if (
            user.totp_enabled
            and accepted_step(user.totp_secret or "", body.otp or "", now(request), user.totp_last_step)
            is None
        ):
            raise ApiError(
                403,
                "otp_required",
                Text("Cần mã xác thực hiện tại để đổi mã TOTP.", "A current code is needed to replace TOTP."),
            )
        user.totp_secret, user.totp_enabled, user.totp_last_step = secret, False, None
        session.add(user)
    uri = pyotp.TOTP(secret).provisioning_uri(name=caller.user.username, issuer_name="cellmeet")
    return json_response({"secret": secret, "uri": uri})


@route(
    "POST",
    "/api/v1/auth/totp/confirm",
    summary="Confirm TOTP with a first code",
    tag="auth",
    body=OtpBody,
    response=responses.TOTP_ON,
)
async def totp_confirm(request: web.Request) -> web.StreamResponse:
    caller = actor(request)
    body = await read_json(request, OtpBody)
    at = now(request)
    async with database(request).write() as session:
        user = await session.get(User, caller.user_id)
        assert user is not None
        step = (
            accepted_step(user.totp_secret or "", body.otp, at, user.totp_last_step)
            if user.totp_secret
            else None
        )
        if step is None:
            raise ApiError(422, "invalid_otp", Text("Mã xác thực không đúng.", "Wrong code."))
        user.totp_enabled, user.totp_last_step = True, step
        session.add(user)
        await revoke_all_tokens(session, caller.user_id, at, "totp_enabled")
        await append(
            session,
            at=at,
            actor_user_id=user.id,
            org_id=None,
            action="auth.totp_enabled",
            target=f"user:{user.id}",
            data={},
        )
    return json_response({"totp_enabled": True})
