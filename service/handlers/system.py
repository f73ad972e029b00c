"""The service itself: what it is and whether its engine answers, its OpenAPI document and docs."""

from __future__ import annotations

import functools
from pathlib import Path

from aiohttp import web

from .. import __version__, keys
from ..errors import ApiError
from ..settings import PROJECT_ROOT

SWAGGER_UI_DIR = PROJECT_ROOT / "node_modules" / "swagger-ui-dist"
SWAGGER_PAGE = Path(__file__).resolve().parent.parent / "static" / "swagger.html"


async def index(request: web.Request) -> web.Response:
    store = request.app[keys.STORE]
    engine: dict[str, object] = {"reachable": False}
    try:
        info = await store.server_info()
    except ApiError as exc:
        engine["error"] = exc.message
    else:
        vendor = info.get("vendor") or {}
        engine.update({
            "reachable": True,
            "vendor": vendor.get("name", "unknown"),
            "version": info.get("version"),
            "ready": request.app[keys.READINESS].ready or await request.app[keys.READINESS].try_ensure(),
        })
    supervisor = request.app.get(keys.SUPERVISOR)
    if supervisor is not None:
        engine["process"] = supervisor.public()
    return web.json_response({"name": "settee", "version": __version__, "engine": engine})


async def whoami(request: web.Request) -> web.Response:
    user = request[keys.USER]
    return web.json_response({"name": user.name, "roles": sorted(user.roles)})


async def openapi(request: web.Request) -> web.Response:
    return web.json_response(request.app[keys.OPENAPI])


async def docs_redirect(request: web.Request) -> web.Response:
    raise web.HTTPMovedPermanently("/api/docs/")


async def docs(request: web.Request) -> web.FileResponse:
    return web.FileResponse(SWAGGER_PAGE)


@functools.cache
def _swagger_files() -> frozenset[str]:
    if not SWAGGER_UI_DIR.is_dir():
        return frozenset()
    return frozenset(p.name for p in SWAGGER_UI_DIR.iterdir() if p.is_file())


async def docs_asset(request: web.Request) -> web.FileResponse:
    # Only names the package ships: a client's text never becomes a path on disk.
    name = request.match_info["file"]
    if name not in _swagger_files():
        raise ApiError(1201, "no such file (is swagger-ui-dist installed? `make install`)")
    return web.FileResponse(SWAGGER_UI_DIR / name)
