"""The pilot register: applications, decisions by an approver above the unit, revocation (R-ELIG-5/6)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings.decision import Decision, Text
from meetings.enums import ApplicationKind, ApplicationStatus, OrgKind, Role
from server.audit.log import append
from server.auth.authz import Access
from server.db.tables import EligibilityFlag, Org, PilotApplication
from server.errors import ApiError, conflict, refused
from server.services.register import eligibility, group_eligibility_of
from server.services.rule_sets import rule_set_at


def application_json(application: PilotApplication, lang: str = "vi") -> dict[str, Any]:
    return {
        "id": application.id,
        "org_id": application.org_id,
        "kind": application.kind,
        "status": application.status,
        "eligibility": application.eligibility.get(lang, application.eligibility.get("vi")),
        "applied_at": application.applied_at,
        "decision_no": application.decision_no,
        "decided_on": application.decided_on,
        "valid_from": application.valid_from,
        "valid_to": application.valid_to,
        "deciding_org_id": application.deciding_org_id,
        "revoked_at": application.revoked_at,
        "revoke_reason": application.revoke_reason,
    }


def local_today(org: Org, at: datetime) -> date:
    """Validity dates are calendar days in the unit's own time zone."""
    return at.astimezone(ZoneInfo(org.timezone)).date()


async def decision_for(session: AsyncSession, org: Org, kind: ApplicationKind, at: datetime) -> Decision:
    return await (
        eligibility(session, org, at)
        if kind == ApplicationKind.ONLINE
        else group_eligibility_of(session, org, at)
    )


async def apply(
    session: AsyncSession, org: Org, kind: ApplicationKind, *, actor_user_id: int, at: datetime
) -> PilotApplication:
    rule_set = await rule_set_at(session, org, at)  # in force on the unit's day (issue 30)
    if OrgKind(org.kind) not in rule_set.eligible_org_kinds:
        raise refused(
            "R-ELIG-1",
            Text(
                "Chỉ đảng bộ cơ sở và chi bộ được đăng ký thí điểm sinh hoạt trực tuyến (R-ELIG-1).",
                "Only grassroots committees and cells may apply for the pilot (R-ELIG-1).",
            ),
        )
    pending = (
        await session.execute(
            select(col(PilotApplication.id)).where(
                col(PilotApplication.org_id) == org.id,
                col(PilotApplication.kind) == kind.value,
                col(PilotApplication.status) == ApplicationStatus.PENDING,
            )
        )
    ).first()
    if pending:
        raise conflict(
            "application_pending",
            Text(
                "Đơn vị đã có một đăng ký đang chờ quyết định.", "The unit already has a pending application."
            ),
            application_id=pending[0],
        )
    decision = await decision_for(session, org, kind, at)
    application = PilotApplication(
        org_id=org.id,  # type: ignore[arg-type]
        kind=kind.value,
        status=ApplicationStatus.PENDING.value,
        eligibility={lang: decision.to_json(lang) for lang in ("vi", "en")},
        applied_by=actor_user_id,
        applied_at=at,
    )
    session.add(application)
    await session.flush()
    await append(
        session,
        at=at,
        actor_user_id=actor_user_id,
        org_id=org.id,
        action="pilot.applied",
        target=f"application:{application.id}",
        data={
            "kind": kind.value,
            "eligibility": {
                "outcome": decision.outcome,
                "rule": decision.rule,
                "counts": dict(decision.counts),
            },
        },
    )
    return application


def approver_org_above(access: Access) -> int | None:
    """The nearest organisation strictly above the unit where the caller holds the approver role."""
    approver_orgs = access.grant_orgs.get(Role.APPROVER, frozenset())
    for org_id in access.ancestors[1:]:
        if org_id in approver_orgs:
            return org_id
    return None


async def decide(
    session: AsyncSession,
    application: PilotApplication,
    org: Org,
    deciding_org_id: int,
    *,
    approved: bool,
    decision_no: str,
    decided_on: date,
    valid_from: date | None,
    valid_to: date | None,
    actor_user_id: int,
    at: datetime,
) -> PilotApplication:
    if application.status != ApplicationStatus.PENDING:
        raise conflict(
            "already_decided",
            Text("Đăng ký này đã được quyết định.", "This application has already been decided."),
            status=application.status,
        )
    if approved:
        if valid_from is None or valid_to is None:
            raise ApiError(
                422,
                "validation_error",
                Text(
                    "Quyết định phê duyệt phải có thời hạn hiệu lực (từ ngày, đến ngày).",
                    "An approval needs valid_from and valid_to.",
                ),
                details={"fields": {"valid_from": "required", "valid_to": "required"}},
            )
        if valid_to < valid_from:
            raise ApiError(
                422,
                "validation_error",
                Text("Ngày hết hiệu lực phải sau ngày bắt đầu.", "valid_to must not be before valid_from."),
                details={"fields": {"valid_to": "before valid_from"}},
            )
        if valid_to < local_today(org, at):
            raise ApiError(
                422,
                "validation_error",
                Text(
                    "Thời hạn hiệu lực đã kết thúc trước hôm nay; "
                    "không thể phê duyệt một quyết định đã hết hạn.",
                    "The validity period ended before today; an approval cannot be already expired.",
                ),
                details={"fields": {"valid_to": "in the past"}},
            )
        decision = await decision_for(session, org, ApplicationKind(application.kind), at)
        if not decision.outcome:
            raise refused(
                decision.rule,
                Text(
                    "Không thể phê duyệt: đơn vị chưa đủ điều kiện. " + decision.explanation.vi,
                    "Cannot approve: the unit does not qualify. " + decision.explanation.en,
                ),
                details={"eligibility": decision.to_json("vi")},
            )
    application.status = (ApplicationStatus.APPROVED if approved else ApplicationStatus.REJECTED).value
    application.decision_no = decision_no
    application.decided_on = decided_on
    application.valid_from = valid_from if approved else None
    application.valid_to = valid_to if approved else None
    application.decided_by = actor_user_id
    application.deciding_org_id = deciding_org_id
    session.add(application)
    await session.flush()
    await append(
        session,
        at=at,
        actor_user_id=actor_user_id,
        org_id=org.id,
        action="pilot.decided",
        target=f"application:{application.id}",
        data={
            "approved": approved,
            "decision_no": decision_no,
            "decided_on": decided_on.isoformat(),
            "valid_from": valid_from.isoformat() if valid_from and approved else None,
            "valid_to": valid_to.isoformat() if valid_to and approved else None,
            "deciding_org_id": deciding_org_id,
        },
    )
    return application


async def revoke(
    session: AsyncSession, application: PilotApplication, reason: str, *, actor_user_id: int, at: datetime
) -> PilotApplication:
    if application.status != ApplicationStatus.APPROVED:
        raise conflict(
            "not_approved",
            Text("Chỉ thu hồi được một phê duyệt còn hiệu lực.", "Only an approval can be revoked."),
            status=application.status,
        )
    application.status = ApplicationStatus.REVOKED.value
    application.revoked_at = at
    application.revoke_reason = reason
    session.add(application)
    # The approver acted on the flag: it is answered, not left open against a revoked approval.
    open_flags = (
        (
            await session.execute(
                select(EligibilityFlag).where(
                    col(EligibilityFlag.application_id) == application.id,
                    col(EligibilityFlag.cleared_at).is_(None),
                )
            )
        )
        .scalars()
        .all()
    )
    for flag in open_flags:
        flag.cleared_at = at
        session.add(flag)
    await session.flush()
    await append(
        session,
        at=at,
        actor_user_id=actor_user_id,
        org_id=application.org_id,
        action="pilot.revoked",
        target=f"application:{application.id}",
        data={"reason": reason},
    )
    return application


async def valid_approval(
    session: AsyncSession, org: Org, kind: ApplicationKind, at: datetime
) -> PilotApplication | None:
    """The approval that allows online meetings today (R-ELIG-6), if any."""
    assert org.id is not None
    return (await valid_approvals(session, [org], kind, at)).get(org.id)


async def valid_approvals(
    session: AsyncSession, orgs: Sequence[Org], kind: ApplicationKind, at: datetime
) -> dict[int, PilotApplication]:
    """`valid_approval` of several units in one query (the live rooms load their views together)."""
    by_id = {org.id: org for org in orgs if org.id is not None}
    if not by_id:
        return {}
    rows = (
        (
            await session.execute(
                select(PilotApplication).where(
                    col(PilotApplication.org_id).in_(by_id),
                    col(PilotApplication.kind) == kind.value,
                    col(PilotApplication.status) == ApplicationStatus.APPROVED,
                )
            )
        )
        .scalars()
        .all()
    )
    found: dict[int, PilotApplication] = {}
    for row in rows:
        today = local_today(by_id[row.org_id], at)
        valid = row.valid_from and row.valid_to and row.valid_from <= today <= row.valid_to
        if valid and row.org_id not in found:
            found[row.org_id] = row
    return found


async def pilot_status(session: AsyncSession, org: Org, at: datetime, lang: str = "vi") -> dict[str, Any]:
    status: dict[str, Any] = {}
    for kind in ApplicationKind:
        approval = await valid_approval(session, org, kind, at)
        status[kind.value] = (
            {
                "approved": True,
                "application_id": approval.id,
                "decision_no": approval.decision_no,
                "valid_to": approval.valid_to,
            }
            if approval
            else {"approved": False}
        )
    flags = (
        (
            await session.execute(
                select(EligibilityFlag).where(
                    col(EligibilityFlag.org_id) == org.id, col(EligibilityFlag.cleared_at).is_(None)
                )
            )
        )
        .scalars()
        .all()
    )
    status["flags"] = [flag_json(flag, lang) for flag in flags]
    return status


def flag_json(flag: EligibilityFlag, lang: str = "vi") -> dict[str, Any]:
    return {
        "id": flag.id,
        "org_id": flag.org_id,
        "application_id": flag.application_id,
        "approver_org_id": flag.approver_org_id,
        "decision": flag.decision.get(lang, flag.decision.get("vi")),
        "raised_at": flag.raised_at,
    }
