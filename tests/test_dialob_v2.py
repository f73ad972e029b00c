"""Dialob's REST API at its swagger's base path, /v2: every operation, with Dialob's request and
exactly Dialob's answer shape (lists where Dialob answers lists), on a real engine."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from .conftest import Headers
from .test_sessions import FORM, FORM_ID, Client, call, seed_request

Json = dict[str, Any]
REQUIRED = {"id": "question1", "code": "REQUIRED", "description": "This answer is required"}


def v2(session_id: str, rest: str = "") -> str:
    return f"/v2/questionnaires/{session_id}{rest}"


async def test_forms_and_tags(client: Client, admin: Headers) -> None:
    created = await call(client, "POST", "/v2/forms", admin, FORM, status=201)
    rev1 = created["_rev"]
    assert created == {"_id": FORM_ID, "_rev": rev1}
    form = await call(client, "GET", f"/v2/forms/{FORM_ID}?rev={rev1}", admin)
    assert form == {"_id": FORM_ID, "_rev": rev1, **FORM}
    # postFormTag: Dialob's FormTag body and its Response answer
    tag = {"name": "v1", "formName": FORM_ID}
    assert await call(client, "POST", f"/v2/forms/{FORM_ID}/tags", admin, tag) == {"ok": True}
    tags = await call(client, "GET", f"/v2/forms/{FORM_ID}/tags", admin)
    assert tags == [{"name": "v1", "description": "", "formId": FORM_ID, "formName": FORM_ID,
                     "formRev": rev1, "created": tags[0]["created"]}]
    assert await call(client, "GET", f"/v2/forms/{FORM_ID}/tags/v1", admin) == tags[0]
    assert await call(client, "GET", f"/v2/tags?formName={FORM_ID}", admin) == tags
    saved = await call(client, "PUT", f"/v2/forms/{FORM_ID}?force=true", admin, FORM)
    assert saved["ok"] is True and saved["id"] == FORM_ID and saved["rev"] != rev1
    latest = await call(client, "PUT", f"/v2/forms/{FORM_ID}/tags/latest", admin,
                        {"name": "LATEST", "formName": FORM_ID})
    assert latest == {"ok": True, "id": FORM_ID, "rev": saved["rev"]}
    deleted = await call(client, "DELETE", f"/v2/forms/{FORM_ID}?rev={saved['rev']}", admin)
    assert deleted["_id"] == FORM_ID
    missing = await call(client, "GET", f"/v2/forms/{FORM_ID}", admin, status=404)
    assert missing["error"] == "not_found"


async def test_a_session_through_every_questionnaire_operation(
    client: Client, admin: Headers
) -> None:
    await call(client, "POST", "/v2/forms", admin, FORM, status=201)
    created = await call(client, "POST", "/v2/questionnaires", admin, seed_request())
    sid = created["_id"]
    assert set(created) == {"_id", "_rev"}

    listed = await call(client, "GET", f"/v2/questionnaires?formName={FORM_ID}&status=OPEN", admin)
    assert [(row["id"], row["metadata"]["status"]) for row in listed] == [(sid, "OPEN")]
    assert set(listed[0]) == {"id", "metadata"}

    got = await call(client, "GET", v2(sid), admin)
    assert got["_id"] == sid and got["answers"] == [] and got["errors"] == [REQUIRED]
    assert got["valueSets"] == [{"id": "colors", "entries": [{"key": "a", "value": "Red"},
                                                             {"key": "b", "value": "Blue"}]}]
    assert got["variableValues"] == []

    assert await call(client, "GET", v2(sid, "/errors"), admin) == [REQUIRED]
    items = await call(client, "GET", v2(sid, "/items"), admin)
    assert [i["id"] for i in items] == [FORM_ID, "page1", "question1", "question2", "age",
                                        "page2", "group2"]
    assert items[2] == {"id": "question1", "type": "text", "label": "Name", "required": True,
                        "answered": False}
    assert await call(client, "GET", v2(sid, "/items/question1"), admin) == items[2]

    # Answering answers the errors that now stand.
    assert await call(client, "POST", v2(sid, "/answers"), admin,
                      [{"id": "question1", "value": "Ann"}]) == []
    assert await call(client, "PUT", v2(sid, "/answers/age"), admin,
                      {"id": "age", "value": -1}) == [
        {"id": "age", "code": "VALIDATION", "description": "Age cannot be negative"}]
    assert await call(client, "DELETE", v2(sid, "/answers/age"), admin) == []
    assert await call(client, "GET", v2(sid, "/answers"), admin) == [
        {"id": "question1", "value": "Ann"}]

    assert await call(client, "GET", v2(sid, "/pages"), admin) == {
        "activeItem": "page1", "availableItems": ["page1", "page2"], "items": ["page1", "page2"]}
    assert (await call(client, "PUT", v2(sid, "/pages"), admin,
                       {"activeItem": "page2"}))["activeItem"] == "page2"

    # Rows answer the row group's rows.
    assert await call(client, "POST", v2(sid, "/items/group2/rows"), admin) == ["group2[1]"]
    assert await call(client, "POST", v2(sid, "/items/group2/rows"), admin) == [
        "group2[1]", "group2[2]"]
    assert await call(client, "DELETE", v2(sid, "/items/group2/rows/" + quote("group2[1]")),
                      admin) == ["group2[2]"]
    assert await call(client, "GET", v2(sid, "/items/group2/rows"), admin) == ["group2[2]"]
    assert await call(client, "GET", v2(sid, "/valueSets/colors"), admin) == got["valueSets"][0]
    assert await call(client, "GET", v2(sid, "/valueSets"), admin) == got["valueSets"]

    # putQuestionnaire: the Questionnaire read, changed, sent back with its _rev.
    state = await call(client, "GET", v2(sid), admin)
    state["answers"] = [{"id": "group2[2].question3", "value": "Bob"}, *state["answers"]]
    replaced = await call(client, "PUT", v2(sid), admin, {
        k: state[k] for k in ("_id", "_rev", "answers", "tables", "context", "activeItem")})
    assert replaced["answers"] == state["answers"] and replaced["errors"] == []
    assert replaced["_rev"] != state["_rev"]

    assert await call(client, "GET", v2(sid, "/status"), admin) == "OPEN"
    assert await call(client, "PUT", v2(sid, "/status"), admin, "COMPLETED") == "COMPLETED"
    reason = f"questionnaire session {sid} is completed and takes no changes"
    # Errors: CouchDB's shape, and Dialob's Errors fields beside it.
    assert await call(client, "PUT", v2(sid, "/status"), admin, {"status": "OPEN"},
                      status=409) == {"error": "conflict", "reason": reason, "message": reason,
                                      "status": 409, "path": v2(sid, "/status"), "errors": []}

    # deleteQuestionnaire takes no revision in Dialob: the current one goes.
    assert await call(client, "DELETE", v2(sid), admin) == {"ok": True}
    assert (await call(client, "GET", v2(sid), admin, status=404))["error"] == "not_found"


async def test_stale_revisions_and_refusals_keep_couchdb_rules(
    client: Client, admin: Headers
) -> None:
    await call(client, "POST", "/v2/forms", admin, FORM, status=201)
    sid = (await call(client, "POST", "/v2/questionnaires", admin, seed_request()))["_id"]
    state = await call(client, "GET", v2(sid), admin)
    await call(client, "POST", v2(sid, "/answers"), admin, [{"id": "question1", "value": "A"}])
    stale = await call(client, "PUT", v2(sid), admin, {"_rev": state["_rev"], "answers": []},
                       status=409)
    assert stale["error"] == "conflict" and stale["reason"] == "Document update conflict."
    stale = await call(client, "DELETE", v2(sid) + f"?rev={state['_rev']}", admin, status=409)
    assert stale["error"] == "conflict"
    refused = await call(client, "PUT", v2(sid, "/pages"), admin, {"activeItem": "nowhere"},
                         status=422)
    assert refused["error"] == "unprocessable_entity"
    fresh = (await call(client, "POST", "/v2/questionnaires", admin, seed_request()))["_id"]
    refused = await call(client, "PUT", v2(fresh, "/status"), admin, "COMPLETED", status=422)
    assert refused["errors"] == [{"id": "question1", "code": "REQUIRED",
                                  "description": "This answer is required"}]
