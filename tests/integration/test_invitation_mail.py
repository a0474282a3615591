"""Issue 18 point 6, the e-mail half of "Gửi thư mời": a member sets an e-mail address on their account;
when the operator configured SMTP, the invitation reaches it through a real SMTP server (aiosmtpd on the
loopback) in Vietnamese with the ICS attached, in the background; without SMTP nothing is sent and the
answer is as before; an unreachable server neither fails nor slows the request and is recorded."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from server.settings import Secret, SmtpServer
from tests.integration.harness import free_port
from tests.integration.helpers import approve_a, audit_rows, schedule
from tests.integration.world import World

SMTP_USER = "cellmeet"
SMTP_PASSWORD = "p@ss:w0rd/smtp-thu"  # percent-encoded in the URL's form; never in a log
MAIL_FROM = "Chi bộ Tàu Biển Đông 01 <noreply@cellmeet.example.vn>"
PUBLIC_URL = "http://cellmeet.example.vn"  # http: the test client keeps non-Secure cookies
MEMBER_A_EMAIL = "dang.vien.a@example.vn"


@dataclass
class Inbox:
    """What the SMTP server received: (envelope sender, envelope recipients, the parsed message)."""

    received: list[tuple[str, list[str], EmailMessage]] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.original_content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 OK"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        if isinstance(data, LoginPassword):
            login, password = data.login.decode(), data.password.decode()
            self.logins.append((login, password))
            return AuthResult(success=(login, password) == (SMTP_USER, SMTP_PASSWORD))
        return AuthResult(success=False)


@dataclass
class Mail:
    inbox: Inbox
    overrides: dict[str, Any]


@pytest.fixture
def mail(request: pytest.FixtureRequest) -> Iterator[Mail]:
    """A real SMTP server on the loopback, with a login; `param`: what the cellmeet server is told —
    "inbox" (that server), "none" (no SMTP at all) or "blackhole" (a port that accepts and never speaks)."""
    kind = getattr(request, "param", "inbox")
    inbox = Inbox()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=free_port(),
        authenticator=inbox.authenticate,
        auth_require_tls=False,  # a relay on the loopback; the client sends its password there only
    )
    controller.start()
    blackhole = socket.socket()
    blackhole.bind(("127.0.0.1", 0))
    blackhole.listen(8)  # never accepted: the connection opens, the greeting never comes
    overrides: dict[str, Any] = {}
    if kind != "none":
        port = controller.port if kind == "inbox" else blackhole.getsockname()[1]
        overrides = {
            "smtp": SmtpServer("127.0.0.1", port, False, SMTP_USER, Secret(SMTP_PASSWORD)),
            "mail_from": MAIL_FROM,
            "public_url": PUBLIC_URL,
            "smtp_timeout_seconds": 1.0,
        }
    try:
        yield Mail(inbox, overrides)
    finally:
        blackhole.close()
        controller.stop()


@pytest.fixture
def settings_overrides(mail: Mail) -> dict[str, Any]:
    return mail.overrides


async def wait_for(check: Any, seconds: float = 10.0) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        found = await check()
        if found or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.05)


async def second_member_of_a(world: World) -> None:
    """Another summoned account of cell A, which gives no e-mail address."""
    user_id = await world.add_user("member_a2")
    reply = await (await world.as_user("sec_a")).patch(
        f"/api/v1/members/{world.members['A'][0]}", {"user_id": user_id}
    )
    assert reply.status == 200, reply.body


def calendar_lines(text: str) -> dict[str, str]:
    """An RFC 5545 text unfolded into {name with parameters: value} (the VEVENT's lines)."""
    unfolded = text.replace("\r\n ", "")
    assert unfolded.endswith("\r\n"), "content lines end with CRLF"
    lines = unfolded.split("\r\n")[:-1]
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-1] == "END:VCALENDAR"
    return dict(line.split(":", 1) for line in lines)


async def set_email(world: World, username: str, email: str | None, lang: str = "vi") -> Any:
    return await (await world.as_user(username, lang)).patch("/api/v1/auth/me", {"email": email})


async def test_the_invitation_is_mailed_in_vietnamese_with_its_calendar(
    world: World, mail: Mail, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="cellmeet.mail")
    await second_member_of_a(world)
    set_a = await set_email(world, "member_a", MEMBER_A_EMAIL)
    assert set_a.status == 200, set_a.body
    # the secretary gives one too, but is not summoned (no member record of cell A): no mail
    assert (await set_email(world, "sec_a", "bi.thu@example.vn")).status == 200
    await approve_a(world)  # an online meeting needs the pilot's approval
    made = await schedule(world, "sec_a", "A", "online", place="Phòng họp số 2")
    assert made.status == 201, made.body
    mid = made.body["id"]

    started = time.monotonic()
    sent = await (await world.as_user("sec_a")).post(f"/api/v1/meetings/{mid}/invitations", {})
    assert sent.status == 200, sent.body
    assert time.monotonic() - started < 1.0
    # two accounts told on their home page, one of them by e-mail too
    assert sent.body == {"meeting_id": mid, "sent": 2, "again": False, "times_sent_before": 0, "mailed": 1}

    async def delivered() -> list[dict[str, Any]]:
        return await audit_rows(world, "meeting.invitation_mailed")

    [row] = await wait_for(delivered)
    assert row["data"] == {"queued": 1, "sent": 1, "failed": 0, "reason": None}
    assert (row["actor"], row["org"], row["target"]) == (
        world.users["sec_a"],
        world.orgs["A"],
        f"meeting:{mid}",
    )
    assert MEMBER_A_EMAIL not in str(row)

    [(envelope_from, envelope_to, message)] = mail.inbox.received
    assert mail.inbox.logins == [(SMTP_USER, SMTP_PASSWORD)]
    assert (envelope_from, envelope_to) == ("noreply@cellmeet.example.vn", [MEMBER_A_EMAIL])
    assert message["To"].addresses[0].addr_spec == MEMBER_A_EMAIL
    assert message["From"].addresses[0].display_name == "Chi bộ Tàu Biển Đông 01"
    assert message["Subject"] == (
        "Thư mời sinh hoạt: Sinh hoạt chi bộ thường kỳ tháng 12 — "
        "14:00–16:00, thứ Bảy, 05/12/2026 (giờ Asia/Ho_Chi_Minh)"
    )
    assert message["Auto-Submitted"] == "auto-generated"
    body = message.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert "Kính gửi đồng chí member_a," in text
    assert "Chi bộ Tàu Biển Đông 01 trân trọng kính mời đồng chí tham dự" in text
    assert "Thời gian: 14:00–16:00, thứ Bảy, 05/12/2026 (giờ Asia/Ho_Chi_Minh)" in text
    assert "Hình thức: trực tuyến" in text and "Địa điểm: Phòng họp số 2" in text
    assert f"Trang buổi sinh hoạt: {PUBLIC_URL}/meetings/{mid}\n" in text

    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "text/calendar"
    assert attachment.get_param("method") == "REQUEST"
    assert attachment.get_filename() == f"meeting-{mid}.ics"
    event = calendar_lines(attachment.get_content())
    assert event["METHOD"] == "REQUEST"
    assert (event["DTSTART"], event["DTEND"]) == ("20261205T070000Z", "20261205T090000Z")
    assert event["SUMMARY"] == "Sinh hoạt chi bộ thường kỳ tháng 12"
    assert event["UID"] == f"meeting-{mid}@cellmeet.example.vn"
    assert event["URL"] == f"{PUBLIC_URL}/meetings/{mid}/room"
    assert event['ORGANIZER;CN="Chi bộ Tàu Biển Đông 01"'] == "mailto:noreply@cellmeet.example.vn"
    attendee = [value for name, value in event.items() if name.startswith("ATTENDEE;")]
    assert attendee == [f"mailto:{MEMBER_A_EMAIL}"]

    # the member without an address, and the secretary, got the notice only
    assert all(to == [MEMBER_A_EMAIL] for _, to, _ in mail.inbox.received)
    # the log says what happened, never the address nor the SMTP password
    assert f"invitation of meeting {mid}: 1 sent" in caplog.text
    assert MEMBER_A_EMAIL not in caplog.text and SMTP_PASSWORD not in caplog.text

    # sending again mails again; the answer still says who was told where
    again = await (await world.as_user("sec_a")).post(f"/api/v1/meetings/{mid}/invitations", {})
    assert (again.body["again"], again.body["sent"], again.body["mailed"]) == (True, 2, 1)
    assert len(await wait_for(lambda: _rows_at_least(world, 2))) == 2
    assert len(mail.inbox.received) == 2


async def _rows_at_least(world: World, count: int) -> list[dict[str, Any]]:
    rows = await audit_rows(world, "meeting.invitation_mailed")
    return rows if len(rows) >= count else []


async def test_nobody_with_an_address_mails_nothing(world: World, mail: Mail) -> None:
    mid = (await schedule(world, "sec_a", "A")).body["id"]
    sent = await (await world.as_user("sec_a")).post(f"/api/v1/meetings/{mid}/invitations", {})
    assert sent.body == {"meeting_id": mid, "sent": 1, "again": False, "times_sent_before": 0, "mailed": 0}
    await asyncio.sleep(0.3)
    assert mail.inbox.received == []
    assert await audit_rows(world, "meeting.invitation_mailed") == []


@pytest.mark.parametrize("mail", ["none"], indirect=True)
async def test_without_smtp_nothing_is_sent_and_the_answer_is_as_before(world: World, mail: Mail) -> None:
    assert (await set_email(world, "member_a", MEMBER_A_EMAIL)).status == 200
    mid = (await schedule(world, "sec_a", "A")).body["id"]
    sent = await (await world.as_user("sec_a")).post(f"/api/v1/meetings/{mid}/invitations", {})
    assert sent.status == 200, sent.body
    assert sent.body == {"meeting_id": mid, "sent": 1, "again": False, "times_sent_before": 0}
    await asyncio.sleep(0.3)
    assert mail.inbox.received == []
    assert await audit_rows(world, "meeting.invitation_mailed") == []


@pytest.mark.parametrize("mail", ["blackhole"], indirect=True)
async def test_an_unreachable_server_neither_fails_nor_slows_the_request(
    world: World, mail: Mail, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="cellmeet.mail")
    assert (await set_email(world, "member_a", MEMBER_A_EMAIL)).status == 200
    mid = (await schedule(world, "sec_a", "A")).body["id"]
    started = time.monotonic()
    sent = await (await world.as_user("sec_a")).post(f"/api/v1/meetings/{mid}/invitations", {})
    assert time.monotonic() - started < 1.0
    assert sent.status == 200, sent.body
    assert (sent.body["sent"], sent.body["mailed"]) == (1, 1)
    # the home-page notice is there at once, whatever the mail server does
    notices = await (await world.as_user("member_a")).get("/api/v1/notices")
    assert [n["kind"] for n in notices.body["notices"]] == ["invitation"]

    [row] = await wait_for(lambda: audit_rows(world, "meeting.invitation_mailed"))
    assert (row["data"]["queued"], row["data"]["sent"], row["data"]["failed"]) == (1, 0, 1)
    assert "timed out" in row["data"]["reason"]
    failures = [r for r in caplog.records if r.name == "cellmeet.mail" and r.levelno == logging.WARNING]
    assert len(failures) == 1, caplog.text
    assert "0 sent, 1 failed" in failures[0].getMessage()
    assert MEMBER_A_EMAIL not in caplog.text and SMTP_PASSWORD not in caplog.text


async def test_the_account_sets_checks_and_removes_its_address(world: World) -> None:
    me = await (await world.as_user("member_a")).get("/api/v1/auth/me")
    assert me.body["user"]["email"] is None

    for bad in ("khong-phai-email", "a@b", "hai@@example.vn", "a b@example.vn", "x" * 250 + "@example.vn"):
        refused = await set_email(world, "member_a", bad)
        assert (refused.status, refused.error_code) == (422, "invalid_email"), (bad, refused.body)
        assert refused.body["error"]["message"] == "Địa chỉ e-mail không hợp lệ (ví dụ: ten@example.vn)."
        assert refused.body["error"]["details"]["field"] == "email"
        assert set(refused.body["error"]["details"]["fields"]) == {"email"}
    english = await set_email(world, "member_a", "bad", lang="en")
    assert english.body["error"]["message"].startswith("The e-mail address is not valid")
    not_text = await set_email(world, "member_a", 42)  # type: ignore[arg-type]
    assert (not_text.status, not_text.error_code) == (422, "validation_error")
    assert "'email'" in not_text.body["error"]["message"]
    assert (await (await world.as_user("member_a")).get("/api/v1/auth/me")).body["user"]["email"] is None

    saved = await set_email(world, "member_a", "  Dang.Vien.A@Example.VN ")
    assert saved.status == 200, saved.body
    assert saved.body["user"]["email"] == "Dang.Vien.A@example.vn"  # trimmed, the domain in lower case
    assert saved.body["member"] is not None and saved.body["csrf_token"]
    again = await set_email(world, "member_a", "Dang.Vien.A@example.vn")  # unchanged: nothing audited
    assert again.status == 200
    cleared = await set_email(world, "member_a", "")
    assert cleared.body["user"]["email"] is None
    # another account's address is not touched, and an anonymous caller changes nothing
    assert (await (await world.as_user("sec_a")).get("/api/v1/auth/me")).body["user"]["email"] is None
    anonymous = world.make_client()
    assert (await anonymous.patch("/api/v1/auth/me", {"email": MEMBER_A_EMAIL})).status == 401

    rows = [(r["actor"], r["target"], r["data"]) for r in await _all_rows(world, "auth.email_changed")]
    user = world.users["member_a"]
    assert rows == [
        (user, f"user:{user}", {"had_email": False, "has_email": True}),
        (user, f"user:{user}", {"had_email": True, "has_email": False}),
    ]


async def _all_rows(world: World, action: str) -> list[dict[str, Any]]:
    """The operator reads the whole trail (an account change belongs to no unit)."""
    reply = await (await world.as_user("operator")).get("/api/v1/audit/log?after=0")
    assert reply.status == 200, reply.body
    rows = [entry for entry in reply.body["entries"] if entry["action"] == action]
    assert all("@" not in str(entry["data"]) for entry in rows)
    return rows
