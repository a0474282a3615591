"""Pilot applications, decisions by an approver above the unit, revocation, eligibility flags."""

from __future__ import annotations

from datetime import date

from aiohttp import web
from pydantic import Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings.enums import ApplicationKind
from meetings.policy import Action
from server.api import responses
from server.api.context import actor, database, json_response, lang, now, path_id
from server.api.registry import route
from server.api.validation import Body, read_json
from server.auth.authz import Access, absent, access_on, authorize, can_see, hidden
from server.auth.identity import Actor
from server.db.tables import EligibilityFlag, PilotApplication
from server.db.tree import subtree_ids
from server.errors import forbidden
from server.services.orgs import get_org
from server.services.pilot import application_json, apply, approver_org_above, decide, flag_json, revoke


class ApplicationCreate(Body):
    kind: ApplicationKind = ApplicationKind.ONLINE


class DecisionBody(Body):
    approved: bool
    decision_no: str = Field(min_length=1, max_length=60)
    decided_on: date
    valid_from: date | None = None
    valid_to: date | None = None


class RevokeBody(Body):
    reason: str = Field(min_length=1, max_length=1000)


@route(
    "POST",
    "/api/v1/orgs/{id}/pilot-applications",
    summary="Apply for the online or party-group pilot",
    tag="pilot",
    body=ApplicationCreate,
    status=201,
    response=responses.APPLICATION,
)
async def post_application(request: web.Request) -> web.StreamResponse:
    caller, org_id = actor(request), path_id(request)
    body = await read_json(request, ApplicationCreate)
    async with database(request).write() as session:
        await authorize(session, caller, Action.APPLICATION_CREATE, org_id)
        application = await apply(
            session, await get_org(session, org_id), body.kind, actor_user_id=caller.user_id, at=now(request)
        )
    return json_response(application_json(application, lang(request)), status=201)


@route(
    "GET",
    "/api/v1/orgs/{id}/pilot-applications",
    summary="The unit's applications and decisions",
    tag="pilot",
    response=responses.APPLICATIONS,
)
async def list_applications(request: web.Request) -> web.StreamResponse:
    caller, org_id = actor(request), path_id(request)
    async with database(request).read() as session:
        await authorize(session, caller, Action.APPLICATION_READ, org_id)
        ids = await subtree_ids(session, [org_id])
        rows = (
            (
                await session.execute(
                    select(PilotApplication)
                    .where(col(PilotApplication.org_id).in_(ids))
                    .order_by(col(PilotApplication.id))
                )
            )
            .scalars()
            .all()
        )
    return json_response({"applications": [application_json(a, lang(request)) for a in rows]})


async def _application(
    session: AsyncSession, caller: Actor, application_id: int
) -> tuple[PilotApplication, Access]:
    application = await session.get(PilotApplication, application_id)
    if application is None:
        raise await absent(session, caller)
    access = await access_on(session, caller, application.org_id)
    if access is None or not can_see(access, caller):
        raise hidden(application.org_id)
    return application, access


@route(
    "GET",
    "/api/v1/pilot-applications/{id}",
    summary="One application",
    tag="pilot",
    response=responses.APPLICATION,
)
async def get_application(request: web.Request) -> web.StreamResponse:
    caller = actor(request)
    async with database(request).read() as session:
        application, _ = await _application(session, caller, path_id(request))
        await authorize(session, caller, Action.APPLICATION_READ, application.org_id)
    return json_response(application_json(application, lang(request)))


@route(
    "POST",
    "/api/v1/pilot-applications/{id}/decision",
    summary="Approve or reject (an approver above the unit)",
    tag="pilot",
    body=DecisionBody,
    response=responses.APPLICATION,
)
async def post_decision(request: web.Request) -> web.StreamResponse:
    caller = actor(request)
    body = await read_json(request, DecisionBody)
    async with database(request).write() as session:
        application, access = await _application(session, caller, path_id(request))
        deciding_org = approver_org_above(access)
        if deciding_org is None:
            raise forbidden()
        application = await decide(
            session,
            application,
            await get_org(session, application.org_id),
            deciding_org,
            approved=body.approved,
            decision_no=body.decision_no,
            decided_on=body.decided_on,
            valid_from=body.valid_from,
            valid_to=body.valid_to,
            actor_user_id=caller.user_id,
            at=now(request),
        )
    return json_response(application_json(application, lang(request)))


@route(
    "POST",
    "/api/v1/pilot-applications/{id}/revoke",
    summary="Revoke an approval (an approver above the unit)",
    tag="pilot",
    body=RevokeBody,
    response=responses.APPLICATION,
)
async def post_revoke(request: web.Request) -> web.StreamResponse:
    caller = actor(request)
    body = await read_json(request, RevokeBody)
    async with database(request).write() as session:
        application, access = await _application(session, caller, path_id(request))
        if approver_org_above(access) is None:
            raise forbidden()
        application = await revoke(
            session, application, body.reason, actor_user_id=caller.user_id, at=now(request)
        )
    return json_response(application_json(application, lang(request)))


@route(
    "GET",
    "/api/v1/orgs/{id}/eligibility-flags",
    summary="Approved units below that stopped qualifying",
    tag="pilot",
    response=responses.FLAGS,
)
async def list_flags(request: web.Request) -> web.StreamResponse:
    caller, org_id = actor(request), path_id(request)
    async with database(request).read() as session:
        await authorize(session, caller, Action.APPLICATION_READ, org_id)
        ids = await subtree_ids(session, [org_id])
        flags = (
            (
                await session.execute(
                    select(EligibilityFlag).where(
                        col(EligibilityFlag.org_id).in_(ids),
                        col(EligibilityFlag.cleared_at).is_(None),
                    )
                )
            )
            .scalars()
            .all()
        )
    return json_response({"flags": [flag_json(f, lang(request)) for f in flags]})
