"""The `cellmeet` command: serve, db upgrade, admin create-user, import members, rule-sets import, audit
(verify, checkpoints, public-key), bench."""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from meetings.audit_chain import SignedCheckpoint
from meetings.decision import Text
from server.cli_report import add_report_parser, write_report
from server.clock import system_clock
from server.db.engine import Database
from server.db.migrate import upgrade
from server.errors import ApiError
from server.logs import quiet_libraries
from server.settings import UnsafeSettings, load_settings

if TYPE_CHECKING:
    # Only `serve` needs aiohttp (a quarter of a second to import): the operator's other commands, and the
    # tests that run them by the dozen, start without it.
    from aiohttp import web

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

    rule_sets = commands.add_parser("rule-sets", help="rule sets (bộ quy tắc) added as data")
    rule_sets_import = rule_sets.add_subparsers(dest="rule_sets_command", required=True).add_parser(
        "import", help="add a rule set from a JSON file (docs/rules.md, 'Adding a rule set')"
    )
    rule_sets_import.add_argument("file", type=Path)

    add_report_parser(commands)

    audit = commands.add_parser("audit", help="the audit log")
    audit_commands = audit.add_subparsers(dest="audit_command", required=True)
    verify = audit_commands.add_parser(
        "verify", help="recompute the hash chain, and check it against exported signed checkpoints"
    )
    verify.add_argument(
        "--checkpoints",
        type=Path,
        default=None,
        help="a file written earlier by `cellmeet audit checkpoints`",
    )
    verify.add_argument(
        "--public-key",
        default=None,
        help="the public key you hold (a file, or its base64); default: the one in the checkpoints file",
    )
    export = audit_commands.add_parser("checkpoints", help="export the signed checkpoints as JSON")
    export.add_argument("--out", type=Path, default=None, help="write here (default: standard output)")
    export.add_argument("--after", type=int, default=0, help="only checkpoints of heads after this seq")
    audit_commands.add_parser("public-key", help="print the public key that verifies the checkpoints")

    from server.bench.arguments import audit_bench_arguments, bench_arguments

    bench = commands.add_parser("bench", help="the load benchmark of the live room; prints JSON")
    bench_arguments(bench)
    audit_bench_arguments(
        bench.add_subparsers(dest="bench_command").add_parser(
            "audit", help="time `cellmeet audit verify` over a large log; prints JSON"
        )
    )
    return parser


async def _with_database(action: Callable[[Database], Awaitable[T]]) -> T:
    settings = load_settings()
    db = Database(settings.database_url)
    try:
        await upgrade(db.engine)
        return await action(db)
    finally:
        await db.close()


# aiohttp's default access line without its `%t`: that time is in the machine's local zone, and every
# line already begins with logging's UTC time (ASVS 7.1.4; quality.md S13).
ACCESS_LOG_FORMAT = '%a "%r" %s %b "%{Referer}i" "%{User-Agent}i"'


def _serve(args: argparse.Namespace) -> int:
    from aiohttp import web

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
    app = create_app(settings)
    app.on_startup.append(_freeze_heap)
    web.run_app(
        app,
        host=args.host,
        port=args.port,
        print=None,
        shutdown_timeout=10,
        access_log_format=ACCESS_LOG_FORMAT,
    )
    return 0


async def _freeze_heap(_: web.Application) -> None:
    """What start-up loaded lives as long as the process: frozen, a full garbage collection no longer
    walks it. Unfrozen, such a collection paused every room for up to 100 ms (issue 17's tests)."""
    gc.collect()
    gc.freeze()


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


def _import_rule_set(args: argparse.Namespace) -> int:
    from server.services.rule_sets import import_rule_set

    data = args.file.read_bytes()

    async def run(db: Database) -> int:
        async with db.write() as session:
            added = await import_rule_set(session, data, at=system_clock())
        life = added.lifecycle
        print(
            f"Đã thêm bộ quy tắc {added.name} ({life.status.value}), "
            f"hiệu lực từ {life.in_force_from:%d/%m/%Y}. "
            f"(Added rule set {added.name}, in force from {life.in_force_from.isoformat()}.)"
        )
        return 0

    return int(asyncio.run(_with_database(run)))


def _audit(args: argparse.Namespace) -> int:
    handlers = {"verify": _audit_verify, "checkpoints": _audit_checkpoints, "public-key": _audit_public_key}
    return handlers[args.audit_command](args)


def _audit_verify(args: argparse.Namespace) -> int:
    """Exit 0: intact (and every checkpoint matched); 1: broken or a bad signature; 2: unusable input."""
    from server.audit.keys import parse_public_key
    from server.audit.verify import bad_signatures, fault_text, read_checkpoint_file, verify_database

    lang = load_settings().lang

    def say(vi: str, en: str, *, to_stderr: bool = False) -> None:
        print(Text(vi, en).in_language(lang), file=sys.stderr if to_stderr else sys.stdout)

    checkpoints: list[SignedCheckpoint] = []
    if args.public_key is not None and args.checkpoints is None:
        say("--public-key cần đi cùng --checkpoints.", "--public-key needs --checkpoints.", to_stderr=True)
        return 2
    if args.checkpoints is not None:
        try:
            exported = read_checkpoint_file(args.checkpoints)
        except ValueError as exc:
            say(
                f"Không đọc được tệp điểm kiểm tra: {exc}",
                f"Cannot read the checkpoints: {exc}",
                to_stderr=True,
            )
            return 2
        given = args.public_key if args.public_key is not None else exported.public_key
        if given is None:
            say(
                "Tệp không có khóa công khai: dùng --public-key.",
                "No public key: use --public-key.",
                to_stderr=True,
            )
            return 2
        try:
            public_key = parse_public_key(given)
        except ValueError as exc:
            say(f"Khóa công khai không dùng được: {exc}", f"Unusable public key: {exc}", to_stderr=True)
            return 2
        if args.public_key is None:
            say(
                "Lưu ý: khóa công khai lấy từ chính tệp điểm kiểm tra; hãy đối chiếu mã khóa "
                f"{exported.key_id} với khóa bạn giữ riêng, hoặc dùng --public-key.",
                f"Note: the public key comes from the checkpoints file itself; compare its key id "
                f"{exported.key_id} with the key you hold, or use --public-key.",
                to_stderr=True,
            )
        bad = bad_signatures(exported.checkpoints, public_key)
        if bad:
            for checkpoint in bad:
                say(
                    f"điểm kiểm tra {checkpoint.seq}: chữ ký không hợp lệ",
                    f"checkpoint {checkpoint.seq}: bad signature",
                )
            return 1
        checkpoints = exported.checkpoints

    async def run(db: Database) -> int:
        verdict = await verify_database(db, [c.head for c in checkpoints])
        if not verdict.ok:
            reason = fault_text(verdict, max((c.seq for c in checkpoints), default=0))
            say(
                f"HỎNG tại mục {verdict.first_bad_seq}: {reason.vi} ({verdict.reason}).",
                f"BROKEN at entry {verdict.first_bad_seq}: {reason.en} ({verdict.reason}: {verdict.detail}).",
            )
            return 1
        say(
            f"Nhật ký kiểm tra nguyên vẹn: {verdict.count} mục, mã băm đầu chuỗi {verdict.head_hash}.",
            f"ok: {verdict.count} entries, head {verdict.head_hash}",
        )
        if args.checkpoints is not None:
            matched, upto = verdict.checkpoints_matched, verdict.last_matched_seq
            say(
                f"Khớp {matched} điểm kiểm tra đã ký (đến mục {upto}).",
                f"{matched} signed checkpoints matched (up to seq {upto}).",
            )
        return 0

    return int(asyncio.run(_with_database(run)))


def _audit_checkpoints(args: argparse.Namespace) -> int:
    from server.audit.checkpoints import export_document, list_checkpoints
    from server.audit.keys import load_signer

    settings = load_settings()
    signer = load_signer(settings)

    async def run(db: Database) -> int:
        async with db.read() as session:
            checkpoints = await list_checkpoints(session, after=args.after)
        document = json.dumps(export_document(signer, checkpoints), indent=2, ensure_ascii=False) + "\n"
        if args.out is None:
            sys.stdout.write(document)
            return 0
        try:
            args.out.write_text(document, encoding="utf-8")
        except OSError as exc:
            failed = Text(
                f"Không ghi được {args.out}: {exc.strerror}", f"Cannot write {args.out}: {exc.strerror}"
            )
            print(failed.in_language(settings.lang), file=sys.stderr)
            return 2
        message = Text(
            f"Đã ghi {len(checkpoints)} điểm kiểm tra (khóa {signer.key_id}) vào {args.out}. "
            "Hãy cất tệp này ở nơi khác, ngoài máy chủ.",
            f"Wrote {len(checkpoints)} checkpoints (key {signer.key_id}) to {args.out}. "
            "Keep the file somewhere else, off this server.",
        )
        print(message.in_language(settings.lang), file=sys.stderr)
        return 0

    return int(asyncio.run(_with_database(run)))


def _audit_public_key(_: argparse.Namespace) -> int:
    from server.audit.keys import load_signer

    print(json.dumps(load_signer(load_settings()).public_json()))
    return 0


def _report(args: argparse.Namespace) -> int:
    return int(asyncio.run(_with_database(lambda db: write_report(db, args))))


def _bench(args: argparse.Namespace) -> int:
    if args.bench_command == "audit":
        from server.bench.audit import main as bench_audit_main

        return bench_audit_main(args)
    from server.bench.run import main as bench_main

    return bench_main(args)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.Formatter.converter = time.gmtime  # log times in UTC (ASVS 7.1.4)
    quiet_libraries()  # WeasyPrint's and fontTools' progress lines: WARNING and above only
    args = _parser().parse_args(argv)
    handlers = {
        "serve": _serve,
        "db": _db_upgrade,
        "admin": _create_user,
        "import": _import_members,
        "rule-sets": _import_rule_set,
        "audit": _audit,
        "report": _report,
        "bench": _bench,
    }
    try:
        return handlers[args.command](args)
    except UnsafeSettings as exc:
        print(f"cellmeet: cấu hình không an toàn / unsafe setting: {exc}", file=sys.stderr)
        return 2
    except ApiError as exc:
        print(f"cellmeet: {exc.message.vi}", file=sys.stderr)
        if exc.code == "invalid_rule_set":
            print(f"cellmeet: {exc.message.en}", file=sys.stderr)
        for error in exc.details.get("errors", []):
            print(f"  {error['message_vi']}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
