"""A vote's result and how it is shown: the outcome against the voting base counted at the close
(R-VOTE-1/3), whether it passed, a meeting's votes, and a vote with its counts and reserved opinions.

The answer names who voted, never who chose what: the minutes keep method and counts (R-VOTE-4).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings.decision import Decision, Text
from meetings.enums import Choice, VoteKind, VoteMode, VoteOutcome
from meetings.rulesets import RuleSet
from meetings.vote_modes import MODE_TEXT
from meetings.votes import vote_result
from server.clock import as_utc, iso
from server.db.tables import Ballot, Meeting, Member, Org, ReservedOpinion, Vote
from server.services.rule_sets import rule_set_of_meeting

OPEN, CLOSED = "open", "closed"
METHOD_TEXT = {"open": Text("biểu quyết công khai", "open vote")}


def result_of(vote: Vote, rule_set: RuleSet) -> Decision | None:
    """R-VOTE-1/3 under `rule_set`: the set in force on the meeting's date (issue 30), which the decision
    cites; None while the vote is open."""
    if vote.voting_base is None:
        return None
    return vote_result(
        VoteKind(vote.kind),
        vote.count_for or 0,
        vote.count_against or 0,
        vote.count_abstain or 0,
        vote.voting_base,
        rule_set,
    )


async def rule_set_of_vote(session: AsyncSession, vote: Vote, org: Org) -> RuleSet:
    """The set in force on the date of the vote's meeting, in the unit's lineage."""
    meeting = await session.get(Meeting, vote.meeting_id)
    assert meeting is not None
    return await rule_set_of_meeting(session, meeting, org)


def passed(vote: Vote) -> bool:
    return vote.status == CLOSED and vote.outcome == VoteOutcome.PASSED.value


async def votes_of(session: AsyncSession, meeting_id: int) -> list[Vote]:
    query = select(Vote).where(col(Vote.meeting_id) == meeting_id).order_by(col(Vote.id))
    return list((await session.execute(query)).scalars().all())


async def vote_json(session: AsyncSession, vote: Vote, org: Org, lang: str) -> dict[str, Any]:
    ballots = (
        await session.execute(
            select(col(Ballot.member_id), col(Ballot.choice)).where(col(Ballot.vote_id) == vote.id)
        )
    ).all()
    opinions = (
        await session.execute(
            select(col(ReservedOpinion.member_id), col(Member.full_name), col(ReservedOpinion.opinion))
            .join(Member, col(Member.id) == col(ReservedOpinion.member_id))
            .where(col(ReservedOpinion.vote_id) == vote.id)
            .order_by(col(ReservedOpinion.id))
        )
    ).all()
    tally = Counter(choice for _, choice in ballots)
    if vote.mode != VoteMode.ELECTRONIC.value and vote.count_for is not None:
        # A show of hands or paper ballot: the counts the chair entered, no ballot of anybody.
        tally = Counter(
            {
                Choice.FOR.value: vote.count_for,
                Choice.AGAINST.value: vote.count_against or 0,
                Choice.ABSTAIN.value: vote.count_abstain or 0,
            }
        )
    result = result_of(vote, await rule_set_of_vote(session, vote, org))
    return {
        "id": vote.id,
        "meeting_id": vote.meeting_id,
        "question": vote.question,
        "kind": vote.kind,
        "method": vote.method,
        # How it is taken (issue 30); `mode_text` says it in the caller's language.
        "mode": vote.mode,
        "mode_text": MODE_TEXT[VoteMode(vote.mode)].in_language(lang),
        "counted_by": list(vote.counted_by or []),
        "agenda_item_index": vote.agenda_position,
        "status": vote.status,
        "opened_at": iso(as_utc(vote.opened_at)),
        "closed_at": iso(as_utc(vote.closed_at)) if vote.closed_at else None,
        "override_reason": vote.override_reason,
        "counts": {
            "for": tally[Choice.FOR.value],
            "against": tally[Choice.AGAINST.value],
            "abstain": tally[Choice.ABSTAIN.value],
            "ballots": len(ballots) if vote.mode == VoteMode.ELECTRONIC.value else sum(tally.values()),
        },
        "voted": sorted(member_id for member_id, _ in ballots),
        "result": result.to_json(lang) if result is not None else None,
        "reserved_opinions": [
            {"member_id": member_id, "full_name": name, "opinion": opinion}
            for member_id, name, opinion in opinions
        ],
    }
