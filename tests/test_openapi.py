"""The OpenAPI document as the contract: parameters, answers and examples for every operation,
examples that succeed as shown, unknown query parameters refused, and the suite-wide check of
answered statuses (tests/observed_statuses.py)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from service.openapi import documented
from service.routes import ROUTES
from service.schemas import SCHEMA_BASE, SchemaRegistry
from service.settings import Settings
from tests import observed_statuses
from tests.conftest import Headers

Operations = dict[str, tuple[str, str, dict[str, Any]]]


async def operations(client: TestClient) -> Operations:
    doc = await (await client.get("/api/openapi.json")).json()
    return {op["operationId"]: (method.upper(), path, op)
            for path, ops in doc["paths"].items() for method, op in ops.items()}


async def test_every_operation_describes_its_parameters_and_each_answer(client: TestClient) -> None:
    found = await operations(client)
    assert set(found) == {r.name for r in ROUTES if documented(r)}
    for name, (_, path, op) in found.items():
        in_path = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
        assert in_path == set(re.findall(r"\{([^}]+)\}", path)), name
        for status, response in op["responses"].items():
            if status == "204" or (status == "202" and "204" in op["responses"]):
                assert "content" not in response, name  # (a 202 instead of a 204: no body)
                continue
            ((media, described),) = response["content"].items()
            assert "schema" in described, (name, status)
            if media == "application/json":
                assert "example" in described, (name, status)
        if "requestBody" in op:
            assert "example" in op["requestBody"]["content"]["application/json"], name


async def test_errors_are_described_in_each_api_shape(client: TestClient) -> None:
    found = await operations(client)
    _, _, delegate_get = found["delegate.get"]
    not_found = delegate_get["responses"]["404"]["content"]["application/json"]
    assert not_found["schema"] == {"$ref": "#/components/schemas/answers.interactionApiError"}
    assert not_found["example"] == {"data": {}, "meta": {"error": {
        "code": 404, "message": "Delegate not found", "internalCode": 1301}}}
    _, _, form_get = found["form.get"]
    not_found = form_get["responses"]["404"]["content"]["application/json"]
    assert not_found["schema"] == {"$ref": "#/components/schemas/answers.sessionApiError"}
    assert not_found["example"] == {"error": "not_found", "reason": "Form, revision or tag not found"}
    _, _, upload = found["interaction.attachment"]
    assert list(upload["responses"]["200"]["content"]) == ["*/*"]
    _, _, docs = found["system.docs"]
    assert list(docs["responses"]["200"]["content"]) == ["text/html"]
    _, _, listing = found["interaction.list"]
    limit = next(p for p in listing["parameters"] if p["name"] == "limit")
    assert limit == {"name": "limit", "in": "query", "required": False,
                     "description": "How many rows at most in this page", "example": 10,
                     "schema": {"type": "integer", "minimum": 1, "maximum": 5000, "default": 5000}}


def test_examples_match_their_schemas() -> None:
    schemas = SchemaRegistry()
    for route in ROUTES:
        if route.schema is not None:
            for example in schemas.documents[route.schema].get("examples", []):
                assert not list(schemas.validator(route.schema).exact.iter_errors(example)), route.name
    for name, schema in schemas.documents["answers"]["$defs"].items():
        validator = schemas.validator_for({"$ref": f"{SCHEMA_BASE}answers.json#/$defs/{name}"})
        for example in schema.get("examples", []):
            assert not list(validator.exact.iter_errors(example)), name


async def test_request_examples_succeed_as_shown_in_walk_through_order(
    client: TestClient, admin: Headers
) -> None:
    found = await operations(client)

    async def run(name: str, **path: str) -> Any:
        method, template, op = found[name]
        params = {p["name"]: p for p in op.get("parameters", [])}
        url = template.format(**{n: path.get(n, p.get("example")) for n, p in params.items()
                                 if p["in"] == "path"})
        query = {n: str(p["example"]) for n, p in params.items()
                 if p["in"] == "query" and "example" in p}
        body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("example")
        resp = await client.request(method, url, params=query, json=body, headers=admin)
        expected = next(status for status in op["responses"] if status.startswith("2"))
        assert resp.status == int(expected), (name, await resp.text())
        return None if resp.status == 204 else await resp.json()

    # user.create's example is left out: users are the engine's, shared by every test.
    await run("delegate.new")
    await run("device.new")
    await run("interaction.test")
    await run("interaction.new")
    batch = await run("interaction.batch")
    assert batch["meta"]["failed"] == 0
    await run("interaction.list")
    await run("delegate.list")
    await run("delegate.update")
    await run("form.create")
    await run("form.tag")
    await run("form.get")
    session = (await run("questionnaire.create"))["_id"]
    await run("questionnaire.answers", id=session)
    await run("questionnaire.move", id=session)
    await run("questionnaire.status", id=session)
    await run("questionnaire.list")


@pytest.mark.parametrize(("path", "known"), [
    ("/interaction/list?type=check-in",
     "before, cursor, delegate, device, interactionType, limit, offset, recordedFrom, recordedTo, "
     "updatedSince"),
    ("/delegate/id:1?verbose=1", None),
])
async def test_unknown_query_parameter_is_400_naming_the_known_ones(
    client: TestClient, admin: Headers, path: str, known: str | None
) -> None:
    resp = await client.get(path, headers=admin)
    assert resp.status == 400
    name = path.split("?")[1].split("=")[0]
    takes = f"this route takes {known}" if known else "this route takes no query parameters"
    assert await resp.json() == {"data": {}, "meta": {"error": {
        "code": 400, "message": f"unknown query parameter {name}: {takes}", "internalCode": 1002,
        "details": [{"pointer": f"?{name}", "message": takes}]}}}


async def test_query_values_outside_their_declaration_are_400_in_the_session_api_shape(
    client: TestClient, admin: Headers
) -> None:
    resp = await client.get("/api/questionnaires?offset=-5", headers=admin)
    assert resp.status == 400
    assert await resp.json() == {
        "error": "bad_request",
        "reason": "unknown query parameter offset: this route takes cursor, formId, formName, "
                  "formTag, limit, owner, status",
        "details": [{"pointer": "?offset",
                     "message": "this route takes cursor, formId, formName, formTag, limit, owner, status"}],
    }
    resp = await client.get("/api/questionnaires?limit=-5", headers=admin)
    assert await resp.json() == {
        "error": "bad_request", "reason": "query parameter limit: an integer from 1 to 5000",
        "details": [{"pointer": "?limit", "message": "an integer from 1 to 5000"}],
    }
    resp = await client.get("/api/questionnaires?status=open", headers=admin)
    assert (await resp.json())["reason"] == "query parameter status: one of NEW, OPEN, COMPLETED"
    resp = await client.get("/api/forms?limit=5&limit=6", headers=admin)
    assert (await resp.json())["reason"] == "query parameter limit: give it once"


def test_statuses_no_description_lists_fail_the_suite_and_so_do_routes_never_seen() -> None:
    seen = {"delegate.get": {200, 404, 500}, "system.index": {200}}
    assert observed_statuses.undocumented(seen) == [
        "delegate.get answered 500, which its OpenAPI description does not list"]
    missing = observed_statuses.never_succeeded(seen)
    assert "delegate.new never answered 201 in any test" in missing
    assert not any(line.startswith(("delegate.get ", "system.index ")) for line in missing)


async def test_declared_headers_are_checked_and_cursor_errors_point_at_the_parameter(
    client: TestClient, admin: Headers
) -> None:
    for key in ("", "k" * 201):
        resp = await client.post("/device/new", json={"name": "Door 1"},
                                 headers={**admin, "Idempotency-Key": key})
        assert resp.status == 400
        message = (await resp.json())["meta"]["error"]["message"]
        assert message.startswith("header Idempotency-Key: "), message
    resp = await client.get("/api/questionnaires?cursor=bm90LWpzb24", headers=admin)
    assert await resp.json() == {
        "error": "bad_request", "reason": "query parameter cursor: not one this service wrote",
        "details": [{"pointer": "?cursor", "message": "not one this service wrote"}],
    }


def test_start_up_fails_when_a_route_names_an_answer_nobody_defined(
    monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    from dataclasses import replace

    from service import routes
    from service.app import create_app

    broken = replace(routes.ROUTES[0], answer="noSuchAnswer")
    monkeypatch.setattr(routes, "ROUTES", [broken, *routes.ROUTES[1:]])
    with pytest.raises(ValueError, match=re.escape("answers noSuchAnswer: not in schemas/answers.json")):
        create_app(settings)
