"""Persistence: sqlmodel tables, the async engine and sessions, migrations. The only place with SQL."""
