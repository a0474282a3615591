"""The tables of accounts and their ways in: users, login sessions, one-time links, API tokens."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from server.db.tables.columns import UTC_DATETIME


class User(SQLModel, table=True):
    __tablename__ = "users"
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, sa_column_kwargs={"unique": True, "nullable": False})
    full_name: str = Field(max_length=200)
    password_hash: str = Field(max_length=200)
    is_admin: bool = False
    totp_secret: str | None = Field(default=None, max_length=64)
    totp_enabled: bool = False
    # The last accepted TOTP time step: a code is accepted once, never replayed.
    totp_last_step: int | None = None
    created_at: datetime = Field(sa_type=UTC_DATETIME)
    # Where the invitation is e-mailed when the operator configured SMTP (issue 18); set by its owner.
    email: str | None = Field(default=None, max_length=254)
    # An account the operator disabled (issue 23): it cannot log in, and its sessions ended then.
    disabled_at: datetime | None = Field(default=None, sa_type=UTC_DATETIME)


class WebSession(SQLModel, table=True):
    """A server-side login session; the cookie holds a token whose SHA-256 is the id."""

    __tablename__ = "web_sessions"
    id: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="users.id", index=True)
    csrf_token: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=UTC_DATETIME)
    last_seen_at: datetime = Field(sa_type=UTC_DATETIME)


class AccountLink(SQLModel, table=True):
    """A one-time link the operator hands out (issue 23): `activate` a new account or `reset` a
    password. The link carries a random token; only its SHA-256 is stored (the id)."""

    __tablename__ = "account_links"
    id: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="users.id", index=True)
    purpose: str = Field(max_length=10)
    created_by: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = Field(sa_type=UTC_DATETIME)
    expires_at: datetime = Field(sa_type=UTC_DATETIME)
    # Set when the person chose a password with it, or when a newer link of the account replaced it.
    used_at: datetime | None = Field(default=None, sa_type=UTC_DATETIME)


class ApiToken(SQLModel, table=True):
    """A bearer token for scripts; stored hashed."""

    __tablename__ = "api_tokens"
    id: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="users.id", index=True)
    name: str = Field(max_length=100)
    created_at: datetime = Field(sa_type=UTC_DATETIME)
    # What the owner and the operator see and revoke it by (never the token nor its hash).
    public_id: str | None = Field(default=None, max_length=32, unique=True, index=True)
    expires_at: datetime | None = Field(default=None, sa_type=UTC_DATETIME)  # None: created before 0009
    revoked_at: datetime | None = Field(default=None, sa_type=UTC_DATETIME)
