"""E-mail settings (CELLMEET_SMTP_URL, CELLMEET_MAIL_FROM) checked at start, never showing the password, and
the e-mail addresses an account may hold (issue 18 point 6)."""

from __future__ import annotations

import smtplib
from pathlib import Path

import pytest

from server.mail.address import normal_address
from server.mail.smtp import why
from server.settings import SmtpServer, UnsafeSettings, load_settings

PASSWORD = "k3t-n0i@smtp"


def test_unset_means_no_email(tmp_path: Path) -> None:
    settings = load_settings({"CELLMEET_DATA_DIR": str(tmp_path)})
    assert (settings.smtp, settings.mail_from) == (None, None)
    # a sender alone sends nothing either (the server is what turns e-mail on)
    alone = load_settings({"CELLMEET_DATA_DIR": str(tmp_path), "CELLMEET_MAIL_FROM": "a@example.vn"})
    assert alone.smtp is None


def test_smtp_and_smtps_urls(tmp_path: Path) -> None:
    settings = load_settings(
        {
            "CELLMEET_DATA_DIR": str(tmp_path),
            "CELLMEET_SMTP_URL": "smtp://thu.ky%40example.vn:k3t-n0i%40smtp@mail.example.vn:587",
            "CELLMEET_MAIL_FROM": "Chi bộ Văn phòng <noreply@Example.VN>",
        }
    )
    assert settings.smtp is not None and settings.smtp.password is not None
    assert (settings.smtp.host, settings.smtp.port, settings.smtp.implicit_tls) == (
        "mail.example.vn",
        587,
        False,
    )
    assert (settings.smtp.username, settings.smtp.password.value) == ("thu.ky@example.vn", PASSWORD)
    assert settings.mail_from == "Chi bộ Văn phòng <noreply@example.vn>"
    assert PASSWORD not in repr(settings) and PASSWORD not in repr(settings.smtp)

    defaults = load_settings(
        {
            "CELLMEET_DATA_DIR": str(tmp_path),
            "CELLMEET_SMTP_URL": "smtps://relay.example.vn",
            "CELLMEET_MAIL_FROM": "noreply@example.vn",
        }
    )
    assert defaults.smtp == SmtpServer("relay.example.vn", 465, True)
    plain = load_settings(
        {
            "CELLMEET_DATA_DIR": str(tmp_path),
            "CELLMEET_SMTP_URL": "smtp://127.0.0.1/",
            "CELLMEET_MAIL_FROM": "noreply@example.vn",
        }
    )
    assert plain.smtp == SmtpServer("127.0.0.1", 25, False)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mail.example.vn:587", "not smtp://"),
        ("http://u:k3t-n0i%40smtp@mail.example.vn", "not smtp://"),
        ("smtp://u:k3t-n0i%40smtp@:25", "not smtp://"),
        ("smtp://u:k3t-n0i%40smtp@mail.example.vn:99999", "bad port"),
        ("smtp://u:k3t-n0i%40smtp@mail.example.vn:cổng", "bad port"),
        ("smtp://u:k3t-n0i%40smtp@mail.example.vn:25/hop-thu", "no path, query or fragment"),
        ("smtp://u:k3t-n0i%40smtp@mail.example.vn?starttls=no", "no path, query or fragment"),
        ("smtp://:k3t-n0i%40smtp@mail.example.vn", "a password without a user name"),
        ("smtp://u:m%E1%BA%ADt-kh%E1%BA%A9u@mail.example.vn", "must be ASCII"),
    ],
)
def test_a_malformed_url_stops_the_start_without_its_password(
    tmp_path: Path, url: str, expected: str
) -> None:
    with pytest.raises(UnsafeSettings) as refused:
        load_settings(
            {
                "CELLMEET_DATA_DIR": str(tmp_path),
                "CELLMEET_SMTP_URL": url,
                "CELLMEET_MAIL_FROM": "a@example.vn",
            }
        )
    message = str(refused.value)
    assert message.startswith("CELLMEET_SMTP_URL") and expected in message, message
    assert "k3t-n0i" not in message and "m%E1" not in message


@pytest.mark.parametrize("sender", ["", "khong-phai-dia-chi", "a@b", "Tên <a@b.vn>\r\nBcc: x@example.vn"])
def test_the_sender_is_required_and_checked(tmp_path: Path, sender: str) -> None:
    with pytest.raises(UnsafeSettings, match="CELLMEET_MAIL_FROM"):
        load_settings(
            {
                "CELLMEET_DATA_DIR": str(tmp_path),
                "CELLMEET_SMTP_URL": "smtp://mail.example.vn",
                "CELLMEET_MAIL_FROM": sender,
            }
        )


@pytest.mark.parametrize(
    ("text", "normal"),
    [
        ("dang.vien@example.vn", "dang.vien@example.vn"),
        ("  Nguyen.Van-A+chibo@Mail.Example.VN ", "Nguyen.Van-A+chibo@mail.example.vn"),
        ("a@bưu-điện.vn", "a@xn--bu-in-7ya42ik46m.vn"),
        ("a@b", None),
        ("a@@example.vn", None),
        ("a b@example.vn", None),
        (".a@example.vn", None),
        ("a..b@example.vn", None),
        ("a.@example.vn", None),
        ("a@-example.vn", None),
        ("a@example.vn.", None),
        ("a@192.168.1.1", None),
        ("đảng@example.vn", None),
        ("<a@example.vn>", None),
        ("Tên <a@example.vn>", None),
        ("a@example.vn\r\nBcc: b@example.vn", None),
        ("a@example.vn,b@example.vn", None),
        ("x" * 65 + "@example.vn", None),
        ("a@" + "b" * 250 + ".vn", None),
        ("", None),
    ],
)
def test_email_addresses(text: str, normal: str | None) -> None:
    assert normal_address(text) == normal


def test_the_reason_of_a_failure_names_no_address() -> None:
    refused = smtplib.SMTPRecipientsRefused(
        {"dang.vien@example.vn": (550, b"no such user dang.vien@example.vn")}
    )
    assert "example.vn" not in why(refused)
    data = smtplib.SMTPDataError(554, b"rejected for dang.vien@example.vn")
    assert why(data) == "SMTPDataError 554"
    assert (
        why(ConnectionRefusedError(111, "Connection refused"))
        == "ConnectionRefusedError: [Errno 111] Connection refused"
    )
