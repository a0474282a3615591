"""A cell's monthly record (R-GROUP-4): its meetings and its party groups', for whoever reads the cell's
meetings (its members and officers, and the auditors and approvers above it); see
server.services.monthly_record for what it holds."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from aiohttp import web

from meetings.decision import Text
from meetings.enums import OrgKind
from meetings.groups import Month, local_month
from meetings.policy import Action
from server.api import responses
from server.api.context import actor, database, json_response, lang, now, path_id
from server.api.registry import Query, route
from server.auth.authz import authorize, by_auditor_grant_only
from server.db.tables import Org
from server.errors import ApiError
from server.services.monthly_record import monthly_record
from server.services.orgs import get_org


class RecordQueryError(ValueError):
    def __init__(self, code: str, field: str, message: Text) -> None:
        super().__init__(message.en)
        self.code, self.field, self.message = code, field, message


def record_month(org: Org, raw: str | None, at: datetime) -> Month:
    """`?month=YYYY-MM`, or the cell's current month when it is not given."""
    if org.kind != OrgKind.CELL:
        raise RecordQueryError(
            "invalid_org_kind",
            "org",
            Text(
                "Sổ sinh hoạt hằng tháng là của chi bộ; đơn vị này không phải chi bộ.",
                "The monthly record is a cell's; this unit is not a cell.",
            ),
        )
    if raw is None:
        return local_month(at, ZoneInfo(org.timezone))
    try:
        return Month.parse(raw)
    except ValueError:
        raise RecordQueryError(
            "validation_error",
            "month",
            Text("'month' phải là một tháng dạng YYYY-MM.", "'month' must be a month, as YYYY-MM."),
        ) from None


@route(
    "GET",
    "/api/v1/orgs/{id}/monthly-record",
    summary="A cell's meetings of a month with its party groups' and their conclusions (?month=YYYY-MM)",
    tag="meetings",
    query=(Query("month", pattern=r"^[0-9]{4}-[0-9]{2}$", description="YYYY-MM; default: this month"),),
    response=responses.MONTHLY_RECORD,
)
async def get_monthly_record(request: web.Request) -> web.StreamResponse:
    caller, org_id, at = actor(request), path_id(request), now(request)
    async with database(request).read() as session:
        access = await authorize(session, caller, Action.MEETING_READ, org_id)
        org = await get_org(session, org_id)
        try:
            month = record_month(org, request.query.get("month"), at)
        except RecordQueryError as error:
            fields = {error.field: error.message.en}
            raise ApiError(422, error.code, error.message, details={"fields": fields}) from None
        record = await monthly_record(
            session,
            org,
            month,
            at=at,
            drafts_hidden=by_auditor_grant_only(access) and not access.is_member,
            lang=lang(request),
        )
    return json_response(record)
