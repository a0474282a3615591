"""TURN credentials by coturn's shared-secret scheme (draft-uberti-behave-turn-rest-00).

The username is "<expiry-unix-time>:<user-id>" and the password base64(HMAC-SHA1(secret, username)):
coturn checks both with `use-auth-secret` + `static-auth-secret`, and a leaked credential expires
by itself. Only members of the meeting get one (the caller checks); the TTL is short.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

MAX_TTL_SECONDS = 600  # quality.md S10: TTL ≤ 10 min


@dataclass(frozen=True)
class TurnCredential:
    username: str
    credential: str
    expires_at: int


def mint_turn_credential(
    secret: str, *, member_id: int, meeting_id: int, now: datetime, ttl_seconds: int = MAX_TTL_SECONDS
) -> TurnCredential:
    if not 0 < ttl_seconds <= MAX_TTL_SECONDS:
        raise ValueError(f"ttl_seconds must be in 1..{MAX_TTL_SECONDS}")
    if not secret:
        raise ValueError("no TURN secret configured")
    expires_at = int(now.timestamp()) + ttl_seconds
    # The user part names member and meeting, so coturn's logs tie an allocation to both.
    username = f"{expires_at}:m{member_id}-g{meeting_id}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return TurnCredential(username, base64.b64encode(digest).decode("ascii"), expires_at)


def ice_servers_for(
    configured: list[dict[str, Any]], credential: TurnCredential | None
) -> list[dict[str, Any]]:
    """The operator's ICE servers (never a public default); TURN entries get the minted credential."""
    servers: list[dict[str, Any]] = []
    for entry in configured:
        urls = entry.get("urls", [])
        url_list = [urls] if isinstance(urls, str) else list(urls)
        is_turn = any(str(url).startswith(("turn:", "turns:")) for url in url_list)
        if is_turn:
            if credential is None:
                continue
            servers.append(
                {"urls": url_list, "username": credential.username, "credential": credential.credential}
            )
        else:
            servers.append({"urls": url_list})
    return servers


def member_ice_servers(
    configured: list[dict[str, Any]],
    secret: str | None,
    *,
    member_id: int,
    meeting_id: int,
    now: datetime,
    ttl_seconds: int,
) -> tuple[list[dict[str, Any]], datetime | None]:
    """A meeting member's ICE servers, TURN entries with a credential minted now for `ttl_seconds`
    (CELLMEET_TURN_TTL_SECONDS), and its expiry."""
    if not secret:
        return ice_servers_for(configured, None), None
    credential = mint_turn_credential(
        secret, member_id=member_id, meeting_id=meeting_id, now=now, ttl_seconds=ttl_seconds
    )
    return ice_servers_for(configured, credential), datetime.fromtimestamp(credential.expires_at, UTC)
