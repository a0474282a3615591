"""A meeting's calendar invitation: the download on the meeting page and home page (METHOD:PUBLISH) and
the attachment of the e-mailed invitation (METHOD:REQUEST, with its attendee).

Every invitation names its organizer, the unit (RFC 5546 requires one for PUBLISH too): at the
operator's sending address when e-mail is configured, otherwise at a no-reply address of the server's
own host. A hybrid or in-person meeting carries its place as LOCATION. SEQUENCE counts the times the
meeting was moved, so a calendar that imported it before sees the new file as newer. A reminder shows
REMINDER_MINUTES before the start."""

from __future__ import annotations

from datetime import datetime, timedelta

from server.clock import as_utc
from server.db.tables import Meeting, Org
from server.exports.ics import invitation

MODE_VI = {"online": "trực tuyến", "hybrid": "kết hợp", "in_person": "trực tiếp"}
REMINDER_MINUTES = 30


def meeting_invitation(
    meeting: Meeting,
    org: Org,
    base: str,
    stamp: datetime,
    *,
    organizer: tuple[str, str] | None = None,
    attendee: tuple[str, str] | None = None,
    sequence: int = 0,
) -> str:
    """The ICS text; `base` is the server's public origin (no trailing slash). With `attendee` it is an
    iTIP REQUEST to that (name, address)."""
    link = f"{base}/meetings/{meeting.id}/room"
    starts_at = as_utc(meeting.starts_at)
    description = f"{org.name}\nHình thức: {MODE_VI[meeting.mode]}\nTham gia: {link}"
    host = base.split("://", 1)[-1].split("/", 1)[0] or "cellmeet"
    hostname = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    return invitation(
        uid=f"meeting-{meeting.id}@{host}",
        stamp=stamp,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=meeting.duration_minutes),
        summary=meeting.title,
        description=description,
        url=link,
        location=meeting.place if meeting.mode != "online" and meeting.place else None,
        method="REQUEST" if attendee else "PUBLISH",
        organizer=organizer or (org.name, f"noreply@{hostname}"),
        attendee=attendee,
        sequence=sequence,
        reminder_minutes=REMINDER_MINUTES,
    )
