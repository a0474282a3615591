"""argon2id password hashing, run off the event loop (it is deliberately slow)."""

from __future__ import annotations

import asyncio
import os

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError

MIN_PASSWORD_LENGTH = 12  # ASVS 2.1.1
MAX_PASSWORD_LENGTH = 256

# argon2id with the library's RFC 9106 low-memory profile (about 0.3 s of CPU per hash or check here).
# The test suite alone sets CELLMEET_INSECURE_FAST_PASSWORD_HASHING=1 for argon2's cheapest profile
# (microseconds), as Django's test settings swap in a fast hasher: the suite logs in thousands of
# times, and at 0.3 s each that was a third of its CPU. A hash keeps its parameters, so a password
# hashed either way is checked by its own; nothing else changes.
_FAST_FOR_TESTS = os.environ.get("CELLMEET_INSECURE_FAST_PASSWORD_HASHING") == "1"
_hasher = PasswordHasher.from_parameters(profiles.CHEAPEST) if _FAST_FOR_TESTS else PasswordHasher()
# Unknown users are checked against this so their answer takes as long as a wrong password's.
_DUMMY_HASH = _hasher.hash("cellmeet-dummy-password-for-timing")


def hash_password_sync(password: str) -> str:
    return _hasher.hash(password)


async def hash_password(password: str) -> str:
    return await asyncio.get_running_loop().run_in_executor(None, _hasher.hash, password)


def _verify(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


async def verify_password(stored: str | None, password: str) -> bool:
    return await asyncio.get_running_loop().run_in_executor(None, _verify, stored, password)
