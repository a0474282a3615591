"""Delivery of a batch of messages over one connection to the operator's SMTP server (blocking: it runs
in a worker thread, never on the event loop).

Every connection, read and write gives up after the timeout. `smtp://` upgrades with STARTTLS when the
server offers it and then sends the password; without TLS the password is sent only to a server on the
loopback (a local relay), otherwise the batch fails. Certificates are checked against the system's
authorities. Why a batch failed is told without an address or the password: the exception's class, the
server's reply code, or the socket's error.
"""

from __future__ import annotations

import ipaddress
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage

from server.settings import SmtpServer


@dataclass(frozen=True)
class Delivery:
    """What became of a batch: messages accepted by the server, messages not, and the first reason."""

    sent: int
    failed: int
    reason: str | None = None


class PlainPasswordRefused(smtplib.SMTPException):
    """The server offers no STARTTLS and is not on the loopback: the password is not sent in clear."""


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def why(exc: BaseException) -> str:
    """A reason for the log and the audit row that names no address and no secret."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):  # its text lists the addresses
        return "SMTPRecipientsRefused"
    if isinstance(exc, smtplib.SMTPResponseException):  # the server's reply may quote the address
        return f"{type(exc).__name__} {exc.smtp_code}"
    if isinstance(exc, smtplib.SMTPServerDisconnected):  # smtplib's own words: "... closed: timed out"
        return f"{type(exc).__name__}: {exc}"
    if isinstance(exc, smtplib.SMTPException):
        return type(exc).__name__
    return f"{type(exc).__name__}: {exc}"  # OSError: connection refused, timed out, TLS, name lookup


def deliver(server: SmtpServer, messages: list[EmailMessage], *, timeout: float, helo_name: str) -> Delivery:
    """Send every message on one connection; a refused message does not stop the others."""
    sent = failed = 0
    reason: str | None = None
    context = ssl.create_default_context()
    try:
        client: smtplib.SMTP
        if server.implicit_tls:
            client = smtplib.SMTP_SSL(
                server.host, server.port, local_hostname=helo_name, timeout=timeout, context=context
            )
        else:
            client = smtplib.SMTP(server.host, server.port, local_hostname=helo_name, timeout=timeout)
        with client:
            client.ehlo()
            tls = server.implicit_tls
            if not tls and client.has_extn("starttls"):
                client.starttls(context=context)
                client.ehlo()
                tls = True
            if server.username:
                if not tls and not _loopback(server.host):
                    raise PlainPasswordRefused("no STARTTLS offered")
                client.login(server.username, server.password.value if server.password else "")
            for message in messages:
                try:
                    client.send_message(message)
                except (
                    smtplib.SMTPRecipientsRefused,
                    smtplib.SMTPSenderRefused,
                    smtplib.SMTPDataError,
                    smtplib.SMTPNotSupportedError,
                ) as exc:
                    failed += 1
                    reason = reason or why(exc)
                else:
                    sent += 1
    except (OSError, smtplib.SMTPException) as exc:  # the connection, TLS, login or a dropped link
        return Delivery(sent, len(messages) - sent, reason or why(exc))
    return Delivery(sent, failed, reason)
