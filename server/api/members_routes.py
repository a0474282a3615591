"""Members of a cell and the register import (api.md: /orgs/{id}/members, /members/{id})."""

from __future__ import annotations

from aiohttp import BodyPartReader, web
from aiohttp.multipart import BadContentDispositionHeader, BadContentDispositionParam
from pydantic import Field
from sqlalchemy import select
from sqlmodel import col

from meetings.decision import Text
from meetings.enums import Activity, RemoteReason, Standing
from meetings.policy import Action
from server.api import responses
from server.api.context import actor, database, json_response, now, path_id
from server.api.registry import Query, route
from server.api.validation import Body, read_json
from server.appkeys import SETTINGS
from server.auth.authz import absent, authorize
from server.db.tables import Member
from server.errors import ApiError
from server.imports.members_file import ImportLimits, LimitExceeded, parse_in_worker
from server.services.importing import import_members
from server.services.orgs import get_org
from server.services.register import (
    add_member,
    change_member,
    member_json,
    reevaluate_approved_units,
    register_of,
)


class MemberCreate(Body):
    full_name: str = Field(min_length=1, max_length=200)
    standing: Standing
    activity: Activity = Activity.ACTIVE
    remote_reason: RemoteReason | None = None
    group_id: int | None = None
    user_id: int | None = None
    external_id: str | None = Field(default=None, max_length=40)


class MemberUpdate(Body):
    full_name: str | None = Field(default=None, min_length=1, max_length=200)
    standing: Standing | None = None
    activity: Activity | None = None
    remote_reason: RemoteReason | None = None
    group_id: int | None = None
    user_id: int | None = None
    external_id: str | None = Field(default=None, max_length=40)


@route(
    "GET",
    "/api/v1/orgs/{id}/members",
    summary="The unit's register (a committee: its whole subtree)",
    tag="members",
    response=responses.MEMBERS,
)
async def list_members(request: web.Request) -> web.StreamResponse:
    caller, org_id = actor(request), path_id(request)
    async with database(request).read() as session:
        await authorize(session, caller, Action.MEMBER_READ, org_id)
        members = await register_of(session, await get_org(session, org_id))
    return json_response({"members": [member_json(m) for m in members]})


@route(
    "POST",
    "/api/v1/orgs/{id}/members",
    summary="Register a member in a cell",
    tag="members",
    body=MemberCreate,
    status=201,
    response=responses.MEMBER,
)
async def post_member(request: web.Request) -> web.StreamResponse:
    caller, org_id = actor(request), path_id(request)
    body = await read_json(request, MemberCreate)
    at = now(request)
    async with database(request).write() as session:
        await authorize(session, caller, Action.MEMBER_WRITE, org_id)
        org = await get_org(session, org_id)
        member = await add_member(
            session, org, body.model_dump(mode="json"), actor_user_id=caller.user_id, at=at
        )
        await reevaluate_approved_units(session, org, actor_user_id=caller.user_id, at=at)
    return json_response(member_json(member), status=201)


@route("GET", "/api/v1/members/{id}", summary="One member", tag="members", response=responses.MEMBER)
async def get_member(request: web.Request) -> web.StreamResponse:
    caller, member_id = actor(request), path_id(request)
    async with database(request).read() as session:
        member = await session.get(Member, member_id)
        if member is None:
            raise await absent(session, caller)
        await authorize(session, caller, Action.MEMBER_READ, member.org_id)
    return json_response(member_json(member))


@route(
    "PATCH",
    "/api/v1/members/{id}",
    summary="Change a member's standing, activity, reason or group",
    tag="members",
    body=MemberUpdate,
    response=responses.MEMBER,
)
async def patch_member(request: web.Request) -> web.StreamResponse:
    caller, member_id = actor(request), path_id(request)
    body = await read_json(request, MemberUpdate)
    changes = body.model_dump(mode="json", exclude_unset=True)
    for required in ("full_name", "standing", "activity"):
        if required in changes and changes[required] is None:
            raise ApiError(
                422,
                "validation_error",
                Text(f"Trường '{required}' không được để trống.", f"'{required}' cannot be null."),
                details={"fields": {required: "null"}},
            )
    at = now(request)
    async with database(request).write() as session:
        member = await session.get(Member, member_id)
        if member is None:
            raise await absent(session, caller)
        await authorize(session, caller, Action.MEMBER_WRITE, member.org_id)
        org = await get_org(session, member.org_id)
        member = await change_member(session, member, org, changes, actor_user_id=caller.user_id, at=at)
        await reevaluate_approved_units(session, org, actor_user_id=caller.user_id, at=at)
    return json_response(member_json(member))


@route(
    "POST",
    "/api/v1/orgs/{id}/members/import",
    summary="Import members from CSV or XLSX (all or nothing)",
    tag="members",
    status=201,
    upload=True,
    query=(
        Query("filename", description="the file's name; .xlsx for a workbook, else CSV"),
        Query("create_groups", "boolean"),
    ),
    response=responses.IMPORTED,
)
async def post_import(request: web.Request) -> web.StreamResponse:
    """The file is the body (text/csv or the XLSX type) with ?filename=, or a multipart field `file`.
    `create_groups=true` (query, or a multipart field before the file) creates the party groups the file
    names that the cell does not have; without it such a row is an error."""
    caller, org_id = actor(request), path_id(request)
    limit = request.app[SETTINGS].max_import_bytes
    filename = request.query.get("filename", "members.csv")
    create_groups = _flag(request.query.get("create_groups"))
    # Check the right before reading up to 5 MiB from someone who may not have it.
    async with database(request).read() as session:
        await authorize(session, caller, Action.MEMBER_IMPORT, org_id)
    too_large = ApiError(413, "too_large", Text("Tệp quá lớn.", "The file is too large."))
    data = bytearray()
    if request.content_type.startswith("multipart/"):
        try:
            reader = await request.multipart()
            part = await reader.next()
            # A nested multipart part (no name of its own) is skipped like any other field.
            while part is not None and not (isinstance(part, BodyPartReader) and part.name == "file"):
                if isinstance(part, BodyPartReader) and part.name == "create_groups":
                    # One chunk is plenty for "true"; the rest of an oversized field is skipped, never kept.
                    create_groups = _flag((await part.read_chunk()).decode("utf-8", "replace"))
                part = await reader.next()
            if not isinstance(part, BodyPartReader):  # None: the form ended without one
                raise _import_invalid(Text("thiếu phần `file`", "no `file` part"))
            filename = part.filename or filename
            while chunk := await part.read_chunk():
                data.extend(chunk)
                if len(data) > limit:
                    raise too_large
        except (ValueError, BadContentDispositionHeader, BadContentDispositionParam):
            # No boundary, one the body does not contain, or a body cut short: aiohttp's reader says
            # ValueError for all of them (a broken Content-Disposition is a warning, an error where
            # warnings are). The caller's error, not the server's; nothing is written.
            raise _import_invalid(
                Text(
                    "không đúng dạng multipart/form-data (thiếu hoặc sai boundary, hoặc bị cắt ngắn)",
                    "not well-formed multipart/form-data (boundary missing or wrong, or cut short)",
                )
            ) from None
    else:
        async for chunk in request.content.iter_chunked(64 * 1024):
            data.extend(chunk)
            if len(data) > limit:
                raise too_large
    content = bytes(data)
    settings = request.app[SETTINGS]
    limits = ImportLimits(max_rows=settings.import_max_rows, max_columns=settings.import_max_columns)
    # Parsed in a child process, killed at the time limit, before the write transaction opens: a
    # hostile workbook neither stalls the event loop (every meeting) nor holds the database.
    try:
        parsed = await parse_in_worker(content, filename, limits, settings.import_parse_seconds)
    except LimitExceeded as exceeded:
        raise _limit_refusal(exceeded) from None
    async with database(request).write() as session:
        await authorize(session, caller, Action.MEMBER_IMPORT, org_id)
        org = await get_org(session, org_id)
        count = await import_members(
            session,
            org,
            content,
            filename,
            actor_user_id=caller.user_id,
            at=now(request),
            create_groups=create_groups,
            parsed=parsed,
        )
    return json_response({"imported": count}, status=201)


_LIMIT_CODES = {
    "rows": "import_too_many_rows",
    "lines": "import_too_many_rows",
    "columns": "import_too_many_columns",
    "seconds": "import_too_slow",
}


def _limit_refusal(exceeded: LimitExceeded) -> ApiError:
    """422 naming the limit and what the file holds; nothing was imported."""
    details = {"counted": exceeded.kind, **exceeded.details}
    return ApiError(
        422,
        _LIMIT_CODES[exceeded.kind],
        Text(exceeded.message_vi, exceeded.message_en),
        details=details,
    )


def _import_invalid(reason: Text) -> ApiError:
    """422 `import_invalid` for a form that cannot be read at all (no per-line errors to name)."""
    return ApiError(
        422,
        "import_invalid",
        Text(
            f"Không đọc được tệp gửi lên: {reason.vi}; không có đảng viên nào được nhập.",
            f"The upload cannot be read: {reason.en}; nothing was imported.",
        ),
        details={"errors": []},
    )


def _flag(value: str | None) -> bool:
    """An HTML checkbox sends "on"; scripts send true or 1."""
    return (value or "").strip().lower() in ("1", "true", "on", "yes")


@route(
    "GET",
    "/api/v1/members",
    summary="Members linked to the caller",
    tag="members",
    response=responses.MEMBERS,
)
async def my_member(request: web.Request) -> web.StreamResponse:
    caller = actor(request)
    async with database(request).read() as session:
        rows = (
            (await session.execute(select(Member).where(col(Member.user_id) == caller.user_id)))
            .scalars()
            .all()
        )
    return json_response({"members": [member_json(m) for m in rows]})
