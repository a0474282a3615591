"""Register import from CSV/XLSX: every bad row reported by line, nothing written unless all are good."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from meetings.decision import Text
from meetings.enums import OrgKind
from server.api.errors import ApiError
from server.audit.log import append
from server.db.tables import Member, Org, User
from server.imports.members_file import ParsedFile, RowError, parse_members_file
from server.services.register import add_member, check_member_org, reevaluate_approved_units


def import_refusal(errors: list[RowError]) -> ApiError:
    lines = sorted({e.line for e in errors})
    return ApiError(
        422,
        "import_invalid",
        Text(
            f"Tệp có {len(errors)} lỗi (dòng {', '.join(map(str, lines[:20]))}); "
            "không có đảng viên nào được nhập.",
            f"The file has {len(errors)} error{'s' if len(errors) > 1 else ''} "
            f"(line{'s' if len(lines) > 1 else ''} {', '.join(map(str, lines[:20]))}); nothing was imported.",
        ),
        details={"errors": [asdict(e) for e in errors]},
    )


async def _resolve_links(
    session: AsyncSession, org: Org, parsed: ParsedFile
) -> tuple[list[dict[str, Any]], list[RowError]]:
    groups = {
        name.strip().casefold(): group_id
        for group_id, name in (
            await session.execute(
                select(Org.id, Org.name).where(Org.parent_id == org.id, Org.kind == OrgKind.GROUP)
            )
        ).all()
    }
    usernames = [row.username for row in parsed.rows if row.username]
    users = (
        dict(
            (await session.execute(select(User.username, User.id).where(User.username.in_(usernames)))).all()  # type: ignore[attr-defined]
        )
        if usernames
        else {}
    )
    linked = (
        set(
            (await session.execute(select(Member.user_id).where(Member.user_id.in_(list(users.values())))))
            .scalars()
            .all()  # type: ignore[union-attr]
        )
        if users
        else set()
    )
    values: list[dict[str, Any]] = []
    errors: list[RowError] = []
    for row in parsed.rows:
        group_id = None
        if row.group:
            group_id = groups.get(row.group.strip().casefold())
            if group_id is None:
                errors.append(
                    RowError(
                        row.line,
                        "group",
                        "unknown_group",
                        f"Dòng {row.line}: tổ đảng '{row.group}' không có trong chi bộ.",
                        f"Line {row.line}: party group '{row.group}' is not in this cell.",
                    )
                )
        user_id = None
        if row.username:
            user_id = users.get(row.username)
            if user_id is None:
                errors.append(
                    RowError(
                        row.line,
                        "username",
                        "unknown_user",
                        f"Dòng {row.line}: không có tài khoản '{row.username}'.",
                        f"Line {row.line}: there is no account '{row.username}'.",
                    )
                )
            elif user_id in linked:
                errors.append(
                    RowError(
                        row.line,
                        "username",
                        "member_in_two_cells",
                        f"Dòng {row.line}: tài khoản '{row.username}' đã gắn với một đảng viên khác.",
                        f"Line {row.line}: account '{row.username}' is already linked to another member.",
                    )
                )
        values.append(
            {
                "full_name": row.full_name,
                "standing": row.standing.value,
                "activity": row.activity.value,
                "remote_reason": row.remote_reason.value if row.remote_reason else None,
                "group_id": group_id,
                "user_id": user_id,
                "external_id": row.external_id,
            }
        )
    return values, errors


async def import_members(
    session: AsyncSession, org: Org, data: bytes, filename: str, *, actor_user_id: int | None, at: datetime
) -> int:
    """Add every row as a member, or raise with every error; the caller's transaction makes it atomic."""
    check_member_org(org)
    parsed = parse_members_file(data, filename)
    values, link_errors = await _resolve_links(session, org, parsed)
    errors = sorted([*parsed.errors, *link_errors], key=lambda e: e.line)
    if errors:
        raise import_refusal(errors)
    for row in values:
        await add_member(session, org, row, actor_user_id=actor_user_id, at=at, audit=False)
    await append(
        session,
        at=at,
        actor_user_id=actor_user_id,
        org_id=org.id,
        action="members.imported",
        target=f"org:{org.id}",
        data={"file": filename[:200], "count": len(values)},
    )
    await reevaluate_approved_units(session, org, actor_user_id=actor_user_id, at=at)
    return len(values)
