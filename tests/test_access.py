"""Every route's roles, from the routes table: each refusal (401 without credentials, 403 for each
role a route does not admit) in the shape of the API it belongs to."""

from __future__ import annotations

import re

from aiohttp.test_utils import TestClient

from service.routes import ROUTES, Route

from .conftest import UserFactory

ROLES = ("admin", "device", "reader")
# The Session API, Dialob's API, its fill protocol and the fill page answer in CouchDB's shape.
COUCH_SHAPED = ("/api/", "/v2/", "/session/", "/fill/")
PROTECTED = [r for r in ROUTES if r.roles]


def concrete(route: Route) -> str:
    return re.sub(r"\{[^}]+\}", "1", route.path)


def refusal(route: Route, status: int, code: int, error: str) -> tuple[int, int | str]:
    return (status, error) if route.path.startswith(COUCH_SHAPED) else (status, code)


async def seen(client: TestClient, route: Route, headers: dict[str, str]) -> tuple[int, int | str]:
    resp = await client.request(route.method, concrete(route), headers=headers, json={})
    body = await resp.json()
    if route.path.startswith(COUCH_SHAPED):
        return resp.status, body["error"]
    return resp.status, body["meta"]["error"]["internalCode"]


async def test_every_protected_route_refuses_a_caller_without_credentials(
    client: TestClient,
) -> None:
    assert len(PROTECTED) > 40
    for route in PROTECTED:
        assert await seen(client, route, {}) == refusal(route, 401, 1101, "unauthorized"), route.name


async def test_every_route_refuses_the_roles_it_does_not_admit(
    client: TestClient, make_user: UserFactory
) -> None:
    users = {role: await make_user(role) for role in ROLES}
    refused = 0
    for route in PROTECTED:
        for role in ROLES:
            if role in route.roles:
                continue
            assert await seen(client, route, users[role]) == refusal(
                route, 403, 1102, "forbidden"), (route.name, role)
            refused += 1
    assert refused > 20
