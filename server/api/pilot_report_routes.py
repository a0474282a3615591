"""The pilot's periodic report of a unit (api.md `GET /api/v1/orgs/{id}/pilot-reports`, issue 30 part 4):
for the body that approved the unit's pilot, as PDF or XLSX; `format=json` (an extension) gives the same
figures as data. The same right as the usage figures (audit.read on the unit: its secretaries, the
approvers and auditors above); another unit's caller gets the answer of a unit that does not exist. An
auditor's read goes into the unit's access log like every read (server.api.access_log)."""

from __future__ import annotations

import asyncio

from aiohttp import web

from meetings.decision import Text
from meetings.enums import OrgKind
from meetings.pilot_report import PeriodError, parse_quarter
from meetings.policy import Action
from meetings.rulesets import get_rule_set
from server.api.context import actor, attachment, database, json_response, lang, now, path_id
from server.api.registry import Query, route
from server.api.responses import obj
from server.auth.authz import authorize
from server.errors import invalid, refused
from server.exports.pilot_report import CONTENT_TYPES, render
from server.services.orgs import get_org
from server.services.pilot import local_today
from server.services.pilot_report import pilot_report

FORMATS = ("pdf", "xlsx", "json")
PILOT_REPORT = obj(
    "PilotReport",
    org="object",
    approving_body="object?",
    generated_at="string",
    period="string",
    from_="string",
    to="string",
    in_progress="boolean",
    rule_set="string",
    rule_sets="array",
    meetings="object",
    attendance="object",
    quorum="object",
    votes="object",
    minutes="object",
    breaches="object",
    flags="array",
    notice="string",
)


@route(
    "GET",
    "/api/v1/orgs/{id}/pilot-reports",
    summary="The unit's periodic pilot report for a quarter (?period=YYYY-Qn&format=pdf|xlsx|json)",
    tag="audit",
    query=(
        Query(
            "period",
            pattern=r"^[0-9]{4}-Q[1-4]$",
            description="a quarter, YYYY-Qn; default: the last finished quarter",
        ),
        Query("format", enum=FORMATS, description="pdf (default), xlsx, or json: the same figures"),
    ),
    response=PILOT_REPORT,
    media_types=("application/json", CONTENT_TYPES["pdf"], CONTENT_TYPES["xlsx"]),
)
async def get_pilot_report(request: web.Request) -> web.StreamResponse:
    caller, language, at = actor(request), lang(request), now(request)
    fmt = request.query.get("format", "pdf")
    if fmt not in FORMATS:
        raise invalid(
            "format", Text("'format' phải là pdf, xlsx hoặc json.", "'format' must be pdf, xlsx or json.")
        )
    org_id = path_id(request)
    async with database(request).read() as session:
        await authorize(session, caller, Action.AUDIT_READ, org_id)
        org = await get_org(session, org_id)
        if OrgKind(org.kind) not in get_rule_set(org.rule_set).eligible_org_kinds:
            raise refused(
                "R-ELIG-1",
                Text(
                    "Báo cáo định kỳ thí điểm chỉ lập cho chi bộ và đảng bộ cơ sở (R-ELIG-1).",
                    "The periodic pilot report is made for cells and grassroots committees only (R-ELIG-1).",
                ),
            )
        try:
            quarter = parse_quarter(request.query.get("period"), local_today(org, at))
        except PeriodError as error:
            raise invalid("period", error.message) from None
        # The documents are in Vietnamese (as the usage report); the JSON speaks the caller's language.
        report = await pilot_report(session, org, quarter, at=at, lang=language if fmt == "json" else "vi")
    if fmt == "json":
        return json_response(report)
    # Rendering a PDF takes about a second of CPU: off the event loop, so the rooms keep talking.
    document = await asyncio.to_thread(render, report, fmt)
    return attachment(document.data, document.content_type, document.filename)
