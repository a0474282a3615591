"""Votes of an open meeting: opened (R-QUOR-1, R-CONTENT-1), closed against the voting base counted
then (R-VOTE-1/3), found for the caller, and the caller's ballot taken (REST and `/room`).

Decisions (documented in docs/api.md "Votes"):
- One vote open at a time per meeting (409 `vote_open`); opened only in an open meeting, only when
  quorate unless the chair gives an override reason (kept on the vote and in the audit row).
- `admission` and `recognition` votes are kept off online and hybrid meetings by R-CONTENT-1.

A ballot itself is cast in ballots (R-VOTE-2), the result and the vote as shown are in vote_results,
reserved opinions (R-VOTE-4) in reserved_opinions.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings.decision import Text
from meetings.enums import Choice, ItemType, MeetingMode, VoteKind, VoteMode
from meetings.room import quorum_decision
from meetings.vote_modes import ENTERED_MODES, MODE_TEXT, default_mode, mode_allowed
from server.audit.checkpoints import VOTE_CLOSED, write_checkpoint
from server.audit.log import append
from server.auth.authz import NO_UNIT, absent
from server.auth.identity import Actor
from server.db.tables import Ballot, Meeting, Org, Vote
from server.errors import ApiError, conflict, forbidden, not_found, refused
from server.services.attendance import situation
from server.services.ballots import cast_ballot
from server.services.meeting_agenda import agenda_of, check_agenda
from server.services.meeting_roles import MeetingRoles, meeting_roles
from server.services.orgs import get_org
from server.services.rule_sets import rule_set_of_meeting
from server.services.running import require_open
from server.services.vote_results import CLOSED, OPEN, result_of, vote_json

# The vote kinds whose matter R-CONTENT-1 keeps off online and hybrid meetings.
_BARRED_KIND_ITEM = {VoteKind.ADMISSION: ItemType.ADMISSION, VoteKind.RECOGNITION: ItemType.ADMISSION}


async def lock_vote(session: AsyncSession, vote_id: int) -> Vote | None:
    query = select(Vote).where(col(Vote.id) == vote_id).with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def open_vote(
    session: AsyncSession,
    meeting: Meeting,
    org: Org,
    *,
    question: str,
    kind: VoteKind,
    agenda_item_index: int | None,
    method: str,
    override_reason: str | None,
    actor_user_id: int,
    at: datetime,
    mode: VoteMode | None = None,
) -> Vote:
    """`mode` None: meetings.vote_modes.default_mode of the meeting (electronic online and hybrid, a show
    of hands in person)."""
    require_open(meeting)
    assert meeting.id is not None
    in_force = await rule_set_of_meeting(session, meeting, org)  # on the meeting's date (issue 30)
    if kind in _BARRED_KIND_ITEM:
        check_agenda(org, MeetingMode(meeting.mode), [_BARRED_KIND_ITEM[kind]], in_force)
    vote_mode = mode if mode is not None else default_mode(MeetingMode(meeting.mode))
    allowed = mode_allowed(MeetingMode(meeting.mode), vote_mode, in_force)
    if not allowed.outcome:
        raise refused(allowed.rule, allowed.explanation, details=dict(allowed.details))
    already = (
        await session.execute(
            select(col(Vote.id)).where(col(Vote.meeting_id) == meeting.id, col(Vote.status) == OPEN)
        )
    ).first()
    if already is not None:
        raise conflict(
            "vote_open",
            Text("Đang có một biểu quyết chưa kết thúc.", "Another vote is still open."),
            vote_id=already[0],
        )
    index = agenda_item_index if agenda_item_index is not None else meeting.current_item
    if index is not None and not 0 <= index < len(await agenda_of(session, meeting.id)):
        raise ApiError(
            422,
            "validation_error",
            Text("Không có mục này trong chương trình.", "No such agenda item."),
            details={"fields": {"agenda_item_index": "no such item"}},
        )
    decision = quorum_decision(await situation(session, meeting, org), at)
    if not decision.outcome and not override_reason:
        raise ApiError(
            409,
            "not_quorate",
            decision.explanation,
            rule="R-QUOR-1",
            details={"counts": dict(decision.counts)},
        )
    vote = Vote(
        meeting_id=meeting.id,
        agenda_position=index,
        question=question,
        kind=kind.value,
        method=method,
        mode=vote_mode.value,
        status=OPEN,
        opened_at=at,
        opened_by=actor_user_id,
        override_reason=override_reason if not decision.outcome else None,
    )
    session.add(vote)
    await session.flush()
    await append(
        session,
        at=at,
        actor_user_id=actor_user_id,
        org_id=meeting.org_id,
        action="vote.opened",
        target=f"vote:{vote.id}",
        data={
            "meeting_id": meeting.id,
            "kind": vote.kind,
            "mode": vote.mode,
            "question": question,
            "quorate": bool(decision.outcome),
            "override_reason": vote.override_reason,
            "counts": dict(decision.counts),
        },
    )
    return vote


async def close_vote(
    session: AsyncSession, vote: Vote, meeting: Meeting, org: Org, *, actor_user_id: int, at: datetime
) -> Vote:
    """Call with the vote locked. The voting base is counted now, not at the opening."""
    if vote.status != OPEN:
        raise conflict("vote_closed", Text("Biểu quyết đã kết thúc.", "The vote is closed."), vote_id=vote.id)
    if VoteMode(vote.mode) in ENTERED_MODES:
        how = MODE_TEXT[VoteMode(vote.mode)]
        raise conflict(
            "counts_required",
            Text(
                f"Biểu quyết này theo hình thức {how.vi}: chủ trì nhập kết quả đếm để kết thúc biểu quyết.",
                f"This vote is taken by {how.en}: the chair enters the counts to close it.",
            ),
            vote_id=vote.id,
            mode=vote.mode,
        )
    tally = Counter(
        (await session.execute(select(col(Ballot.choice)).where(col(Ballot.vote_id) == vote.id)))
        .scalars()
        .all()
    )
    base = int(quorum_decision(await situation(session, meeting, org), at).counts["voting_base"])
    # Ballots of members who since left the base (e.g. suspended mid-meeting) still count towards it.
    base = max(base, sum(tally.values()))
    counts = (tally[Choice.FOR.value], tally[Choice.AGAINST.value], tally[Choice.ABSTAIN.value])
    return await record_close(session, vote, meeting, org, counts, base, actor_user_id=actor_user_id, at=at)


async def record_close(
    session: AsyncSession,
    vote: Vote,
    meeting: Meeting,
    org: Org,
    counts: tuple[int, int, int],
    base: int,
    *,
    actor_user_id: int,
    at: datetime,
    audited: dict[str, Any] | None = None,
) -> Vote:
    """The vote closed with its counts (for, against, abstain) over `base`: its outcome decided
    (R-VOTE-1/3, `result_of`), audited as `vote.closed` (with `audited` besides), checkpointed."""
    vote.voting_base = base
    vote.count_for, vote.count_against, vote.count_abstain = counts
    result = result_of(vote, await rule_set_of_meeting(session, meeting, org))
    assert result is not None
    vote.outcome = str(result.outcome)
    vote.status = CLOSED
    vote.closed_at = at
    session.add(vote)
    await session.flush()
    await append(
        session,
        at=at,
        actor_user_id=actor_user_id,
        org_id=meeting.org_id,
        action="vote.closed",
        target=f"vote:{vote.id}",
        data={
            "meeting_id": meeting.id,
            **(audited or {}),
            "outcome": vote.outcome,
            "rule": result.rule,
            "counts": dict(result.counts),
        },
    )
    await write_checkpoint(session, at=at, reason=VOTE_CLOSED)
    return vote


async def vote_of(
    session: AsyncSession, caller: Actor, vote_id: int, *, lock: bool
) -> tuple[Vote, Meeting, Org, MeetingRoles]:
    """The vote (locked for a change), its meeting and unit, and who the caller is there (404 if unseen)."""
    vote = await lock_vote(session, vote_id) if lock else await session.get(Vote, vote_id)
    # Its meeting is read even for no vote: a missing vote and another unit's answer after as many reads.
    meeting = await session.get(Meeting, vote.meeting_id if vote is not None else NO_UNIT)
    if vote is None:
        raise await absent(session, caller)
    assert meeting is not None
    roles = await meeting_roles(session, caller, meeting)
    return vote, meeting, await get_org(session, meeting.org_id), roles


async def ballot_as(
    session: AsyncSession,
    caller: Actor,
    vote_id: int,
    choice: Choice,
    member_id: int | None,
    at: datetime,
    lang: str,
    *,
    meeting_id: int | None = None,
) -> dict[str, Any]:
    """A ballot by the caller's own member, or by the chair for `member_id` on site (REST and `/room`).
    `meeting_id`: the room the connection joined; a vote of another meeting does not exist for it."""
    vote, meeting, org, roles = await vote_of(session, caller, vote_id, lock=True)
    if meeting_id is not None and vote.meeting_id != meeting_id:
        raise not_found()
    on_site = member_id is not None and member_id != roles.member_id
    if on_site:
        roles.require_chair()
    voter = member_id if member_id is not None else roles.member_id
    if voter is None:
        raise forbidden()  # an officer without a member record of the unit has no ballot
    await cast_ballot(
        session,
        vote,
        meeting,
        org,
        member_id=voter,
        choice=choice,
        on_site_by_chair=on_site,
        actor_user_id=caller.user_id,
        at=at,
    )
    return await vote_json(session, vote, org, lang)
