"""User accounts: creation by an operator, and what a user sees of themselves."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings.decision import Text
from server.audit.log import append
from server.auth.passwords import MIN_PASSWORD_LENGTH, hash_password
from server.db.engine import Database
from server.db.tables import Grant, Member, Org, User
from server.errors import ApiError, conflict


def user_json(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "full_name": user.full_name,
        "is_admin": user.is_admin,
        "totp_enabled": user.totp_enabled,
        "email": user.email,
    }


async def user_profile(session: AsyncSession, user: User) -> dict[str, Any]:
    grants = (
        await session.execute(
            select(col(Grant.org_id), col(Grant.role), col(Org.name))
            .join(Org, col(Org.id) == col(Grant.org_id))
            .where(col(Grant.user_id) == user.id)
        )
    ).all()
    member = (
        await session.execute(select(Member).where(col(Member.user_id) == user.id))
    ).scalar_one_or_none()
    return {
        "user": user_json(user),
        "grants": [{"org_id": org_id, "role": role, "org_name": name} for org_id, role, name in grants],
        "member": {"id": member.id, "org_id": member.org_id} if member else None,
    }


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ApiError(
            422,
            "weak_password",
            Text(
                f"Mật khẩu phải có ít nhất {MIN_PASSWORD_LENGTH} ký tự.",
                f"The password must have at least {MIN_PASSWORD_LENGTH} characters.",
            ),
        )


async def create_user(
    db: Database,
    *,
    username: str,
    password: str,
    full_name: str,
    is_admin: bool,
    actor_user_id: int | None,
    at: datetime,
) -> User:
    check_password_strength(password)
    password_hash = await hash_password(password)
    async with db.write() as session:
        taken = (await session.execute(select(col(User.id)).where(col(User.username) == username))).first()
        if taken:
            raise conflict(
                "username_taken",
                Text(f"Tên đăng nhập '{username}' đã được dùng.", f"The username '{username}' is taken."),
            )
        user = User(
            username=username,
            full_name=full_name,
            password_hash=password_hash,
            is_admin=is_admin,
            created_at=at,
        )
        session.add(user)
        await session.flush()
        await append(
            session,
            at=at,
            actor_user_id=actor_user_id,
            org_id=None,
            action="user.created",
            target=f"user:{user.id}",
            data={"username": username, "is_admin": is_admin},
        )
    return user
