"""The invitation by e-mail (issue 18 point 6): to each summoned account with an e-mail address, when the
operator configured SMTP.

Decisions (documented in docs/api.md "Meetings"):

- The recipients are the accounts the invitation's notices went to (server.services.notices) that hold
  an e-mail address; the others are told on their home page only.
- One plain-text message each, in the server's language (`CELLMEET_LANG`, Vietnamese by default; an
  account holds no language of its own): the title, the unit, the date and time in the unit's zone
  (named), the mode, the place, the link to the meeting page (`CELLMEET_PUBLIC_URL` when set), and the
  meeting's ICS attached as `text/calendar; method=REQUEST` (RFC 6047), the member its attendee.
- The batch is queued after the commit and sent in the background over one connection; its outcome is
  audited `meeting.invitation_mailed` `{queued, sent, failed, reason}` (no address) with the sender as
  the actor.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from server.appkeys import CLOCK, DATABASE, SETTINGS
from server.audit.log import append
from server.clock import as_utc
from server.db.tables import Meeting, Org, User
from server.exports.invite import meeting_invitation
from server.mail.outbox import Outbox
from server.mail.smtp import Delivery

WEEKDAYS_VI = ("thứ Hai", "thứ Ba", "thứ Tư", "thứ Năm", "thứ Sáu", "thứ Bảy", "Chủ nhật")
WEEKDAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS_EN = "January February March April May June July August September October November December".split()
MODES = {
    "vi": {"online": "trực tuyến", "hybrid": "kết hợp (trực tuyến và trực tiếp)", "in_person": "trực tiếp"},
    "en": {"online": "online", "hybrid": "hybrid (online and in person)", "in_person": "in person"},
}


@dataclass(frozen=True)
class Recipient:
    user_id: int
    name: str
    address: str


async def recipients(session: AsyncSession, user_ids: Sequence[int]) -> list[Recipient]:
    """The accounts among `user_ids` that hold an e-mail address."""
    if not user_ids:
        return []
    rows = await session.execute(
        select(col(User.id), col(User.full_name), col(User.email))
        .where(col(User.id).in_(user_ids), col(User.email).is_not(None))
        .order_by(col(User.id))
    )
    return [Recipient(uid, name, email) for uid, name, email in rows.all() if uid is not None and email]


def _when(meeting: Meeting, org: Org, lang: str) -> str:
    zone = ZoneInfo(org.timezone)
    start = as_utc(meeting.starts_at).astimezone(zone)
    end = start + timedelta(minutes=meeting.duration_minutes)
    if lang == "en":
        day = f"{WEEKDAYS_EN[start.weekday()]} {start.day} {MONTHS_EN[start.month - 1]} {start.year}"
        return f"{day}, {start:%H:%M}–{end:%H:%M} ({org.timezone} time)"
    return f"{start:%H:%M}–{end:%H:%M}, {WEEKDAYS_VI[start.weekday()]}, {start:%d/%m/%Y} (giờ {org.timezone})"


def _text(meeting: Meeting, org: Org, name: str, link: str, lang: str) -> tuple[str, str]:
    """(subject, body)."""
    when, mode = _when(meeting, org, lang), MODES[lang][meeting.mode]
    if lang == "en":
        lines = [
            f"Dear comrade {name},",
            "",
            f"{org.name} invites you to its meeting:",
            "",
            f"  {meeting.title}",
            f"  When: {when}",
            f"  Mode: {mode}",
            *([f"  Place: {meeting.place}"] if meeting.place else []),
            f"  Meeting page: {link}",
            "",
            "The invitation is attached for your calendar (.ics) and is on your home page in cellmeet.",
            "",
            "This message was sent automatically; please do not reply to it.",
        ]
        return f"Invitation: {meeting.title} — {when}", "\n".join(lines) + "\n"
    lines = [
        f"Kính gửi đồng chí {name},",
        "",
        f"{org.name} trân trọng kính mời đồng chí tham dự buổi sinh hoạt:",
        "",
        f"  {meeting.title}",
        f"  Thời gian: {when}",
        f"  Hình thức: {mode}",
        *([f"  Địa điểm: {meeting.place}"] if meeting.place else []),
        f"  Trang buổi sinh hoạt: {link}",
        "",
        "Thư mời kèm tệp lịch (.ics) để thêm vào lịch của đồng chí; thư mời cũng có trên trang chủ của",
        "đồng chí trong cellmeet.",
        "",
        "Thư này được gửi tự động, xin đồng chí không trả lời thư này.",
    ]
    return f"Thư mời sinh hoạt: {meeting.title} — {when}", "\n".join(lines) + "\n"


def invitation_message(
    meeting: Meeting,
    org: Org,
    recipient: Recipient,
    *,
    base: str,
    mail_from: str,
    lang: str,
    stamp: datetime,
    sequence: int = 0,
) -> EmailMessage:
    """One member's message, with the ICS attached as an iTIP REQUEST."""
    sender_name, sender_address = parseaddr(mail_from)
    host = base.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0] or "localhost"
    subject, body = _text(meeting, org, recipient.name, f"{base}/meetings/{meeting.id}", lang)
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = mail_from
    message["To"] = Address(display_name=recipient.name, addr_spec=recipient.address)
    message["Date"] = format_datetime(as_utc(stamp))
    message["Message-ID"] = make_msgid("invitation", domain=host)
    message["Auto-Submitted"] = "auto-generated"
    message["Content-Language"] = lang
    message.set_content(body)
    ics = meeting_invitation(
        meeting,
        org,
        base,
        stamp,
        organizer=(sender_name or org.name, sender_address),
        attendee=(recipient.name, recipient.address),
        sequence=sequence,
    )
    message.add_attachment(
        ics,
        subtype="calendar",
        filename=f"meeting-{meeting.id}.ics",
        params={"method": "REQUEST"},
    )
    return message


def mail_invitations(
    app: web.Application,
    outbox: Outbox,
    meeting: Meeting,
    org: Org,
    to: Sequence[Recipient],
    *,
    base: str,
    actor_user_id: int,
    sequence: int = 0,
) -> int:
    """Queue the batch (after the commit); how many messages were queued."""
    if not to:
        return 0
    settings = app[SETTINGS]
    assert settings.mail_from is not None and meeting.id is not None
    stamp = app[CLOCK]()
    messages = [
        invitation_message(
            meeting,
            org,
            one,
            base=base,
            mail_from=settings.mail_from,
            lang=settings.lang,
            stamp=stamp,
            sequence=sequence,
        )
        for one in to
    ]
    meeting_id, org_id = meeting.id, meeting.org_id

    async def record(result: Delivery) -> None:
        async with app[DATABASE].write() as session:
            await append(
                session,
                at=app[CLOCK](),
                actor_user_id=actor_user_id,
                org_id=org_id,
                action="meeting.invitation_mailed",
                target=f"meeting:{meeting_id}",
                data={
                    "queued": len(messages),
                    "sent": result.sent,
                    "failed": result.failed,
                    "reason": result.reason,
                },
            )

    outbox.queue(f"invitation of meeting {meeting_id}", messages, record)
    return len(messages)
