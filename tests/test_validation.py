"""Bodies checked at the edge: not JSON, wrong content type, too large, not the schema's shape."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace

from aiohttp.test_utils import TestClient

from service.app import create_app
from service.settings import Settings

from .conftest import Headers


async def test_malformed_json_is_400(client: TestClient, admin: Headers) -> None:
    resp = await client.post(
        "/api/users", data=b'{"name": "x",', headers={**admin, "Content-Type": "application/json"}
    )
    assert resp.status == 400
    body = await resp.json()
    assert body["error"] == "bad_request"
    assert body["reason"].startswith("Body is not valid JSON")


async def test_wrong_content_type_is_415(client: TestClient, admin: Headers) -> None:
    resp = await client.post(
        "/api/users", data=b"name=x", headers={**admin, "Content-Type": "text/plain"}
    )
    assert resp.status == 415
    assert await resp.json() == {
        "error": "bad_content_type",
        "reason": "Content-Type must be application/json, not text/plain",
    }


async def test_schema_violations_point_at_each_problem(client: TestClient, admin: Headers) -> None:
    resp = await client.post(
        "/api/users", json={"password": "short", "roles": ["wizard"], "extra": 1}, headers=admin
    )
    assert resp.status == 400
    body = await resp.json()
    assert body["error"] == "bad_request"
    pointers = sorted(d["pointer"] for d in body["details"])
    assert pointers == ["", "/name", "/password", "/roles/0"]
    by_pointer = {d["pointer"]: d["message"] for d in body["details"]}
    assert by_pointer["/name"] == "'name' is a required property"
    assert by_pointer["/roles/0"] == "'wizard' is not one of ['admin', 'device', 'reader']"
    assert "extra" in by_pointer[""]
    assert body["reason"] == f"{body['details'][0]['pointer'] or '/'}: {body['details'][0]['message']}"


async def test_a_body_that_is_not_an_object(client: TestClient, admin: Headers) -> None:
    resp = await client.post("/api/users", json=[1, 2], headers=admin)
    assert resp.status == 400
    assert (await resp.json())["details"] == [
        {"pointer": "", "message": "[1, 2] is not of type 'object'"}
    ]


async def test_oversized_body_is_413(
    aiohttp_client: Callable[..., Awaitable[TestClient]], settings: Settings, admin: Headers
) -> None:
    small = await aiohttp_client(create_app(replace(settings, max_body_bytes=1024)))
    resp = await small.post(
        "/api/users",
        json={"name": "x", "password": "p" * 5000, "roles": ["reader"]},
        headers=admin,
    )
    assert resp.status == 413
    body = await resp.json()
    assert body["error"] == "too_large"
