"""How a relay (R-ATT-4) shows in a member's attendance entry: `relayed` and the relays' times."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from meetings.relays import Relay
from server.clock import iso


def relays_by_member(relays: Iterable[Relay]) -> dict[int, list[Relay]]:
    found: dict[int, list[Relay]] = {}
    for relay in sorted(relays, key=lambda r: r.start):
        found.setdefault(relay.member_id, []).append(relay)
    return found


def relay_json(relay: Relay) -> dict[str, Any]:
    return {
        "relayed_by": relay.relayed_by,
        "channel": relay.channel.value,
        "from": iso(relay.start),
        "to": iso(relay.end),
    }


def relay_entry(relays: list[Relay]) -> dict[str, Any]:
    """The keys a relayed member's attendance entry gets (api.md: "the member's attendance entry then has
    `relayed: true`"): relayed and their relays, earliest first; none for a member who was not relayed, so
    an entry without a relay reads exactly as before R-ATT-4."""
    if not relays:
        return {}
    return {"relayed": True, "relays": [relay_json(relay) for relay in relays]}


def relayed_lines(relays: Iterable[Relay], names: dict[int | None, str]) -> list[dict[str, Any]]:
    """The minutes document's `relayed`: who took part through whom, how and when, earliest first."""
    return [
        {
            "full_name": names.get(relay.member_id, ""),
            "channel": relay.channel.value,
            "relayed_by": names.get(relay.relayed_by, ""),
            "from": iso(relay.start),
            "to": iso(relay.end),
        }
        for relay in sorted(relays, key=lambda r: r.start)
    ]
