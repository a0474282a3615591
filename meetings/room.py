"""The live room's rules on plain values: who may enter, where each member is, the quorum now, and the
attendance of a meeting at an instant (R-BASE-1, R-ELIG-6, R-ATT-1, R-ATT-2, R-QUOR-1).

Pure: the server reads the rows (the register, the presence events, the excuses, the approval) and
passes them here as plain values; every instant is passed in (aware datetimes).

- **Admission** is one decision, `admission`, whatever the server asks it with: the room's cached
  view of its meeting, or the database when the view does not admit the caller (a refusal is always
  confirmed on fresh rows, since a member may have been added since the view was read). Its refusals
  come in the order the server explains them: not summoned, suspended (R-BASE-1), cancelled, closed,
  held in person, no valid approval of the online pilot (R-ELIG-6).
- **Where a member is** comes from their presence events in stored order: online after a `join`
  until a `leave`, on site after a `checkin` until a `checkout`. A join is written only for a member
  not already online (a reconnect after a restart does not start a second interval), a check-in only
  for a member not already on site.
- **The quorum now** (R-QUOR-1): the summoned members with an open presence interval, of whom those
  in the voting base (R-BASE-2, with attending = present) count; probationary members never do.
- **The attendance window**: [opened_at, closed_at or now] with the call at the opening once the
  meeting has opened (R-ATT-1); before it, [min(scheduled start, now), now] with the call at now, so
  the statuses describe the moment. An open meeting is shown as the close will record it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import NamedTuple

from meetings import attendance as att
from meetings.decision import Decision, Text
from meetings.enums import Activity, MeetingMode, MeetingStatus, Standing
from meetings.quorum import quorum
from meetings.register import MemberFacts, voting_base
from meetings.relays import Relay, relay_counts, relay_intervals, relay_sentence, relayed_at
from meetings.rulesets import RuleSet

# A meeting whose room is live: members may enter and their presence may still change.
LIVE_STATUSES = frozenset({MeetingStatus.SCHEDULED, MeetingStatus.OPEN})


class Refusal(StrEnum):
    """Why a caller may not enter a meeting's room; the value is the error code the server answers."""

    NOT_SUMMONED = "not_a_member"
    SUSPENDED = "member_suspended"
    CANCELLED = "meeting_cancelled"
    CLOSED = "meeting_closed"
    IN_PERSON = "not_online"
    NOT_APPROVED = "not_approved"

    @property
    def rule(self) -> str | None:
        return _REFUSAL_RULES.get(self)


_REFUSAL_RULES = {Refusal.SUSPENDED: "R-BASE-1", Refusal.NOT_APPROVED: "R-ELIG-6"}


@dataclass(frozen=True)
class Door:
    """What the room's door needs to know of the meeting."""

    status: MeetingStatus
    mode: MeetingMode
    online_allowed: bool  # R-ELIG-6 on the day of joining (always true for an in-person mode)


def admission(door: Door, member_activity: Activity | None) -> Refusal | None:
    """None when the caller may enter; else the first refusal. `member_activity` is the activity of
    the caller's member record among the meeting's summoned, None when they are not summoned."""
    if member_activity is None:
        return Refusal.NOT_SUMMONED
    if member_activity is Activity.SUSPENDED:
        return Refusal.SUSPENDED  # off the active register: out of the room too
    if door.status is MeetingStatus.CANCELLED:
        return Refusal.CANCELLED
    if door.status is MeetingStatus.CLOSED:
        return Refusal.CLOSED
    if door.mode is MeetingMode.IN_PERSON:
        return Refusal.IN_PERSON
    if not door.online_allowed:
        return Refusal.NOT_APPROVED
    return None


@dataclass(frozen=True)
class Presence:
    """Everything the room's rules need about one meeting: the summoned members' facts, the presence
    events in stored order, who is excused, and the unit's rule set. The live room appends the events
    it writes to its view's list (server.realtime.hub)."""

    facts: Sequence[MemberFacts]
    events: list[att.PresenceEvent]
    excused: frozenset[int]
    rule_set: RuleSet
    # Members heard through another member's radio or phone, as the chair recorded them (R-ATT-4).
    relays: Sequence[Relay] = field(default=(), kw_only=True)


class Place(NamedTuple):
    """Where a member is now."""

    online: bool
    on_site: bool


NOWHERE = Place(False, False)


def current_states(events: Sequence[att.PresenceEvent]) -> dict[int, Place]:
    """Each member's place after the events, in their stored order."""
    states: dict[int, Place] = {}
    for event in events:
        online, on_site = states.get(event.member_id, NOWHERE)
        if event.kind is att.EventKind.JOIN:
            online = True
        elif event.kind is att.EventKind.LEAVE:
            online = False
        elif event.kind is att.EventKind.CHECKIN:
            on_site = True
        else:
            on_site = False
        states[event.member_id] = Place(online, on_site)
    return states


def place_of(events: Sequence[att.PresenceEvent], member_id: int) -> Place:
    return current_states(events).get(member_id, NOWHERE)


def changes_place(events: Sequence[att.PresenceEvent], member_id: int, kind: att.EventKind) -> bool:
    """Whether the event would change where the member is: a join of a member already online, a
    check-in of one already on site (and their opposites) change nothing and are not written."""
    online, on_site = place_of(events, member_id)
    if kind in (att.EventKind.JOIN, att.EventKind.LEAVE):
        return online != (kind is att.EventKind.JOIN)
    return on_site != (kind is att.EventKind.CHECKIN)


def closing_events(events: Sequence[att.PresenceEvent], at: datetime) -> list[att.PresenceEvent]:
    """The close ends every open presence at its instant: a leave for the online, a checkout for the
    on site, in member order."""
    ending: list[att.PresenceEvent] = []
    for member_id, (online, on_site) in sorted(current_states(events).items()):
        if online:
            ending.append(att.PresenceEvent(member_id, att.EventKind.LEAVE, at))
        if on_site:
            ending.append(att.PresenceEvent(member_id, att.EventKind.CHECKOUT, at))
    return ending


def present_now(presence: Presence) -> frozenset[int]:
    """Summoned members with an open presence interval (events are never later than the clock)."""
    summoned = {f.member_id for f in presence.facts}
    spans = att.intervals(presence.events, presence.rule_set)
    return frozenset(m for m, ivs in spans.items() if m in summoned and ivs and ivs[-1].end is None)


def quorum_decision(presence: Presence, at: datetime | None = None) -> Decision:
    """R-QUOR-1 now: the official members present in the voting base against the voting base.

    A member heard through a relay at `at` (R-ATT-4) counts only when the rule set says so; either way
    the counts say how many relayed official members were counted or left out, and how many official
    members may vote (`officials_may_vote`, R-VOTE-2). Without `at` no relay is running.
    """
    rule_set = presence.rule_set
    own = present_now(presence)
    summoned = frozenset(f.member_id for f in presence.facts)
    relayed: frozenset[int] = frozenset()
    if at is not None:
        relayed = (relayed_at(presence.relays, at) & summoned) - own
    present = own | relayed if rule_set.relayed_count_for_quorum else own
    base = voting_base(presence.facts, present, presence.excused, rule_set)
    base_ids = frozenset(base.details["member_ids"])
    relay = relay_counts(own & base_ids, relayed & base_ids, rule_set)
    present_official = len(present & base_ids)
    decision = quorum(int(base.outcome), present_official, rule_set)
    standings = {f.member_id: f.standing for f in presence.facts}
    sentence = relay_sentence(relay, rule_set)
    explanation = decision.explanation
    if sentence is not None:
        explanation = Text(explanation.vi + sentence.vi, explanation.en + sentence.en)
    # A meeting with no relay answers exactly as before R-ATT-4 (clients compare these counts whole).
    relay_keys = {**relay, "relayed": len(relayed)} if presence.relays else {}
    counts = {
        **decision.counts,
        **relay_keys,
        "present": len(present),
        "present_probationary": sum(1 for m in present if standings[m] is Standing.PROBATIONARY),
        "summoned": len(presence.facts),
        "excused": len(presence.excused & frozenset(standings)),
    }
    return Decision(
        decision.outcome,
        decision.rule,
        decision.rule_set,
        counts,
        explanation,
        details={
            "present_member_ids": sorted(present),
            "voting_base_member_ids": sorted(base_ids),
            "relayed_member_ids": sorted(relayed),
        },
    )


@dataclass(frozen=True)
class Timing:
    """A meeting's instants, as the attendance window needs them (UTC-aware)."""

    starts_at: datetime  # the scheduled start
    opened_at: datetime | None
    closed_at: datetime | None

    @property
    def in_progress(self) -> bool:
        return self.opened_at is not None and self.closed_at is None


def attendance_window(timing: Timing, at: datetime) -> tuple[datetime, datetime, datetime]:
    """(starts_at, ends_at, attendance call) of the attendance computation at `at`."""
    if timing.opened_at is None:
        return min(timing.starts_at, at), at, at
    ends = timing.closed_at if timing.closed_at is not None else max(at, timing.opened_at)
    return timing.opened_at, ends, timing.opened_at


def attendance_at(presence: Presence, timing: Timing, at: datetime) -> dict[int, att.MemberAttendance]:
    """Every summoned member's attendance in the window at `at` (an open meeting as the close will
    record it: who is connected now is not absent)."""
    starts_at, ends_at, call = attendance_window(timing, at)
    return att.attendance(
        [f.member_id for f in presence.facts],
        presence.events,
        presence.excused,
        starts_at,
        ends_at,
        presence.rule_set,
        attendance_call_at=call,
        in_progress=timing.in_progress,
        relays=relay_intervals(presence.relays),
    )
