"""Forms API handlers (`/api/forms...`): thin, the work is in service/forms/storage.py."""

from __future__ import annotations

from aiohttp import web

from .. import keys
from ..forms import LATEST, load_form, storage
from .params import page_limit, required_rev

DEFAULT_LIMIT = 100


async def create(request: web.Request) -> web.Response:
    answer = await storage.create_form(request.app[keys.STORE], request[keys.BODY])
    return web.json_response(answer, status=201)


async def list_forms(request: web.Request) -> web.Response:
    rows, cursor = await storage.list_forms(
        request.app[keys.STORE], page_limit(request, DEFAULT_LIMIT), request.query.get("cursor") or None
    )
    following = str(request.rel_url.update_query(cursor=cursor)) if cursor else None
    return web.json_response({"rows": rows, "next": following})


async def get(request: web.Request) -> web.Response:
    form = await load_form(
        request.app[keys.STORE], request.match_info["formId"], request.query.get("rev") or LATEST
    )
    return web.json_response(storage.form_body(form))


async def update(request: web.Request) -> web.Response:
    body = request[keys.BODY]
    answer = await storage.update_form(
        request.app[keys.STORE], request.match_info["formId"], body,
        required_rev(request, body),
    )
    return web.json_response(answer)


async def delete(request: web.Request) -> web.Response:
    answer = await storage.delete_form(
        request.app[keys.STORE], request.match_info["formId"], required_rev(request)
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
