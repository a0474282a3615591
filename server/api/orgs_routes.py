"""The organisation tree and grants (api.md: /orgs, /orgs/{id}, /orgs/{id}/grants)."""

from __future__ import annotations

from aiohttp import web
from pydantic import Field
from sqlalchemy import select
from sqlmodel import col

from meetings.enums import OrgKind, Role
from meetings.policy import Action
from server.api import responses
from server.api.context import actor, database, json_response, lang, now, path_id
from server.api.registry import route
from server.api.validation import Body, read_json
from server.auth.authz import authorize
from server.db.tables import Grant, Org
from server.errors import forbidden
from server.services.orgs import add_grant, create_org, get_org, org_json, update_org, visible_org_ids
from server.services.pilot import pilot_status


class OrgCreate(Body):
    name: str = Field(min_length=1, max_length=200)
    kind: OrgKind
    parent_id: int | None = None
    timezone: str | None = Field(default=None, max_length=64)
    rule_set: str | None = Field(default=None, max_length=40)


class OrgUpdate(Body):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    timezone: str | None = Field(default=None, max_length=64)
    rule_set: str | None = Field(default=None, max_length=40)


class GrantCreate(Body):
    user_id: int
    role: Role


@route("GET", "/api/v1/orgs", summary="Organisations the caller may see", tag="orgs", response=responses.ORGS)
async def list_orgs(request: web.Request) -> web.StreamResponse:
    caller = actor(request)
    async with database(request).read() as session:
        ids = await visible_org_ids(session, caller.user)
        orgs = (
            (await session.execute(select(Org).where(col(Org.id).in_(ids)).order_by(col(Org.id))))
            .scalars()
            .all()
        )
    return json_response({"orgs": [org_json(org) for org in orgs]})


@route(
    "POST",
    "/api/v1/orgs",
    summary="Create an organisation under a parent",
    tag="orgs",
    body=OrgCreate,
    status=201,
    response=responses.ORG,
)
async def post_org(request: web.Request) -> web.StreamResponse:
    caller = actor(request)
    body = await read_json(request, OrgCreate)
    async with database(request).write() as session:
        parent = None
        if body.parent_id is None:
            if not caller.user.is_admin:
                raise forbidden()
        else:
            await authorize(session, caller, Action.ORG_CREATE, body.parent_id)
            parent = await get_org(session, body.parent_id)
        org = await create_org(
            session,
            name=body.name,
            kind=body.kind,
            parent=parent,
            timezone=body.timezone,
            rule_set=body.rule_set,
            actor_user_id=caller.user_id,
            at=now(request),
        )
    return json_response(org_json(org), status=201)


@route(
    "GET",
    "/api/v1/orgs/{id}",
    summary="One organisation with its pilot status",
    tag="orgs",
    response=responses.ORG_DETAIL,
)
async def get_one_org(request: web.Request) -> web.StreamResponse:
    caller, org_id = actor(request), path_id(request)
    async with database(request).read() as session:
        await authorize(session, caller, Action.ORG_READ, org_id)
        org = await get_org(session, org_id)
        body = org_json(org)
        body["pilot"] = await pilot_status(session, org, now(request), lang(request))
    return json_response(body)


@route(
    "PATCH",
    "/api/v1/orgs/{id}",
    summary="Rename an organisation or change its time zone",
    tag="orgs",
    body=OrgUpdate,
    response=responses.ORG,
)
async def patch_org(request: web.Request) -> web.StreamResponse:
    caller, org_id = actor(request), path_id(request)
    body = await read_json(request, OrgUpdate)
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    async with database(request).write() as session:
        await authorize(session, caller, Action.ORG_UPDATE, org_id)
        org = await update_org(
            session, await get_org(session, org_id), changes, actor_user_id=caller.user_id, at=now(request)
        )
    return json_response(org_json(org))


@route(
    "POST",
    "/api/v1/orgs/{id}/grants",
    summary="Grant a role over the organisation's subtree",
    tag="orgs",
    body=GrantCreate,
    status=201,
    response=responses.GRANT,
)
async def post_grant(request: web.Request) -> web.StreamResponse:
    caller, org_id = actor(request), path_id(request)
    body = await read_json(request, GrantCreate)
    async with database(request).write() as session:
        await authorize(session, caller, Action.GRANT_CREATE, org_id)
        grant = await add_grant(
            session,
            org=await get_org(session, org_id),
            user_id=body.user_id,
            role=body.role,
            actor_user_id=caller.user_id,
            at=now(request),
        )
    return json_response(
        {"id": grant.id, "org_id": org_id, "user_id": body.user_id, "role": body.role}, status=201
    )


@route(
    "GET",
    "/api/v1/orgs/{id}/grants",
    summary="Grants held on the organisation",
    tag="orgs",
    response=responses.GRANTS,
)
async def list_grants(request: web.Request) -> web.StreamResponse:
    caller, org_id = actor(request), path_id(request)
    async with database(request).read() as session:
        await authorize(session, caller, Action.GRANT_CREATE, org_id)
        grants = (await session.execute(select(Grant).where(col(Grant.org_id) == org_id))).scalars().all()
    return json_response({"grants": [{"id": g.id, "user_id": g.user_id, "role": g.role} for g in grants]})
