"""Votes: open (the chair), ballots (the member, or the chair for one on site), reserved opinions,
close with the result; pushes `vote-opened`, `vote-progress`, `vote-closed` and the minutes.
Decisions are listed in server.services.votes, ballots, vote_results and reserved_opinions."""

from __future__ import annotations

from aiohttp import web
from pydantic import Field

from meetings.enums import Choice, VoteKind, VoteMode
from server.api import responses
from server.api.context import actor, database, hub, json_response, lang, now, path_id
from server.api.registry import route
from server.api.validation import Body, read_json
from server.auth.authz import absent
from server.db.tables import Meeting
from server.errors import forbidden
from server.services.attendance import lock_meeting
from server.services.meeting_roles import meeting_roles
from server.services.orgs import get_org
from server.services.reserved_opinions import record_opinion
from server.services.room_pushes import push_minutes, push_vote
from server.services.vote_counts import enter_counts
from server.services.vote_results import vote_json, votes_of
from server.services.votes import ballot_as, close_vote, open_vote, vote_of


class VoteBody(Body):
    question: str = Field(min_length=1, max_length=1000)
    kind: VoteKind = VoteKind.ORDINARY
    agenda_item_index: int | None = Field(default=None, ge=0, le=49)
    method: str = Field(default="open", pattern="^open$")
    # None: electronic ballots, in every meeting (meetings.vote_modes.default_mode, as before issue 30).
    mode: VoteMode | None = None
    override_reason: str | None = Field(default=None, min_length=1, max_length=1000)


class BallotBody(Body):
    choice: Choice
    member_id: int | None = None


class CountsBody(Body):
    """The counts of a show of hands (by the chair) or a paper ballot (its counting committee's figures).
    Not bounded here: meetings.vote_modes.check_counts refuses impossible counts with the rule."""

    for_: int = Field(alias="for")
    against: int
    abstain: int
    counted_by: list[str] = Field(default_factory=list, max_length=100)


class OpinionBody(Body):
    opinion: str = Field(min_length=1, max_length=4000)
    member_id: int | None = None


async def _pushed(request: web.Request, event: str, vote_id: int) -> None:
    await push_vote(database(request), hub(request), event, vote_id)


@route(
    "POST",
    "/api/v1/meetings/{id}/votes",
    summary="The chair opens a vote: open, quorate meeting (R-QUOR-1), kind allowed online (R-CONTENT-1), "
    "mode show_of_hands, electronic or paper_ballot (R-VOTE-4)",
    tag="votes",
    body=VoteBody,
    status=201,
    response=responses.VOTE,
)
async def post_vote(request: web.Request) -> web.StreamResponse:
    caller = actor(request)
    body = await read_json(request, VoteBody)
    async with database(request).write() as session:
        meeting = await lock_meeting(session, path_id(request))
        if meeting is None:
            raise await absent(session, caller)
        (await meeting_roles(session, caller, meeting)).require_chair()
        org = await get_org(session, meeting.org_id)
        vote = await open_vote(
            session,
            meeting,
            org,
            question=body.question,
            kind=body.kind,
            agenda_item_index=body.agenda_item_index,
            method=body.method,
            mode=body.mode,
            override_reason=body.override_reason,
            actor_user_id=caller.user_id,
            at=now(request),
        )
        result = await vote_json(session, vote, org, lang(request))
    await _pushed(request, "vote-opened", result["id"])
    return json_response(result, status=201)


@route(
    "GET",
    "/api/v1/meetings/{id}/votes",
    summary="The meeting's votes, in order",
    tag="votes",
    response=responses.VOTES,
)
async def list_votes(request: web.Request) -> web.StreamResponse:
    caller = actor(request)
    async with database(request).read() as session:
        meeting = await session.get(Meeting, path_id(request))
        if meeting is None:
            raise await absent(session, caller)
        await meeting_roles(session, caller, meeting)
        org = await get_org(session, meeting.org_id)
        votes = [await vote_json(session, v, org, lang(request)) for v in await votes_of(session, meeting.id)]  # type: ignore[arg-type]
    return json_response({"votes": votes})


@route(
    "GET",
    "/api/v1/votes/{id}",
    summary="A vote with its counts and, once closed, its result",
    tag="votes",
    response=responses.VOTE,
)
async def get_vote(request: web.Request) -> web.StreamResponse:
    async with database(request).read() as session:
        vote, _, org, _ = await vote_of(session, actor(request), path_id(request), lock=False)
        result = await vote_json(session, vote, org, lang(request))
    return json_response(result)


@route(
    "POST",
    "/api/v1/votes/{id}/ballots",
    summary="A ballot: {choice} by the member, {member_id, choice} by the chair for one on site (R-VOTE-2)",
    tag="votes",
    body=BallotBody,
    status=201,
    response=responses.VOTE,
)
async def post_ballot(request: web.Request) -> web.StreamResponse:
    body = await read_json(request, BallotBody)
    async with database(request).write() as session:
        result = await ballot_as(
            session,
            actor(request),
            path_id(request),
            body.choice,
            body.member_id,
            now(request),
            lang(request),
        )
    await _pushed(request, "vote-progress", path_id(request))
    return json_response(result, status=201)


@route(
    "POST",
    "/api/v1/votes/{id}/reserved-opinions",
    summary="A reserved opinion of a member who did not vote for (R-VOTE-4)",
    tag="votes",
    body=OpinionBody,
    status=201,
    response=responses.VOTE,
)
async def post_opinion(request: web.Request) -> web.StreamResponse:
    caller = actor(request)
    body = await read_json(request, OpinionBody)
    async with database(request).write() as session:
        vote, meeting, org, roles = await vote_of(session, caller, path_id(request), lock=True)
        if body.member_id is not None and body.member_id != roles.member_id:
            roles.require_chair()
        member_id = body.member_id if body.member_id is not None else roles.member_id
        if member_id is None:
            raise forbidden()
        await record_opinion(
            session,
            vote,
            meeting,
            member_id=member_id,
            opinion=body.opinion,
            actor_user_id=caller.user_id,
            at=now(request),
        )
        result = await vote_json(session, vote, org, lang(request))
    await push_minutes(database(request), hub(request), meeting.id, now(request))  # type: ignore[arg-type]
    return json_response(result, status=201)


@route(
    "POST",
    "/api/v1/votes/{id}/close",
    summary="The chair closes a vote: the result against the voting base (R-VOTE-1, R-VOTE-3)",
    tag="votes",
    response=responses.VOTE,
)
async def post_close_vote(request: web.Request) -> web.StreamResponse:
    caller = actor(request)
    async with database(request).write() as session:
        vote, meeting, org, roles = await vote_of(session, caller, path_id(request), lock=True)
        roles.require_chair()
        await close_vote(session, vote, meeting, org, actor_user_id=caller.user_id, at=now(request))
        result = await vote_json(session, vote, org, lang(request))
    await _pushed(request, "vote-closed", vote.id)  # type: ignore[arg-type]
    await push_minutes(database(request), hub(request), meeting.id, now(request))  # type: ignore[arg-type]
    return json_response(result)


@route(
    "POST",
    "/api/v1/votes/{id}/counts",
    summary="The chair enters the counts of a show of hands or paper ballot {for, against, abstain, "
    "counted_by}; this closes the vote with its result (R-VOTE-4, R-VOTE-2, R-VOTE-1/3)",
    tag="votes",
    body=CountsBody,
    response=responses.VOTE,
)
async def post_counts(request: web.Request) -> web.StreamResponse:
    caller = actor(request)
    body = await read_json(request, CountsBody)
    async with database(request).write() as session:
        vote, meeting, org, roles = await vote_of(session, caller, path_id(request), lock=True)
        roles.require_chair()
        await enter_counts(
            session,
            vote,
            meeting,
            org,
            for_=body.for_,
            against=body.against,
            abstain=body.abstain,
            counted_by=body.counted_by,
            actor_user_id=caller.user_id,
            at=now(request),
        )
        result = await vote_json(session, vote, org, lang(request))
    await _pushed(request, "vote-closed", vote.id)  # type: ignore[arg-type]
    await push_minutes(database(request), hub(request), meeting.id, now(request))  # type: ignore[arg-type]
    return json_response(result)
