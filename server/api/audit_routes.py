"""The audit log as its entries and hashes, for auditors of a subtree and operators."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from meetings.enums import Role
from server.api.context import actor, database, json_response
from server.api.routes import route
from server.audit.log import event_body
from server.db.tables import AuditEvent, Grant
from server.db.tree import subtree_ids

PAGE = 500


@route(
    "GET",
    "/api/v1/audit/log",
    summary="Audit entries after a sequence number, with their hashes",
    tag="audit",
)
async def get_audit_log(request: web.Request) -> web.StreamResponse:
    caller = actor(request)
    after = request.query.get("after", "0")
    after_seq = int(after) if after.isascii() and after.isdigit() and len(after) < 10 else 0
    async with database(request).read() as session:
        query = select(AuditEvent).where(AuditEvent.seq > after_seq)
        if not caller.user.is_admin:
            roots = (
                (
                    await session.execute(
                        select(Grant.org_id).where(
                            Grant.user_id == caller.user_id,
                            Grant.role.in_([Role.AUDITOR.value, Role.ADMIN.value]),  # type: ignore[attr-defined]
                        )
                    )
                )
                .scalars()
                .all()
            )
            orgs = await subtree_ids(session, list(roots))
            # Entries without an organisation (logins, accounts) are the operator's, not a unit auditor's.
            query = query.where(AuditEvent.org_id.in_(orgs))  # type: ignore[union-attr]
        rows = (await session.execute(query.order_by(AuditEvent.seq).limit(PAGE))).scalars().all()  # type: ignore[arg-type]
    return json_response(
        {"entries": [{**event_body(r), "prev_hash": r.prev_hash, "hash": r.hash} for r in rows]}
    )
