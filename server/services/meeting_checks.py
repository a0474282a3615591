"""A meeting's standing checks: which units hold which meetings, a start not in the past, changes only
while scheduled, and nothing at all once cancelled.

- A meeting belongs to a cell or a grassroots committee; a party group holds only meetings of
  kind `group`, and a meeting of kind `group` is held only by a party group (else 422
  `invalid_org_kind`).
- A meeting is scheduled, rescheduled or moved only to a start no earlier than now less `PAST_GRACE`
  (else 422 `starts_in_past`); a start already gone within the grace (more than
  `PAST_WARNING_AFTER`) is taken with a `starts_in_past` warning.
- A meeting changes only while `scheduled` (409 `meeting_not_scheduled`); a cancelled one answers
  409 `meeting_cancelled`: it never opens, nobody joins.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from meetings.decision import Text
from meetings.enums import MeetingKind, MeetingStatus, OrgKind
from server.clock import as_utc, iso
from server.db.tables import Meeting, Org
from server.errors import ApiError, conflict

MEETING_ORG_KINDS = frozenset({OrgKind.CELL, OrgKind.GRASSROOTS, OrgKind.GROUP})
# A start this much before now is still taken (a form filled in just before the hour).
PAST_GRACE = timedelta(hours=24)
PAST_WARNING_AFTER = timedelta(minutes=5)  # a form filled in just before the hour is not warned


def check_org_for_kind(org: Org, kind: MeetingKind) -> None:
    org_kind = OrgKind(org.kind)
    if org_kind not in MEETING_ORG_KINDS:
        raise ApiError(
            422,
            "invalid_org_kind",
            Text(
                "Chỉ chi bộ, đảng bộ cơ sở và tổ đảng tổ chức sinh hoạt.",
                "Only cells, grassroots committees and party groups hold meetings.",
            ),
            details={"org_kind": org.kind},
        )
    if (org_kind == OrgKind.GROUP) != (kind == MeetingKind.GROUP):
        raise ApiError(
            422,
            "invalid_org_kind",
            Text(
                "Buổi sinh hoạt tổ đảng (kind = group) chỉ do tổ đảng tổ chức, và tổ đảng chỉ tổ chức "
                "sinh hoạt tổ đảng.",
                "A meeting of kind group is held by a party group only, and a party group holds only "
                "meetings of kind group.",
            ),
            details={"org_kind": org.kind, "kind": kind.value},
        )


def check_not_past(starts_at: datetime, at: datetime) -> None:
    """A meeting is not scheduled (or moved) to a time already gone, beyond PAST_GRACE."""
    if as_utc(starts_at) < at - PAST_GRACE:
        raise ApiError(
            422,
            "starts_in_past",
            Text(
                "Thời gian bắt đầu đã qua: không thể lên lịch buổi sinh hoạt trong quá khứ.",
                "The start time has passed: a meeting cannot be scheduled in the past.",
            ),
            details={"fields": {"starts_at": "in the past"}, "now": iso(at)},
        )


def past_start_warnings(starts_at: datetime, at: datetime, lang: str = "vi") -> list[dict[str, Any]]:
    """A start already gone, within PAST_GRACE: taken, and said so."""
    if as_utc(starts_at) >= at - PAST_WARNING_AFTER:
        return []
    message = Text(
        "Thời gian bắt đầu đã qua: buổi sinh hoạt được ghi nhận như đã tổ chức vào thời gian này. "
        "Nếu nhập nhầm ngày giờ, hãy dời lịch.",
        "The start time has passed: the meeting is recorded as held at that time. If the date or time "
        "is wrong, move the meeting.",
    )
    return [{"code": "starts_in_past", "rule": None, "message": message.in_language(lang)}]


def require_scheduled(meeting: Meeting) -> None:
    require_not_cancelled(meeting)
    if meeting.status != MeetingStatus.SCHEDULED:
        raise conflict(
            "meeting_not_scheduled",
            Text(
                "Buổi sinh hoạt đã bắt đầu hoặc đã kết thúc; không thể thay đổi.",
                "The meeting has already opened or closed; it cannot be changed.",
            ),
            status=meeting.status,
        )


def require_not_cancelled(meeting: Meeting) -> None:
    """A cancelled meeting never opens, takes no check-in, excuse or change, and nobody joins it."""
    if meeting.status == MeetingStatus.CANCELLED:
        why = f": {meeting.cancel_reason}" if meeting.cancel_reason else "."
        raise conflict(
            "meeting_cancelled",
            Text(f"Buổi sinh hoạt đã bị hủy{why}", f"The meeting has been cancelled{why}"),
            status=meeting.status,
        )
