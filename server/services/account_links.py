"""One-time account links (issue 23): issued for activation or a password reset, checked, shown on
their page, and used once to set a password.

A link carries a random token (server.auth.tokens.new_token); only its SHA-256 is stored, with an expiry,
and it works once; issuing a new one ends the account's earlier unused links. Using it spends it, sets
the password, ends every session and script token of the account, and appends an audit row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings.decision import Text
from server.audit.log import append
from server.auth.passwords import hash_password
from server.auth.tokens import new_token, token_id
from server.clock import as_utc
from server.db.engine import Database
from server.db.tables import AccountLink, User
from server.errors import ApiError
from server.services.account_access import account_user, end_sessions, revoke_tokens
from server.services.users import check_password_strength

LINK_DAYS = 7
ACTIVATE = "activate"
RESET = "reset"
# Neither an argon2 hash nor anything a password verifies against: an account made from the register
# cannot log in until its person chose a password through the activation link.
NO_PASSWORD = "!unset"


@dataclass(frozen=True)
class IssuedLink:
    user_id: int
    path: str  # /activate?token=... or /reset?token=...: shown once, never stored
    expires_at: datetime


def link_path(purpose: str, token: str) -> str:
    return f"/{purpose}?token={token}"


def links_refused(code: str) -> ApiError:
    messages = {
        "link_unknown": Text(
            "Liên kết không hợp lệ. Hãy kiểm tra lại địa chỉ hoặc xin quản trị viên một liên kết mới.",
            "This link is not valid. Check the address or ask the operator for a new link.",
        ),
        "link_used": Text(
            "Liên kết này đã được dùng. Mỗi liên kết chỉ dùng được một lần; hãy đăng nhập hoặc xin "
            "quản trị viên một liên kết mới.",
            "This link was already used. Each link works once; log in, or ask the operator for a new link.",
        ),
        "link_expired": Text(
            "Liên kết này đã hết hạn. Hãy xin quản trị viên một liên kết mới.",
            "This link has expired. Ask the operator for a new link.",
        ),
        "account_disabled": Text(
            "Tài khoản này đã bị vô hiệu hóa. Hãy liên hệ quản trị viên.",
            "This account is disabled. Contact the operator.",
        ),
    }
    return ApiError(410 if code in ("link_used", "link_expired") else 404, code, messages[code])


async def issue_link(
    session: AsyncSession, user_id: int, purpose: str, actor_user_id: int, at: datetime
) -> IssuedLink:
    """A new one-time link; the account's earlier unused links stop working (only the newest counts)."""
    await session.execute(
        update(AccountLink)
        .where(col(AccountLink.user_id) == user_id, col(AccountLink.used_at).is_(None))
        .values(used_at=at)
    )
    token = new_token()
    expires = at + timedelta(days=LINK_DAYS)
    session.add(
        AccountLink(
            id=token_id(token),
            user_id=user_id,
            purpose=purpose,
            created_by=actor_user_id,
            created_at=at,
            expires_at=expires,
        )
    )
    return IssuedLink(user_id, link_path(purpose, token), expires)


async def valid_link(session: AsyncSession, token: str, at: datetime) -> tuple[AccountLink, User]:
    link = await session.get(AccountLink, token_id(token)) if token else None
    if link is None:
        raise links_refused("link_unknown")
    if link.used_at is not None:
        raise links_refused("link_used")
    if at >= as_utc(link.expires_at):
        raise links_refused("link_expired")
    user = await account_user(session, link.user_id)
    if user.disabled_at is not None:
        raise links_refused("account_disabled")
    return link, user


async def link_state(db: Database, token: str, at: datetime) -> dict[str, Any]:
    """What the link's page shows: whose account and what for (a refusal when it cannot be used)."""
    async with db.read() as session:
        link, user = await valid_link(session, token, at)
    return {
        "purpose": link.purpose,
        "username": user.username,
        "full_name": user.full_name,
        "expires_at": as_utc(link.expires_at),
    }


async def use_link(
    db: Database, *, token: str, password: str, at: datetime
) -> tuple[dict[str, Any], list[str]]:
    """The person sets a password with a one-time link: the link is spent, the old password stops
    working, every session and script token of the account ends."""
    check_password_strength(password)
    new_hash = await hash_password(password)  # before the write lock (deliberately slow)
    async with db.write() as session:
        link, user = await valid_link(session, token, at)
        link.used_at = at
        session.add(link)
        user.password_hash = new_hash
        session.add(user)
        ended = await end_sessions(session, user.id or 0)
        tokens = await revoke_tokens(session, user.id or 0, at)
        await append(
            session,
            at=at,
            actor_user_id=user.id,
            org_id=None,
            action="auth.account_activated" if link.purpose == ACTIVATE else "auth.password_reset",
            target=f"user:{user.id}",
            data={"sessions_ended": len(ended), "tokens_revoked": tokens, "link_by": link.created_by},
        )
    return {"purpose": link.purpose, "username": user.username}, ended
