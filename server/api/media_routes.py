"""The pre-join device and network check (api.md: /media/echo): an aiortc peer that echoes media back.

Any logged-in user may run one check at a time; the server runs at most settings.echo_max_sessions
at once (503 echo_busy with Retry-After beyond that). The peer and its limits: server.media.echo.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from aiohttp import web
from pydantic import Field

from meetings.decision import Text
from server.api import responses
from server.api.context import actor, json_response, now
from server.api.registry import route
from server.api.validation import Body, read_json
from server.appkeys import SETTINGS
from server.errors import ApiError, invalid, not_found
from server.media.echo import ECHO, EchoBusy, InvalidOffer
from server.media.sfu import SfuError
from server.media.sfu_echo import SFU_ECHO, NoSfu

MAX_SDP_CHARS = 64 * 1024


class EchoOfferBody(Body):
    type: Literal["offer"]
    sdp: str = Field(min_length=1, max_length=MAX_SDP_CHARS)
    # "sfu": the path to the unit's SFU (Janus's echo test), as a meeting on it will use (issue 24)
    via: Literal["server", "sfu"] = "server"


def no_sfu() -> ApiError:
    return ApiError(
        409,
        "sfu_not_configured",
        Text(
            "Máy chủ không dùng máy chủ truyền thông (SFU): phòng họp kết nối trực tiếp giữa các thành viên.",
            "This server has no SFU: meeting rooms connect members directly.",
        ),
    )


def echo_busy(retry_after: int) -> ApiError:
    return ApiError(
        503,
        "echo_busy",
        Text(
            "Máy chủ đang bận kiểm tra thiết bị cho người khác. Vui lòng thử lại sau ít phút.",
            "The server is busy checking other people's devices. Please try again in a moment.",
        ),
        details={"retry_after": retry_after},
        headers={"Retry-After": str(retry_after)},
    )


@route(
    "POST",
    "/api/v1/media/echo",
    summary="Start a pre-join device and network check: an SDP offer in, the echo peer's answer out (201)",
    tag="media",
    body=EchoOfferBody,
    status=201,
    response=responses.ECHO,
    refusals=(409, 503),
)
async def post_echo(request: web.Request) -> web.StreamResponse:
    caller = actor(request)
    body = await read_json(request, EchoOfferBody)
    started = now(request)
    if body.via == "sfu":
        return await _echo_through_sfu(request, caller.user_id, body)
    try:
        session, answer = await request.app[ECHO].start(caller.user_id, body.sdp)
    except EchoBusy as busy:
        raise echo_busy(busy.retry_after) from None
    except InvalidOffer:
        raise invalid(
            "sdp",
            Text("Mô tả phiên (SDP) không hợp lệ.", "The session description (SDP) is not valid."),
        ) from None
    seconds = request.app[SETTINGS].echo_session_seconds
    return json_response(
        {
            "type": answer.type,
            "sdp": answer.sdp,
            "session_id": session.id,
            "expires_at": started + timedelta(seconds=seconds),
        },
        status=201,
    )


async def _echo_through_sfu(request: web.Request, user_id: int, body: EchoOfferBody) -> web.StreamResponse:
    started = now(request)
    try:
        session, answer = await request.app[SFU_ECHO].start(user_id, {"type": "offer", "sdp": body.sdp})
    except NoSfu:
        raise no_sfu() from None
    except EchoBusy as busy:
        raise echo_busy(busy.retry_after) from None
    except SfuError as exc:
        raise ApiError(
            503,
            "sfu_unavailable",
            Text("Máy chủ truyền thông (SFU) không trả lời.", "The SFU does not answer."),
            details={"reason": str(exc)[:200]},
        ) from None
    seconds = request.app[SETTINGS].echo_session_seconds
    return json_response(
        {
            "type": answer["type"],
            "sdp": answer["sdp"],
            "session_id": session.id,
            "expires_at": started + timedelta(seconds=seconds),
        },
        status=201,
    )


@route(
    "DELETE",
    "/api/v1/media/echo/{session_id}",
    summary="End one's own pre-join check early (204); another user's check is 404",
    tag="media",
    status=204,
)
async def delete_echo(request: web.Request) -> web.StreamResponse:
    caller = actor(request)
    session_id = request.match_info["session_id"]
    through_sfu = request.app[SFU_ECHO]
    if through_sfu.of_user(session_id, caller.user_id) is not None:
        await through_sfu.close(session_id)
        return web.Response(status=204)
    registry = request.app[ECHO]
    session = registry.of_user(session_id, caller.user_id)
    if session is None:
        raise not_found()
    await registry.close(session.id)
    return web.Response(status=204)
