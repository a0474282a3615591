"""Refused requests leave a trace: a log line with who, which unit and which route, and for a logged-in
caller an `access.refused` row of the audit hash chain (issue 31 part 6; ASVS 7.1.3, 7.2.2).

Decisions:
- A refusal is a 403 of a logged-in caller, or the 404 the authorisation decision point gives for a unit
  the caller may not know (to the caller indistinguishable from an absent record; probing other units
  must not go unseen): a log line and a row. Any other 404 or 401 of a logged-in caller (an absent
  record, a wrong password entered again) is a log line only.
- The row: actor = the caller, org = the unit the refusal is about when known, target = the route
  template (`/api/v1/members/{id}`), data = {method, route, path, status, code}. The path (with its ids)
  is in the data, never in a label.
- Refusals must not fill the database: at most `AUDIT_ROWS_PER_MINUTE` rows per user per minute;
  beyond that the log line only, and when that user's next minute begins one
  `access.refused.suppressed` row with how many were left out.
- Without a caller (401, or a 403 before the session is known: CSRF, another site) a log line only,
  with a hash of the client address, never the address; at most `ANONYMOUS_LINES_PER_MINUTE` lines per
  address per minute, then one line saying so.
- Writing the row must never turn a refusal into a 500: a failure to write is logged and the refusal
  goes out as it was (it disclosed nothing).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from server.audit.log import append
from server.db.engine import Database

log = logging.getLogger("cellmeet.security")

ACCESS_REFUSED = "access.refused"
REFUSALS_SUPPRESSED = "access.refused.suppressed"
REFUSAL_ACTIONS = (ACCESS_REFUSED, REFUSALS_SUPPRESSED)
AUDIT_ROWS_PER_MINUTE = 30
ANONYMOUS_LINES_PER_MINUTE = 30
WINDOW = timedelta(minutes=1)
MAX_KEYS = 10_000  # users or addresses tracked at once; past it, finished minutes are forgotten
TARGET_MAX_CHARS = 80  # audit_events.target
PATH_MAX_CHARS = 500


@dataclass
class _Minute:
    start: datetime
    used: int = 0
    suppressed: int = 0


@dataclass(frozen=True)
class Taken:
    """What a limit said: whether this one counts, whether it is the first turned away this minute, and
    what the key's previous minute turned away (reported once, when a new minute begins)."""

    allowed: bool
    first_suppressed: bool = False
    previous_suppressed: int = 0
    previous_start: datetime | None = None


@dataclass
class MinuteLimit:
    """At most `limit` per key per minute, in memory, counting what it turned away."""

    limit: int
    max_keys: int = MAX_KEYS
    _minutes: dict[object, _Minute] = field(default_factory=dict)

    def take(self, key: object, at: datetime) -> Taken:
        minute = self._minutes.get(key)
        previous, previous_start = 0, None
        if minute is None or at - minute.start >= WINDOW or at < minute.start:
            if minute is not None:
                previous, previous_start = minute.suppressed, minute.start
            if minute is None and len(self._minutes) >= self.max_keys:
                self._forget_finished(at)
            minute = self._minutes[key] = _Minute(at)
        if minute.used < self.limit:
            minute.used += 1
            return Taken(True, previous_suppressed=previous, previous_start=previous_start)
        minute.suppressed += 1
        return Taken(
            False,
            first_suppressed=minute.suppressed == 1,
            previous_suppressed=previous,
            previous_start=previous_start,
        )

    def _forget_finished(self, at: datetime) -> None:
        finished = [key for key, minute in self._minutes.items() if at - minute.start >= WINDOW]
        for key in finished:
            minute = self._minutes.pop(key)
            if minute.suppressed:
                log.warning("refusals suppressed key=%s count=%d (forgotten)", key, minute.suppressed)
        if len(self._minutes) >= self.max_keys:  # all within the minute: start over rather than grow
            log.warning("refusal limits reset: %d keys within one minute", len(self._minutes))
            self._minutes.clear()


@dataclass(frozen=True)
class Refusal:
    """One refused request, as the error middleware saw it."""

    method: str
    route: str  # the route template, or the path when no route matched
    path: str
    status: int
    code: str
    unit: int | None = None
    # The refused request's id (the `X-Request-Id` of its answer): the line a caller's report names.
    request_id: str | None = None


@dataclass
class RefusalLog:
    """The app's one log of refusals (server.appkeys.REFUSALS)."""

    audit_rows_per_minute: int = AUDIT_ROWS_PER_MINUTE
    anonymous_lines_per_minute: int = ANONYMOUS_LINES_PER_MINUTE
    _rows: MinuteLimit = field(init=False)
    _anonymous: MinuteLimit = field(init=False)

    def __post_init__(self) -> None:
        self._rows = MinuteLimit(self.audit_rows_per_minute)
        self._anonymous = MinuteLimit(self.anonymous_lines_per_minute)

    async def refused(
        self,
        db: Database,
        refusal: Refusal,
        *,
        user_id: int,
        username: str,
        at: datetime,
        audit: bool = True,
    ) -> None:
        """A logged-in caller was refused: the line always; with `audit`, the row within the user's
        budget."""
        log.warning(
            "refused user=%s (%s) %s %s route=%s status=%d code=%s unit=%s request=%s",
            user_id,
            username,
            refusal.method,
            refusal.path,
            refusal.route,
            refusal.status,
            refusal.code,
            refusal.unit,
            refusal.request_id,
            extra={
                "refusal": {
                    "request_id": refusal.request_id,
                    "user_id": user_id,
                    "username": username,
                    "method": refusal.method,
                    "route": refusal.route,
                    "path": refusal.path,
                    "status": refusal.status,
                    "code": refusal.code,
                    "unit": refusal.unit,
                }
            },
        )
        if not audit:
            return
        taken = self._rows.take(user_id, at)
        if taken.first_suppressed:
            log.warning(
                "refusals of user=%s beyond %d a minute: log lines only until the minute ends",
                user_id,
                self._rows.limit,
            )
        if not taken.allowed and not taken.previous_suppressed:
            return
        try:
            async with db.write() as session:
                if taken.previous_suppressed:
                    await append(
                        session,
                        at=at,
                        actor_user_id=user_id,
                        org_id=None,
                        action=REFUSALS_SUPPRESSED,
                        target=f"user:{user_id}",
                        data={
                            "count": taken.previous_suppressed,
                            "from": taken.previous_start.isoformat() if taken.previous_start else None,
                        },
                    )
                if taken.allowed:
                    await append(
                        session,
                        at=at,
                        actor_user_id=user_id,
                        org_id=refusal.unit,
                        action=ACCESS_REFUSED,
                        target=refusal.route[:TARGET_MAX_CHARS],
                        data={
                            "method": refusal.method,
                            "route": refusal.route,
                            "path": refusal.path[:PATH_MAX_CHARS],
                            "status": refusal.status,
                            "code": refusal.code,
                        },
                    )
        except Exception:
            # The refusal itself disclosed nothing: it goes out even when its row cannot be written.
            log.exception("could not audit the refusal of user=%s route=%s", user_id, refusal.route)

    def refused_anonymous(self, refusal: Refusal, *, address: str, at: datetime) -> None:
        """No caller known: a line only (address = a hash of the client's), within the address's budget."""
        taken = self._anonymous.take(address, at)
        if taken.previous_suppressed:
            log.warning(
                "refused address=%s: %d more refusals were not logged in the minute from %s",
                address,
                taken.previous_suppressed,
                taken.previous_start.isoformat() if taken.previous_start else "?",
            )
        if taken.first_suppressed:
            log.warning(
                "refused address=%s beyond %d a minute: not logged until the minute ends",
                address,
                self._anonymous.limit,
            )
        if not taken.allowed:
            return
        log.info(
            "refused not logged in %s %s route=%s status=%d code=%s address=%s request=%s",
            refusal.method,
            refusal.path,
            refusal.route,
            refusal.status,
            refusal.code,
            address,
            refusal.request_id,
            extra={
                "refusal": {
                    "request_id": refusal.request_id,
                    "user_id": None,
                    "method": refusal.method,
                    "route": refusal.route,
                    "path": refusal.path,
                    "status": refusal.status,
                    "code": refusal.code,
                    "address": address,
                }
            },
        )
