"""Helpers shared by the Interaction API tests: delegates and devices made through the API."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

Headers = dict[str, str]
Client = TestClient[web.Request, web.Application]


async def new_delegate(client: Client, admin: Headers, **fields: Any) -> int:
    resp = await client.post("/delegate/new", json={"name": "Ada", **fields}, headers=admin)
    assert resp.status == 201, await resp.text()
    return int((await resp.json())["data"]["id"])


async def new_device(client: Client, admin: Headers, **fields: Any) -> int:
    resp = await client.post("/device/new", json={"name": "Door 1", "kind": "kiosk", **fields},
                             headers=admin)
    assert resp.status == 201, await resp.text()
    return int((await resp.json())["data"]["id"])


def is_iso(value: Any) -> bool:
    from service.clock import parse_timestamp

    return isinstance(value, str) and parse_timestamp(value) is not None
