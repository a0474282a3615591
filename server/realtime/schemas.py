"""The payload of each client event of `/room`, checked before a handler sees it (docs/api.md)."""

from __future__ import annotations

from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from meetings.decision import Text
from server.errors import ApiError

MAX_ID = 2**31 - 1


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class ResumeData(Payload):
    """What a connection last saw of the meeting, to have what it missed (server.realtime.replay)."""

    epoch: str = Field(min_length=1, max_length=64)
    last_seq: int = Field(ge=0, le=2**53)


class JoinData(Payload):
    meeting_id: int = Field(ge=1, le=MAX_ID)
    low_bandwidth: bool = False  # the member's saved choice (issue 24): the room may move to the SFU
    # Numbered events from now on (true), and those missed since `last_seq` (server.realtime.replay).
    resume: bool | ResumeData = False


class LowBandwidthData(Payload):
    on: bool


class Description(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    type: Literal["offer", "answer", "pranswer", "rollback"]
    sdp: str = Field(default="", max_length=60_000)


class SignalData(Payload):
    to: str = Field(min_length=1, max_length=64)
    description: Description | None = None
    # A candidate is relayed as the browser wrote it (RTCIceCandidate.toJSON()); null ends gathering.
    candidate: dict[str, Any] | None = None

    @model_validator(mode="before")
    @classmethod
    def _one_of(cls, data: Any) -> Any:
        if isinstance(data, dict) and ("description" in data) == ("candidate" in data):
            raise ValueError("exactly one of description and candidate")
        return data


class HandData(Payload):
    raised: bool
    member_id: int | None = Field(default=None, ge=1, le=MAX_ID)


class CameraData(Payload):
    on: bool


class BallotData(Payload):
    vote_id: int = Field(ge=1, le=MAX_ID)
    choice: Literal["for", "against", "abstain"]


class LeaveData(Payload):
    pass


class IceFailedData(Payload):
    pass


# The SFU (docs/api.md "The SFU"): the member's side of the negotiation with Janus, relayed by the
# server. `meeting_id`, when given, must be the joined meeting's: asked for another, it is refused.
class SfuPublishData(Payload):
    description: Description
    meeting_id: int | None = Field(default=None, ge=1, le=MAX_ID)


class SfuSubscribeData(Payload):
    meeting_id: int | None = Field(default=None, ge=1, le=MAX_ID)


class SfuAnswerData(Payload):
    description: Description


class SfuCandidateData(Payload):
    target: Literal["publisher", "subscriber"]
    # As the browser wrote it (RTCIceCandidate.toJSON()); null: the member has sent them all.
    candidate: dict[str, Any] | None


P = TypeVar("P", bound=Payload)


def invalid(fields: dict[str, str]) -> ApiError:
    return ApiError(
        422,
        "validation_error",
        Text("Dữ liệu gửi lên không hợp lệ.", "The data sent is not valid."),
        details={"fields": fields},
    )


def malformed_frame() -> ApiError:
    return ApiError(
        400,
        "malformed_frame",
        Text("Gói tin gửi lên không đọc được.", "The message sent could not be read."),
        details={},
    )


def access_revoked() -> ApiError:
    return ApiError(
        403,
        "access_revoked",
        Text(
            "Quyền dự buổi sinh hoạt này đã thay đổi; kết nối bị đóng.",
            "Your access to this meeting has changed; the connection is closed.",
        ),
        details={},
    )


def parse(model: type[P], data: Any) -> P:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise invalid(
            {".".join(str(p) for p in err["loc"]) or "_": err["msg"] for err in exc.errors()}
        ) from exc
