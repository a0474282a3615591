"""An account's access as the operator's actions and the one-time links end it: the account found (or
404), its web sessions ended, its script tokens revoked."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from server.db.tables import ApiToken, User, WebSession
from server.errors import not_found


async def account_user(session: AsyncSession, user_id: int) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise not_found()
    return user


async def end_sessions(session: AsyncSession, user_id: int) -> list[str]:
    ended = list(
        (await session.execute(select(col(WebSession.id)).where(col(WebSession.user_id) == user_id)))
        .scalars()
        .all()
    )
    if ended:
        await session.execute(delete(WebSession).where(col(WebSession.user_id) == user_id))
    return ended


async def revoke_tokens(session: AsyncSession, user_id: int, at: datetime) -> int:
    result = await session.execute(
        update(ApiToken)
        .where(col(ApiToken.user_id) == user_id, col(ApiToken.revoked_at).is_(None))
        .values(revoked_at=at)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
