"""The aiohttp application factory: settings in, app out."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator

from aiohttp import web
from redis.asyncio import Redis

from server.api.middleware import errors_middleware, identity_middleware, security_headers_middleware
from server.api.routes import add_routes
from server.appkeys import CLOCK, CONNECTION_GUARD, DATABASE, REFUSALS, SETTINGS, THROTTLE
from server.audit.checkpoints import audit_checkpoints
from server.audit.keys import load_signer
from server.audit.refusals import RefusalLog
from server.auth.shared_throttle import SharedLoginThrottle
from server.auth.throttle import LoginThrottle
from server.clock import Clock, system_clock
from server.db.engine import Database
from server.db.migrate import upgrade
from server.logs import quiet_libraries
from server.mail.outbox import mail_ctx
from server.media.echo import echo_ctx
from server.media.sfu_lifecycle import sfu_ctx
from server.metrics import metrics_middleware
from server.net_limits import limit_connections
from server.realtime.attach import attach_realtime, room_gate_middleware, room_recheck_middleware
from server.services.agenda_templates import sync_builtins
from server.settings import Settings

log = logging.getLogger("cellmeet")


def login_throttle(app: web.Application, settings: Settings, clock: Clock) -> LoginThrottle:
    """This process's throttle; with Redis, one whose counters every process shares."""
    limits = (settings.login_failures_per_account_per_hour, settings.login_failures_per_address_per_hour)
    if settings.redis_url is None:
        return LoginThrottle(*limits)
    redis = Redis.from_url(settings.redis_url.value)
    shared = SharedLoginThrottle(*limits, redis, settings.redis_prefix, uuid.uuid4().hex)

    async def sharing(app: web.Application) -> AsyncIterator[None]:
        await shared.start(clock())
        task = asyncio.create_task(shared.run(), name="login-throttle-sharing")
        yield
        shared.stopping = True
        task.cancel()  # redis-py can swallow it (redis/redis-py#2028): the loops end on the flag too
        await asyncio.wait({task}, timeout=2.0)
        await redis.aclose()

    app.cleanup_ctx.append(sharing)
    return shared


def create_app(settings: Settings, *, clock: Clock = system_clock, migrate: bool = True) -> web.Application:
    quiet_libraries()  # also when the app is started without the CLI (tests, an embedding runner)
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        middlewares=[
            metrics_middleware,
            security_headers_middleware,
            errors_middleware,
            room_gate_middleware,
            identity_middleware,
            room_recheck_middleware,
        ],
    )
    app[SETTINGS] = settings
    app[CLOCK] = clock
    app[THROTTLE] = login_throttle(app, settings, clock)
    app[REFUSALS] = RefusalLog()

    async def database_ctx(app: web.Application) -> AsyncIterator[None]:
        db = Database(settings.database_url)
        if migrate:
            await upgrade(db.engine)
        await sync_builtins(db, clock())
        app[DATABASE] = db
        yield
        await db.close()

    app.cleanup_ctx.append(database_ctx)

    async def audit_checkpoints_ctx(app: web.Application) -> AsyncIterator[None]:
        async with audit_checkpoints(
            app[DATABASE], load_signer(settings), clock, settings.checkpoint_minutes
        ):
            yield

    app.cleanup_ctx.append(audit_checkpoints_ctx)
    app.cleanup_ctx.append(echo_ctx)
    app.cleanup_ctx.append(sfu_ctx)
    app.cleanup_ctx.append(mail_ctx)
    attach_realtime(app, settings)
    app[CONNECTION_GUARD] = limit_connections(app, settings)
    add_routes(app)
    from server.pages import setup_pages

    setup_pages(app)
    return app
