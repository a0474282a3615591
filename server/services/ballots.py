"""A ballot cast in an open vote (R-VOTE-2): by the member present, or recorded by the chair for a
member checked in on site.

- A ballot is refused (409 `ballot_refused`, the rule, `details.reason`) by meetings.votes.ballot_allowed;
  present means an open presence interval now, online or on site. The vote row is locked for the
  ballot (PostgreSQL) and (vote, member) is unique, so racing ballots of one member count once.
- The chair records a ballot only for a member checked in on site (409 `not_on_site`).
- The audit log records who voted, never the choice: the minutes keep method and counts (R-VOTE-4).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings.decision import Decision, Text
from meetings.enums import Activity, Choice, Standing, VoteMode
from meetings.relays import relayed_at
from meetings.room import current_states, present_now
from meetings.vote_modes import MODE_TEXT
from meetings.votes import ballot_allowed
from server.audit.log import append
from server.db.tables import Ballot, Meeting, Org, Vote
from server.errors import ApiError, conflict
from server.services.attendance import situation
from server.services.vote_results import OPEN


def _refusal(decision: Decision) -> ApiError:
    return ApiError(
        409,
        "ballot_refused",
        decision.explanation,
        rule=decision.rule,
        details={"reason": decision.details["reason"]},
    )


async def cast_ballot(
    session: AsyncSession,
    vote: Vote,
    meeting: Meeting,
    org: Org,
    *,
    member_id: int,
    choice: Choice,
    on_site_by_chair: bool,
    actor_user_id: int,
    at: datetime,
) -> Ballot:
    """Call with the vote locked (lock_vote)."""
    if vote.status != OPEN:
        raise conflict("vote_closed", Text("Biểu quyết đã kết thúc.", "The vote is closed."), vote_id=vote.id)
    if vote.mode != VoteMode.ELECTRONIC.value:
        how = MODE_TEXT[VoteMode(vote.mode)]
        raise conflict(
            "wrong_mode",
            Text(
                f"Biểu quyết này theo hình thức {how.vi}; không nhận phiếu điện tử.",
                f"This vote is taken by {how.en}; electronic ballots are not taken.",
            ),
            vote_id=vote.id,
            mode=vote.mode,
        )
    state = await situation(session, meeting, org)
    member = next((m for m in state.members if m.id == member_id), None)
    if member is None:
        raise ApiError(
            422,
            "validation_error",
            Text("Người này không phải đảng viên của đơn vị.", "Not a member of the unit."),
            details={"fields": {"member_id": "not a member of the unit"}},
        )
    # R-ATT-4: the chair also records the ballot of a member heard through a relay now, when the rule
    # set lets relayed members vote.
    relayed = (
        on_site_by_chair and state.rule_set.relayed_may_vote and member_id in relayed_at(state.relays, at)
    )
    if (
        on_site_by_chair
        and not relayed
        and not current_states(state.events).get(member_id, (False, False))[1]
    ):
        raise conflict(
            "not_on_site",
            Text(
                "Chủ trì chỉ ghi phiếu cho đảng viên đã điểm danh tại chỗ.",
                "The chair records ballots only for members checked in on site.",
            ),
            member_id=member_id,
        )
    voted = (
        await session.execute(
            select(col(Ballot.id)).where(col(Ballot.vote_id) == vote.id, col(Ballot.member_id) == member_id)
        )
    ).first() is not None
    decision = ballot_allowed(
        Standing(member.standing),
        Activity(member.activity),
        relayed or member_id in present_now(state),
        voted,
        state.rule_set,
    )
    if not decision.outcome:
        raise _refusal(decision)
    ballot = Ballot(
        vote_id=vote.id,  # type: ignore[arg-type]
        member_id=member_id,
        choice=choice.value,
        cast_at=at,
        recorded_by=actor_user_id,
        on_site=on_site_by_chair,
    )
    session.add(ballot)
    try:
        await session.flush()
    except IntegrityError:
        # A ballot of the same member committed in between (SQLite does not lock the vote row).
        raise _refusal(
            ballot_allowed(Standing.OFFICIAL, Activity.ACTIVE, True, True, state.rule_set)
        ) from None
    await append(
        session,
        at=at,
        actor_user_id=actor_user_id,
        org_id=meeting.org_id,
        action="ballot.cast",
        target=f"vote:{vote.id}",
        data={"member_id": member_id, "on_site": on_site_by_chair},
    )
    return ballot
