"""Forms API handlers (`/api/forms...`): thin, the work is in service/forms/storage.py."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .. import keys
from ..errors import ApiError
from ..forms import LATEST, load_form, storage
from .params import expected_rev, page_limit, required_rev

DEFAULT_LIMIT = 100
JsonDict = dict[str, Any]


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
    renaming = [name for name in ("newId", "oldId") if name in request.query]
    if renaming:  # Dialob renames an item in place; here a rename is a save with the new id
        raise ApiError(2101, "renaming an item by newId/oldId is not supported: save the form "
                       "with the item's new id (and the rules that name it)", status=400,
                       details=[{"pointer": f"?{name}", "message": "not supported"}
                                for name in renaming])
    force = request.query.get("force", "false").lower() == "true"
    answer = await storage.update_form(
        request.app[keys.STORE], request.match_info["formId"], body,
        expected_rev(request, body) if force else required_rev(request, body), force,
    )
    return web.json_response(answer)


async def delete(request: web.Request) -> web.Response:
    answer = await storage.delete_form(
        request.app[keys.STORE], request.match_info["formId"], required_rev(request)
    )
    return web.json_response(answer)


def tag_request(request: web.Request) -> JsonDict:
    """The tag asked for, with Dialob's `?rev=` and the form named in the body checked."""
    body: JsonDict = dict(request[keys.BODY])
    form_id = request.match_info["formId"]
    for name in ("formName", "formId"):
        if name in body and body[name] != form_id:
            raise ApiError(2103, f"the tag's {name} {body[name]} is not the form in the path",
                           details=[{"pointer": f"/{name}", "message": "must be " + form_id}])
    if request.query.get("rev"):
        body.setdefault("rev", request.query["rev"])
    return body


async def create_tag(request: web.Request) -> web.Response:
    answer = await storage.create_tag(
        request.app[keys.STORE], request.match_info["formId"], tag_request(request)
    )
    return web.json_response(answer, status=201)


async def tag_latest(request: web.Request) -> web.Response:
    if request.match_info["name"] != "latest":  # Dialob's one tag that is written by PUT
        raise ApiError(1201, "tags are made by POST .../tags; PUT takes only .../tags/latest")
    answer = await storage.tag_latest(
        request.app[keys.STORE], request.match_info["formId"], str(tag_request(request)["name"])
    )
    return web.json_response(answer)


async def find_tags(request: web.Request) -> web.Response:
    query = request.query
    form_id = query.get("formId") or query.get("formName")
    return web.json_response(
        await storage.find_tags(request.app[keys.STORE], form_id, query.get("name"))
    )


async def list_tags(request: web.Request) -> web.Response:
    answer = await storage.list_tags(request.app[keys.STORE], request.match_info["formId"])
    return web.json_response(answer)


async def get_tag(request: web.Request) -> web.Response:
    answer = await storage.get_tag(
        request.app[keys.STORE], request.match_info["formId"], request.match_info["name"]
    )
    return web.json_response(answer)
