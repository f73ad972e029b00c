"""The Session API on a real engine: creating sessions as Dialob clients do, Dialob's GET
shape, answers, rows, pages, actions, completion, conflicts, listing, roles and form revisions."""

from __future__ import annotations

import asyncio
import copy
import json
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from service.app import create_app
from service.settings import Settings

from .conftest import Headers, UserFactory

EXAMPLE_PATH = Path(__file__).parent.parent / "docs" / "examples" / "visitor-survey.form.json"
FORM: dict[str, Any] = json.loads(EXAMPLE_PATH.read_text("utf-8"))
FORM_ID = FORM["id"]
SESSION_ID = re.compile(r"^[0-9a-f]{32}$")
REV = re.compile(r"^[0-9]+-[0-9a-f]+$")
CONFLICT = {"error": "conflict", "reason": "Document update conflict."}
Json = dict[str, Any]
Client = TestClient[web.Request, web.Application]


SEED_SUBMIT_URL = "http://whatever.example.com/rest/api"


def seed_request(**metadata: Any) -> Json:
    """Dialob's create request, on the example form (it declares contextVar1 and 2).

    Without its submitUrl unless asked: completed sessions would be delivered there.
    """
    return {
        "metadata": {"formId": FORM_ID, "formRev": "LATEST", "language": "en", **metadata},
        "context": [{"id": "contextVar1", "value": 21}, {"id": "contextVar2", "value": "test"}],
    }


async def make_form(client: Client, admin: Headers, form: Json | None = None) -> str:
    resp = await client.post("/api/forms", json=form or FORM, headers=admin)
    assert resp.status == 201, await resp.text()
    return str((await resp.json())["_rev"])


async def open_session(client: Client, headers: Headers, body: Json | None = None) -> str:
    resp = await client.post("/api/questionnaires", json=body or seed_request(), headers=headers)
    assert resp.status == 201, await resp.text()
    return str((await resp.json())["_id"])


async def call(
    client: Client, method: str, path: str, headers: Headers, body: Any = None,
    status: int = 200,
) -> Any:
    resp = await client.request(method, path, json=body, headers=headers)
    answer = await resp.json()
    assert resp.status == status, answer
    return answer


async def session(client: Client, admin: Headers, session_id: str) -> Json:
    answer: Json = await call(client, "GET", f"/api/questionnaires/{session_id}", admin)
    return answer


def q(session_id: str, rest: str = "") -> str:
    return f"/api/questionnaires/{session_id}{rest}"


# -- create and read -----------------------------------------------------------------------------


async def test_seed_request_creates_a_session_read_back_in_the_seed_shape(
    client: Client, admin: Headers
) -> None:
    form_rev = await make_form(client, admin)
    body = seed_request(submitUrl=SEED_SUBMIT_URL, channel={"campaign": 7})
    resp = await client.post("/api/questionnaires", json=body, headers=admin)
    assert resp.status == 201
    created = await resp.json()
    assert set(created) == {"_id", "_rev"}
    assert SESSION_ID.match(created["_id"]) and created["_rev"].startswith("1-")
    got = await session(client, admin, created["_id"])
    created_at = got["metadata"]["created"]
    assert got == {
        "_id": created["_id"],
        "_rev": created["_rev"],
        "answers": [],
        "tables": [{"tableId": "group2", "rows": []}],
        "context": [{"id": "contextVar1", "value": 21}, {"id": "contextVar2", "value": "test"}],
        "activeItem": "page1",
        "metadata": {
            "formId": FORM_ID, "formRev": "LATEST", "created": created_at, "lastAnswer": None,
            "label": "Visitor survey", "submitUrl": SEED_SUBMIT_URL,
            "status": "OPEN", "language": "en", "formRevision": form_rev,
            "channel": {"campaign": 7},
        },
    }
    # The session language picks the form's label.
    fi = await open_session(client, admin, seed_request(language="fi"))
    assert (await session(client, admin, fi))["metadata"]["label"] == "Kävijäkysely"


async def test_context_default_applies_and_language_defaults_to_english(
    client: Client, admin: Headers
) -> None:
    await make_form(client, admin)
    body = {"metadata": {"formId": FORM_ID}, "context": [{"id": "contextVar1", "value": 3}]}
    got = await session(client, admin, await open_session(client, admin, body))
    assert got["context"] == [{"id": "contextVar1", "value": 3}, {"id": "contextVar2", "value": "web"}]
    assert got["metadata"]["language"] == "en" and got["metadata"]["formRev"] == "LATEST"
    assert got["metadata"]["submitUrl"] is None


async def test_create_refusals_in_couchdb_shape(client: Client, admin: Headers) -> None:
    await make_form(client, admin)
    url = "/api/questionnaires"
    answer = await call(client, "POST", url, admin, seed_request(formId="nope"), status=404)
    assert answer["error"] == "not_found" and "nope" in answer["reason"]
    answer = await call(client, "POST", url, admin, seed_request(formRev="9-abc"), status=404)
    assert answer["error"] == "not_found"
    answer = await call(client, "POST", url, admin, seed_request(formRev="v9"), status=404)
    assert answer["error"] == "not_found"
    body = seed_request(language="sv")
    body["context"] = [{"id": "contextVar2", "value": 5}]
    answer = await call(client, "POST", url, admin, body, status=422)
    assert answer["error"] == "unprocessable_entity"
    named = {d["id"]: d["pointer"] for d in answer["details"]}
    assert named == {"contextVar1": "/context", "contextVar2": "/context/0/value",
                     "language": "/metadata/language"}
    # The service's own metadata names are not the client's.
    answer = await call(client, "POST", url, admin, seed_request(status="COMPLETED"), status=400)
    assert answer["error"] == "bad_request" and "status" in answer["reason"], answer
    answer = await call(client, "POST", url, admin, {"context": []}, status=400)
    assert answer["error"] == "bad_request"


async def test_unknown_session_is_not_found(client: Client, admin: Headers) -> None:
    for path in (q("0" * 32), q("not-an-id"), q("0" * 32, "/pages")):
        answer = await call(client, "GET", path, admin, status=404)
        assert answer == {"error": "not_found",
                          "reason": f"questionnaire session {path.split('/')[3]} not found"}


async def test_idempotency_key_answers_the_first_create(client: Client, admin: Headers) -> None:
    await make_form(client, admin)
    headers = {**admin, "Idempotency-Key": "retry-1"}
    first = await call(client, "POST", "/api/questionnaires", headers, seed_request(), status=201)
    again = await call(client, "POST", "/api/questionnaires", headers, seed_request(), status=201)
    assert again == first
    listing = await call(client, "GET", "/api/questionnaires", admin)
    assert [row["_id"] for row in listing["rows"]] == [first["_id"]]
    answer = await call(client, "POST", "/api/questionnaires", headers,
                        seed_request(language="fi"), status=409)
    assert answer["error"] == "conflict"


# -- answering -----------------------------------------------------------------------------------


async def test_answers_bulk_and_one_by_one_answer_the_errors_that_stand(
    client: Client, admin: Headers
) -> None:
    await make_form(client, admin)
    sid = await open_session(client, admin)
    answer = await call(client, "POST", q(sid, "/answers"), admin,
                        [{"id": "question2", "value": ["a", "b"]}, {"id": "age", "value": -1}])
    assert answer == {
        "ok": True, "_id": sid, "_rev": answer["_rev"], "activeItem": "page1", "status": "OPEN",
        "errors": [
            {"id": "question1", "code": "REQUIRED", "message": "This answer is required"},
            {"id": "age", "code": "VALIDATION", "message": "Age cannot be negative"},
        ],
    }
    assert answer["_rev"].startswith("2-")
    answer = await call(client, "PUT", q(sid, "/answers/age"), admin, {"value": 30})
    assert [e["id"] for e in answer["errors"]] == ["question1"]
    answer = await call(client, "PUT", q(sid, "/answers/question1"), admin, {"value": "answer text"})
    assert answer["errors"] == []
    got = await session(client, admin, sid)
    assert got["answers"] == [
        {"id": "question1", "value": "answer text"},
        {"id": "age", "value": 30},
        {"id": "question2", "value": ["a", "b"]},
    ]
    assert got["metadata"]["lastAnswer"] is not None
    answer = await call(client, "DELETE", q(sid, "/answers/question1"), admin)
    assert [e["id"] for e in answer["errors"]] == ["question1"]
    answer = await call(client, "DELETE", q(sid, "/answers/question1"), admin, status=404)
    assert answer["error"] == "not_found"
    # null clears an answer too
    await call(client, "PUT", q(sid, "/answers/age"), admin, {"value": None})
    assert [a["id"] for a in (await session(client, admin, sid))["answers"]] == ["question2"]


async def test_answers_that_do_not_fit_are_refused_all_together(
    client: Client, admin: Headers
) -> None:
    await make_form(client, admin)
    sid = await open_session(client, admin)
    before = await session(client, admin, sid)
    answer = await call(client, "POST", q(sid, "/answers"), admin, [
        {"id": "question1", "value": "fine"},
        {"id": "age", "value": "old"},
        {"id": "question2", "value": ["z"]},
        {"id": "nothing", "value": 1},
        {"id": "group2[1].question3", "value": "x"},
    ], status=422)
    assert answer["error"] == "unprocessable_entity"
    assert [(d["pointer"], d["id"]) for d in answer["details"]] == [
        ("/1/value", "age"), ("/2/value", "question2"), ("/3/value", "nothing"),
        ("/4/value", "group2[1].question3"),
    ]
    assert answer["details"][3]["message"] == "no row group2[1] in this session"
    assert await session(client, admin, sid) == before  # nothing written
    answer = await call(client, "PUT", q(sid, "/answers/page1"), admin, {"value": "x"}, status=422)
    assert answer["details"][0]["id"] == "page1"
    answer = await call(client, "PUT", q(sid, "/answers/nothing"), admin, {"value": None}, status=422)
    assert answer["details"] == [{"pointer": "/value", "id": "nothing",
                                  "message": "nothing is not an item of this form"}]


async def test_items_and_errors_views(client: Client, admin: Headers) -> None:
    await make_form(client, admin)
    sid = await open_session(client, admin, seed_request(language="fi"))
    await call(client, "POST", q(sid, "/answers"), admin, [{"id": "age", "value": -2}])
    answer = await call(client, "GET", q(sid, "/items"), admin)
    items = {item["id"]: item for item in answer["items"]}
    assert items["question1"] == {
        "id": "question1", "type": "text", "parent": "page1", "active": True, "required": True,
        "label": "Nimi", "description": None, "value": None, "valueSet": None,
        "errors": ["This answer is required"],
    }
    assert items["question2"]["valueSet"] == [{"id": "a", "label": "Red"}, {"id": "b", "label": "Blue"}]
    assert items["age"]["value"] == -2 and items["age"]["errors"] == ["Age cannot be negative"]
    assert items["page2"]["active"] is True
    answer = await call(client, "GET", q(sid, "/errors"), admin)
    assert answer == {"_id": sid, "_rev": answer["_rev"], "errors": [
        {"id": "question1", "code": "REQUIRED", "message": "This answer is required"},
        {"id": "age", "code": "VALIDATION", "message": "Age cannot be negative"},
    ]}


# -- rows ------------------------------------------------------------------------------------------


async def test_rows_keep_their_numbers_and_take_their_answers_along(
    client: Client, admin: Headers
) -> None:
    await make_form(client, admin)
    sid = await open_session(client, admin)
    rows = q(sid, "/items/group2/rows")
    assert (await call(client, "POST", rows, admin))["rowId"] == "group2[1]"
    assert (await call(client, "POST", rows, admin))["rowId"] == "group2[2]"
    answer = await call(client, "POST", q(sid, "/answers"), admin, [
        {"id": "group2[1].question3", "value": "a"}, {"id": "group2[1].question4", "value": "b"},
        {"id": "group2[2].question3", "value": "d"}, {"id": "question1", "value": "answer text"},
    ])
    assert answer["errors"] == []
    answer = await call(client, "DELETE", q(sid, "/items/group2/rows/" + quote("group2[1]")), admin)
    assert answer["errors"] == []
    got = await session(client, admin, sid)
    assert got["tables"] == [{"tableId": "group2", "rows": ["group2[2]"]}]
    assert [a["id"] for a in got["answers"]] == ["question1", "group2[2].question3"]
    assert (await call(client, "POST", rows, admin))["rowId"] == "group2[3]"
    # A new row's required question is an error of its own, in that row.
    answer = await call(client, "GET", q(sid, "/errors"), admin)
    assert [e["id"] for e in answer["errors"]] == ["group2[3].question3"]
    # Deleting by number works too; deleting the last row does not free its number.
    await call(client, "DELETE", q(sid, "/items/group2/rows/3"), admin)
    assert (await call(client, "POST", rows, admin))["rowId"] == "group2[4]"
    answer = await call(client, "DELETE", q(sid, "/items/group2/rows/7"), admin, status=404)
    assert answer == {"error": "not_found", "reason": "no row group2[7] in this session"}
    answer = await call(client, "POST", q(sid, "/items/question1/rows"), admin, status=404)
    assert answer == {"error": "not_found", "reason": "question1 is not a row group of this form"}
    answer = await call(client, "PUT", q(sid, "/answers/" + quote("group2[3].question3")), admin,
                        {"value": "gone row"}, status=422)
    assert answer["details"][0]["message"] == "no row group2[3] in this session"


# -- pages ---------------------------------------------------------------------------------------


async def test_pages_next_refused_with_the_page_errors_previous_and_goto(
    client: Client, admin: Headers
) -> None:
    await make_form(client, admin)
    sid = await open_session(client, admin)
    answer = await call(client, "GET", q(sid, "/pages"), admin)
    assert answer == {"_id": sid, "_rev": answer["_rev"], "activeItem": "page1",
                      "pages": ["page1", "page2"], "availableItems": ["page1", "page2"],
                      "items": ["page1", "page2"]}
    answer = await call(client, "PUT", q(sid, "/pages"), admin, {"action": "NEXT"}, status=422)
    assert answer == {"error": "unprocessable_entity", "reason": "page page1 has errors",
                      "details": [{"id": "question1", "code": "REQUIRED",
                                   "message": "This answer is required"}]}
    await call(client, "PUT", q(sid, "/answers/question1"), admin, {"value": "Ann"})
    answer = await call(client, "PUT", q(sid, "/pages"), admin, {"action": "NEXT"})
    assert answer["activeItem"] == "page2"
    await call(client, "PUT", q(sid, "/pages"), admin, {"action": "NEXT"}, status=422)
    answer = await call(client, "PUT", q(sid, "/pages"), admin, {"action": "PREVIOUS"})
    assert answer["activeItem"] == "page1"
    await call(client, "PUT", q(sid, "/pages"), admin, {"action": "PREVIOUS"}, status=422)
    answer = await call(client, "PUT", q(sid, "/pages"), admin, {"action": "GOTO", "pageId": "page2"})
    assert answer["activeItem"] == "page2"
    # question1 = "skip" makes page2 inactive: it is no longer a page to go to.
    await call(client, "PUT", q(sid, "/answers/question1"), admin, {"value": "skip"})
    answer = await call(client, "GET", q(sid, "/pages"), admin)
    assert answer["pages"] == ["page1"]
    answer = await call(client, "PUT", q(sid, "/pages"), admin,
                        {"action": "GOTO", "pageId": "page2"}, status=422)
    assert answer["details"] == [{"id": "page2", "message": "not an active page"}]
    answer = await call(client, "PUT", q(sid, "/pages"), admin, {"action": "PREVIOUS"})
    assert answer["activeItem"] == "page1"


# -- actions and completion ------------------------------------------------------------------------


async def test_actions_apply_in_one_update_all_or_nothing(client: Client, admin: Headers) -> None:
    await make_form(client, admin)
    sid = await open_session(client, admin)
    before = await session(client, admin, sid)
    answer = await call(client, "POST", q(sid, "/actions"), admin, [
        {"type": "ANSWER", "id": "question1", "value": "Ann"},
        {"type": "ADD_ROW", "id": "group2"},
        {"type": "ANSWER", "id": "group2[1].question3", "value": "Bob"},
        {"type": "NEXT"},
        {"type": "ANSWER", "id": "age", "value": -5},
    ], status=200)
    assert answer["_rev"].startswith("2-") and answer["activeItem"] == "page2"
    assert answer["addedRows"] == ["group2[1]"]
    assert answer["errors"] == [{"id": "age", "code": "VALIDATION", "message": "Age cannot be negative"}]
    # One failing action: nothing of the list is written.
    after = await session(client, admin, sid)
    answer = await call(client, "POST", q(sid, "/actions"), admin, [
        {"type": "DELETE_ROW", "id": "group2[1]"},
        {"type": "GOTO", "id": "page1"},
        {"type": "COMPLETE"},
    ], status=422)
    assert answer["reason"] == "action 2 (COMPLETE): the session has 1 error(s)"
    assert answer["details"] == [{"id": "age", "code": "VALIDATION",
                                  "message": "Age cannot be negative", "action": 2}]
    assert await session(client, admin, sid) == after != before
    answer = await call(client, "POST", q(sid, "/actions"), admin, [
        {"type": "ANSWER", "id": "age", "value": 40}, {"type": "PREVIOUS"},
        {"type": "DELETE_ROW", "id": "group2[1]"}, {"type": "COMPLETE"},
    ])
    assert answer["status"] == "COMPLETED" and answer["_rev"].startswith("3-")
    got = await session(client, admin, sid)
    assert got["tables"] == [{"tableId": "group2", "rows": []}]
    assert got["metadata"]["status"] == "COMPLETED" and got["activeItem"] == "page1"


async def test_completion_refused_while_errors_stand_then_no_more_changes(
    client: Client, admin: Headers
) -> None:
    await make_form(client, admin)
    sid = await open_session(client, admin)
    await call(client, "POST", q(sid, "/items/group2/rows"), admin)
    answer = await call(client, "PUT", q(sid, "/status"), admin, {"status": "COMPLETED"}, status=422)
    assert answer == {
        "error": "unprocessable_entity", "reason": "the session has 2 error(s)",
        "details": [
            {"id": "question1", "code": "REQUIRED", "message": "This answer is required"},
            {"id": "group2[1].question3", "code": "REQUIRED", "message": "This answer is required"},
        ],
    }
    # An inactive page is neither required nor validated: "skip" hides page2 and its row.
    await call(client, "PUT", q(sid, "/answers/question1"), admin, {"value": "skip"})
    answer = await call(client, "PUT", q(sid, "/status"), admin, {"status": "OPEN"})
    assert answer["status"] == "OPEN"
    answer = await call(client, "PUT", q(sid, "/status"), admin, {"status": "COMPLETED"})
    assert answer["status"] == "COMPLETED" and answer["errors"] == []
    completed = await session(client, admin, sid)
    refused = {"error": "conflict",
               "reason": f"questionnaire session {sid} is completed and takes no changes"}
    for method, path, body in [
        ("POST", q(sid, "/answers"), [{"id": "age", "value": 1}]),
        ("PUT", q(sid, "/answers/age"), {"value": 1}),
        ("DELETE", q(sid, "/answers/question1"), None),
        ("POST", q(sid, "/items/group2/rows"), None),
        ("DELETE", q(sid, "/items/group2/rows/1"), None),
        ("PUT", q(sid, "/pages"), {"action": "NEXT"}),
        ("POST", q(sid, "/actions"), [{"type": "NEXT"}]),
        ("PUT", q(sid, "/status"), {"status": "OPEN"}),
        ("PUT", q(sid, "/status"), {"status": "COMPLETED"}),
        ("PUT", q(sid), {"_rev": completed["_rev"], "answers": []}),
    ]:
        assert await call(client, method, path, admin, body, status=409) == refused, (method, path)
    assert await session(client, admin, sid) == completed
    # No submitUrl: nothing to deliver.
    answer = await call(client, "GET", q(sid, "/delivery"), admin, status=404)
    assert answer["error"] == "not_found"


# -- concurrency ---------------------------------------------------------------------------------


async def test_stale_revision_is_a_conflict_as_couchdb(client: Client, admin: Headers) -> None:
    await make_form(client, admin)
    sid = await open_session(client, admin)
    first = (await session(client, admin, sid))["_rev"]
    answer = await call(client, "PUT", q(sid, "/answers/question1"), {**admin, "If-Match": first},
                        {"value": "one"})
    second = answer["_rev"]
    for method, path, headers, body in [
        ("PUT", q(sid, "/answers/question1"), {**admin, "If-Match": f'"{first}"'}, {"value": "x"}),
        ("PUT", q(sid, "/answers/question1") + f"?rev={first}", admin, {"value": "x"}),
        ("PUT", q(sid, "/answers/question1"), admin, {"value": "x", "_rev": first}),
        ("POST", q(sid, "/answers"), {**admin, "If-Match": first}, [{"id": "age", "value": 1}]),
        ("POST", q(sid, "/actions"), {**admin, "If-Match": first}, [{"type": "ADD_ROW", "id": "group2"}]),
        ("PUT", q(sid, "/status"), admin, {"status": "COMPLETED", "_rev": first}),
        ("PUT", q(sid, "/status"), {**admin, "If-Match": first}, {"status": "OPEN"}),
        ("PUT", q(sid), admin, {"_rev": first, "answers": []}),
        ("DELETE", q(sid) + f"?rev={first}", admin, None),
    ]:
        assert await call(client, method, path, headers, body, status=409) == CONFLICT, (method, path)
    # Replacing and deleting need the revision: the answer says how to send it.
    assert await call(client, "PUT", q(sid), admin, {"answers": []}, status=409) == {
        "error": "conflict",
        "reason": "Document update conflict: no revision given; send the revision you read "
                  "(_rev in the body, an If-Match header or ?rev=)",
    }
    assert await call(client, "DELETE", q(sid), admin, None, status=409) == {
        "error": "conflict",
        "reason": "Document update conflict: no revision given; send the revision you read "
                  "(an If-Match header or ?rev=)",
    }
    got = await session(client, admin, sid)
    assert got["_rev"] == second and got["answers"] == [{"id": "question1", "value": "one"}]
    resp = await client.get(q(sid), headers=admin)
    assert resp.headers["ETag"] == f'"{second}"'


@pytest.fixture
async def other(settings: Settings, aiohttp_client: Callable[..., Awaitable[Client]]) -> Client:
    """A second service instance on the same databases (as another process would be)."""
    return await aiohttp_client(create_app(settings))


async def test_concurrent_clients_answering_different_items_all_kept(
    client: Client, other: Client, admin: Headers
) -> None:
    # Two instances: one instance's lock per session cannot serialise them.
    await make_form(client, admin)
    sid = await open_session(client, admin)
    await call(client, "POST", q(sid, "/actions"), admin, [{"type": "ADD_ROW", "id": "group2"}] * 12)
    answers = [(f"group2[{row}].{question}", f"{row}{question}")
               for row in range(1, 13) for question in ("question3", "question4")]
    results = await asyncio.gather(*(
        (client if i % 2 else other).put(q(sid, "/answers/" + quote(answer_id)),
                                         json={"value": value}, headers=admin)
        for i, (answer_id, value) in enumerate(answers)
    ))
    assert [r.status for r in results] == [200] * len(answers)
    got = await session(client, admin, sid)
    assert sorted((a["id"], a["value"]) for a in got["answers"]) == sorted(answers)
    assert got["_rev"].startswith(f"{2 + len(answers)}-")


async def test_an_instance_never_judges_on_its_stale_copy(
    client: Client, other: Client, admin: Headers
) -> None:
    # `client` remembers the session it wrote; `other` (another process) changes it meanwhile.
    await make_form(client, admin)
    sid = await open_session(client, admin)
    mine = (await call(client, "PUT", q(sid, "/answers/age"), admin, {"value": 1}))["_rev"]
    await call(other, "PUT", q(sid, "/answers/question1"), admin, {"value": "Ann"})
    # NEXT needs question1, which only the engine's copy has: judged on it, not refused.
    answer = await call(client, "PUT", q(sid, "/pages"), admin, {"action": "NEXT"})
    assert answer["activeItem"] == "page2" and answer["_rev"].startswith("4-")
    # The revision this instance wrote is stale now: If-Match on it is a conflict.
    answer = await call(client, "PUT", q(sid, "/answers/age"), {**admin, "If-Match": mine},
                        {"value": 2}, status=409)
    assert answer == CONFLICT
    await call(client, "PUT", q(sid, "/answers/age"), admin, {"value": 3})
    await call(other, "PUT", q(sid, "/status"), admin, {"status": "COMPLETED"})
    answer = await call(client, "PUT", q(sid, "/answers/age"), admin, {"value": 4}, status=409)
    assert answer["reason"].endswith("is completed and takes no changes")
    got = await session(client, admin, sid)
    assert got["metadata"]["status"] == "COMPLETED"
    assert {a["id"]: a["value"] for a in got["answers"]} == {"question1": "Ann", "age": 3}


# -- revisions and tags --------------------------------------------------------------------------


async def test_session_on_tag_v1_keeps_v1_items_after_the_form_changes(
    client: Client, admin: Headers
) -> None:
    v1_rev = await make_form(client, admin)
    await call(client, "POST", f"/api/forms/{FORM_ID}/tags", admin,
               {"name": "v1", "description": "first"}, status=201)
    changed = copy.deepcopy(FORM)
    changed["label"] = {"en": "Visitor survey 2"}
    changed["items"][0]["items"].append({"id": "extra", "type": "text", "required": True})
    answer = await call(client, "PUT", f"/api/forms/{FORM_ID}", admin, {**changed, "_rev": v1_rev})
    v2_rev = answer["_rev"]
    on_v1 = await open_session(client, admin, seed_request(formRev="v1"))
    on_latest = await open_session(client, admin)
    on_rev = await open_session(client, admin, seed_request(formRev=v1_rev))
    meta = (await session(client, admin, on_v1))["metadata"]
    assert (meta["formRev"], meta["formRevision"], meta["label"]) == ("v1", v1_rev, "Visitor survey")
    meta = (await session(client, admin, on_latest))["metadata"]
    assert (meta["formRev"], meta["formRevision"]) == ("LATEST", v2_rev)
    assert (await session(client, admin, on_rev))["metadata"]["formRevision"] == v1_rev
    # A later change of the form does not reach the sessions on v1.
    await call(client, "PUT", f"/api/forms/{FORM_ID}", admin, {**FORM, "_rev": v2_rev})
    answer = await call(client, "PUT", q(on_v1, "/answers/extra"), admin, {"value": "x"}, status=422)
    assert answer["details"][0]["id"] == "extra"
    await call(client, "PUT", q(on_v1, "/answers/question1"), admin, {"value": "Ann"})
    assert (await call(client, "GET", q(on_v1, "/errors"), admin))["errors"] == []
    errors = (await call(client, "GET", q(on_latest, "/errors"), admin))["errors"]
    assert [e["id"] for e in errors] == ["question1", "extra"]
    await call(client, "PUT", q(on_latest, "/answers/extra"), admin, {"value": "x"})


# -- listing -------------------------------------------------------------------------------------


async def test_listing_filters_and_cursor_pages(
    client: Client, admin: Headers, make_user: UserFactory
) -> None:
    await make_form(client, admin)
    other_form = {**FORM, "id": "other-form"}
    await make_form(client, admin, other_form)
    device = await make_user("device")
    by_device = [await open_session(client, device) for _ in range(5)]
    by_admin = [await open_session(client, admin, seed_request(formId="other-form"))
                for _ in range(2)]

    # The listing's order: oldest first (by created, then id).
    created = {sid: (await session(client, admin, sid))["metadata"]["created"]
               for sid in by_device + by_admin}
    by_device.sort(key=lambda sid: (created[sid], sid))
    by_admin.sort(key=lambda sid: (created[sid], sid))
    completed = by_device[1]

    async def ids(query: str) -> list[str]:
        found: list[str] = []
        url: str | None = f"/api/questionnaires?{query}"
        pages = 0
        while url is not None:
            answer = await call(client, "GET", url, admin)
            found += [row["_id"] for row in answer["rows"]]
            url = answer["next"]
            pages += 1
        assert pages <= len(found) + 1
        return found

    answer = await call(client, "GET", f"/api/questionnaires?formId={FORM_ID}&limit=2", admin)
    assert [row["_id"] for row in answer["rows"]] == by_device[:2]
    assert answer["rows"][0] == await session(client, admin, by_device[0])
    assert answer["next"].startswith(f"/api/questionnaires?formId={FORM_ID}&limit=2&cursor=")
    assert await ids(f"formId={FORM_ID}&limit=2") == by_device
    assert await ids("limit=3") == by_device + by_admin
    await call(client, "PUT", q(completed, "/answers/question1"), device, {"value": "skip"})
    await call(client, "PUT", q(completed, "/status"), device, {"status": "COMPLETED"})
    assert await ids("status=COMPLETED") == [completed]
    assert await ids(f"status=OPEN&formId={FORM_ID}&limit=1") == [by_device[0], *by_device[2:]]
    admin_name = (await call(client, "GET", "/api/whoami", admin))["name"]
    device_name = (await call(client, "GET", "/api/whoami", device))["name"]
    assert await ids(f"owner={admin_name}&limit=1") == by_admin
    assert await ids("owner=nobody") == []
    assert await ids(f"owner={device_name}&status=OPEN&formId={FORM_ID}") == \
        [by_device[0], *by_device[2:]]
    for query in ("limit=0", "limit=x", "status=DONE", "cursor=%%%", "cursor=WyJ4Il0"):
        answer = await call(client, "GET", f"/api/questionnaires?{query}", admin, status=400)
        assert answer["error"] == "bad_request", query
    # A cursor from one listing does not page another.
    cursor = answer_next = (await call(client, "GET", "/api/questionnaires?limit=1", admin))["next"]
    assert answer_next is not None
    answer = await call(client, "GET", f"{cursor}&status=OPEN", admin, status=400)
    assert answer["error"] == "bad_request"


# -- replace and delete --------------------------------------------------------------------------


async def test_put_replaces_the_state_validated(client: Client, admin: Headers) -> None:
    await make_form(client, admin)
    sid = await open_session(client, admin, seed_request(channel="web"))
    state = await session(client, admin, sid)
    new_state = {
        **state,
        "answers": [{"id": "group2[2].question3", "value": "d"}, {"id": "question1", "value": "Ann"}],
        "tables": [{"tableId": "group2", "rows": ["group2[2]"]}],
        "activeItem": "page2",
        "metadata": {**state["metadata"], "language": "fi", "channel": "kiosk"},
    }
    answer = await call(client, "PUT", q(sid), admin, new_state)
    assert answer["_rev"].startswith("2-") and answer["errors"] == []
    got = await session(client, admin, sid)
    assert got == {**new_state, "_rev": answer["_rev"],
                   "metadata": {**new_state["metadata"], "label": "Kävijäkysely",
                                "lastAnswer": got["metadata"]["lastAnswer"]}}
    # Row numbers stay unique after a replace.
    assert (await call(client, "POST", q(sid, "/items/group2/rows"), admin))["rowId"] == "group2[3]"
    current = (await session(client, admin, sid))["_rev"]
    answer = await call(client, "PUT", q(sid), admin, {
        "_rev": current, "answers": [{"id": "age", "value": "x"}],
        "tables": [{"tableId": "question1", "rows": []}],
        "metadata": {"formId": "other", "language": "sv"},
        "context": [{"id": "contextVar1", "value": "no"}],
    }, status=422)
    assert sorted(d["pointer"] for d in answer["details"]) == [
        "/context/0/value", "/metadata/formId", "/metadata/language", "/tables/0/tableId",
    ]
    assert (await session(client, admin, sid))["_rev"] == current
    # What the body leaves out stays (here: metadata and its extra attributes).
    await call(client, "PUT", q(sid), {**admin, "If-Match": current}, {"answers": []})
    got = await session(client, admin, sid)
    assert got["answers"] == [] and got["metadata"]["channel"] == "kiosk"


async def test_delete_needs_the_revision_and_an_admin(
    client: Client, admin: Headers, make_user: UserFactory
) -> None:
    await make_form(client, admin)
    device = await make_user("device")
    sid = await open_session(client, device)
    rev = (await session(client, admin, sid))["_rev"]
    answer = await call(client, "DELETE", q(sid) + f"?rev={rev}", device, status=403)
    assert answer["error"] == "forbidden"
    answer = await call(client, "DELETE", q(sid), {**admin, "If-Match": rev})
    assert answer["ok"] is True and answer["id"] == sid and answer["rev"].startswith("2-")
    await call(client, "GET", q(sid), admin, status=404)
    assert (await call(client, "GET", "/api/questionnaires", admin))["rows"] == []


# -- roles ---------------------------------------------------------------------------------------


async def test_roles_devices_answer_readers_read(
    client: Client, admin: Headers, make_user: UserFactory
) -> None:
    await make_form(client, admin)
    device = await make_user("device")
    reader = await make_user("reader")
    sid = await open_session(client, device)
    answer = await call(client, "PUT", q(sid, "/answers/question1"), device, {"value": "Ann"})
    assert answer["ok"] is True
    for path in ("", "/pages", "/items", "/errors"):
        await call(client, "GET", q(sid, path), reader)
    assert (await call(client, "GET", "/api/questionnaires", reader))["rows"][0]["_id"] == sid
    for method, path, body in [
        ("POST", "/api/questionnaires", seed_request()),
        ("PUT", q(sid, "/answers/question1"), {"value": "x"}),
        ("POST", q(sid, "/actions"), [{"type": "NEXT"}]),
        ("PUT", q(sid, "/status"), {"status": "COMPLETED"}),
    ]:
        answer = await call(client, method, path, reader, body, status=403)
        assert answer["error"] == "forbidden"
    resp = await client.get(q(sid))
    assert resp.status == 401
    assert (await resp.json())["error"] == "unauthorized"


async def test_a_malformed_session_written_around_the_service_never_breaks_the_listing(
    client: Client, admin: Headers, settings: Settings
) -> None:
    from service.store import RECORDS, Store

    await make_form(client, admin)
    await open_session(client, admin)
    store = Store(settings, settings.couchdb_url or "", settings.couchdb_user,
                  settings.couchdb_password)
    try:
        await store.put(RECORDS, {"_id": "f" * 32, "type": "questionnaire",
                                  "createdAt": "2026-11-25T09:00:00+00:00",
                                  "updatedAt": "2026-11-25T09:00:00+00:00",
                                  "metadata": {"formId": "visitor-survey", "status": "OPEN"}})
    finally:
        await store.close()
    resp = await client.get("/api/questionnaires", headers=admin)
    assert resp.status == 200
    rows = (await resp.json())["rows"]
    malformed = next(row for row in rows if row["_id"] == "f" * 32)
    assert malformed["answers"] == [] and malformed["tables"] == [] and len(rows) == 2


async def test_a_session_create_never_answers_a_document_written_ahead_at_its_reserved_id(
    client: Client, admin: Headers, settings: Settings
) -> None:
    from service.questionnaires import sessions
    from service.store import RECORDS, Store

    await make_form(client, admin)
    store = Store(settings, settings.couchdb_url or "", settings.couchdb_user,
                  settings.couchdb_password)
    try:
        squatted = "a" * 32
        await store.put(RECORDS, {"_id": squatted, "type": "questionnaire", "owner": "someone"})
        doc = await sessions.create(store, seed_request(), "me", squatted, digest="d-1")
        assert doc["_id"] != squatted and doc["owner"] == "me"
        assert doc["idempotencyDigest"] == "d-1"
        # The retry with the same key finds its own session by its digest.
        again = await sessions.create(store, seed_request(), "me", doc["_id"], digest="d-1")
        assert again["_id"] == doc["_id"] and again["_rev"] == doc["_rev"]
    finally:
        await store.close()
