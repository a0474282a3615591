"""Accounts made in bulk from a unit's register (issue 23): the entries without an account (names and
unit only), their usernames made from the names, one account each with its activation link.

The operator sees of the register only the names of the entries without an account: never standing,
activity, remote reason or any meeting content (product.md "Quality bars").
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings.decision import Text
from server.audit.log import append
from server.db.columns import key
from server.db.engine import Database
from server.db.tables import Member, Org, User
from server.db.tree import subtree_ids
from server.errors import conflict, invalid, not_found
from server.services.account_links import ACTIVATE, NO_PASSWORD, issue_link

MAX_BATCH = 200
USERNAME_MAX = 60


def base_username(full_name: str) -> str:
    """ASCII, lower case, the name's words joined by dots: "Nguyễn Văn Ân" → "nguyen.van.an"."""
    text = full_name.replace("đ", "d").replace("Đ", "D")
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    words = re.findall(r"[a-z0-9]+", ascii_text)
    name = ".".join(words)[:USERNAME_MAX].strip(".")
    return name if len(name) >= 3 else f"dv.{name}" if name else "dangvien"


def unique_username(base: str, taken: set[str]) -> str:
    if base not in taken:
        return base
    number = 2
    while f"{base}{number}" in taken:
        number += 1
    return f"{base}{number}"


async def _org(session: AsyncSession, org_id: int) -> Org:
    org = await session.get(Org, org_id)
    if org is None:
        raise not_found()
    return org


async def register_candidates(session: AsyncSession, org_id: int) -> list[dict[str, Any]]:
    """The register entries of the unit's subtree without an account: their names and unit only."""
    await _org(session, org_id)
    orgs = await subtree_ids(session, [org_id])
    names = dict(
        (await session.execute(select(key(Org.id), col(Org.name)).where(col(Org.id).in_(orgs)))).all()
    )
    rows = (
        await session.execute(
            select(col(Member.id), col(Member.full_name), col(Member.org_id))
            .where(col(Member.org_id).in_(orgs), col(Member.user_id).is_(None))
            .order_by(col(Member.org_id), col(Member.full_name), col(Member.id))
        )
    ).all()
    return [
        {"member_id": mid, "full_name": name, "org_id": oid, "org_name": names.get(oid, "")}
        for mid, name, oid in rows
    ]


async def create_from_register(
    db: Database, *, org_id: int, member_ids: list[int], actor_user_id: int, at: datetime
) -> list[dict[str, Any]]:
    """One account per chosen register entry without one, linked to it, each with its activation link."""
    if not member_ids:
        raise invalid("member_ids", Text("Hãy chọn ít nhất một đảng viên.", "Choose at least one member."))
    if len(set(member_ids)) > MAX_BATCH:
        raise invalid(
            "member_ids",
            Text(f"Mỗi lần tạo tối đa {MAX_BATCH} tài khoản.", f"At most {MAX_BATCH} accounts at a time."),
        )
    created: list[dict[str, Any]] = []
    async with db.write() as session:
        await _org(session, org_id)
        orgs = set(await subtree_ids(session, [org_id]))
        chosen = (
            (await session.execute(select(Member).where(col(Member.id).in_(set(member_ids))))).scalars().all()
        )
        found = {m.id: m for m in chosen if m.org_id in orgs}
        missing = sorted(set(member_ids) - set(found))
        if missing:
            raise invalid(
                "member_ids",
                Text(
                    "Có đảng viên không thuộc đơn vị đã chọn.",
                    "Some of the chosen members are not in the chosen unit.",
                ),
            )
        linked = sorted(m.id for m in found.values() if m.user_id is not None and m.id is not None)
        if linked:
            raise conflict(
                "already_linked",
                Text(
                    "Có đảng viên đã có tài khoản; hãy tải lại danh sách.",
                    "Some of the chosen members already have an account; reload the list.",
                ),
                member_ids=linked,
            )
        taken = set((await session.execute(select(col(User.username)))).scalars().all())
        for member_id in dict.fromkeys(member_ids):  # the order chosen, once each
            member = found[member_id]
            username = unique_username(base_username(member.full_name), taken)
            taken.add(username)
            user = User(
                username=username, full_name=member.full_name, password_hash=NO_PASSWORD, created_at=at
            )
            session.add(user)
            await session.flush()
            assert user.id is not None
            member.user_id = user.id
            session.add(member)
            link = await issue_link(session, user.id, ACTIVATE, actor_user_id, at)
            await append(
                session,
                at=at,
                actor_user_id=actor_user_id,
                org_id=None,
                action="user.created",
                target=f"user:{user.id}",
                data={
                    "username": username,
                    "is_admin": False,
                    "from_register": True,
                    "member_id": member_id,
                    "member_org_id": member.org_id,
                    "link_expires_at": link.expires_at.isoformat(),
                },
            )
            created.append(
                {
                    "id": user.id,
                    "username": username,
                    "full_name": member.full_name,
                    "member_id": member_id,
                    "org_id": member.org_id,
                    "activation_link": link.path,
                    "expires_at": link.expires_at,
                }
            )
        await session.flush()
    return created
