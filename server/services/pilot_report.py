"""The pilot's periodic report of a unit for a quarter (issue 30 part 4), and the reports an approving
body is due: loads what meetings.pilot_report needs, reusing the usage figures (services.usage) for the
meetings, attendance, quorum, minutes and flags, and reading the quarter's closed votes with their mode."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings.enums import ApplicationKind, ApplicationStatus, OrgKind, VoteMode, VoteOutcome
from meetings.pilot_report import ClosedVote, Quarter, due_quarters, pilot_figures, report_json, sets_in_force
from meetings.rulesets import get_rule_set
from meetings.usage_period import Period
from server.clock import as_utc
from server.db.tables import Meeting, Org, PilotApplication, Vote
from server.db.tree import subtree_ids
from server.services.pilot import local_today
from server.services.rule_sets import registry, rule_set_json
from server.services.usage import usage_report

# Every time zone lies within UTC-12..UTC+14 (as services.usage): the openings asked of the database.
_ZONE_MARGIN = timedelta(hours=36)
_DECIDED = (ApplicationStatus.APPROVED.value, ApplicationStatus.REVOKED.value)


async def pilot_report(
    session: AsyncSession, org: Org, quarter: Quarter, *, at: datetime, lang: str = "vi"
) -> dict[str, Any]:
    """The report's JSON (the caller has checked the right to read the unit's audit figures)."""
    assert org.id is not None
    today = local_today(org, at)
    last_day = min(quarter.end, today)
    sets = sets_in_force(await registry(session), org.rule_set, quarter.start, last_day)
    usage = await usage_report(
        session, org, Period(quarter.start, quarter.end), at, sets[-1].minutes_adoption_days_max
    )
    figures = pilot_figures(
        usage,
        await _closed_votes(session, org.id, quarter),
        [rule_set_json(rule_set, lang) for rule_set in sets],
        quarter,
        today,
    )
    return report_json(
        usage,
        figures,
        approving_body=await _approving_body(session, org.id, quarter.start, last_day),
        generated_at=at,
        lang=lang,
    )


async def _closed_votes(session: AsyncSession, org_id: int, quarter: Quarter) -> list[ClosedVote]:
    """The closed votes of the meetings held in the quarter by the unit's pilot units (a party group's
    for its cell), each meeting placed by its opening's date in its unit's time zone (as services.usage)."""
    ids = await subtree_ids(session, [org_id])
    orgs = {
        org.id: org
        for org in (await session.execute(select(Org).where(col(Org.id).in_(ids)))).scalars().all()
    }
    lo = datetime.combine(quarter.start, time(), UTC) - _ZONE_MARGIN
    hi = datetime.combine(quarter.end + timedelta(days=1), time(), UTC) + _ZONE_MARGIN
    meetings = (
        await session.execute(
            select(col(Meeting.id), col(Meeting.org_id), col(Meeting.opened_at)).where(
                col(Meeting.org_id).in_(ids),
                col(Meeting.opened_at).is_not(None),
                col(Meeting.opened_at) >= lo,
                col(Meeting.opened_at) < hi,
            )
        )
    ).all()
    held: list[int] = []
    for meeting_id, meeting_org, opened_at in meetings:
        org = orgs[meeting_org]
        unit = orgs.get(org.parent_id) if org.kind == OrgKind.GROUP else org
        if unit is None or OrgKind(unit.kind) not in get_rule_set(unit.rule_set).eligible_org_kinds:
            continue
        assert meeting_id is not None and opened_at is not None  # selected so
        day = as_utc(opened_at).astimezone(ZoneInfo(unit.timezone)).date()
        if quarter.start <= day <= quarter.end:
            held.append(meeting_id)
    if not held:
        return []
    votes = (
        await session.execute(
            select(col(Vote.mode), col(Vote.outcome))
            .where(
                col(Vote.meeting_id).in_(held), col(Vote.status) == "closed", col(Vote.outcome).is_not(None)
            )
            .order_by(col(Vote.id))
        )
    ).all()
    return [
        ClosedVote(VoteMode(mode), VoteOutcome(outcome)) for mode, outcome in votes if outcome is not None
    ]


async def _approving_body(
    session: AsyncSession, org_id: int, start: date, end: date
) -> dict[str, Any] | None:
    """The body whose decision allowed the unit's online meetings during the period (the latest)."""
    rows = (
        await session.execute(
            select(PilotApplication, Org)
            .join(Org, col(Org.id) == col(PilotApplication.deciding_org_id))
            .where(
                col(PilotApplication.org_id) == org_id,
                col(PilotApplication.kind) == ApplicationKind.ONLINE.value,
                col(PilotApplication.status).in_(_DECIDED),
                col(PilotApplication.valid_from) <= end,
                col(PilotApplication.valid_to) >= start,
            )
            .order_by(col(PilotApplication.valid_from).desc(), col(PilotApplication.id).desc())
        )
    ).first()
    if rows is None:
        return None
    application, body = rows
    return {
        "id": body.id,
        "name": body.name,
        "decision_no": application.decision_no,
        "decided_on": application.decided_on.isoformat() if application.decided_on else None,
        "valid_from": application.valid_from.isoformat() if application.valid_from else None,
        "valid_to": application.valid_to.isoformat() if application.valid_to else None,
    }


@dataclass(frozen=True)
class DueReport:
    """A report an approving body is shown: the unit, the quarter, and whether the quarter still runs."""

    org_id: int
    org_name: str
    quarter: Quarter
    in_progress: bool


async def reports_due(session: AsyncSession, approver_org_id: int, at: datetime) -> list[DueReport]:
    """For each unit whose online pilot this body approved (R-ELIG-5) and whose approval covers part of
    the last finished quarter or the current one: those quarters' reports, by unit name."""
    rows = (
        await session.execute(
            select(PilotApplication, Org)
            .join(Org, col(Org.id) == col(PilotApplication.org_id))
            .where(
                col(PilotApplication.deciding_org_id) == approver_org_id,
                col(PilotApplication.kind) == ApplicationKind.ONLINE.value,
                col(PilotApplication.status).in_(_DECIDED),
                col(PilotApplication.valid_from).is_not(None),
                col(PilotApplication.valid_to).is_not(None),
            )
            .order_by(col(Org.name), col(Org.id))
        )
    ).all()
    due: dict[tuple[int, Quarter], DueReport] = {}
    for application, unit in rows:
        assert unit.id is not None
        valid_from, valid_to = application.valid_from, application.valid_to
        if valid_from is None or valid_to is None:  # never for a decided approval (pilot.decide)
            continue
        today = local_today(unit, at)
        for quarter in due_quarters(today):
            if valid_from <= min(quarter.end, today) and valid_to >= quarter.start:
                due[(unit.id, quarter)] = DueReport(
                    unit.id, unit.name, quarter, not quarter.finished_on(today)
                )
    return sorted(due.values(), key=lambda report: (report.org_name, report.org_id, report.quarter))
