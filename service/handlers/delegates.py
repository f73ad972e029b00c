"""The Interaction API's delegate routes: thin, the domain is `service/directory/`."""

from __future__ import annotations

from aiohttp import web

from ..directory.entries import DELEGATES
from . import directory


async def list_(request: web.Request) -> web.StreamResponse:
    return await directory.list_(request, DELEGATES)


async def new(request: web.Request) -> web.Response:
    return await directory.new(request, DELEGATES)


async def get(request: web.Request) -> web.Response:
    return await directory.get(request, DELEGATES)


async def update(request: web.Request) -> web.Response:
    return await directory.update(request, DELEGATES)


async def delete(request: web.Request) -> web.Response:
    return await directory.delete(request, DELEGATES)

