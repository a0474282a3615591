"""A join ticket has one spelling (quality.md S15): a lenient base64 decoder read other spellings of
the same signed bytes, each a new token string, so one ticket opened as many connections as it had
spellings (found by tests/integration/test_join_tickets.py)."""

from __future__ import annotations

import string
from datetime import UTC, datetime

import pytest

from server.auth.tickets import Ticket, TicketError, issue, verify

KEY = "k" * 48
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
BASE64URL = string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_"


def ticket(session: str | None = "0" * 32) -> str:
    return issue(KEY, Ticket(1, 2, 3, int(NOW.timestamp()) + 60, "abcdefghijklmnop", session))


def test_the_issued_spelling_verifies() -> None:
    assert verify(KEY, ticket(), NOW).member_id == 2


@pytest.mark.parametrize("session", ["0" * 32, None, "0" * 31])
def test_no_other_spelling_of_the_same_ticket_verifies(session: str | None) -> None:
    token = ticket(session)
    body, signature = token.split(".")
    spellings = [token + "=", f"{body}=.{signature}", token.replace("-", "+").replace("_", "/")]
    for segment_end in (len(body) - 1, len(token) - 1):  # the low bits of a last character may be unused
        value = BASE64URL.index(token[segment_end])
        for flip in (1, 2, 3):
            spellings.append(token[:segment_end] + BASE64URL[value ^ flip] + token[segment_end + 1 :])
    for spelling in spellings:
        if spelling == token:
            continue
        with pytest.raises(TicketError) as refused:
            verify(KEY, spelling, NOW)
        assert refused.value.code == "invalid_ticket", spelling
