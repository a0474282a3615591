"""The operator's accounts (issue 23): the list, disabling, password and two-step resets, linking an
account to its register entry.

Accounts made from the register are in accounts_register, the one-time links and their public use in
account_links; the names the API handlers call through this module are importable from here too.
Every change appends an audit row naming the operator, in the same transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings.decision import Text
from server.audit.log import append
from server.db.columns import key
from server.db.engine import Database
from server.db.tables import AccountLink, Grant, Member, Org, User
from server.errors import conflict, invalid
from server.services.account_access import account_user, end_sessions, revoke_tokens
from server.services.account_links import ACTIVATE, NO_PASSWORD, RESET, issue_link, links_refused, use_link
from server.services.accounts_register import create_from_register, register_candidates

__all__ = [
    "account_json",
    "create_from_register",
    "issue_reset",
    "link_member",
    "list_accounts",
    "register_candidates",
    "reset_totp",
    "set_disabled",
    "use_link",
]


def account_json(
    user: User, member: Member | None, org_names: dict[int, str], grants: list[dict[str, Any]], pending: bool
) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "full_name": user.full_name,
        "is_admin": user.is_admin,
        "disabled": user.disabled_at is not None,
        "totp_enabled": user.totp_enabled,
        # Set by the person through the activation link; until then the account cannot log in.
        "activated": user.password_hash != NO_PASSWORD,
        "activation_pending": pending,
        "member": (
            {"id": member.id, "org_id": member.org_id, "org_name": org_names.get(member.org_id, "")}
            if member is not None
            else None
        ),
        "grants": grants,
    }


async def list_accounts(session: AsyncSession, at: datetime) -> list[dict[str, Any]]:
    users = (await session.execute(select(User).order_by(col(User.username)))).scalars().all()
    org_names = {
        org_id: name for org_id, name in (await session.execute(select(key(Org.id), col(Org.name)))).all()
    }
    members = {
        m.user_id: m
        for m in (await session.execute(select(Member).where(col(Member.user_id).is_not(None)))).scalars()
    }
    grants: dict[int, list[dict[str, Any]]] = {}
    for user_id, org_id, role in (
        await session.execute(
            select(col(Grant.user_id), col(Grant.org_id), col(Grant.role)).order_by(col(Grant.id))
        )
    ).all():
        grants.setdefault(user_id, []).append(
            {"org_id": org_id, "org_name": org_names.get(org_id, ""), "role": role}
        )
    pending = set(
        (
            await session.execute(
                select(col(AccountLink.user_id)).where(
                    col(AccountLink.purpose) == ACTIVATE,
                    col(AccountLink.used_at).is_(None),
                    col(AccountLink.expires_at) > at,
                )
            )
        )
        .scalars()
        .all()
    )
    return [
        account_json(u, members.get(u.id), org_names, grants.get(u.id or 0, []), u.id in pending)
        for u in users
    ]


async def set_disabled(
    db: Database, *, user_id: int, disabled: bool, actor_user_id: int, at: datetime
) -> tuple[dict[str, Any], list[str]]:
    """Disable (every session and script token ends; login refused) or enable an account. Returns the
    answer and the ended session ids (their live-room connections end too, by the caller)."""
    if disabled and user_id == actor_user_id:
        raise conflict(
            "own_account",
            Text("Không thể vô hiệu hóa tài khoản của chính mình.", "You cannot disable your own account."),
        )
    ended: list[str] = []
    async with db.write() as session:
        user = await account_user(session, user_id)
        changed = (user.disabled_at is not None) != disabled
        if changed:
            user.disabled_at = at if disabled else None
            session.add(user)
            tokens = 0
            if disabled:
                ended = await end_sessions(session, user_id)
                tokens = await revoke_tokens(session, user_id, at)
            await append(
                session,
                at=at,
                actor_user_id=actor_user_id,
                org_id=None,
                action="user.disabled" if disabled else "user.enabled",
                target=f"user:{user_id}",
                data={"sessions_ended": len(ended), "tokens_revoked": tokens} if disabled else {},
            )
    return {"id": user_id, "disabled": disabled, "changed": changed, "sessions_ended": len(ended)}, ended


async def issue_reset(db: Database, *, user_id: int, actor_user_id: int, at: datetime) -> dict[str, Any]:
    """A one-time reset link; the old password keeps working until the person sets a new one with it."""
    async with db.write() as session:
        user = await account_user(session, user_id)
        if user.disabled_at is not None:
            raise links_refused("account_disabled")
        purpose = RESET if user.password_hash != NO_PASSWORD else ACTIVATE
        link = await issue_link(session, user_id, purpose, actor_user_id, at)
        await append(
            session,
            at=at,
            actor_user_id=actor_user_id,
            org_id=None,
            action="user.password_reset_issued" if purpose == RESET else "user.activation_reissued",
            target=f"user:{user_id}",
            data={"expires_at": link.expires_at.isoformat()},
        )
    return {"id": user_id, "purpose": purpose, "link": link.path, "expires_at": link.expires_at}


async def reset_totp(db: Database, *, user_id: int, actor_user_id: int, at: datetime) -> dict[str, Any]:
    async with db.write() as session:
        user = await account_user(session, user_id)
        was_on = user.totp_enabled
        user.totp_enabled, user.totp_secret, user.totp_last_step = False, None, None
        session.add(user)
        await append(
            session,
            at=at,
            actor_user_id=actor_user_id,
            org_id=None,
            action="user.totp_reset",
            target=f"user:{user_id}",
            data={"was_on": was_on},
        )
    return {"id": user_id, "totp_enabled": False, "was_on": was_on}


async def link_member(
    db: Database, *, user_id: int, member_id: int | None, actor_user_id: int, at: datetime
) -> dict[str, Any]:
    """Link the account to a register entry (one each way), or unlink it (member_id null)."""
    async with db.write() as session:
        await account_user(session, user_id)
        current = (
            await session.execute(select(Member).where(col(Member.user_id) == user_id))
        ).scalar_one_or_none()
        target = None
        if member_id is not None:
            target = await session.get(Member, member_id)
            if target is None:
                raise invalid("member_id", Text("Không có đảng viên này.", "There is no such member."))
            if target.user_id is not None and target.user_id != user_id:
                raise conflict(
                    "already_linked",
                    Text(
                        "Đảng viên này đã gắn với một tài khoản khác.",
                        "This member is already linked to another account.",
                    ),
                )
        if current is not None and (target is None or current.id != target.id):
            current.user_id = None
            session.add(current)
            await session.flush()
        if target is not None:
            target.user_id = user_id
            session.add(target)
        await append(
            session,
            at=at,
            actor_user_id=actor_user_id,
            org_id=None,
            action="user.member_linked" if target is not None else "user.member_unlinked",
            target=f"user:{user_id}",
            data={
                "member_id": member_id,
                "member_org_id": target.org_id if target is not None else None,
                "previous_member_id": current.id if current is not None else None,
            },
        )
    return {
        "id": user_id,
        "member": {"id": target.id, "org_id": target.org_id} if target is not None else None,
    }
