"""Eligibility decisions of a unit (R-ELIG) and for party-group meetings (R-GROUP-2), and rule sets."""

from __future__ import annotations

from aiohttp import web

from meetings.policy import Action
from meetings.rulesets import BUILT_IN
from server.api import responses
from server.api.context import actor, database, json_response, lang, path_id
from server.api.registry import route
from server.auth.authz import authorize
from server.errors import not_found
from server.services.orgs import get_org
from server.services.register import eligibility, group_eligibility_of


@route(
    "GET",
    "/api/v1/orgs/{id}/eligibility",
    summary="May this unit pilot online meetings? (R-ELIG)",
    tag="eligibility",
    response=responses.DECISION,
)
async def get_eligibility(request: web.Request) -> web.StreamResponse:
    caller, org_id = actor(request), path_id(request)
    async with database(request).read() as session:
        await authorize(session, caller, Action.ELIGIBILITY_READ, org_id)
        decision = await eligibility(session, await get_org(session, org_id))
    return json_response(decision.to_json(lang(request)))


@route(
    "GET",
    "/api/v1/orgs/{id}/group-eligibility",
    summary="May this cell meet by party groups? (R-GROUP-2)",
    tag="eligibility",
    response=responses.DECISION,
)
async def get_group_eligibility(request: web.Request) -> web.StreamResponse:
    caller, org_id = actor(request), path_id(request)
    async with database(request).read() as session:
        await authorize(session, caller, Action.ELIGIBILITY_READ, org_id)
        decision = await group_eligibility_of(session, await get_org(session, org_id))
    return json_response(decision.to_json(lang(request)))


@route(
    "GET",
    "/api/v1/rule-sets/{name}",
    summary="A rule set's parameters with their sources",
    tag="eligibility",
    response=responses.RULE_SET,
)
async def get_rule_set_route(request: web.Request) -> web.StreamResponse:
    actor(request)
    rule_set = BUILT_IN.get(request.match_info["name"])
    if rule_set is None:
        raise not_found()
    return json_response(rule_set.to_json(lang(request)))
