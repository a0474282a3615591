"""Eligibility decisions of a unit (R-ELIG) and for party-group meetings (R-GROUP-2), and rule sets."""

from __future__ import annotations

from aiohttp import web

from meetings.policy import Action
from server.api import responses
from server.api.context import actor, database, json_response, lang, now, path_id
from server.api.registry import Shape, route
from server.auth.authz import authorize
from server.errors import not_found
from server.services.orgs import get_org
from server.services.register import eligibility, group_eligibility_of
from server.services.rule_sets import listing, registry

_LIFECYCLE = dict(status="string", in_force_from="string", in_force_to="string?", superseded_by="string?")
RULE_SET = responses.obj(
    "RuleSet", _LIFECYCLE, name="string", title="any", parameters="array", sources="array"
)
_LISTED = responses.obj("RuleSetListed", _LIFECYCLE, id="string", title="string", sources="array")
# api.md: a bare array, each lineage's sets side by side in order (issue 30).
RULE_SETS = Shape("RuleSetList", {"type": "array", "items": _LISTED.schema})


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
        decision = await eligibility(session, await get_org(session, org_id), now(request))
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
        decision = await group_eligibility_of(session, await get_org(session, org_id), now(request))
    return json_response(decision.to_json(lang(request)))


@route(
    "GET",
    "/api/v1/rule-sets/{name}",
    summary="A rule set's parameters with their sources, its status and the days it is in force",
    tag="eligibility",
    response=RULE_SET,
)
async def get_rule_set_route(request: web.Request) -> web.StreamResponse:
    actor(request)
    async with database(request).read() as session:
        rule_set = (await registry(session)).get(request.match_info["name"])
    if rule_set is None:
        raise not_found()
    return json_response(rule_set.to_json(lang(request)))


@route(
    "GET",
    "/api/v1/rule-sets",
    summary="Every rule set: status (pilot, in_force, superseded), days in force, successor, sources",
    tag="eligibility",
    response=RULE_SETS,
)
async def list_rule_sets(request: web.Request) -> web.StreamResponse:
    actor(request)
    async with database(request).read() as session:
        found = await registry(session)
    return json_response(listing(found, lang(request)))
