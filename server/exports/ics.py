"""A minimal RFC 5545 writer for one meeting invitation (VCALENDAR with one VEVENT), no dependencies."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

CRLF = "\r\n"
MAX_OCTETS = 75


def escape_text(value: str) -> str:
    """TEXT values (RFC 5545 3.3.11): backslash, semicolon, comma and newlines are escaped."""
    return (
        value.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\r", "\\n")
        .replace("\n", "\\n")
    )


def fold(line: str) -> str:
    """Fold a content line at 75 octets (RFC 5545 3.1) without splitting a UTF-8 character."""
    parts: list[str] = []
    current, size, limit = "", 0, MAX_OCTETS
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            parts.append(current)
            # A continuation line starts with one space, which counts towards its 75 octets.
            current, size, limit = "", 0, MAX_OCTETS - 1
        current += char
        size += width
    parts.append(current)
    return (CRLF + " ").join(parts)


def utc_stamp(value: datetime) -> str:
    """DATE-TIME in UTC form: 20261123T080000Z."""
    aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return aware.strftime("%Y%m%dT%H%M%SZ")


def calendar(lines: Iterable[tuple[str, str]]) -> str:
    """Serialise (name, value) content lines; values are already escaped where they are TEXT."""
    return "".join(fold(f"{name}:{value}") + CRLF for name, value in lines)


def invitation(
    *,
    uid: str,
    stamp: datetime,
    starts_at: datetime,
    ends_at: datetime,
    summary: str,
    description: str,
    url: str | None = None,
    location: str | None = None,
    method: str = "PUBLISH",
    organizer: tuple[str, str] | None = None,
    attendee: tuple[str, str] | None = None,
    sequence: int = 0,
    reminder_minutes: int | None = None,
) -> str:
    """One VEVENT in a VCALENDAR, as text with CRLF line ends. `organizer` and `attendee` are (name,
    e-mail address) pairs, which an iTIP REQUEST (RFC 5546, the e-mailed invitation) carries.
    `sequence` counts the event's revisions (a calendar keeps the highest it has seen, RFC 5545
    3.8.7.4); `reminder_minutes` adds a VALARM that shows the event that long before it starts."""
    lines: list[tuple[str, str]] = [
        ("BEGIN", "VCALENDAR"),
        ("VERSION", "2.0"),
        ("PRODID", "-//cellmeet//cellmeet//VI"),
        ("CALSCALE", "GREGORIAN"),
        ("METHOD", method),
        ("BEGIN", "VEVENT"),
        ("UID", escape_text(uid)),
        ("DTSTAMP", utc_stamp(stamp)),
        ("DTSTART", utc_stamp(starts_at)),
        ("DTEND", utc_stamp(ends_at)),
        ("SEQUENCE", str(sequence)),
        ("SUMMARY", escape_text(summary)),
        ("DESCRIPTION", escape_text(description)),
    ]
    if location:
        lines.append(("LOCATION", escape_text(location)))
    if url:
        lines.append(("URL", url))
    if organizer:
        lines.append((f"ORGANIZER;CN={_param(organizer[0])}", f"mailto:{organizer[1]}"))
    if attendee:
        lines.append(
            (
                f"ATTENDEE;CN={_param(attendee[0])};ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=FALSE",
                f"mailto:{attendee[1]}",
            )
        )
    lines.append(("STATUS", "CONFIRMED"))
    if reminder_minutes is not None:  # components come after the event's properties (RFC 5545 3.6.1)
        lines += [
            ("BEGIN", "VALARM"),
            ("ACTION", "DISPLAY"),
            ("TRIGGER", f"-PT{reminder_minutes}M"),
            ("DESCRIPTION", escape_text(f"{summary}\n{description}")),
            ("END", "VALARM"),
        ]
    lines += [("END", "VEVENT"), ("END", "VCALENDAR")]
    return calendar(lines)


def _param(value: str) -> str:
    """A parameter value as a quoted string (RFC 5545 3.2): no double quote nor control character."""
    return '"' + "".join(c for c in value if c != '"' and c >= " " and c != "\x7f") + '"'
