"""Who is calling: a session cookie or a bearer token, with session expiry and CSRF checks."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from meetings.decision import Text
from server.auth.tokens import SESSION_COOKIE_PLAIN, SESSION_COOKIE_SECURE, token_id
from server.clock import as_utc
from server.db.tables import ApiToken, User, WebSession
from server.errors import ApiError
from server.settings import Settings

LOGIN_PATH = "/api/v1/auth/login"
# The one-time account link's use (server.api.accounts_routes): it acts by the link's token, never by
# the browser's session, so a session that happens to be open needs no CSRF token there.
ACCOUNT_LINK_PATH = "/api/v1/auth/account-link"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Touching last_seen on every request would turn every read into a write.
LAST_SEEN_RESOLUTION = timedelta(seconds=60)


@dataclass
class Actor:
    user: User
    via: str  # "session" or "token"
    session: WebSession | None = None
    token: ApiToken | None = None  # the script token it came with

    @property
    def user_id(self) -> int:
        assert self.user.id is not None
        return self.user.id


# Who made the request, as the identity middleware found them (None: nobody logged in). Here, with the
# identity, so the API, the pages and the live room read it without importing one another.
ACTOR = web.RequestKey("actor", Actor)


def session_cookie_name(settings: Settings) -> str:
    # The __Host- prefix needs Secure, which browsers only keep over HTTPS.
    return SESSION_COOKIE_SECURE if settings.https else SESSION_COOKIE_PLAIN


def cross_site_refusal() -> ApiError:
    return ApiError(
        403,
        "cross_site",
        Text("Yêu cầu từ trang web khác bị từ chối.", "A request from another site was refused."),
    )


def check_same_origin(request: web.Request, settings: Settings) -> None:
    """Refuse state changes sent by another site (Sec-Fetch-Site, else Origin)."""
    if request.method not in UNSAFE_METHODS:
        return
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        if site not in ("same-origin", "none"):
            raise cross_site_refusal()
        return
    origin = request.headers.get("Origin")
    if origin is None:
        return
    allowed = {f"{request.scheme}://{request.host}"}
    if settings.public_url:
        allowed.add(settings.public_url.rstrip("/"))
    if origin not in allowed:
        raise cross_site_refusal()


# A script token lives this long unless asked for less; tokens made before expiry existed, as long
# from their creation.
TOKEN_DAYS_DEFAULT = 30


def token_expiry(token: ApiToken) -> datetime:
    if token.expires_at is not None:
        return as_utc(token.expires_at)
    return as_utc(token.created_at) + timedelta(days=TOKEN_DAYS_DEFAULT)


async def authenticate(
    request: web.Request, db_session: AsyncSession, settings: Settings, now: datetime
) -> Actor | None:
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        token = await db_session.get(ApiToken, token_id(header.removeprefix("Bearer ").strip()))
        if token is None or token.revoked_at is not None:
            raise ApiError(401, "invalid_token", Text("Mã truy cập không hợp lệ.", "Invalid access token."))
        if now >= token_expiry(token):
            raise ApiError(
                401, "token_expired", Text("Mã truy cập đã hết hạn.", "The access token has expired.")
            )
        user = await db_session.get(User, token.user_id)
        if user is not None and user.disabled_at is not None:
            raise ApiError(401, "invalid_token", Text("Mã truy cập không hợp lệ.", "Invalid access token."))
        return Actor(user=user, via="token", token=token) if user else None
    cookie = request.cookies.get(session_cookie_name(settings))
    if not cookie:
        return None
    # The session and its user in one query: every page and every room connection comes this way.
    found = (
        await db_session.execute(
            select(WebSession, User)
            .join(User, User.id == WebSession.user_id)  # type: ignore[arg-type]
            .where(WebSession.id == token_id(cookie))  # type: ignore[arg-type]
        )
    ).first()
    if found is None:
        return None
    web_session, user = found
    if user.disabled_at is not None:  # disabling ends the sessions; this holds if one was missed
        return None
    idle = now - as_utc(web_session.last_seen_at)
    age = now - as_utc(web_session.created_at)
    if (
        idle.total_seconds() > settings.session_idle_seconds
        or age.total_seconds() > settings.session_absolute_seconds
    ):
        await db_session.delete(web_session)
        await db_session.commit()
        return None
    # Logging in again from a browser that still holds a session needs no CSRF token: login is
    # already limited to same-origin requests and issues a new session.
    if request.method in UNSAFE_METHODS and request.path not in (LOGIN_PATH, ACCOUNT_LINK_PATH):
        sent = request.headers.get("X-CSRF-Token", "")
        if not hmac.compare_digest(sent.encode(), web_session.csrf_token.encode()):
            raise ApiError(
                403, "csrf", Text("Thiếu hoặc sai mã chống giả mạo (CSRF).", "Missing or wrong CSRF token.")
            )
    if idle > LAST_SEEN_RESOLUTION:
        web_session.last_seen_at = now
        db_session.add(web_session)
        await db_session.commit()
    return Actor(user=user, via="session", session=web_session)
