"""The application factory: it wires settings, the engine, middlewares and routes, nothing else."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from aiohttp import web

from . import keys, middlewares, openapi
from .auth import Authenticator
from .directory.roster import roster_context
from .engine import Readiness, connected_store
from .interactions.types import InteractionTypes
from .questionnaires.delivery import worker_context as delivery_worker
from .routes import ROUTES, setup_routes
from .schemas import SchemaRegistry
from .settings import Settings

log = logging.getLogger(__name__)


async def engine_context(app: web.Application) -> AsyncIterator[None]:
    async with connected_store(app[keys.SETTINGS]) as store:
        app[keys.STORE] = store
        app[keys.AUTHENTICATOR] = Authenticator(store, app[keys.SETTINGS].auth_cache_seconds)
        app[keys.READINESS] = Readiness(store)
        await app[keys.READINESS].try_ensure()
        yield


def create_app(settings: Settings | None = None) -> web.Application:
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
    app.cleanup_ctx.append(roster_context)  # delegate and device ids (docs/INTERACTIONS.md)
    app.cleanup_ctx.append(delivery_worker)  # submitUrl deliveries (docs/SESSIONS.md)
    return app
