"""The Interaction API's device routes: thin, the domain is `service/directory/`."""

from __future__ import annotations

from aiohttp import web

from ..directory.entries import DEVICES
from . import directory


async def list_(request: web.Request) -> web.StreamResponse:
    return await directory.list_(request, DEVICES)


async def new(request: web.Request) -> web.Response:
    return await directory.new(request, DEVICES)


async def get(request: web.Request) -> web.Response:
    return await directory.get(request, DEVICES)


async def update(request: web.Request) -> web.Response:
    return await directory.update(request, DEVICES)


async def delete(request: web.Request) -> web.Response:
    return await directory.delete(request, DEVICES)

