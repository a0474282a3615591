"""The column types the tables share: times stored as UTC."""

from __future__ import annotations

import sqlalchemy as sa

# Times are stored as UTC; SQLite drops the zone, so server.clock.as_utc() restores it on read.
UTC_DATETIME = sa.DateTime(timezone=True)
