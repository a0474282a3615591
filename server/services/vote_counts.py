"""The counts of a show of hands or a paper ballot, entered by the chair (issue 30, R-VOTE-4).

Entering them closes the vote: the counts are checked by meetings.vote_modes.check_counts against the
official members present now (a refusal is 422 `validation_error` with the rule, Vietnamese first, and
changes nothing), the voting base is counted now as at any close, and R-VOTE-1/3 decide from them as
for electronic ballots. An electronic vote's counts come from its ballots only (409 `wrong_mode`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from meetings.decision import Text
from meetings.enums import VoteMode
from meetings.room import quorum_decision
from meetings.vote_modes import check_counts
from server.db.tables import Meeting, Org, Vote
from server.errors import ApiError, conflict
from server.services.attendance import situation
from server.services.vote_results import OPEN
from server.services.votes import record_close


async def enter_counts(
    session: AsyncSession,
    vote: Vote,
    meeting: Meeting,
    org: Org,
    *,
    for_: int,
    against: int,
    abstain: int,
    counted_by: Sequence[str],
    actor_user_id: int,
    at: datetime,
) -> Vote:
    """Call with the vote locked, by the chair."""
    if vote.status != OPEN:
        raise conflict("vote_closed", Text("Biểu quyết đã kết thúc.", "The vote is closed."), vote_id=vote.id)
    mode = VoteMode(vote.mode)
    state = await situation(session, meeting, org)
    quorum = quorum_decision(state, at)
    # R-VOTE-2 with R-ATT-4: members heard through a relay vote only when the rule set allows it.
    # Without a relay in the meeting the officials who may vote are those present (meetings.room).
    officials_present = int(quorum.counts.get("officials_may_vote", quorum.counts["present_official"]))
    decision = check_counts(
        mode,
        for_,
        against,
        abstain,
        officials_present,
        counted_by,
        state.rule_set,
    )
    if not decision.outcome:
        if decision.details["reason"] == "electronic":
            raise ApiError(
                409, "wrong_mode", decision.explanation, rule=decision.rule, details={"mode": mode.value}
            )
        field = str(decision.details["field"])
        raise ApiError(
            422,
            "validation_error",
            decision.explanation,
            rule=decision.rule,
            details={
                "fields": {field: decision.explanation.en},
                "reason": decision.details["reason"],
                "counts": dict(decision.counts),
            },
        )
    base = max(int(quorum.counts["voting_base"]), for_ + against + abstain)
    vote.counted_by = list(decision.details["counted_by"])
    vote.counts_entered_by = actor_user_id
    return await record_close(
        session,
        vote,
        meeting,
        org,
        (for_, against, abstain),
        base,
        actor_user_id=actor_user_id,
        at=at,
        audited={
            "mode": vote.mode,
            "counted_by": vote.counted_by,
            "officials_present": officials_present,
        },
    )
