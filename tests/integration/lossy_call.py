"""quality.md R4's lossy call, what its two runs share: the impairment and the pass conditions, the
signalling through the server, and how a finished call is judged. The first run is
tests/integration/test_lossy_media.py (media straight across a veth into a network namespace), the
second tests/integration/test_lossy_media_turn.py (media relayed through a real coturn).

A non-test module: the tests import it, never each other.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from tests.integration.room_client import RoomClient

LOSS_PERCENT = 5.0
DELAY_MS, JITTER_MS = 80.0, 20.0
CONNECT_LIMIT_S = 5.0
LOSS_TOLERANCE_POINTS = 2.0
# Of aiortc's 50 frames a second. Its audio receiver turns each lost packet into several lost frames
# (its jitter buffer waits for 16 packets at a gap, then releases one frame per packet that arrives,
# with no concealment): measured 36-41 a second on average, single seconds down to 25. The floors say
# audio kept flowing (no second stalled, the call as a whole above 60 %), not that it sounded clean.
FRAMES_FLOOR = 10
MEAN_FRAMES_FLOOR = 30.0
FINAL_REPORTS_S = 3.0  # after the senders pause: aiortc sends a receiver report every 0.5-1.5 s
STEP_TIMEOUT = 10.0


async def relay(sender: RoomClient, receiver: RoomClient, to: str, kind: str, sdp: str) -> dict[str, Any]:
    """A description sent by one member's socket.io connection and relayed by the server to the other."""
    since = receiver.mark()
    ack = await sender.call("signal", {"to": to, "description": {"type": kind, "sdp": sdp}})
    assert ack == {"ok": True}, ack
    relayed = await receiver.wait_for("signal", lambda data: data.get("description"), STEP_TIMEOUT, since)
    assert relayed["description"]["type"] == kind, relayed
    return relayed


def first_connected(states: list[tuple[float, str]]) -> float | None:
    return next((at for at, state in states if state == "connected"), None)


def left_connected(states: list[tuple[str]] | list[Any]) -> list[str]:
    """The states a peer passed through after it first connected (the promise: none)."""
    names = [state for _, state in states]
    if "connected" not in names:
        return names
    return names[names.index("connected") + 1 :]


def sent_loss(stats: dict[str, Any]) -> tuple[int, int]:
    """(lost, sent) of this peer's audio, as the other side's RTCP receiver reports say."""
    remote = stats.get("remote_inbound")
    if remote is None:
        return (0, 0)
    return (int(remote["lost"]), int(remote["lost"]) + int(remote["received"]))


def percent(lost: int, sent: int) -> float:
    return 100.0 * lost / sent if sent else float("nan")


@dataclass
class Verdict:
    """A finished call measured against quality.md R4's pass conditions."""

    towards_lossy: tuple[int, int]  # (lost, sent) of the clean member's audio
    from_lossy: tuple[int, int]
    pooled: tuple[int, int]
    rates: list[float]  # percent lost towards the lossy member, from it
    frames: dict[str, list[int]]  # "clean"/"lossy" -> audio frames received each second
    low_seconds: int
    all_counts: list[int]
    mean_frames: float
    errors: list[logging.LogRecord]
    loss_off: list[bool]
    broken: dict[str, bool]  # each pass condition -> it failed

    def summary(self, seconds: float, connect_s: float | None) -> str:
        """The measured part of the row's figure."""
        return (
            f"connected in {connect_s if connect_s is None else round(connect_s, 2)} s; "
            f"RTCP loss {self.rates[0]:.1f} % towards the lossy peer ({self.towards_lossy[1]} packets), "
            f"{self.rates[1]:.1f} % from it ({self.from_lossy[1]}), {percent(*self.pooled):.1f} % pooled, "
            f"configured {LOSS_PERCENT:g} %; frames/s min {min(self.all_counts, default=0)}, "
            f"mean {self.mean_frames:.1f} of 50 over {seconds:g} s; {len(self.errors)} server errors"
        )

    def failed(self) -> list[str] | str:
        return [name for name, bad in self.broken.items() if bad] or "none"


def judge(
    clean_stats: dict[str, Any],
    lossy_stats: dict[str, Any],
    *,
    connect_s: float | None,
    clean_left: list[str],
    lossy_left: list[str],
    records: list[logging.LogRecord],
    tier: str,
) -> Verdict:
    """The fast tier holds the two directions' loss pooled to ± LOSS_TOLERANCE_POINTS, the slow tier
    each direction (see test_lossy_media.py for why)."""
    towards_lossy = sent_loss(clean_stats)  # the clean member's audio, reported by the lossy receiver
    from_lossy = sent_loss(lossy_stats)
    pooled = (towards_lossy[0] + from_lossy[0], towards_lossy[1] + from_lossy[1])
    frames = {
        "clean": clean_stats.get("frames_per_second", []),
        "lossy": lossy_stats.get("frames_per_second", []),
    }
    low_seconds = sum(1 for counts in frames.values() for count in counts if count < FRAMES_FLOOR)
    all_counts = [count for counts in frames.values() for count in counts]
    mean_frames = sum(all_counts) / max(len(all_counts), 1)
    errors = [r for r in records if r.levelno >= logging.ERROR]
    rates = [percent(*towards_lossy), percent(*from_lossy)]
    if tier == "slow":
        loss_off = [abs(rate - LOSS_PERCENT) > LOSS_TOLERANCE_POINTS for rate in rates]
    else:
        loss_off = [abs(percent(*pooled) - LOSS_PERCENT) > LOSS_TOLERANCE_POINTS]
    broken = {
        "connect": connect_s is None or connect_s > CONNECT_LIMIT_S,
        "left connected": bool(clean_left or lossy_left),
        "audio below floor": low_seconds > 0 or mean_frames < MEAN_FRAMES_FLOOR or not all(frames.values()),
        "loss off": any(loss_off) or pooled[1] == 0,
        "server errors": bool(errors),
    }
    return Verdict(
        towards_lossy,
        from_lossy,
        pooled,
        rates,
        frames,
        low_seconds,
        all_counts,
        mean_frames,
        errors,
        loss_off,
        broken,
    )
