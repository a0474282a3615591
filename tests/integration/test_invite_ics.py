"""The calendar invitation read by a calendar library nobody on the team wrote (icalendar), as the
third-party check of issue 21 found it lacking: an organizer, the place of a meeting held in a room,
a SEQUENCE that grows when the meeting moves (a calendar keeps the newest), and a reminder."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from icalendar import Calendar

from tests.integration.helpers import approve_a, schedule
from tests.integration.world import World

PLACE = "Phòng họp tầng 3, Đại sứ quán Việt Nam tại Tokyo"


async def invite(world: World, meeting_id: int) -> Calendar:
    reply = await (await world.as_user("member_a")).get(f"/api/v1/meetings/{meeting_id}/invite.ics")
    assert reply.status == 200, reply.body
    return Calendar.from_ical(reply.body)


def event_of(calendar: Calendar) -> Any:
    [event] = calendar.walk("VEVENT")
    return event


async def test_the_invitation_names_organizer_place_revision_and_reminder(world: World) -> None:
    await approve_a(world)
    hybrid = await schedule(world, "sec_a", "A", mode="hybrid", place=PLACE)
    assert hybrid.status == 201, hybrid.body
    mid = hybrid.body["id"]

    calendar = await invite(world, mid)
    assert calendar["METHOD"] == "PUBLISH"
    event = event_of(calendar)
    assert str(event["ORGANIZER"]).startswith("mailto:noreply@")
    unit = await (await world.as_user("sec_a")).get(f"/api/v1/orgs/{world.orgs['A']}")
    assert event["ORGANIZER"].params["CN"] == unit.body["name"]
    assert str(event["LOCATION"]) == PLACE
    assert int(event["SEQUENCE"]) == 0
    [alarm] = event.walk("VALARM")
    assert str(alarm["ACTION"]) == "DISPLAY"
    assert alarm["TRIGGER"].dt == timedelta(minutes=-30)
    assert "Sinh hoạt chi bộ thường kỳ tháng 12" in str(alarm["DESCRIPTION"])
    first_uid = str(event["UID"])

    # moved: the same event (UID), a higher SEQUENCE, the new time
    sec_a = await world.as_user("sec_a")
    moved = await sec_a.post(
        f"/api/v1/meetings/{mid}/reschedule",
        {"starts_at": "2026-12-12T14:00:00+07:00", "reason": "Lùi một tuần"},
    )
    assert moved.status == 200, moved.body
    event = event_of(await invite(world, mid))
    assert (str(event["UID"]), int(event["SEQUENCE"])) == (first_uid, 1)
    assert event["DTSTART"].dt == datetime(2026, 12, 12, 7, 0, tzinfo=UTC)

    # an online meeting has no place to give
    online = await schedule(world, "sec_a", "A", mode="online")
    assert online.status == 201, online.body
    event = event_of(await invite(world, online.body["id"]))
    assert "LOCATION" not in event and "ORGANIZER" in event
