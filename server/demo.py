"""Demo data for `cellmeet serve --demo`: a province, an approving committee, a qualifying cell abroad
with a scheduled online meeting, a domestic cell that does not qualify, members and logins."""

from __future__ import annotations

import secrets
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from meetings.enums import ApplicationKind, OrgKind, Role
from server.clock import Clock
from server.db.engine import Database
from server.db.tables import Org
from server.services.agenda_templates import builtin_template_id, sync_builtins
from server.services.meetings import schedule
from server.services.orgs import add_grant, create_org
from server.services.pilot import apply, decide, local_today
from server.services.register import add_member
from server.services.users import create_user

ABROAD_MEMBERS = [
    ("Nguyễn Văn An", "official", "abroad"),
    ("Trần Thị Bình", "official", "abroad"),
    ("Lê Văn Cường", "official", "abroad"),
    ("Phạm Thị Dung", "official", "abroad"),
    ("Hoàng Văn Em", "official", None),
    ("Vũ Thị Giang", "probationary", "abroad"),
    ("Đặng Văn Hải", "official", None),
]
# (key, name, kind, parent key, time zone; None inherits the parent's)
DEMO_TREE: list[tuple[str, str, OrgKind, str | None, str | None]] = [
    ("province", "Tỉnh ủy Hà Tĩnh", OrgKind.PROVINCE, None, "Asia/Ho_Chi_Minh"),
    ("committee", "Đảng ủy Khối Doanh nghiệp tỉnh", OrgKind.COMMITTEE, "province", None),
    ("grassroots", "Đảng bộ Công ty Hợp tác Lao động Quốc tế", OrgKind.GRASSROOTS, "committee", None),
    ("abroad", "Chi bộ Lao động tại Hàn Quốc", OrgKind.CELL, "grassroots", "Asia/Seoul"),
    ("domestic", "Chi bộ Văn phòng Công ty", OrgKind.CELL, "grassroots", None),
]
DOMESTIC_MEMBERS = [
    ("Bùi Văn Khoa", "official", None),
    ("Đỗ Thị Lan", "official", None),
    ("Ngô Văn Minh", "official", "far_from_home"),
    ("Dương Thị Nga", "official", None),
]


async def seed_demo(db: Database, clock: Clock) -> list[tuple[str, str, str]] | None:
    """Fill an empty database; returns (username, password, role) rows, or None if it had data."""
    async with db.read() as session:
        if (await session.execute(select(func.count()).select_from(Org))).scalar_one():
            return None
    at = clock()
    await sync_builtins(db, at)  # the demo meeting's agenda comes from the regular template
    logins: list[tuple[str, str, str]] = []

    async def user(username: str, full_name: str, role: str, is_admin: bool = False) -> int:
        password = secrets.token_urlsafe(12)
        created = await create_user(
            db,
            username=username,
            password=password,
            full_name=full_name,
            is_admin=is_admin,
            actor_user_id=None,
            at=at,
        )
        logins.append((username, password, role))
        assert created.id is not None
        return created.id

    operator = await user("quantri", "Quản trị hệ thống", "operator (quản trị)", is_admin=True)
    secretary = await user("bithu", "Nguyễn Văn An", "secretary of the cell abroad (bí thư chi bộ)")
    approver = await user("pheduyet", "Lý Thị Phê", "approver (đảng ủy cấp trên)")
    auditor = await user("kiemtra", "Trịnh Văn Kiểm", "auditor of the province (ban tổ chức)")
    domestic_secretary = await user("bithu2", "Bùi Văn Khoa", "secretary of the domestic cell")
    # Every other member of the cell abroad has a login too: its 6 official members need 4 present for a
    # quorum (R-QUOR-1), so the demo meeting can be opened and voted in without an override.
    abroad_members = [
        await user("dangvien1", "Trần Thị Bình", "member of the cell abroad, minute-taker (đảng viên)"),
        *[
            await user(f"dangvien{index}", name, "member of the cell abroad (đảng viên)")
            for index, (name, _standing, _reason) in enumerate(ABROAD_MEMBERS[2:], start=2)
        ],
    ]

    async with db.write() as session:
        orgs: dict[str, Org] = {}
        for key, name, kind, parent, timezone in DEMO_TREE:
            orgs[key] = await create_org(
                session,
                name=name,
                kind=kind,
                parent=orgs[parent] if parent else None,
                timezone=timezone,
                rule_set=None,
                actor_user_id=operator,
                at=at,
            )
        province, committee, abroad, domestic = (
            orgs[k] for k in ("province", "committee", "abroad", "domestic")
        )
        for org, user_id, role in (
            (province, auditor, Role.AUDITOR),
            (committee, approver, Role.APPROVER),
            (abroad, secretary, Role.SECRETARY),
            (domestic, domestic_secretary, Role.SECRETARY),
        ):
            await add_grant(session, org=org, user_id=user_id, role=role, actor_user_id=operator, at=at)
        seeded: dict[str, list[int]] = {}
        for cell, rows, accounts in (
            (abroad, ABROAD_MEMBERS, [secretary, *abroad_members]),
            (domestic, DOMESTIC_MEMBERS, [domestic_secretary]),
        ):
            for index, (name, standing, reason) in enumerate(rows):
                member = await add_member(
                    session,
                    cell,
                    {
                        "full_name": name,
                        "standing": standing,
                        "activity": "active",
                        "remote_reason": reason,
                        "user_id": accounts[index] if index < len(accounts) else None,
                    },
                    actor_user_id=operator,
                    at=at,
                )
                seeded.setdefault(cell.name, []).append(member.id)  # type: ignore[arg-type]
        application = await apply(session, abroad, ApplicationKind.ONLINE, actor_user_id=secretary, at=at)
        # Validity is counted in the unit's own calendar (Seoul), not the server's.
        today = local_today(abroad, at)
        await decide(
            session,
            application,
            abroad,
            committee.id,  # type: ignore[arg-type]
            approved=True,
            decision_no="15-QĐ/ĐUK",
            decided_on=today,
            valid_from=today,
            valid_to=today + timedelta(days=365),
            actor_user_id=approver,
            at=at,
        )
        chair, minute_taker = seeded[abroad.name][0], seeded[abroad.name][1]
        seoul = ZoneInfo(abroad.timezone)
        next_week = datetime.combine(today + timedelta(days=7), time(20, 0), tzinfo=seoul)
        await schedule(
            session,
            abroad,
            {
                "kind": "regular",
                "mode": "online",
                "title": "Sinh hoạt chi bộ thường kỳ tháng " + str(next_week.month),
                "starts_at": next_week,
                "duration_minutes": 120,
                "chair_id": chair,
                "minute_taker_id": minute_taker,
                # The agenda of the regular monthly meeting (R-AGENDA-1..4), from its built-in template.
                "agenda_template_id": await builtin_template_id(session, "regular"),
            },
            actor_user_id=secretary,
            at=at,
        )
    return logins
