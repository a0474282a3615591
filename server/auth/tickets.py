"""Join tickets: short-lived signed tokens that let a client without the session cookie into one meeting.

A ticket is `base64url(json) + "." + base64url(HMAC-SHA256(key, json))`, the JSON naming the user, the
member record and the meeting with an expiry. The key is derived from the secret key for this one
purpose, so a ticket can never be mistaken for another signed value. Tickets are not stored: they
expire by themselves (120 s by default) and only open a connection, which then answers to the same
per-event checks as a cookie session. Each carries a random nonce and a reference to the web session
that asked for it: the room lets a ticket open one connection only, and refuses the tickets of a
session that has logged out (docs/security.md "The live room").
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime

_PURPOSE = b"cellmeet join ticket v1"
MAX_TICKET_CHARS = 512


@dataclass(frozen=True)
class Ticket:
    user_id: int
    member_id: int
    meeting_id: int
    expires_at: int  # unix seconds
    nonce: str = ""  # random: no two tickets are the same, so "used once" means this ticket
    session_ref: str | None = None  # session_ref() of the web session that asked for it


def session_ref(session_id: str) -> str:
    """A reference to a web session that reveals nothing of it (its id is the cookie's SHA-256)."""
    return hashlib.sha256(b"cellmeet session ref\x00" + session_id.encode()).hexdigest()[:32]


class TicketError(Exception):
    """A ticket that is malformed, forged (`invalid_ticket`) or expired (`ticket_expired`)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _key(secret_key: str) -> bytes:
    return hmac.new(secret_key.encode(), _PURPOSE, hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    """Strict: only the unpadded base64url that `_b64` writes decodes. A lenient decoder reads other
    spellings of the same bytes (a last character differing in its unused low bits, an added `=`, `+`
    for `-`), and each would be a new token string for the same signed ticket: a second connection
    with a ticket that opens one (quality.md S15)."""
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if _b64(raw) != text:
        raise ValueError("not the canonical spelling")
    return raw


def issue(secret_key: str, ticket: Ticket) -> str:
    fields: dict[str, object] = {
        "u": ticket.user_id,
        "m": ticket.member_id,
        "g": ticket.meeting_id,
        "exp": ticket.expires_at,
        "n": ticket.nonce,
    }
    if ticket.session_ref is not None:
        fields["s"] = ticket.session_ref
    payload = json.dumps(fields, separators=(",", ":")).encode()
    signature = hmac.new(_key(secret_key), payload, hashlib.sha256).digest()
    return f"{_b64(payload)}.{_b64(signature)}"


def verify(secret_key: str, token: object, now: datetime) -> Ticket:
    if not isinstance(token, str) or len(token) > MAX_TICKET_CHARS or token.count(".") != 1:
        raise TicketError("invalid_ticket")
    body, signature = token.split(".")
    try:
        payload, sent = _unb64(body), _unb64(signature)
    except (ValueError, TypeError) as exc:
        raise TicketError("invalid_ticket") from exc
    expected = hmac.new(_key(secret_key), payload, hashlib.sha256).digest()
    if not hmac.compare_digest(sent, expected):
        raise TicketError("invalid_ticket")
    try:
        data = json.loads(payload)
        ref = data.get("s")
        ticket = Ticket(
            int(data["u"]),
            int(data["m"]),
            int(data["g"]),
            int(data["exp"]),
            str(data.get("n", "")),
            None if ref is None else str(ref),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise TicketError("invalid_ticket") from exc
    if now.timestamp() >= ticket.expires_at:
        raise TicketError("ticket_expired")
    return ticket
