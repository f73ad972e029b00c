"""Dialob's REST operations (its swagger's v2 API) as a Dialob client sends them, on a real engine:
one test per operation or close group of operations, each with Dialob's request shape."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from .conftest import Headers, UserFactory
from .test_sessions import FORM, FORM_ID, Client, call, make_form, open_session, q, seed_request

Json = dict[str, Any]


async def test_status_as_dialob_sends_and_reads_it(client: Client, admin: Headers) -> None:
    await make_form(client, admin)
    sid = await open_session(client, admin)
    assert await call(client, "GET", q(sid, "/status"), admin) == "OPEN"
    # Dialob's body is a bare JSON string, and so is its answer.
    assert await call(client, "PUT", q(sid, "/status"), admin, "OPEN") == "OPEN"
    assert await call(client, "PUT", q(sid, "/status"), admin, "NEW") == "OPEN"
    refused = await call(client, "PUT", q(sid, "/status"), admin, "COMPLETED", status=422)
    assert refused["error"] == "unprocessable_entity"
    assert refused["details"] == [{"id": "question1", "code": "REQUIRED",
                                   "message": "This answer is required"}]
    await call(client, "POST", q(sid, "/answers"), admin, [{"id": "question1", "value": "Ann"}])
    assert await call(client, "PUT", q(sid, "/status"), admin, "COMPLETED") == "COMPLETED"
    assert await call(client, "GET", q(sid, "/status"), admin) == "COMPLETED"
    refused = await call(client, "PUT", q(sid, "/status"), admin, "CLOSED", status=400)
    assert refused["error"] == "bad_request"


async def test_answer_action_carries_answer(client: Client, admin: Headers) -> None:
    await make_form(client, admin)
    sid = await open_session(client, admin)
    await call(client, "POST", q(sid, "/actions"), admin, [
        {"type": "ANSWER", "id": "question1", "answer": "Ann"},
        {"type": "ANSWER", "id": "age", "answer": 30, "value": "ignored"},
        {"type": "SET_LOCALE", "value": "fi"},
    ])
    got = await call(client, "GET", q(sid), admin)
    assert got["answers"] == [{"id": "age", "value": 30}, {"id": "question1", "value": "Ann"}]
    assert got["metadata"]["language"] == "fi" and got["metadata"]["label"] == "Kävijäkysely"
    refused = await call(client, "POST", q(sid, "/actions"), admin,
                         [{"type": "ANSWER", "id": "age", "answer": "old"}], status=422)
    assert refused["details"][0]["pointer"] == "/0/answer"


async def test_create_as_dialob_label_answers_and_computed_fields(
    client: Client, admin: Headers
) -> None:
    await make_form(client, admin)
    body = seed_request(label="Kiosk 3, morning")
    body |= {"answers": [{"id": "question1", "value": "Ann", "type": "string"}],
             "activeItem": "page2", "errors": [], "valueSets": [], "variableValues": []}
    sid = await open_session(client, admin, body)
    got = await call(client, "GET", q(sid), admin)
    assert got["metadata"]["label"] == "Kiosk 3, morning"
    assert got["answers"] == [{"id": "question1", "value": "Ann"}]
    assert got["activeItem"] == "page2" and got["metadata"]["lastAnswer"] is not None
    # A given label stays when the language changes.
    await call(client, "POST", q(sid, "/actions"), admin, [{"type": "SET_LOCALE", "value": "fi"}])
    assert (await call(client, "GET", q(sid), admin))["metadata"]["label"] == "Kiosk 3, morning"
    # An answer that does not fit refuses the creation, naming it.
    bad = seed_request() | {"answers": [{"id": "age", "value": "x"}]}
    refused = await call(client, "POST", "/api/questionnaires", admin, bad, status=422)
    assert refused["details"][0]["pointer"] == "/answers/0/value"


async def test_answers_read_and_written_as_dialob_answers(client: Client, admin: Headers) -> None:
    await make_form(client, admin)
    sid = await open_session(client, admin)
    assert await call(client, "GET", q(sid, "/answers"), admin) == []
    # Dialob's Answer objects carry id, value, and fields the engine computes.
    await call(client, "POST", q(sid, "/answers"), admin, [
        {"id": "question1", "value": "Ann", "type": "string", "updated": "2024-01-01T00:00:00Z",
         "userId": "kiosk", "acceptedValue": "Ann"},
    ])
    await call(client, "PUT", q(sid, "/answers/age"), admin, {"id": "age", "value": 41})
    assert await call(client, "GET", q(sid, "/answers"), admin) == [
        {"id": "age", "value": 41}, {"id": "question1", "value": "Ann"}]
    await call(client, "DELETE", q(sid, "/answers/age"), admin)
    assert await call(client, "GET", q(sid, "/answers"), admin) == [
        {"id": "question1", "value": "Ann"}]


async def test_one_item_and_rows_as_dialob_action_items(client: Client, admin: Headers) -> None:
    await make_form(client, admin)
    sid = await open_session(client, admin)
    assert await call(client, "GET", q(sid, "/items/question1"), admin) == {
        "id": "question1", "type": "text", "label": "Name", "required": True, "answered": False}
    assert await call(client, "GET", q(sid, "/items/question2"), admin) == {
        "id": "question2", "type": "multichoice", "required": False, "answered": False,
        "valueSetId": "colors"}
    assert await call(client, "GET", q(sid, f"/items/{FORM_ID}"), admin) == {
        "id": FORM_ID, "type": "questionnaire", "label": "Visitor survey",
        "items": ["page1", "page2"], "activeItem": "page1", "availableItems": ["page1", "page2"],
        "allowedActions": ["ANSWER", "NEXT"]}
    assert await call(client, "GET", q(sid, "/items/group2/rows"), admin) == []
    await call(client, "POST", q(sid, "/items/group2/rows"), admin)
    await call(client, "POST", q(sid, "/items/group2/rows"), admin)
    assert await call(client, "GET", q(sid, "/items/group2/rows"), admin) == [
        "group2[1]", "group2[2]"]
    assert await call(client, "GET", q(sid, "/items/group2"), admin) == {
        "id": "group2", "type": "rowgroup", "label": "Colleagues",
        "items": ["group2[1]", "group2[2]"], "allowedActions": ["ADD_ROW"]}
    row = await call(client, "GET", q(sid, "/items/" + quote("group2[1]")), admin)
    assert row == {"id": "group2[1]", "type": "row",
                   "items": ["group2[1].question3", "group2[1].question4",
                             "group2[1].question5"],
                   "allowedActions": ["DELETE_ROW"]}
    # Dialob has no page type: a page is a group shown on its own.
    assert await call(client, "GET", q(sid, "/items/page1"), admin) == {
        "id": "page1", "type": "group", "view": "page", "label": "About you",
        "items": ["question1", "question2", "age"]}
    for path in ("/items/nothing", "/items/question1/rows"):
        assert (await call(client, "GET", q(sid, path), admin, status=404))["error"] == "not_found"


async def test_value_sets_in_the_session_language(client: Client, admin: Headers) -> None:
    await make_form(client, admin)
    sid = await open_session(client, admin)
    colors = {"id": "colors", "entries": [{"key": "a", "value": "Red"},
                                          {"key": "b", "value": "Blue"}]}
    assert await call(client, "GET", q(sid, "/valueSets"), admin) == [colors]
    assert await call(client, "GET", q(sid, "/valueSets/colors"), admin) == colors
    missing = await call(client, "GET", q(sid, "/valueSets/sizes"), admin, status=404)
    assert missing["error"] == "not_found"


async def test_tags_found_by_form_and_name(client: Client, admin: Headers) -> None:
    rev1 = await make_form(client, admin)
    other = {**FORM, "id": "other-survey"}
    await make_form(client, admin, other)
    await call(client, "POST", f"/api/forms/{FORM_ID}/tags", admin,
               {"name": "v1", "formName": FORM_ID}, status=201)
    await call(client, "POST", "/api/forms/other-survey/tags", admin,
               {"name": "v1", "formName": "other-survey"}, status=201)
    await call(client, "POST", "/api/forms/other-survey/tags", admin,
               {"name": "v2", "formName": FORM_ID}, status=400)
    every = await call(client, "GET", "/api/tags", admin)
    assert [(t["formName"], t["name"]) for t in every] == [
        ("other-survey", "v1"), (FORM_ID, "v1")]
    assert every[1] == {"name": "v1", "description": "", "formId": FORM_ID, "formName": FORM_ID,
                        "formRev": rev1, "created": every[1]["created"]}
    for query in (f"formId={FORM_ID}", f"formName={FORM_ID}", f"formName={FORM_ID}&name=v1"):
        assert await call(client, "GET", "/api/tags?" + query, admin) == [every[1]]
    assert len(await call(client, "GET", "/api/tags?name=v1", admin)) == 2
    assert await call(client, "GET", "/api/tags?name=v9", admin) == []


async def test_tag_latest_and_forced_form_update(client: Client, admin: Headers) -> None:
    rev1 = await make_form(client, admin)
    # Dialob's forced update: no revision needed.
    saved = await call(client, "PUT", f"/api/forms/{FORM_ID}?force=true", admin,
                       {**FORM, "label": {"en": "Renamed"}})
    rev2 = saved["_rev"]
    # Dialob's ?rev= on a tag's creation names the revision tagged.
    tag = await call(client, "POST", f"/api/forms/{FORM_ID}/tags?rev={rev1}", admin,
                     {"name": "first", "formName": FORM_ID}, status=201)
    assert tag["formRev"] == rev1
    assert saved == {"_id": FORM_ID, "_rev": rev2, "ok": True, "id": FORM_ID, "rev": rev2}
    assert rev2 != rev1
    renaming = await call(client, "PUT", f"/api/forms/{FORM_ID}?force=true&oldId=age&newId=years",
                          admin, FORM, status=400)
    assert renaming["error"] == "bad_request" and len(renaming["details"]) == 2
    stale = await call(client, "PUT", f"/api/forms/{FORM_ID}", admin, {**FORM, "_rev": rev1},
                       status=409)
    assert stale["error"] == "conflict"
    # LATEST always is the newest revision; another name is tagged there, and never moves.
    latest = f"/api/forms/{FORM_ID}/tags/latest"
    answer = await call(client, "PUT", latest, admin, {"name": "LATEST", "formName": FORM_ID})
    assert answer == {"ok": True, "id": FORM_ID, "rev": rev2}
    await call(client, "PUT", latest, admin, {"name": "live", "formName": FORM_ID})
    assert (await call(client, "GET", f"/api/forms/{FORM_ID}/tags/live", admin))["formRev"] == rev2
    await call(client, "PUT", latest, admin, {"name": "live", "formName": FORM_ID})
    await call(client, "PUT", f"/api/forms/{FORM_ID}?force=true", admin, FORM)
    moved = await call(client, "PUT", latest, admin, {"name": "live", "formName": FORM_ID},
                       status=409)
    assert moved["error"] == "conflict" and "never moves" in moved["reason"]
    missing = await call(client, "PUT", "/api/forms/nope/tags/latest", admin, {"name": "LATEST"},
                         status=404)
    assert missing["error"] == "not_found"


async def test_listing_by_form_name_and_tag(
    client: Client, admin: Headers, make_user: UserFactory
) -> None:
    rev1 = await make_form(client, admin)
    await call(client, "POST", f"/api/forms/{FORM_ID}/tags", admin, {"name": "v1"}, status=201)
    on_v1 = await open_session(client, admin, seed_request(formRev="v1"))
    on_rev1 = await open_session(client, admin, seed_request(formRev=rev1))
    await call(client, "PUT", f"/api/forms/{FORM_ID}?force=true", admin, FORM)
    on_latest = await open_session(client, admin)

    async def listed(query: str) -> list[str]:
        answer = await call(client, "GET", "/api/questionnaires?" + query, admin)
        return [row["_id"] for row in answer["rows"]]

    assert await listed(f"formName={FORM_ID}") == [on_v1, on_rev1, on_latest]
    assert await listed(f"formName={FORM_ID}&formTag=v1") == [on_v1, on_rev1]
    assert await listed(f"formName={FORM_ID}&formTag=v1&status=OPEN") == [on_v1, on_rev1]
    assert await listed(f"formName={FORM_ID}&formTag=v1&status=COMPLETED") == []
    assert await listed(f"formName={FORM_ID}&formTag=v1&limit=1") == [on_v1]
    assert await listed(f"formTag=v1&formId={FORM_ID}") == [on_v1, on_rev1, on_latest]
    assert await listed("status=NEW") == []
    refused = await call(client, "GET", "/api/questionnaires?formId=a&formName=b", admin,
                         status=400)
    assert refused["error"] == "bad_request"
    missing = await call(client, "GET", f"/api/questionnaires?formName={FORM_ID}&formTag=v9",
                         admin, status=404)
    assert missing["error"] == "not_found"


async def test_pages_as_dialob_items(client: Client, admin: Headers) -> None:
    await make_form(client, admin)
    sid = await open_session(client, admin)
    pages = await call(client, "GET", q(sid, "/pages"), admin)
    assert {k: pages[k] for k in ("activeItem", "availableItems", "items")} == {
        "activeItem": "page1", "availableItems": ["page1", "page2"], "items": ["page1", "page2"]}
    # Dialob moves by sending the Items back with another activeItem.
    moved = await call(client, "PUT", q(sid, "/pages"), admin, {**pages, "activeItem": "page2"})
    assert moved["activeItem"] == "page2" and moved["availableItems"] == ["page1", "page2"]
    await call(client, "PUT", q(sid, "/answers/question1"), admin, {"value": "skip"})
    refused = await call(client, "PUT", q(sid, "/pages"), admin, {"activeItem": "page2"},
                         status=422)
    assert refused["details"] == [{"id": "page2", "message": "not an active page"}]
    bad = await call(client, "PUT", q(sid, "/pages"), admin, {"items": []}, status=400)
    assert bad["error"] == "bad_request"
