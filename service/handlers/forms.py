"""Forms API handlers (`/api/forms...`): thin, the work is in service/forms/storage.py."""

from __future__ import annotations

from aiohttp import web

from .. import keys
from ..errors import ApiError
from ..forms import LATEST, load_form, storage

DEFAULT_LIMIT = 100


def _rev_of(request: web.Request, body_rev: object = None) -> str | None:
    """The revision a write replaces: body `_rev`, else `If-Match`, else `?rev=` (as CouchDB)."""
    rev = body_rev or request.headers.get("If-Match", "").strip('"') or request.query.get("rev")
    return str(rev) if rev else None


def _limit(request: web.Request) -> int:
    raw = request.query.get("limit", str(DEFAULT_LIMIT))
    maximum = request.app[keys.SETTINGS].max_page_size
    if not raw.isdigit() or not 1 <= int(raw) <= maximum:
        raise ApiError(1002, f"limit must be an integer from 1 to {maximum}",
                       details=[{"pointer": "/query/limit", "message": f"1..{maximum}"}])
    return int(raw)


async def create(request: web.Request) -> web.Response:
    answer = await storage.create_form(request.app[keys.STORE], request[keys.BODY])
    return web.json_response(answer, status=201)


async def list_forms(request: web.Request) -> web.Response:
    answer = await storage.list_forms(
        request.app[keys.STORE], _limit(request), request.query.get("cursor") or None
    )
    return web.json_response(answer)


async def get(request: web.Request) -> web.Response:
    form = await load_form(
        request.app[keys.STORE], request.match_info["formId"], request.query.get("rev") or LATEST
    )
    return web.json_response(storage.form_body(form))


async def update(request: web.Request) -> web.Response:
    body = request[keys.BODY]
    answer = await storage.update_form(
        request.app[keys.STORE], request.match_info["formId"], body,
        _rev_of(request, body.get("_rev")),
    )
    return web.json_response(answer)


async def delete(request: web.Request) -> web.Response:
    answer = await storage.delete_form(
        request.app[keys.STORE], request.match_info["formId"], _rev_of(request)
    )
    return web.json_response(answer)


async def create_tag(request: web.Request) -> web.Response:
    answer = await storage.create_tag(
        request.app[keys.STORE], request.match_info["formId"], request[keys.BODY]
    )
    return web.json_response(answer, status=201)


async def list_tags(request: web.Request) -> web.Response:
    answer = await storage.list_tags(request.app[keys.STORE], request.match_info["formId"])
    return web.json_response(answer)


async def get_tag(request: web.Request) -> web.Response:
    answer = await storage.get_tag(
        request.app[keys.STORE], request.match_info["formId"], request.match_info["name"]
    )
    return web.json_response(answer)
