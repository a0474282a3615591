"""The mesh beside the SFU bench (`cellmeet bench --sfu`): the largest mesh that still works here."""

from __future__ import annotations

import asyncio
import secrets
import time
from typing import Any

from server.auth.tickets import Ticket, issue
from server.bench.driver import CpuWindow, percentile
from server.bench.phases import TICKET_SECONDS
from server.bench.seed import SeededMeeting
from server.bench.servers import Server

MESH_HEARD = 0.8  # of the expected frames, on every leg, for a mesh size to count as working


async def mesh_sizes(server: Server, meeting: SeededMeeting, secret_key: str, largest: int) -> dict[str, Any]:
    """Meshes of 2, 3, ... aiortc peers of one meeting exchanging audio, until a size fails."""
    from server.bench.rtc import run_peers

    expires = int(time.time()) + TICKET_SECONDS
    runs: list[dict[str, Any]] = []
    works_up_to = None
    for size in range(2, largest + 1):
        tokens = [
            issue(
                secret_key,
                Ticket(s.user_id, s.member_id, meeting.meeting_id, expires, secrets.token_urlsafe(9)),
            )
            for s in meeting.seats[:size]
        ]
        window = CpuWindow(server.pid).start()
        result = await run_peers(server.url, tokens, meeting.meeting_id)
        frames = result["audio_frames_per_leg"]
        works = (
            result["connected_pairs"] == result["pairs"]
            and bool(frames)
            and min(frames) >= MESH_HEARD * result["audio_frames_expected_per_leg"]
        )
        runs.append(
            {
                "members": size,
                "works": works,
                "uplinks_per_member": size - 1,
                "legs": size * (size - 1),
                "connected_pairs": result["connected_pairs"],
                "pairs": result["pairs"],
                "connect_ms_p50": percentile([ms for ms in result["connect_ms"] if ms is not None], 50),
                "frames_per_leg_min": min(frames) if frames else 0,
                "frames_expected_per_leg": result["audio_frames_expected_per_leg"],
                "client_cpu_pct_of_core": window.stop()["client_cpu_pct_of_core"],
                "errors": result["errors"],
            }
        )
        if not works:
            break
        works_up_to = size
        await asyncio.sleep(1.0)  # the last run's departures
    return {"works_up_to": works_up_to, "tried_up_to": largest, "runs": runs}
