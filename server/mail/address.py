"""E-mail addresses: what an account may hold and the server may send from (standard library only, so the
settings can use it).

A deliberately plain subset of RFC 5321/5322: `local@domain`, the local part a dot-atom of ASCII
characters (no quoted strings, no comments, no display name), the domain a host name of at least two
labels (an internationalised name is accepted and kept in its ASCII form, so that any SMTP server
takes it). At most 254 characters (RFC 5321's
limit for a path), the local part at most 64. No whitespace or control character anywhere, so an
address can never add a header to a message.
"""

from __future__ import annotations

import re

MAX_ADDRESS = 254
MAX_LOCAL = 64

_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")


def normal_address(text: str) -> str | None:
    """The address with its domain in lower-case ASCII, or None when it is not one this server accepts."""
    value = text.strip()
    if not value or len(value) > MAX_ADDRESS or value.count("@") != 1:
        return None
    local, domain = value.split("@")
    if not 0 < len(local) <= MAX_LOCAL or not _LOCAL.fullmatch(local):
        return None
    try:
        ascii_domain = domain.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return None
    labels = ascii_domain.split(".")
    if len(labels) < 2 or len(ascii_domain) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        return None
    if labels[-1].isdigit():  # an IP address is not a mail domain here
        return None
    return f"{local}@{ascii_domain}"
