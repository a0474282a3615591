"""`cellmeet report pilot --org ORG_ID --from YYYY-MM-DD --to YYYY-MM-DD --format xlsx|csv|pdf --out FILE`:
the review report of a subtree, from the same figures as `GET /api/v1/audit/usage` (api.md "Command line").

The command runs on the server with the database's own rights (an operator's shell), like `import members`.
"""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path
from typing import Any

from server.clock import system_clock
from server.db.engine import Database
from server.exports.report import FORMATS, render_report


def add_report_parser(commands: Any) -> None:
    report = commands.add_parser("report", help="review reports")
    pilot = report.add_subparsers(dest="report_command", required=True).add_parser(
        "pilot", help="the pilot review report of a subtree for a period"
    )
    pilot.add_argument("--org", type=int, required=True, help="the organisation at the top of the subtree")
    pilot.add_argument("--from", dest="start", required=True, help="first day, YYYY-MM-DD")
    pilot.add_argument("--to", dest="end", required=True, help="last day, YYYY-MM-DD")
    pilot.add_argument("--format", choices=FORMATS, required=True)
    pilot.add_argument("--out", type=Path, required=True, help="the file to write")


async def write_report(db: Database, args: argparse.Namespace) -> int:
    """Exit 0 with the file written; 1 with the reason (in Vietnamese and English) and nothing written."""
    from server.services.orgs import get_org
    from server.services.usage import UsageQueryError, parse_period, usage_figures

    at = system_clock()
    try:
        start, end = parse_period(args.start, args.end, date.max, "vi")
    except UsageQueryError as error:
        print(f"cellmeet: {error.message.vi} ({error.message.en})")
        return 1
    async with db.read() as session:
        org = await get_org(session, args.org)  # ApiError 404 when there is no such organisation
        usage = await usage_figures(session, org.id, start, end, at=at, language="vi")  # type: ignore[arg-type]
    report = render_report(usage, args.format)
    args.out.write_bytes(report.data)
    print(f"Đã ghi báo cáo vào {args.out} ({len(report.data)} byte). (Report written to {args.out}.)")
    return 0
