"""The operator's accounts (issue 23): the list, accounts made in bulk from a unit's register with a
one-time activation link each, disabling, password and two-step resets, linking an account to its
register entry, and the public use of a one-time link.

A link carries a random token (server.auth.tokens.new_token); only its SHA-256 is stored, with an expiry,
and it works once. Every change appends an audit row naming the operator, in the same transaction. The
operator sees of the register only the names of the entries without an account: never standing,
activity, remote reason or any meeting content (product.md "Quality bars").
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from meetings.decision import Text
from server.audit.log import append
from server.auth.passwords import hash_password
from server.auth.tokens import new_token, token_id
from server.clock import as_utc
from server.db.engine import Database
from server.db.tables import AccountLink, ApiToken, Grant, Member, Org, User, WebSession
from server.db.tree import subtree_ids
from server.errors import ApiError, conflict, invalid, not_found
from server.services.users import check_password_strength

LINK_DAYS = 7
ACTIVATE = "activate"
RESET = "reset"
# Neither an argon2 hash nor anything a password verifies against: an account made from the register
# cannot log in until its person chose a password through the activation link.
NO_PASSWORD = "!unset"
MAX_BATCH = 200
USERNAME_MAX = 60


@dataclass(frozen=True)
class IssuedLink:
    user_id: int
    path: str  # /activate?token=... or /reset?token=...: shown once, never stored
    expires_at: datetime


def link_path(purpose: str, token: str) -> str:
    return f"/{purpose}?token={token}"


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


def _links_refused(code: str) -> ApiError:
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
    users = (await session.execute(select(User).order_by(User.username))).scalars().all()  # type: ignore[arg-type]
    org_names = {org_id: name for org_id, name in (await session.execute(select(Org.id, Org.name))).all()}
    members = {
        m.user_id: m
        for m in (await session.execute(select(Member).where(Member.user_id.is_not(None)))).scalars()  # type: ignore[union-attr]
    }
    grants: dict[int, list[dict[str, Any]]] = {}
    for user_id, org_id, role in (
        await session.execute(select(Grant.user_id, Grant.org_id, Grant.role).order_by(Grant.id))  # type: ignore[arg-type]
    ).all():
        grants.setdefault(user_id, []).append(
            {"org_id": org_id, "org_name": org_names.get(org_id, ""), "role": role}
        )
    pending = set(
        (
            await session.execute(
                select(AccountLink.user_id).where(
                    AccountLink.purpose == ACTIVATE,
                    AccountLink.used_at.is_(None),  # type: ignore[union-attr]
                    AccountLink.expires_at > at,  # type: ignore[arg-type]
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
        (await session.execute(select(Org.id, Org.name).where(Org.id.in_(orgs)))).all()  # type: ignore[union-attr]
    )
    rows = (
        await session.execute(
            select(Member.id, Member.full_name, Member.org_id)
            .where(Member.org_id.in_(orgs), Member.user_id.is_(None))  # type: ignore[attr-defined,union-attr]
            .order_by(Member.org_id, Member.full_name, Member.id)
        )
    ).all()
    return [
        {"member_id": mid, "full_name": name, "org_id": oid, "org_name": names.get(oid, "")}
        for mid, name, oid in rows
    ]


async def _issue(
    session: AsyncSession, user_id: int, purpose: str, actor_user_id: int, at: datetime
) -> IssuedLink:
    """A new one-time link; the account's earlier unused links stop working (only the newest counts)."""
    await session.execute(
        update(AccountLink)
        .where(AccountLink.user_id == user_id, AccountLink.used_at.is_(None))  # type: ignore[arg-type,union-attr]
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
            (await session.execute(select(Member).where(Member.id.in_(set(member_ids)))))  # type: ignore[union-attr]
            .scalars()
            .all()
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
        taken = set((await session.execute(select(User.username))).scalars().all())
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
            link = await _issue(session, user.id, ACTIVATE, actor_user_id, at)
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


async def _user(session: AsyncSession, user_id: int) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise not_found()
    return user


async def _end_sessions(session: AsyncSession, user_id: int) -> list[str]:
    ended = list(
        (await session.execute(select(WebSession.id).where(WebSession.user_id == user_id))).scalars().all()  # type: ignore[arg-type]
    )
    if ended:
        await session.execute(delete(WebSession).where(WebSession.user_id == user_id))  # type: ignore[arg-type]
    return ended


async def _revoke_tokens(session: AsyncSession, user_id: int, at: datetime) -> int:
    result = await session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))  # type: ignore[arg-type,union-attr]
        .values(revoked_at=at)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


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
        user = await _user(session, user_id)
        changed = (user.disabled_at is not None) != disabled
        if changed:
            user.disabled_at = at if disabled else None
            session.add(user)
            tokens = 0
            if disabled:
                ended = await _end_sessions(session, user_id)
                tokens = await _revoke_tokens(session, user_id, at)
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
        user = await _user(session, user_id)
        if user.disabled_at is not None:
            raise _links_refused("account_disabled")
        purpose = RESET if user.password_hash != NO_PASSWORD else ACTIVATE
        link = await _issue(session, user_id, purpose, actor_user_id, at)
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
        user = await _user(session, user_id)
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
        await _user(session, user_id)
        current = (
            await session.execute(select(Member).where(Member.user_id == user_id))
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


async def _valid_link(session: AsyncSession, token: str, at: datetime) -> tuple[AccountLink, User]:
    link = await session.get(AccountLink, token_id(token)) if token else None
    if link is None:
        raise _links_refused("link_unknown")
    if link.used_at is not None:
        raise _links_refused("link_used")
    if at >= as_utc(link.expires_at):
        raise _links_refused("link_expired")
    user = await _user(session, link.user_id)
    if user.disabled_at is not None:
        raise _links_refused("account_disabled")
    return link, user


async def link_state(db: Database, token: str, at: datetime) -> dict[str, Any]:
    """What the link's page shows: whose account and what for (a refusal when it cannot be used)."""
    async with db.read() as session:
        link, user = await _valid_link(session, token, at)
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
        link, user = await _valid_link(session, token, at)
        link.used_at = at
        session.add(link)
        user.password_hash = new_hash
        session.add(user)
        ended = await _end_sessions(session, user.id or 0)
        tokens = await _revoke_tokens(session, user.id or 0, at)
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
