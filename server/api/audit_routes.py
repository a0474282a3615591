"""The audit log as its entries and hashes, for auditors of a subtree and operators; its signed
checkpoints and the public key that verifies them."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select
from sqlmodel import col

from meetings.decision import Text
from meetings.enums import Role
from server.api import responses
from server.api.context import actor, database, json_response
from server.api.registry import Query, route
from server.audit.checkpoints import export_document, installed_signer, list_checkpoints
from server.audit.keys import AuditSigner
from server.audit.log import event_body
from server.audit.refusals import REFUSAL_ACTIONS
from server.db.tables import AuditEvent, Grant
from server.db.tree import subtree_ids
from server.errors import ApiError, forbidden

PAGE = 500
CHECKPOINT_PAGE = 1000


@route(
    "GET",
    "/api/v1/audit/log",
    summary="Audit entries after a sequence number, with their hashes (refusals with include=refusals)",
    tag="audit",
    query=(Query("after", "integer", minimum=0), Query("include", enum=("refusals",))),
    response=responses.AUDIT_LOG,
)
async def get_audit_log(request: web.Request) -> web.StreamResponse:
    caller = actor(request)
    after = request.query.get("after", "0")
    after_seq = int(after) if after.isascii() and after.isdigit() and len(after) < 10 else 0
    async with database(request).read() as session:
        query = select(AuditEvent).where(col(AuditEvent.seq) > after_seq)
        if request.query.get("include") != "refusals":
            # Refused requests (server.audit.refusals) are rows of the chain too, shown when asked for.
            query = query.where(col(AuditEvent.action).not_in(REFUSAL_ACTIONS))
        if not caller.user.is_admin:
            roots = (
                (
                    await session.execute(
                        select(col(Grant.org_id)).where(
                            col(Grant.user_id) == caller.user_id,
                            col(Grant.role).in_([Role.AUDITOR.value, Role.ADMIN.value]),
                        )
                    )
                )
                .scalars()
                .all()
            )
            orgs = await subtree_ids(session, list(roots))
            # Entries without an organisation (logins, accounts) are the operator's, not a unit auditor's.
            query = query.where(col(AuditEvent.org_id).in_(orgs))
        rows = (await session.execute(query.order_by(col(AuditEvent.seq)).limit(PAGE))).scalars().all()
    return json_response(
        {"entries": [{**event_body(r), "prev_hash": r.prev_hash, "hash": r.hash} for r in rows]}
    )


def _signer(request: web.Request) -> AuditSigner:
    signer = installed_signer(database(request))
    if signer is None:  # only between the app's start-up steps
        raise ApiError(503, "unavailable", Text("Máy chủ đang khởi động.", "The server is starting."))
    return signer


@route(
    "GET",
    "/api/v1/audit/public-key",
    summary="The Ed25519 public key that verifies audit checkpoints: {key_id, public_key} (base64, raw)",
    tag="audit",
    public=True,
    response=responses.PUBLIC_KEY,
)
async def get_audit_public_key(request: web.Request) -> web.StreamResponse:
    # Public on purpose: it verifies and cannot sign. An auditor should still compare the key_id
    # with the one the operator handed over, since whoever controls the server controls this answer.
    return json_response(_signer(request).public_json())


@route(
    "GET",
    "/api/v1/audit/checkpoints",
    summary="Signed checkpoints of the audit chain after a sequence number, with the public key",
    tag="audit",
    query=(Query("after", "integer", minimum=0),),
    response=responses.CHECKPOINTS,
)
async def get_audit_checkpoints(request: web.Request) -> web.StreamResponse:
    caller = actor(request)
    after = request.query.get("after", "0")
    after_seq = int(after) if after.isascii() and after.isdigit() and len(after) < 10 else 0
    async with database(request).read() as session:
        if not caller.user.is_admin:
            # Heads commit to the whole chain but reveal none of it: any auditor (or unit admin) may
            # keep them, as they may read their part of the log.
            holds = (
                await session.execute(
                    select(col(Grant.id))
                    .where(
                        col(Grant.user_id) == caller.user_id,
                        col(Grant.role).in_([Role.AUDITOR.value, Role.ADMIN.value]),
                    )
                    .limit(1)
                )
            ).first()
            if holds is None:
                raise forbidden()
        checkpoints = await list_checkpoints(session, after=after_seq, limit=CHECKPOINT_PAGE)
    return json_response(export_document(_signer(request), checkpoints))
