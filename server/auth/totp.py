"""TOTP second factor (RFC 6238): a code is good for ±1 step and is accepted only once."""

from __future__ import annotations

from datetime import datetime

import pyotp

STEP_SECONDS = 30
WINDOW = 1


def accepted_step(secret: str, code: str, at: datetime, last_step: int | None) -> int | None:
    """The time step the code matches, if it is valid now and newer than the last one used."""
    if not code.isascii() or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, interval=STEP_SECONDS)
    now_step = int(at.timestamp()) // STEP_SECONDS
    for step in range(now_step - WINDOW, now_step + WINDOW + 1):
        if totp.at(step * STEP_SECONDS) == code and (last_step is None or step > last_step):
            return step
    return None
