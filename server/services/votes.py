"""Votes of an open meeting: opening (R-QUOR-1, R-CONTENT-1), ballots (R-VOTE-2), the result
(R-VOTE-1/3 against the voting base at the close), reserved opinions (R-VOTE-4).

Decisions (documented in docs/api.md "Votes"):
- One vote open at a time per meeting (409 `vote_open`); opened only in an open meeting, only when
  quorate unless the chair gives an override reason (kept on the vote and in the audit row).
- `admission` and `recognition` votes are kept off online and hybrid meetings by R-CONTENT-1.
- A ballot is refused (409 `ballot_refused`, the rule, `details.reason`) by meetings.votes.ballot_allowed;
  present means an open presence interval now, online or on site. The vote row is locked for the
  ballot (PostgreSQL) and (vote, member) is unique, so racing ballots of one member count once.
- The chair records a ballot only for a member checked in on site (409 `not_on_site`).
- The audit log records who voted, never the choice: the minutes keep method and counts (R-VOTE-4).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from meetings.decision import Decision, Text
from meetings.enums import Activity, Choice, ItemType, MeetingMode, Standing, VoteKind, VoteOutcome
from meetings.rulesets import get_rule_set
from meetings.votes import ballot_allowed, vote_result
from server.audit.checkpoints import VOTE_CLOSED, write_checkpoint
from server.audit.log import append
from server.auth.identity import Actor
from server.clock import as_utc, iso
from server.db.tables import Ballot, Meeting, Member, Minutes, Org, ReservedOpinion, Vote
from server.errors import ApiError, conflict, forbidden, not_found
from server.services.attendance import current_states, present_now, quorum_decision, situation
from server.services.meeting_roles import MeetingRoles, meeting_roles
from server.services.meetings import agenda_of, check_agenda
from server.services.orgs import get_org
from server.services.running import require_open

# The vote kinds whose matter R-CONTENT-1 keeps off online and hybrid meetings.
_BARRED_KIND_ITEM = {VoteKind.ADMISSION: ItemType.ADMISSION, VoteKind.RECOGNITION: ItemType.ADMISSION}
OPEN, CLOSED = "open", "closed"
METHOD_TEXT = {"open": Text("biểu quyết công khai", "open vote")}


async def lock_vote(session: AsyncSession, vote_id: int) -> Vote | None:
    query = select(Vote).where(Vote.id == vote_id).with_for_update()  # type: ignore[arg-type]
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
) -> Vote:
    require_open(meeting)
    assert meeting.id is not None
    if kind in _BARRED_KIND_ITEM:
        check_agenda(org, MeetingMode(meeting.mode), [_BARRED_KIND_ITEM[kind]])
    already = (
        await session.execute(select(Vote.id).where(Vote.meeting_id == meeting.id, Vote.status == OPEN))  # type: ignore[arg-type]
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
    decision = quorum_decision(await situation(session, meeting, org))
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
            "question": question,
            "quorate": bool(decision.outcome),
            "override_reason": vote.override_reason,
            "counts": dict(decision.counts),
        },
    )
    return vote


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
    state = await situation(session, meeting, org)
    member = next((m for m in state.members if m.id == member_id), None)
    if member is None:
        raise ApiError(
            422,
            "validation_error",
            Text("Người này không phải đảng viên của đơn vị.", "Not a member of the unit."),
            details={"fields": {"member_id": "not a member of the unit"}},
        )
    if on_site_by_chair and not current_states(state.events).get(member_id, (False, False))[1]:
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
            select(Ballot.id).where(Ballot.vote_id == vote.id, Ballot.member_id == member_id)
        )  # type: ignore[arg-type]
    ).first() is not None
    decision = ballot_allowed(
        Standing(member.standing),
        Activity(member.activity),
        member_id in present_now(state),
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


async def close_vote(
    session: AsyncSession, vote: Vote, meeting: Meeting, org: Org, *, actor_user_id: int, at: datetime
) -> Vote:
    """Call with the vote locked. The voting base is counted now, not at the opening."""
    if vote.status != OPEN:
        raise conflict("vote_closed", Text("Biểu quyết đã kết thúc.", "The vote is closed."), vote_id=vote.id)
    tally = Counter(
        (await session.execute(select(Ballot.choice).where(Ballot.vote_id == vote.id))).scalars().all()  # type: ignore[call-overload]
    )
    base = int(quorum_decision(await situation(session, meeting, org)).counts["voting_base"])
    # Ballots of members who since left the base (e.g. suspended mid-meeting) still count towards it.
    base = max(base, sum(tally.values()))
    vote.voting_base = base
    vote.count_for = tally[Choice.FOR.value]
    vote.count_against = tally[Choice.AGAINST.value]
    vote.count_abstain = tally[Choice.ABSTAIN.value]
    result = _result(vote, org)
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
            "outcome": vote.outcome,
            "rule": result.rule,
            "counts": dict(result.counts),
        },
    )
    await write_checkpoint(session, at=at, reason=VOTE_CLOSED)
    return vote


async def record_opinion(
    session: AsyncSession,
    vote: Vote,
    meeting: Meeting,
    *,
    member_id: int,
    opinion: str,
    actor_user_id: int,
    at: datetime,
) -> ReservedOpinion:
    """R-VOTE-4: a member who did not vote for keeps their opinion on record; one per member, until the
    minutes are adopted (R-MIN-5: the adopted record changes only by an addendum)."""
    minutes = await session.get(Minutes, meeting.id)
    if minutes is not None and minutes.adopted_vote_id is not None:
        raise ApiError(
            409,
            "minutes_locked",
            Text(
                "Biên bản đã được thông qua; ý kiến bảo lưu không thêm được nữa (R-MIN-5).",
                "The minutes were adopted; a reserved opinion can no longer be added (R-MIN-5).",
            ),
            rule="R-MIN-5",
        )
    choice = (
        await session.execute(
            select(Ballot.choice).where(Ballot.vote_id == vote.id, Ballot.member_id == member_id)
        )  # type: ignore[call-overload]
    ).scalar_one_or_none()
    if choice is None or choice == Choice.FOR.value:
        raise ApiError(
            409,
            "not_in_minority",
            Text(
                "Chỉ đảng viên không tán thành hoặc không biểu quyết mới bảo lưu ý kiến (R-VOTE-4).",
                "Only a member who voted against or abstained reserves an opinion (R-VOTE-4).",
            ),
            rule="R-VOTE-4",
        )
    existing = (
        await session.execute(
            select(ReservedOpinion).where(
                ReservedOpinion.vote_id == vote.id, ReservedOpinion.member_id == member_id
            )  # type: ignore[arg-type]
        )
    ).scalar_one_or_none()
    row = existing or ReservedOpinion(
        vote_id=vote.id,  # type: ignore[arg-type]
        member_id=member_id,
        opinion=opinion,
        recorded_at=at,
        recorded_by=actor_user_id,
    )
    row.opinion, row.recorded_at, row.recorded_by = opinion, at, actor_user_id
    session.add(row)
    await session.flush()
    await append(
        session,
        at=at,
        actor_user_id=actor_user_id,
        org_id=meeting.org_id,
        action="vote.opinion_reserved",
        target=f"vote:{vote.id}",
        data={"member_id": member_id},
    )
    return row


def _result(vote: Vote, org: Org) -> Decision | None:
    if vote.voting_base is None:
        return None
    return vote_result(
        VoteKind(vote.kind),
        vote.count_for or 0,
        vote.count_against or 0,
        vote.count_abstain or 0,
        vote.voting_base,
        get_rule_set(org.rule_set),
    )


def passed(vote: Vote) -> bool:
    return vote.status == CLOSED and vote.outcome == VoteOutcome.PASSED.value


async def votes_of(session: AsyncSession, meeting_id: int) -> list[Vote]:
    query = select(Vote).where(Vote.meeting_id == meeting_id).order_by(Vote.id)  # type: ignore[arg-type]
    return list((await session.execute(query)).scalars().all())


async def vote_json(session: AsyncSession, vote: Vote, org: Org, lang: str) -> dict[str, Any]:
    ballots = (
        await session.execute(select(Ballot.member_id, Ballot.choice).where(Ballot.vote_id == vote.id))
    ).all()  # type: ignore[call-overload]
    opinions = (
        await session.execute(
            select(ReservedOpinion.member_id, Member.full_name, ReservedOpinion.opinion)
            .join(Member, Member.id == ReservedOpinion.member_id)  # type: ignore[arg-type]
            .where(ReservedOpinion.vote_id == vote.id)  # type: ignore[arg-type]
            .order_by(ReservedOpinion.id)  # type: ignore[arg-type]
        )
    ).all()
    tally = Counter(choice for _, choice in ballots)
    result = _result(vote, org)
    return {
        "id": vote.id,
        "meeting_id": vote.meeting_id,
        "question": vote.question,
        "kind": vote.kind,
        "method": vote.method,
        "agenda_item_index": vote.agenda_position,
        "status": vote.status,
        "opened_at": iso(as_utc(vote.opened_at)),
        "closed_at": iso(as_utc(vote.closed_at)) if vote.closed_at else None,
        "override_reason": vote.override_reason,
        "counts": {
            "for": tally[Choice.FOR.value],
            "against": tally[Choice.AGAINST.value],
            "abstain": tally[Choice.ABSTAIN.value],
            "ballots": len(ballots),
        },
        "voted": sorted(member_id for member_id, _ in ballots),
        "result": result.to_json(lang) if result is not None else None,
        "reserved_opinions": [
            {"member_id": member_id, "full_name": name, "opinion": opinion}
            for member_id, name, opinion in opinions
        ],
    }


async def vote_of(
    session: AsyncSession, caller: Actor, vote_id: int, *, lock: bool
) -> tuple[Vote, Meeting, Org, MeetingRoles]:
    """The vote (locked for a change), its meeting and unit, and who the caller is there (404 if unseen)."""
    vote = await lock_vote(session, vote_id) if lock else await session.get(Vote, vote_id)
    if vote is None:
        raise not_found()
    meeting = await session.get(Meeting, vote.meeting_id)
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
