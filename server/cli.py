"""The `cellmeet` command: serve, db upgrade, admin create-user, import members, audit verify, bench."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from aiohttp import web

from server.api.errors import ApiError
from server.clock import system_clock
from server.db.engine import Database
from server.db.migrate import upgrade
from server.settings import UnsafeSettings, load_settings

T = TypeVar("T")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cellmeet", description="Sinh hoạt chi bộ trực tuyến (HD 03-HD/TW)")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="start the server (applies migrations first)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--demo", action="store_true", help="fill an empty database with demo data")

    db = commands.add_parser("db", help="database maintenance")
    db.add_subparsers(dest="db_command", required=True).add_parser("upgrade", help="apply pending migrations")

    admin = commands.add_parser("admin", help="accounts")
    create = admin.add_subparsers(dest="admin_command", required=True).add_parser("create-user")
    create.add_argument("--username", required=True)
    create.add_argument("--password-stdin", action="store_true", required=True)
    create.add_argument("--full-name", default=None)
    create.add_argument("--admin", action="store_true")

    imports = commands.add_parser("import", help="import a register")
    members = imports.add_subparsers(dest="import_command", required=True).add_parser("members")
    members.add_argument("--org", type=int, required=True)
    members.add_argument("file", type=Path)

    audit = commands.add_parser("audit", help="the audit log")
    audit.add_subparsers(dest="audit_command", required=True).add_parser(
        "verify", help="recompute the hash chain"
    )

    from server.bench.run import add_arguments as bench_arguments

    bench_arguments(commands.add_parser("bench", help="the load benchmark of the live room; prints JSON"))
    return parser


async def _with_database(action: Callable[[Database], Awaitable[T]]) -> T:
    settings = load_settings()
    db = Database(settings.database_url)
    try:
        await upgrade(db.engine)
        return await action(db)
    finally:
        await db.close()


def _serve(args: argparse.Namespace) -> int:
    from server.app import create_app

    settings = load_settings()
    if args.demo:
        from server.demo import seed_demo

        async def seed(db: Database) -> None:
            logins = await seed_demo(db, system_clock)
            if logins is None:
                print("Cơ sở dữ liệu đã có dữ liệu; không tạo dữ liệu mẫu. (Database not empty: no demo.)")
                return
            path = settings.data_dir / "demo-logins.txt"
            lines = [f"{user:10} {password:20} {role}" for user, password, role in logins]
            path.write_text("\n".join(lines) + "\n")
            path.chmod(0o600)
            print(f"Tài khoản mẫu / demo logins (also in {path}):")
            print("\n".join("  " + line for line in lines))

        asyncio.run(_with_database(seed))
    print(f"cellmeet: http://{args.host}:{args.port}/", flush=True)
    web.run_app(create_app(settings), host=args.host, port=args.port, print=None, shutdown_timeout=10)
    return 0


def _db_upgrade(_: argparse.Namespace) -> int:
    async def run(db: Database) -> int:
        print("Cơ sở dữ liệu đã được cập nhật. (Database is up to date.)")
        return 0

    return int(asyncio.run(_with_database(run)))


def _create_user(args: argparse.Namespace) -> int:
    from server.services.users import create_user

    password = sys.stdin.readline().rstrip("\n")

    async def run(db: Database) -> int:
        user = await create_user(
            db,
            username=args.username,
            password=password,
            full_name=args.full_name or args.username,
            is_admin=args.admin,
            actor_user_id=None,
            at=system_clock(),
        )
        print(f"created user {user.id} ({user.username})")
        return 0

    return int(asyncio.run(_with_database(run)))


def _import_members(args: argparse.Namespace) -> int:
    from server.services.importing import import_members
    from server.services.orgs import get_org

    data = args.file.read_bytes()

    async def run(db: Database) -> int:
        async with db.write() as session:
            org = await get_org(session, args.org)
            count = await import_members(
                session, org, data, args.file.name, actor_user_id=None, at=system_clock()
            )
        print(f"Đã nhập {count} đảng viên. (Imported {count} members.)")
        return 0

    return int(asyncio.run(_with_database(run)))


def _audit_verify(_: argparse.Namespace) -> int:
    from server.audit.verify import verify_database

    async def run(db: Database) -> int:
        verdict = await verify_database(db)
        if verdict.ok:
            print(f"ok: {verdict.count} entries, head {verdict.head_hash}")
            return 0
        print(f"BROKEN at entry {verdict.first_bad_seq}: {verdict.reason}")
        return 1

    return int(asyncio.run(_with_database(run)))


def _bench(args: argparse.Namespace) -> int:
    from server.bench.run import main as bench_main

    return bench_main(args)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.Formatter.converter = time.gmtime  # log times in UTC (ASVS 7.1.4)
    args = _parser().parse_args(argv)
    handlers = {
        "serve": _serve,
        "db": _db_upgrade,
        "admin": _create_user,
        "import": _import_members,
        "audit": _audit_verify,
        "bench": _bench,
    }
    try:
        return handlers[args.command](args)
    except UnsafeSettings as exc:
        print(f"cellmeet: cấu hình không an toàn / unsafe setting: {exc}", file=sys.stderr)
        return 2
    except ApiError as exc:
        print(f"cellmeet: {exc.message.vi}", file=sys.stderr)
        for error in exc.details.get("errors", []):
            print(f"  {error['message_vi']}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
