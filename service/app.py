"""The application factory: it wires settings, the engine, middlewares and routes, nothing else."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from . import keys, middlewares, openapi
from .auth import Authenticator
from .directory.roster import roster_context
from .engine import EmbeddedEngine, Readiness, connected_store
from .interactions.types import InteractionTypes
from .questionnaires.delivery import worker_context as delivery_worker
from .routes import ROUTES, setup_routes
from .schemas import SchemaRegistry
from .settings import Settings
from .supervision import supervisor_context
from .sync.worker import sync_context

log = logging.getLogger(__name__)


async def engine_context(app: web.Application) -> AsyncIterator[None]:
    async with connected_store(app[keys.SETTINGS]) as store:
        app[keys.STORE] = store
        app[keys.AUTHENTICATOR] = Authenticator(store, app[keys.SETTINGS])
        app[keys.READINESS] = Readiness(store)
        await app[keys.READINESS].try_ensure()
        watcher = asyncio.create_task(app[keys.AUTHENTICATOR].watch_users(1.0), name="users")
        yield
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher


def create_app(
    settings: Settings | None = None, *, engine: EmbeddedEngine | None = None
) -> web.Application:
    """`engine`: the embedded engine this process started, to be restarted if it dies."""
    settings = settings or Settings.from_env()
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        middlewares=[
            middlewares.request_context,
            middlewares.errors,
            middlewares.access,
            middlewares.validation,
        ],
    )
    app[keys.SETTINGS] = settings
    app[keys.SCHEMAS] = SchemaRegistry(settings.schemas_dir)
    # A type file that breaks the type format stops start-up, as a broken schema does.
    app[keys.INTERACTION_TYPES] = InteractionTypes(app[keys.SCHEMAS])
    setup_routes(app)
    app[keys.OPENAPI] = openapi.build(ROUTES, app[keys.SCHEMAS], settings)
    app.cleanup_ctx.append(engine_context)
    if engine is not None:
        app.cleanup_ctx.append(supervisor_context(engine))
    app.cleanup_ctx.append(roster_context)  # delegate and device ids (docs/INTERACTIONS.md)
    app.cleanup_ctx.append(delivery_worker)  # submitUrl deliveries (docs/SESSIONS.md)
    app.cleanup_ctx.append(sync_context)  # what devices push, conflicts (docs/DEVICES.md)
    return app
