"""The app's outbox: batches of messages handed to the SMTP server in the background.

A request queues a batch and answers at once; the batch goes over one connection in a worker thread
(server.mail.smtp), then its `done` callback records the outcome (the invitation's audit row). A failed
batch is logged once, by count and reason, never by address. At shutdown the batches under way get the
SMTP timeout to finish, then are abandoned.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from email.message import EmailMessage
from urllib.parse import urlsplit

from aiohttp import web

from server.appkeys import SETTINGS
from server.mail.smtp import Delivery, deliver
from server.settings import Settings, SmtpServer

log = logging.getLogger("cellmeet.mail")

Done = Callable[[Delivery], Awaitable[None]]


class Outbox:
    def __init__(self, server: SmtpServer, settings: Settings) -> None:
        self.server = server
        self.timeout = settings.smtp_timeout_seconds
        # EHLO names the public host, so smtplib never looks the machine's name up.
        self.helo_name = urlsplit(settings.public_url or "").hostname or "localhost"
        self.tasks: set[asyncio.Task[None]] = set()

    def queue(self, what: str, messages: list[EmailMessage], done: Done) -> None:
        """Send `messages` (what: for the log, e.g. "invitation of meeting 7") in the background."""
        task = asyncio.create_task(self._send(what, messages, done))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _send(self, what: str, messages: list[EmailMessage], done: Done) -> None:
        try:
            result = await asyncio.to_thread(
                deliver, self.server, messages, timeout=self.timeout, helo_name=self.helo_name
            )
        except Exception as exc:  # a bug, not the network: still recorded as failed
            log.exception("mail: %s: could not be sent", what)
            result = Delivery(0, len(messages), type(exc).__name__)
        if result.failed:
            log.warning(
                "mail: %s: %d sent, %d failed via %s:%d (%s)",
                what,
                result.sent,
                result.failed,
                self.server.host,
                self.server.port,
                result.reason,
            )
        else:
            log.info("mail: %s: %d sent", what, result.sent)
        try:
            await done(result)
        except Exception:
            log.exception("mail: %s: the outcome could not be recorded", what)

    async def close(self) -> None:
        if not self.tasks:
            return
        _, pending = await asyncio.wait(set(self.tasks), timeout=self.timeout + 5)
        for task in pending:
            task.cancel()


OUTBOX = web.AppKey("mail_outbox", Outbox)


def outbox_of(app: web.Application) -> Outbox | None:
    """None when the operator configured no SMTP server: no e-mail is sent."""
    return app.get(OUTBOX)


async def mail_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    if settings.smtp is None:
        yield
        return
    app[OUTBOX] = Outbox(settings.smtp, settings)
    try:
        yield
    finally:
        await app[OUTBOX].close()
