"""Errors a newcomer can act on: each says what is wrong where, and what to send instead."""

from __future__ import annotations

import json
from pathlib import Path

from aiohttp.test_utils import TestClient

from tests.conftest import Headers
from tests.interaction_helpers import new_delegate, new_device

FORM = json.loads((Path(__file__).parent.parent / "docs/examples/visitor-survey.form.json").read_text())


async def test_a_session_on_a_form_that_does_not_exist_names_the_form_not_a_tag(
    client: TestClient, admin: Headers
) -> None:
    resp = await client.post("/api/questionnaires", headers=admin,
                             json={"metadata": {"formId": "no-such-form", "formRev": "v1"}})
    assert resp.status == 404
    assert await resp.json() == {"error": "not_found", "reason": "form no-such-form not found"}
    await client.post("/api/forms", json=FORM, headers=admin)
    resp = await client.post("/api/questionnaires", headers=admin,
                             json={"metadata": {"formId": "visitor-survey", "formRev": "v1"}})
    assert await resp.json() == {"error": "not_found", "reason": "form visitor-survey has no tag v1"}


async def test_a_time_without_a_zone_says_what_a_time_must_be(
    client: TestClient, admin: Headers
) -> None:
    delegate, device = await new_delegate(client, admin), await new_device(client, admin)
    resp = await client.post("/interaction/test/check-in", headers=admin, json={
        "delegate": delegate, "device": device, "recordedAt": "2023-10-01T18:31:29"})
    assert resp.status == 400
    message = ("'2023-10-01T18:31:29' is not Unix seconds, or an ISO 8601 date-time with a time "
               "zone such as 2023-10-01T18:31:29Z (written back in UTC)")
    assert await resp.json() == {"data": {}, "meta": {"error": {
        "code": 400, "message": f"/recordedAt: {message}", "internalCode": 1002,
        "details": [{"pointer": "/recordedAt", "message": message}]}}}


async def test_a_form_write_without_a_revision_says_how_to_send_one(
    client: TestClient, admin: Headers
) -> None:
    await client.post("/api/forms", json=FORM, headers=admin)
    resp = await client.put("/api/forms/visitor-survey", json=FORM, headers=admin)
    assert resp.status == 409
    assert await resp.json() == {
        "error": "conflict",
        "reason": "Document update conflict: no revision given; send the revision you read "
                  "(_rev in the body, an If-Match header or ?rev=)",
    }
    resp = await client.delete("/api/forms/visitor-survey", headers=admin)
    assert (await resp.json())["reason"].endswith("(an If-Match header or ?rev=)")


async def test_each_missing_member_is_reported_where_it_is_missing(
    client: TestClient, admin: Headers
) -> None:
    resp = await client.post("/api/forms", json={"id": "x", "items": []}, headers=admin)
    assert resp.status == 400
    assert await resp.json() == {
        "error": "bad_request",
        "reason": "/label: 'label' is a required property",
        "details": [
            {"pointer": "/label", "message": "'label' is a required property"},
            {"pointer": "/languages", "message": "'languages' is a required property"},
        ],
    }


async def test_an_answer_problem_names_the_answer_once(client: TestClient, admin: Headers) -> None:
    await client.post("/api/forms", json=FORM, headers=admin)
    resp = await client.post("/api/questionnaires", headers=admin, json={
        "metadata": {"formId": "visitor-survey"}, "context": [{"id": "contextVar1", "value": 1}]})
    session = (await resp.json())["_id"]
    resp = await client.post(f"/api/questionnaires/{session}/answers", headers=admin,
                             json=[{"id": "question2", "value": ["zz"]}, {"id": "nothing", "value": 1}])
    assert resp.status == 422
    assert await resp.json() == {
        "error": "unprocessable_entity",
        "reason": "question2: 'zz' is not in value set colors; nothing is not an item of this form",
        "details": [
            {"pointer": "/0/value", "id": "question2",
             "message": "question2: 'zz' is not in value set colors"},
            {"pointer": "/1/value", "id": "nothing", "message": "nothing is not an item of this form"},
        ],
    }
    resp = await client.put(f"/api/questionnaires/{session}/answers/question2", headers=admin,
                            json={"value": "red"})
    assert (await resp.json())["reason"] == "question2 must be a list of choices"
