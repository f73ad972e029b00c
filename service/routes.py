"""The routes table: every route, its name (`<resource>.<action>`), who may call it, and the
schema its body must match (`schemas/<name>.json`, required for routes that take a body).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from . import keys
from .auth import ADMINS, PUBLIC, READERS, Roles
from .handlers import system, users

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    handler: Handler
    name: str
    roles: Roles
    # The schema file (without .json) for the body; defaults to the route's name when it takes one.
    body: bool | None = None
    summary: str = ""

    @property
    def schema(self) -> str | None:
        takes_body = self.method in BODY_METHODS if self.body is None else self.body
        return self.name if takes_body else None


ROUTES: list[Route] = [
    Route("GET", "/", system.index, "system.index", PUBLIC, summary="Service name, version, engine"),
    Route("GET", "/api/openapi.json", system.openapi, "system.openapi", PUBLIC,
          summary="This API as OpenAPI 3.1"),
    Route("GET", "/api/docs", system.docs_redirect, "system.docs_redirect", PUBLIC),
    Route("GET", "/api/docs/", system.docs, "system.docs", PUBLIC, summary="Swagger UI"),
    Route("GET", "/api/docs/{file}", system.docs_asset, "system.docs_asset", PUBLIC),
    Route("GET", "/api/whoami", system.whoami, "system.whoami", READERS,
          summary="The caller's name and Settee roles"),
    Route("POST", "/api/users", users.create, "user.create", ADMINS,
          summary="Create a user (admin, device or reader)"),
    # -- Interaction API: delegates, devices, interactions (envelope-shaped errors) --
    # -- Session API: forms and questionnaire sessions (CouchDB-shaped errors) --
]


def setup_routes(app: web.Application) -> None:
    table: dict[str, Route] = {}
    for route in ROUTES:
        if route.name in table:
            raise ValueError(f"two routes are named {route.name}")
        if route.schema is not None and route.schema not in app[keys.SCHEMAS]:
            raise ValueError(f"route {route.name} takes a body but schemas/{route.schema}.json is missing")
        table[route.name] = route
        app.router.add_route(route.method, route.path, route.handler, name=route.name)
    app[keys.ROUTES] = table
