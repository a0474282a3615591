"""Party groups of a cell (docs/api.md "Party groups": /orgs/{id}/groups, /groups/{id}).

The register's rights decide: who may read a cell's register reads its groups (`member.read`), who may
change it changes them (`member.write`: the cell's secretary, deputy secretary, an admin above). A group
route authorises on the group's cell, so another unit's group is 404 like one that does not exist, and
a dissolved group is 404 to every change (see server.services.groups for the other decisions).
"""

from __future__ import annotations

from aiohttp import web
from pydantic import Field

from meetings.decision import Text
from meetings.enums import GroupRole
from meetings.policy import Action
from server.api import responses
from server.api.context import actor, database, json_response, now, path_id
from server.api.registry import route
from server.api.validation import Body, read_json
from server.auth.authz import authorize
from server.errors import ApiError
from server.services.group_views import dissolved_json, group_view, groups_of
from server.services.groups import (
    create_group,
    dissolve_group,
    group_and_cell,
    set_group_members,
    update_group,
)
from server.services.orgs import get_org

# A cell's register holds at most what an import may bring at once, many times over; this bounds a body.
MAX_MEMBERS = 5000


class GroupCreate(Body):
    name: str = Field(min_length=1, max_length=200)
    leader_id: int | None = None
    deputy_id: int | None = None
    member_ids: list[int] = Field(default_factory=list, max_length=MAX_MEMBERS)


class GroupUpdate(Body):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    leader_id: int | None = None
    deputy_id: int | None = None


class GroupMembers(Body):
    member_ids: list[int] = Field(max_length=MAX_MEMBERS)


class Empty(Body):
    pass


@route(
    "GET",
    "/api/v1/orgs/{id}/groups",
    summary="The cell's party groups and who is in none",
    tag="groups",
    response=responses.GROUPS,
)
async def list_groups(request: web.Request) -> web.StreamResponse:
    caller, org_id = actor(request), path_id(request)
    async with database(request).read() as session:
        await authorize(session, caller, Action.MEMBER_READ, org_id)
        body = await groups_of(session, await get_org(session, org_id))
    return json_response(body)


@route(
    "POST",
    "/api/v1/orgs/{id}/groups",
    summary="Create a party group in a cell, with its members, leader and deputy",
    tag="groups",
    body=GroupCreate,
    status=201,
    response=responses.GROUP,
)
async def post_group(request: web.Request) -> web.StreamResponse:
    caller, org_id = actor(request), path_id(request)
    body = await read_json(request, GroupCreate)
    async with database(request).write() as session:
        await authorize(session, caller, Action.MEMBER_WRITE, org_id)
        group = await create_group(
            session,
            await get_org(session, org_id),
            name=body.name,
            officers={GroupRole.LEADER: body.leader_id, GroupRole.DEPUTY: body.deputy_id},
            member_ids=body.member_ids,
            actor_user_id=caller.user_id,
            at=now(request),
        )
        result = await group_view(session, group)
    return json_response(result, status=201)


@route(
    "PATCH",
    "/api/v1/groups/{id}",
    summary="Rename a party group or name its leader and deputy (null: none)",
    tag="groups",
    body=GroupUpdate,
    response=responses.GROUP,
)
async def patch_group(request: web.Request) -> web.StreamResponse:
    caller, group_id = actor(request), path_id(request)
    body = await read_json(request, GroupUpdate)
    changes = body.model_dump(exclude_unset=True)
    if "name" in changes and changes["name"] is None:
        raise ApiError(
            422,
            "validation_error",
            Text("Trường 'name' không được để trống.", "'name' cannot be null."),
            details={"fields": {"name": "null"}},
        )
    async with database(request).write() as session:
        group, cell = await group_and_cell(session, caller, group_id)
        await authorize(session, caller, Action.MEMBER_WRITE, cell.id or 0)
        group = await update_group(
            session, group, cell, changes, actor_user_id=caller.user_id, at=now(request)
        )
        result = await group_view(session, group)
    return json_response(result)


@route(
    "PUT",
    "/api/v1/groups/{id}/members",
    summary="Set a party group's members (those not listed leave it)",
    tag="groups",
    body=GroupMembers,
    response=responses.GROUP,
)
async def put_group_members(request: web.Request) -> web.StreamResponse:
    caller, group_id = actor(request), path_id(request)
    body = await read_json(request, GroupMembers)
    async with database(request).write() as session:
        group, cell = await group_and_cell(session, caller, group_id)
        await authorize(session, caller, Action.MEMBER_WRITE, cell.id or 0)
        await set_group_members(
            session, group, cell, body.member_ids, actor_user_id=caller.user_id, at=now(request)
        )
        result = await group_view(session, group)
    return json_response(result)


@route(
    "POST",
    "/api/v1/groups/{id}/dissolve",
    summary="Dissolve a party group; its past meetings and minutes stay",
    tag="groups",
    body=Empty,
    response=responses.DISSOLVED,
)
async def post_dissolve(request: web.Request) -> web.StreamResponse:
    caller, group_id = actor(request), path_id(request)
    await read_json(request, Empty)
    async with database(request).write() as session:
        group, cell = await group_and_cell(session, caller, group_id)
        await authorize(session, caller, Action.MEMBER_WRITE, cell.id or 0)
        group = await dissolve_group(session, group, cell, actor_user_id=caller.user_id, at=now(request))
    return json_response(dissolved_json(group))
