"""Users: admins create the CouchDB users that devices, readers and other admins log in with."""

from __future__ import annotations

from aiohttp import web

from .. import keys
from ..users import create_user


async def create(request: web.Request) -> web.Response:
    body = request[keys.BODY]
    user = await create_user(request.app[keys.STORE], body["name"], body["password"], body["roles"])
    return web.json_response({"ok": True, **user}, status=201)
