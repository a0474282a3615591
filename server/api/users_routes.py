"""User accounts, created by an operator."""

from __future__ import annotations

from aiohttp import web
from pydantic import Field
from sqlalchemy import select
from sqlmodel import col

from meetings.policy import Action
from server.api import responses
from server.api.context import actor, database, json_response, now, path_id
from server.api.registry import route
from server.api.validation import Body, read_json
from server.appkeys import THROTTLE
from server.audit.log import append
from server.auth.authz import authorize
from server.auth.passwords import MAX_PASSWORD_LENGTH
from server.db.tables import Member, User
from server.errors import forbidden, not_found
from server.services.users import create_user


class UserCreate(Body):
    username: str = Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    password: str = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)
    full_name: str = Field(min_length=1, max_length=200)
    is_admin: bool = False


@route(
    "POST",
    "/api/v1/users",
    summary="Create a user (operator only)",
    tag="users",
    body=UserCreate,
    status=201,
    response=responses.USER_CREATED,
)
async def post_user(request: web.Request) -> web.StreamResponse:
    caller = actor(request)
    if not caller.user.is_admin:
        raise forbidden()
    body = await read_json(request, UserCreate)
    user = await create_user(
        database(request),
        username=body.username,
        password=body.password,
        full_name=body.full_name,
        is_admin=body.is_admin,
        actor_user_id=caller.user_id,
        at=now(request),
    )
    return json_response({"id": user.id}, status=201)


@route(
    "POST",
    "/api/v1/users/{id}/login-unlock",
    summary="Lift the login throttle of an account (the operator, or the secretary of its member's unit)",
    tag="users",
    response=responses.UNLOCKED,
)
async def post_login_unlock(request: web.Request) -> web.StreamResponse:
    caller = actor(request)
    at = now(request)
    async with database(request).write() as session:
        user = await session.get(User, path_id(request))
        if user is None:
            raise not_found()
        member = (
            (await session.execute(select(Member).where(col(Member.user_id) == user.id))).scalars().first()
        )
        if not caller.user.is_admin:
            if member is None:
                raise forbidden()
            await authorize(session, caller, Action.MEMBER_WRITE, member.org_id)
        throttle = request.app[THROTTLE]
        await append(
            session,
            at=at,
            actor_user_id=caller.user_id,
            org_id=member.org_id if member is not None else None,
            action="auth.login_unlocked",
            target=f"user:{user.id}",
            data={"locks": throttle.counters(user.username)},
        )
    # Only once the audit row is committed: an unlock is never left unrecorded.
    lifted = throttle.unlock(user.username)
    return json_response({"user_id": user.id, "unlocked": lifted})
