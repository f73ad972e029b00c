"""The service itself: GET /, request ids, unknown routes in both error shapes, OpenAPI, Swagger UI."""

from __future__ import annotations

import logging

import pytest
from aiohttp.test_utils import TestClient

from service import __version__


async def test_index_names_the_service_and_its_engine(client: TestClient) -> None:
    resp = await client.get("/")
    assert resp.status == 200
    assert resp.content_type == "application/json"
    body = await resp.json()
    engine = body.pop("engine")
    assert body == {"name": "settee", "version": __version__}
    assert engine["reachable"] is True
    assert engine["ready"] is True
    assert isinstance(engine["vendor"], str) and engine["vendor"]
    assert isinstance(engine["version"], str) and engine["version"]


async def test_request_id_is_echoed_or_made(client: TestClient) -> None:
    resp = await client.get("/", headers={"X-Request-Id": "kiosk-7.42"})
    assert resp.headers["X-Request-Id"] == "kiosk-7.42"
    made = (await client.get("/")).headers["X-Request-Id"]
    assert len(made) == 32
    # A header that could forge log lines is replaced, not echoed.
    resp = await client.get("/", headers={"X-Request-Id": "bad id\twith tab"})
    assert resp.headers["X-Request-Id"] != "bad id\twith tab"


async def test_unknown_route_in_the_envelope_shape(client: TestClient) -> None:
    resp = await client.get("/interaction/nothing-here/at-all")
    assert resp.status == 404
    assert await resp.json() == {
        "data": {},
        "meta": {"error": {"code": 404, "message": "No such route or resource", "internalCode": 1201}},
    }


async def test_unknown_route_in_the_couchdb_shape(client: TestClient) -> None:
    resp = await client.get("/api/nothing-here")
    assert resp.status == 404
    assert await resp.json() == {"error": "not_found", "reason": "No such route or resource"}


async def test_wrong_method_is_405_in_the_api_shape(client: TestClient) -> None:
    resp = await client.delete("/api/openapi.json")
    assert resp.status == 405
    assert resp.headers["Allow"] == "GET, HEAD"
    assert await resp.json() == {"error": "method_not_allowed",
                                 "reason": "DELETE is not allowed here; allowed: GET, HEAD"}


async def test_openapi_document_describes_every_route_from_the_schema_files(
    client: TestClient,
) -> None:
    resp = await client.get("/api/openapi.json")
    assert resp.status == 200
    doc = await resp.json()
    assert doc["openapi"].startswith("3.1")
    assert "jsonSchemaDialect" not in doc  # Swagger UI warns about any but the default
    schemas = doc["components"]["schemas"]
    # Each file and each of its definitions is a component of its own, without `$id`.
    assert schemas["defs.userName"]["type"] == "string"
    assert all("$id" not in schema and "$defs" not in schema for schema in schemas.values())
    create_user = doc["paths"]["/api/users"]["post"]
    assert create_user["operationId"] == "user.create"
    ref = create_user["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert ref == "#/components/schemas/user.create"
    # Cross-file references point at a component itself, never inside one: tools resolve those.
    assert schemas["user.create"]["properties"]["name"]["$ref"] == "#/components/schemas/defs.userName"

    def refs(node: object) -> list[str]:
        if isinstance(node, dict):
            found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
            return found + [r for v in node.values() for r in refs(v)]
        if isinstance(node, list):
            return [r for v in node for r in refs(v)]
        return []

    for ref in refs(doc):
        prefix, _, name = ref.rpartition("/")
        assert prefix == "#/components/schemas" and name in schemas, ref


async def test_openapi_document_is_valid_openapi_3_1(client: TestClient) -> None:
    from openapi_spec_validator import validate

    doc = await (await client.get("/api/openapi.json")).json()
    validate(doc)  # raises on any departure from the specification
    from service.routes import ROUTES

    described = {op["operationId"] for ops in doc["paths"].values() for op in ops.values()}
    assert described == {r.name for r in ROUTES if r.summary}
    assert len(described) > 30


async def test_swagger_ui_is_served_from_local_assets(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="service.access"):
        resp = await client.get("/api/docs", allow_redirects=False)
    assert resp.status == 301
    # The access log names the route and the status answered (a redirect is not a 500).
    (record,) = [r for r in caplog.records if r.name == "service.access"]
    assert (record.route, record.status) == ("system.docs_redirect", 301)  # type: ignore[attr-defined]
    assert resp.headers["Location"] == "/api/docs/"
    page = await client.get("/api/docs/")
    assert page.status == 200
    html = await page.text()
    assert "swagger-ui-bundle.js" in html
    assert "http://" not in html and "https://" not in html  # no CDN
    bundle = await client.get("/api/docs/swagger-ui-bundle.js")
    assert bundle.status == 200
    assert len(await bundle.read()) > 100_000
    missing = await client.get("/api/docs/nope.js")
    assert missing.status == 404


async def test_head_is_answered_like_get(client: TestClient) -> None:
    resp = await client.head("/")
    assert resp.status == 200
    assert resp.headers["X-Request-Id"]
