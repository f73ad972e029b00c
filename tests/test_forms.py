"""The Forms API on a real engine: create, read by revision/tag/LATEST, update, delete, tags,
listing, refusals in CouchDB's shape, roles; and load_form for the Session API."""

from __future__ import annotations

import asyncio
import copy
import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from service.errors import ApiError
from service.forms import FormRevision, evaluate, load_form
from service.store import REGISTRY, Store

from .conftest import Headers, UserFactory

EXAMPLE_PATH = Path(__file__).parent.parent / "docs" / "examples" / "visitor-survey.form.json"
EXAMPLE: dict[str, Any] = json.loads(EXAMPLE_PATH.read_text("utf-8"))
REV = r"^[0-9]+-[0-9a-f]+$"


def example(**changes: Any) -> dict[str, Any]:
    form = copy.deepcopy(EXAMPLE)
    form.update(changes)
    return form


async def create(client: TestClient, admin: Headers, form: dict[str, Any] | None = None) -> str:
    resp = await client.post("/api/forms", json=form or example(), headers=admin)
    assert resp.status == 201, await resp.text()
    return str((await resp.json())["_rev"])


# -- create and read ---------------------------------------------------------------------------


async def test_design_example_is_accepted_and_read_back_as_written(
    client: TestClient, admin: Headers
) -> None:
    resp = await client.post("/api/forms", json=EXAMPLE, headers=admin)
    assert resp.status == 201
    created = await resp.json()
    assert set(created) == {"_id", "_rev"} and created["_id"] == "visitor-survey"
    resp = await client.get("/api/forms/visitor-survey", headers=admin)
    assert resp.status == 200
    assert await resp.json() == {"_id": "visitor-survey", "_rev": created["_rev"], **EXAMPLE}
    resp = await client.get(f"/api/forms/visitor-survey?rev={created['_rev']}", headers=admin)
    assert await resp.json() == {"_id": "visitor-survey", "_rev": created["_rev"], **EXAMPLE}


async def test_create_without_id_gets_one(client: TestClient, admin: Headers) -> None:
    form = example()
    del form["id"]
    resp = await client.post("/api/forms", json=form, headers=admin)
    assert resp.status == 201
    created = await resp.json()
    assert len(created["_id"]) == 32
    resp = await client.get(f"/api/forms/{created['_id']}", headers=admin)
    assert (await resp.json())["id"] == created["_id"]


async def test_create_twice_is_a_conflict(client: TestClient, admin: Headers) -> None:
    await create(client, admin)
    resp = await client.post("/api/forms", json=EXAMPLE, headers=admin)
    assert resp.status == 409
    assert await resp.json() == {"error": "conflict", "reason": "form visitor-survey already exists"}


async def test_unknown_form_revision_and_tag_are_404(client: TestClient, admin: Headers) -> None:
    await create(client, admin)
    cases = {
        "/api/forms/nope": "form nope not found",
        "/api/forms/visitor-survey?rev=9-abc": "form visitor-survey has no revision 9-abc",
        "/api/forms/visitor-survey?rev=v9": "form visitor-survey has no tag v9",
        "/api/forms/visitor-survey/tags/v9": "form visitor-survey has no tag v9",
        "/api/forms/nope/tags": "form nope not found",
    }
    for url, reason in cases.items():
        resp = await client.get(url, headers=admin)
        assert resp.status == 404, url
        assert await resp.json() == {"error": "not_found", "reason": reason}


# -- refusals on save ---------------------------------------------------------------------------


async def refused(client: TestClient, admin: Headers, form: dict[str, Any]) -> dict[str, Any]:
    resp = await client.post("/api/forms", json=form, headers=admin)
    assert resp.status == 400, await resp.text()
    body: dict[str, Any] = await resp.json()
    assert body["error"] == "bad_request"
    return body


async def test_schema_error_names_the_pointer(client: TestClient, admin: Headers) -> None:
    form = example()
    form["items"][1]["items"][0]["items"][1]["type"] = "texx"
    body = await refused(client, admin, form)
    assert body["details"][0]["pointer"] == "/items/1/items/0/items/1/type"
    assert "texx" in body["details"][0]["message"]


async def test_unknown_var_is_refused_with_item_and_pointer(
    client: TestClient, admin: Headers
) -> None:
    form = example()
    form["items"][1]["items"][0]["items"][2]["activeWhen"] = {"!=": [{"var": "question9"}, ""]}
    body = await refused(client, admin, form)
    assert body == {
        "error": "bad_request",
        "reason": "form is not valid: question5: question9 names no item or variable of this form",
        "details": [{
            "item": "question5", "pointer": "/items/1/items/0/items/2/activeWhen/!=/0",
            "message": "question9 names no item or variable of this form",
        }],
    }


async def test_cycle_between_expression_variables_is_refused(
    client: TestClient, admin: Headers
) -> None:
    form = example()
    form["variables"] += [
        {"id": "a", "expression": {"+": [{"var": "b"}, 1]}},
        {"id": "b", "expression": {"+": [{"var": "a"}, 1]}},
    ]
    body = await refused(client, admin, form)
    resp = await client.get("/api/forms/visitor-survey", headers=admin)
    assert resp.status == 404  # nothing was written
    assert body["details"] == [{
        "item": "a", "pointer": "/variables/2/expression",
        "message": "expression variables depend on each other in a cycle: a -> b -> a",
    }]


async def test_wrong_type_is_refused(client: TestClient, admin: Headers) -> None:
    form = example()
    form["items"][0]["items"][2]["validations"][0]["rule"] = {">=": [{"var": "age"}, "zero"]}
    body = await refused(client, admin, form)
    assert body["details"] == [{
        "item": "age", "pointer": "/items/0/items/2/validations/0/rule",
        "message": ">= compares a number with a string: json-logic-js would coerce them",
    }]


async def test_duplicate_ids_and_missing_value_set_are_refused(
    client: TestClient, admin: Headers
) -> None:
    form = example()
    form["items"][0]["items"][1]["id"] = "question1"
    form["items"][0]["items"][1]["valueSet"] = "sizes"
    body = await refused(client, admin, form)
    assert body["details"] == [{
        "item": "question1", "pointer": "/items/0/items/1/id",
        "message": "item id question1 is used more than once",
    }]
    form = example()
    form["items"][0]["items"][1]["valueSet"] = "sizes"
    body = await refused(client, admin, form)
    assert body["details"] == [{
        "item": "question2", "pointer": "/items/0/items/1/valueSet", "message": "no value set sizes",
    }]


# -- update, delete, revisions ----------------------------------------------------------------


def renamed(label: str) -> dict[str, Any]:
    form = example()
    form["items"][0]["items"][0]["label"] = {"en": label}
    return form


async def test_update_needs_the_current_rev(client: TestClient, admin: Headers) -> None:
    rev1 = await create(client, admin)
    resp = await client.put("/api/forms/visitor-survey", json={**renamed("Full name"), "_rev": rev1},
                            headers=admin)
    assert resp.status == 200
    rev2 = (await resp.json())["_rev"]
    # Settee's _id and _rev, and Dialob's FormPutResponse beside them
    assert await resp.json() == {"_id": "visitor-survey", "_rev": rev2, "ok": True,
                                 "id": "visitor-survey", "rev": rev2} and rev2 != rev1
    # stale: the same rev again
    resp = await client.put("/api/forms/visitor-survey", json={**renamed("Other"), "_rev": rev1},
                            headers=admin)
    assert resp.status == 409
    assert await resp.json() == {"error": "conflict", "reason": "Document update conflict."}
    # no rev at all
    resp = await client.put("/api/forms/visitor-survey", json=renamed("Other"), headers=admin)
    assert resp.status == 409
    # two revisions that disagree: CouchDB's 400
    resp = await client.put("/api/forms/visitor-survey", json={**renamed("Third"), "_rev": rev1},
                            headers={**admin, "If-Match": rev2})
    assert resp.status == 400
    assert await resp.json() == {
        "error": "bad_request",
        "reason": "Document rev from request body and query string have different values",
    }
    # If-Match works as _rev does
    resp = await client.put("/api/forms/visitor-survey", json=renamed("Third"),
                            headers={**admin, "If-Match": rev2})
    assert resp.status == 200
    # each revision stays readable as it was
    resp = await client.get(f"/api/forms/visitor-survey?rev={rev1}", headers=admin)
    assert (await resp.json())["items"][0]["items"][0]["label"] == {"en": "Name", "fi": "Nimi"}
    resp = await client.get(f"/api/forms/visitor-survey?rev={rev2}", headers=admin)
    assert (await resp.json())["items"][0]["items"][0]["label"] == {"en": "Full name"}
    resp = await client.get("/api/forms/visitor-survey", headers=admin)
    assert (await resp.json())["items"][0]["items"][0]["label"] == {"en": "Third"}


async def test_concurrent_updates_on_one_rev_one_wins(client: TestClient, admin: Headers) -> None:
    rev = await create(client, admin)
    answers = await asyncio.gather(*[
        client.put("/api/forms/visitor-survey", json={**renamed(f"Name {n}"), "_rev": rev},
                   headers=admin)
        for n in range(4)
    ])
    assert sorted(r.status for r in answers) == [200, 409, 409, 409]


async def test_update_refusals(client: TestClient, admin: Headers) -> None:
    rev = await create(client, admin)
    resp = await client.put("/api/forms/nope", json={**example(id="nope"), "_rev": rev},
                            headers=admin)
    assert resp.status == 404
    resp = await client.put("/api/forms/visitor-survey", json={**example(id="other"), "_rev": rev},
                            headers=admin)
    assert resp.status == 400
    assert await resp.json() == {
        "error": "bad_request",
        "reason": "the form's id other is not the id in the path (visitor-survey)",
        "details": [{"pointer": "/id", "message": "must be visitor-survey"}],
    }
    broken = example()
    broken["items"][0]["items"][0]["required"] = {"var": "nothing"}
    resp = await client.put("/api/forms/visitor-survey", json={**broken, "_rev": rev}, headers=admin)
    assert resp.status == 400
    assert (await resp.json())["details"][0]["item"] == "question1"


async def test_delete_keeps_revisions_for_sessions(
    client: TestClient, admin: Headers, store: Store
) -> None:
    rev = await create(client, admin)
    resp = await client.delete("/api/forms/visitor-survey?rev=1-0", headers=admin)
    assert resp.status == 409
    resp = await client.delete("/api/forms/visitor-survey", headers=admin)
    assert resp.status == 409
    resp = await client.delete(f"/api/forms/visitor-survey?rev={rev}", headers=admin)
    assert resp.status == 200
    assert (await resp.json())["_id"] == "visitor-survey"
    resp = await client.get("/api/forms/visitor-survey", headers=admin)
    assert resp.status == 404
    # a session on that revision keeps working
    form = await load_form(store, "visitor-survey", rev)
    assert form.document == EXAMPLE
    resp = await client.get(f"/api/forms/visitor-survey?rev={rev}", headers=admin)
    assert resp.status == 200
    resp = await client.delete(f"/api/forms/nope?rev={rev}", headers=admin)
    assert resp.status == 404


# -- tags -----------------------------------------------------------------------------------


async def test_tag_freezes_a_revision(client: TestClient, admin: Headers) -> None:
    rev1 = await create(client, admin)
    resp = await client.post("/api/forms/visitor-survey/tags",
                             json={"name": "v1", "description": "first"}, headers=admin)
    assert resp.status == 201
    tag = await resp.json()
    assert tag == {"name": "v1", "description": "first", "formId": "visitor-survey",
                   "formName": "visitor-survey", "formRev": rev1, "created": tag["created"]}
    resp = await client.put("/api/forms/visitor-survey", json={**renamed("Changed"), "_rev": rev1},
                            headers=admin)
    rev2 = (await resp.json())["_rev"]
    # the tag still answers the first revision, unchanged
    resp = await client.get("/api/forms/visitor-survey?rev=v1", headers=admin)
    assert await resp.json() == {"_id": "visitor-survey", "_rev": rev1, **EXAMPLE}
    resp = await client.get("/api/forms/visitor-survey/tags/v1", headers=admin)
    assert await resp.json() == tag
    # a tag of a given older revision, and the list
    resp = await client.post("/api/forms/visitor-survey/tags",
                             json={"name": "v2"}, headers=admin)
    assert (await resp.json())["formRev"] == rev2
    resp = await client.post("/api/forms/visitor-survey/tags",
                             json={"name": "first", "rev": rev1}, headers=admin)
    assert (await resp.json())["formRev"] == rev1
    resp = await client.get("/api/forms/visitor-survey/tags", headers=admin)
    listed = (await resp.json())["tags"]
    assert [(t["name"], t["formRev"]) for t in listed] == [("first", rev1), ("v1", rev1),
                                                            ("v2", rev2)]


async def test_tag_refusals(client: TestClient, admin: Headers) -> None:
    await create(client, admin)
    resp = await client.post("/api/forms/visitor-survey/tags", json={"name": "v1"}, headers=admin)
    assert resp.status == 201
    resp = await client.post("/api/forms/visitor-survey/tags", json={"name": "v1"}, headers=admin)
    assert resp.status == 409
    assert await resp.json() == {"error": "conflict",
                                 "reason": "form visitor-survey already has a tag v1"}
    for name in ("LATEST", "1-abc"):
        resp = await client.post("/api/forms/visitor-survey/tags", json={"name": name},
                                 headers=admin)
        assert resp.status == 400
        assert (await resp.json())["details"][0]["pointer"] == "/name"
    resp = await client.post("/api/forms/nope/tags", json={"name": "v1"}, headers=admin)
    assert resp.status == 404
    resp = await client.post("/api/forms/visitor-survey/tags", json={"name": "v3", "rev": "7-ab"},
                             headers=admin)
    assert resp.status == 404


# -- listing ----------------------------------------------------------------------------------


async def test_list_pages_with_a_cursor(client: TestClient, admin: Headers) -> None:
    revs = {}
    for n in range(5):
        revs[f"form{n}"] = await create(client, admin, example(id=f"form{n}"))
    seen: list[dict[str, Any]] = []
    url = "/api/forms?limit=2"
    pages = 0
    while True:
        resp = await client.get(url, headers=admin)
        assert resp.status == 200
        page = await resp.json()
        seen += page["rows"]
        pages += 1
        if page["next"] is None:
            break
        url = page["next"]
    assert pages == 3
    assert [f["_id"] for f in seen] == [f"form{n}" for n in range(5)]
    assert seen[0] == {"_id": "form0", "_rev": revs["form0"], "label": EXAMPLE["label"],
                       "languages": ["en", "fi"], "createdAt": seen[0]["createdAt"],
                       "updatedAt": seen[0]["updatedAt"]}
    resp = await client.get("/api/forms?limit=0", headers=admin)
    assert resp.status == 400


# -- roles ------------------------------------------------------------------------------------


async def test_roles(client: TestClient, admin: Headers, make_user: UserFactory) -> None:
    rev = await create(client, admin)
    reader = await make_user("reader")
    device = await make_user("device")
    for who in (reader, device):
        resp = await client.get("/api/forms/visitor-survey", headers=who)
        assert resp.status == 200
        resp = await client.get("/api/forms", headers=who)
        assert resp.status == 200
        resp = await client.get("/api/forms/visitor-survey/tags", headers=who)
        assert resp.status == 200
        writes = [
            client.post("/api/forms", json=example(id="x"), headers=who),
            client.put("/api/forms/visitor-survey", json={**EXAMPLE, "_rev": rev}, headers=who),
            client.delete(f"/api/forms/visitor-survey?rev={rev}", headers=who),
            client.post("/api/forms/visitor-survey/tags", json={"name": "v1"}, headers=who),
        ]
        for write in writes:
            resp = await write
            assert resp.status == 403
            assert (await resp.json())["error"] == "forbidden"
    resp = await client.get("/api/forms/visitor-survey")
    assert resp.status == 401
    assert (await resp.json())["error"] == "unauthorized"
    resp = await client.post("/api/forms", json=EXAMPLE)
    assert resp.status == 401


# -- load_form (the Session API's entry) ------------------------------------------------------


async def test_load_form_latest_rev_and_tag(client: TestClient, admin: Headers, store: Store) -> None:
    rev1 = await create(client, admin)
    await client.post("/api/forms/visitor-survey/tags", json={"name": "v1"}, headers=admin)
    resp = await client.put("/api/forms/visitor-survey", json={**renamed("New"), "_rev": rev1},
                            headers=admin)
    rev2 = (await resp.json())["_rev"]
    latest = await load_form(store, "visitor-survey")
    assert (latest.form_id, latest.rev) == ("visitor-survey", rev2)
    tagged = await load_form(store, "visitor-survey", "v1")
    assert tagged == FormRevision("visitor-survey", rev1, EXAMPLE)
    exact = await load_form(store, "visitor-survey", rev1)
    assert exact == tagged
    state = evaluate(tagged, {}, {"contextVar1": 1}, {}, "en").item("question1")
    assert state is not None and state.label == "Name"
    for rev in ("v7", "3-abc"):
        with pytest.raises(ApiError) as raised:
            await load_form(store, "visitor-survey", rev)
        assert (raised.value.status, raised.value.couch_error) == (404, "not_found")
    with pytest.raises(ApiError):
        await load_form(store, "nope")


async def test_snapshot_written_late_is_healed(client: TestClient, admin: Headers,
                                               store: Store) -> None:
    """A save whose snapshot write was lost (engine gone right after) still loads by rev."""
    rev = await create(client, admin)
    snapshot = await store.get(REGISTRY, f"formrev:visitor-survey:{rev}")
    await store.delete(REGISTRY, snapshot["_id"], snapshot["_rev"])
    form = await load_form(store, "visitor-survey", rev)
    assert form.document == EXAMPLE
    assert (await store.get_or_none(REGISTRY, f"formrev:visitor-survey:{rev}")) is not None


async def test_what_get_answers_can_be_put_back(client: TestClient, admin: Headers) -> None:
    """GET -> edit -> PUT round-trips; extension fields (`x-...`) are kept as written."""
    await create(client, admin, example(**{"x-owner": "events team"}))
    resp = await client.get("/api/forms/visitor-survey", headers=admin)
    body = await resp.json()
    body["items"][0]["items"][0]["x-hint"] = "as on the badge"
    resp = await client.put("/api/forms/visitor-survey", json=body, headers=admin)
    assert resp.status == 200
    rev = (await resp.json())["_rev"]
    resp = await client.get("/api/forms/visitor-survey", headers=admin)
    saved = await resp.json()
    assert saved["_rev"] == rev and saved["x-owner"] == "events team"
    assert saved["items"][0]["items"][0]["x-hint"] == "as on the badge"
