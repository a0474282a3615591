"""A user changes their own password: the current one (and the TOTP code when on) entered again, the new
one as strong as an operator's choice must be; every script token and every other session of the account
ends with the old password, their live-room connections included (docs/security.md "Accounts and
sessions")."""

from __future__ import annotations

from aiohttp import web
from pydantic import Field
from sqlalchemy import select

from meetings.decision import Text
from server.api import responses
from server.api.context import actor, database, json_response, now
from server.api.registry import route
from server.api.token_routes import check_reentry, revoke_all_tokens
from server.api.validation import Body, read_json
from server.appkeys import HUB, SETTINGS
from server.audit.log import append
from server.auth.passwords import MAX_PASSWORD_LENGTH, hash_password, verify_password
from server.db.tables import User, WebSession
from server.errors import ApiError
from server.services.users import check_password_strength

TO_CHANGE_THE_PASSWORD = Text(
    "Mật khẩu hiện tại (hoặc mã xác thực) không đúng.",
    "The current password (or the code) is wrong.",
)


class PasswordBody(Body):
    current_password: str = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)
    new_password: str = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)
    otp: str | None = Field(default=None, max_length=10)


def _session_required() -> ApiError:
    return ApiError(
        403,
        "session_required",
        Text(
            "Chỉ đổi được mật khẩu khi đăng nhập bằng trình duyệt, không bằng mã truy cập.",
            "The password is changed from a browser session, never with a script token.",
        ),
    )


def _same_password() -> ApiError:
    return ApiError(
        422,
        "same_password",
        Text(
            "Mật khẩu mới phải khác mật khẩu hiện tại.", "The new password must differ from the current one."
        ),
        details={"field": "new_password"},
    )


@route(
    "POST",
    "/api/v1/auth/password",
    summary="Change one's own password; ends every other session and every script token",
    tag="auth",
    body=PasswordBody,
    response=responses.PASSWORD_CHANGED,
)
async def change_password(request: web.Request) -> web.StreamResponse:
    caller = actor(request)
    if caller.session is None:  # a script token must not take the account over
        raise _session_required()
    body = await read_json(request, PasswordBody)
    check_password_strength(body.new_password)
    at = now(request)
    # Hashed before the write transaction opens: the slow hash never holds the database's write lock.
    new_hash = await hash_password(body.new_password)
    ended: list[str] = []
    async with database(request).write() as session:
        try:
            await check_reentry(
                session,
                caller,
                body.current_password,
                body.otp,
                at,
                fresh_login_counts=False,
                message=TO_CHANGE_THE_PASSWORD,
            )
        except ApiError as refused:
            failure: ApiError | None = refused  # the wrong entry is audited: commit, then refuse
        else:
            failure = None
            user = await session.get(User, caller.user_id)
            assert user is not None
            if await verify_password(user.password_hash, body.new_password):
                failure = _same_password()
            else:
                user.password_hash = new_hash
                session.add(user)
                others = select(WebSession).where(
                    WebSession.user_id == caller.user_id,  # type: ignore[arg-type]
                    WebSession.id != caller.session.id,  # type: ignore[arg-type]
                )
                for other in (await session.execute(others)).scalars():
                    ended.append(other.id)
                    await session.delete(other)
                await revoke_all_tokens(session, caller.user_id, at, "password_changed")
                await append(
                    session,
                    at=at,
                    actor_user_id=caller.user_id,
                    org_id=None,
                    action="auth.password_changed",
                    target=f"user:{caller.user_id}",
                    data={"sessions_ended": len(ended)},
                )
    if failure is not None:
        raise failure
    hub = request.app.get(HUB)
    if hub is not None:  # the ended sessions' live-room connections and unused join tickets end too
        for session_id in ended:
            await hub.drop_session(session_id, request.app[SETTINGS].join_ticket_seconds)
    return json_response({"changed": True, "sessions_ended": len(ended)})
