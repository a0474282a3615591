"""Register import from CSV/XLSX: every bad row reported by line, nothing written unless all are good."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from meetings.decision import Text
from meetings.enums import GroupRole
from server.audit.log import append
from server.db.tables import Member, Org, User
from server.errors import ApiError
from server.imports.members_file import ParsedFile, RowError, parse_members_file
from server.services.group_officers import OFFICER_FIELDS
from server.services.groups import active_groups, create_group, name_key, update_group
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


@dataclass
class _Resolved:
    """The rows as member values; a row whose group is yet to be created carries its name key instead of
    an id (`new_group_keys`, same order as `values`)."""

    values: list[dict[str, Any]] = field(default_factory=list)
    new_group_keys: list[str | None] = field(default_factory=list)
    new_groups: dict[str, str] = field(default_factory=dict)  # name key -> the name as first written
    errors: list[RowError] = field(default_factory=list)


async def _resolve_links(
    session: AsyncSession, org: Org, parsed: ParsedFile, create_groups: bool
) -> _Resolved:
    assert org.id is not None
    # Dissolved groups are history: a name in the file never reaches one.
    groups = {name_key(group.name): group.id for group in await active_groups(session, org.id)}
    usernames = [row.username for row in parsed.rows if row.username]
    users = (
        dict(
            (
                await session.execute(
                    select(col(User.username), col(User.id)).where(col(User.username).in_(usernames))
                )
            ).all()
        )
        if usernames
        else {}
    )
    linked = (
        set(
            (
                await session.execute(
                    select(col(Member.user_id)).where(col(Member.user_id).in_(list(users.values())))
                )
            )
            .scalars()
            .all()
        )
        if users
        else set()
    )
    resolved = _Resolved()
    errors = resolved.errors
    for row in parsed.rows:
        group_id, new_key = None, None
        if row.group:
            key = name_key(row.group)
            group_id = groups.get(key)
            if group_id is None and create_groups:
                new_key = key
                resolved.new_groups.setdefault(key, row.group)
            elif group_id is None:
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
        resolved.values.append(
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
        resolved.new_group_keys.append(new_key)
    return resolved


async def _create_named_groups(
    session: AsyncSession, org: Org, resolved: _Resolved, *, actor_user_id: int | None, at: datetime
) -> list[int]:
    """Create the groups the file names and the cell lacks (create_groups), and point the rows at them."""
    created: dict[str, int] = {}
    for key, name in resolved.new_groups.items():
        group = await create_group(
            session,
            org,
            name=name,
            officers={},
            member_ids=[],
            actor_user_id=actor_user_id,
            at=at,
            source="import",
        )
        assert group.id is not None
        created[key] = group.id
    for values, new_key in zip(resolved.values, resolved.new_group_keys, strict=True):
        if new_key is not None:
            values["group_id"] = created[new_key]
    return list(created.values())


async def _appoint_officers(
    session: AsyncSession,
    org: Org,
    offices: list[tuple[int, GroupRole, int]],
    *,
    actor_user_id: int | None,
    at: datetime,
) -> None:
    """The file's leaders and deputies take office; one already in office there is replaced (audited)."""
    by_group: dict[int, dict[str, Any]] = {}
    for group_id, role, member_id in offices:
        by_group.setdefault(group_id, {})[OFFICER_FIELDS[role]] = member_id
    for group_id, changes in sorted(by_group.items()):
        group = await session.get(Org, group_id)
        assert group is not None
        await update_group(session, group, org, changes, actor_user_id=actor_user_id, at=at, source="import")


async def import_members(
    session: AsyncSession,
    org: Org,
    data: bytes,
    filename: str,
    *,
    actor_user_id: int | None,
    at: datetime,
    create_groups: bool = False,
    parsed: ParsedFile | None = None,
) -> int:
    """Add every row as a member, or raise with every error; the caller's transaction makes it atomic.
    With `create_groups`, a group the file names that the cell lacks is created (else the row's error).
    `parsed`: the file already parsed off the event loop (members_file.parse_in_worker)."""
    check_member_org(org)
    if parsed is None:
        parsed = parse_members_file(data, filename)
    resolved = await _resolve_links(session, org, parsed, create_groups)
    errors = sorted([*parsed.errors, *resolved.errors], key=lambda e: e.line)
    if errors:
        raise import_refusal(errors)
    created = await _create_named_groups(session, org, resolved, actor_user_id=actor_user_id, at=at)
    offices: list[tuple[int, GroupRole, int]] = []
    for row, values in zip(parsed.rows, resolved.values, strict=True):
        member = await add_member(session, org, values, actor_user_id=actor_user_id, at=at, audit=False)
        if row.group_role is not None and member.id is not None:
            offices.append((values["group_id"], row.group_role, member.id))
    await _appoint_officers(session, org, offices, actor_user_id=actor_user_id, at=at)
    await append(
        session,
        at=at,
        actor_user_id=actor_user_id,
        org_id=org.id,
        action="members.imported",
        target=f"org:{org.id}",
        data={"file": filename[:200], "count": len(resolved.values), "groups_created": created},
    )
    await reevaluate_approved_units(session, org, actor_user_id=actor_user_id, at=at)
    return len(resolved.values)
