"""User accounts, created by an operator."""

from __future__ import annotations

from aiohttp import web
from pydantic import Field

from server.api.context import actor, database, json_response, now
from server.api.errors import forbidden
from server.api.routes import route
from server.api.validation import Body, read_json
from server.auth.passwords import MAX_PASSWORD_LENGTH
from server.services.users import create_user


class UserCreate(Body):
    username: str = Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    password: str = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)
    full_name: str = Field(min_length=1, max_length=200)
    is_admin: bool = False


@route("POST", "/api/v1/users", summary="Create a user (operator only)", tag="users", body=UserCreate)
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
