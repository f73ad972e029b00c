"""Dialob's fill protocol at /session/dialob: the example form filled to completion by
`@dialob/fill-api` itself, run in Node against the service on a loopback port (rows, a refused
NEXT with its errors, completion, then the submitUrl delivery); and the protocol's own rules
(full state, changes, a stale rev, a completed session) through plain requests."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from .conftest import Headers
from .receiver import Receiver
from .test_sessions import FORM_ID, Client, call, make_form, open_session, q, seed_request
from .test_sessions_delivery import AppFactory, fast, poll, start

__all__ = ["fast", "start"]  # fixtures this module uses from the delivery tests

ROOT = Path(__file__).parent.parent
FILL_SCRIPT = Path(__file__).parent / "js" / "fill_session.js"
Json = dict[str, Any]


def fill_url(session_id: str) -> str:
    return f"/session/dialob/{session_id}"


async def run_fill_api(client: Client, session_id: str, admin: Headers) -> Json:
    node = shutil.which("node")
    assert node, "Node.js runs @dialob/fill-api (make install needs it too)"
    endpoint = str(client.make_url("/session/dialob"))
    process = await asyncio.create_subprocess_exec(
        node, str(FILL_SCRIPT), endpoint, session_id, admin["Authorization"],
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    result: Json = json.loads(out)
    assert result["failures"] == []
    return result


async def test_fill_api_fills_the_example_form_to_completion_and_it_is_delivered(
    start: AppFactory, admin: Headers, receiver: Receiver
) -> None:
    client = await start()
    await make_form(client, admin)
    session_id = await open_session(client, admin, seed_request(submitUrl=receiver.url))
    steps = {step["step"]: step for step in (await run_fill_api(client, session_id, admin))["steps"]}

    pulled = steps["pulled"]
    assert pulled["locale"] == "en" and pulled["activeItem"] == "page1"
    assert pulled["availableItems"] == ["page1", "page2"]
    assert pulled["allowedActions"] == ["ANSWER", "NEXT"]
    assert pulled["page"] == {"id": "page1", "type": "group", "view": "page", "label": "About you",
                              "items": ["question1", "question2", "age"]}
    assert pulled["items"]["question1"] == {"id": "question1", "type": "text", "label": "Name",
                                            "required": True, "answered": False}
    assert pulled["items"]["question2"]["valueSetId"] == "colors"
    assert pulled["valueSets"] == {"colors": {"id": "colors", "entries": [
        {"key": "a", "value": "Red"}, {"key": "b", "value": "Blue"}]}}
    assert pulled["errors"] == {"question1": ["REQUIRED"]}
    assert pulled["variables"] == {"contextVar1": 21, "contextVar2": "test"}

    refused = steps["next refused"]
    assert refused["activeItem"] == "page1" and refused["errors"] == {"question1": ["REQUIRED"]}

    invalid = steps["answered, age invalid"]
    assert invalid["activeItem"] == "page1" and invalid["errors"] == {"age": ["VALIDATION"]}
    assert invalid["items"]["question2"]["value"] == ["a", "b"]

    page2 = steps["page2"]
    assert page2["activeItem"] == "page2" and page2["errors"] == {}
    assert page2["allowedActions"] == ["ANSWER", "PREVIOUS", "COMPLETE"]
    assert page2["page"]["items"] == ["group2"]

    rows = steps["two rows"]
    assert rows["items"]["group2"]["items"] == ["group2[1]", "group2[2]"]
    assert rows["items"]["group2[2]"]["items"] == [
        "group2[2].question3", "group2[2].question4", "group2[2].question5"]
    assert rows["errors"] == {"group2[1].question3": ["REQUIRED"],
                              "group2[2].question3": ["REQUIRED"]}

    answered = steps["row answered"]
    assert answered["items"]["group2"]["items"] == ["group2[2]"]
    assert "group2[1]" not in answered["items"] and "group2[1].question3" not in answered["items"]
    assert answered["items"]["group2[2].question3"]["value"] == "Bob"
    assert answered["errors"] == {}

    finnish = steps["finnish"]
    assert finnish["locale"] == "fi" and finnish["items"]["question1"]["label"] == "Nimi"
    assert finnish["items"][FORM_ID]["label"] == "Kävijäkysely"

    assert steps["completed"]["complete"] is True
    state = await call(client, "GET", q(session_id), admin)
    assert state["metadata"]["status"] == "COMPLETED"
    assert state["answers"] == [
        {"id": "group2[2].question4", "value": "Sales"}, {"id": "group2[2].question3", "value": "Bob"},
        {"id": "age", "value": 30}, {"id": "question2", "value": ["a", "b"]},
        {"id": "question1", "value": "Ann"}]
    assert state["tables"] == [{"tableId": "group2", "rows": ["group2[2]"]}]

    async def delivery() -> Json:
        return dict(await call(client, "GET", q(session_id, "/delivery"), admin))

    await poll(delivery, lambda d: d["state"] == "delivered")
    assert [body for body, _ in receiver.received] == [state]


async def test_full_state_and_changes(client: Client, admin: Headers) -> None:
    await make_form(client, admin)
    session_id = await open_session(client, admin)
    full = await call(client, "GET", fill_url(session_id), admin)
    rev = full["rev"]
    assert rev == (await call(client, "GET", q(session_id), admin))["_rev"]
    kinds = [a["type"] for a in full["actions"]]
    assert kinds[:2] == ["RESET", "LOCALE"] and kinds[-1] == "ERROR"
    assert {"type": "ERROR", "error": {"id": "question1", "code": "REQUIRED",
                                       "description": "This answer is required"}} in full["actions"]

    answer = await call(client, "POST", fill_url(session_id), admin,
                        {"rev": rev, "actions": [{"type": "ANSWER", "id": "question1", "answer": "x"}]})
    assert answer["rev"] != rev and answer["rev"].startswith("2-")
    assert answer["actions"] == [
        {"type": "REMOVE_ERROR", "error": {"id": "question1", "code": "REQUIRED",
                                           "description": "This answer is required"}},
        {"type": "ITEM", "item": {"id": "question1", "type": "text", "label": "Name",
                                  "required": True, "answered": True, "value": "x"}},
    ]
    # Skipping page 2 (its activeWhen) removes it and its items; the root item changes too.
    answer = await call(client, "POST", fill_url(session_id), admin, {
        "rev": answer["rev"], "actions": [{"type": "ANSWER", "id": "question1", "answer": "skip"}]})
    removed = [a for a in answer["actions"] if a["type"] == "REMOVE_ITEMS"]
    assert removed == [{"type": "REMOVE_ITEMS", "ids": ["page2", "group2"]}]
    root = next(a["item"] for a in answer["actions"]
                if a["type"] == "ITEM" and a["item"]["id"] == FORM_ID)
    assert root["availableItems"] == ["page1"] and root["allowedActions"] == ["ANSWER", "COMPLETE"]


async def test_refused_actions_are_skipped_and_undone(client: Client, admin: Headers) -> None:
    await make_form(client, admin)
    session_id = await open_session(client, admin)
    rev = (await call(client, "GET", fill_url(session_id), admin))["rev"]
    answer = await call(client, "POST", fill_url(session_id), admin, {"rev": rev, "actions": [
        {"type": "ANSWER", "id": "age", "answer": "old"},  # not a number: undone
        {"type": "ANSWER", "id": "question2", "answer": ["a"]},  # taken
        {"type": "NEXT"},  # question1 is required: refused
    ]})
    items = {a["item"]["id"]: a["item"] for a in answer["actions"] if a["type"] == "ITEM"}
    assert items["age"] == {"id": "age", "type": "number", "required": False, "answered": False}
    assert items["question2"]["value"] == ["a"]
    assert items[FORM_ID]["activeItem"] == "page1"
    state = await call(client, "GET", q(session_id), admin)
    assert state["answers"] == [{"id": "question2", "value": ["a"]}]
    # A refused COMPLETE answers the full state: fill-api counts itself complete once it sends one.
    refused = await call(client, "POST", fill_url(session_id), admin,
                         {"rev": state["_rev"], "actions": [{"type": "COMPLETE"}]})
    assert refused["actions"][0] == {"type": "RESET"} and {"type": "COMPLETE"} not in refused["actions"]
    assert refused == await call(client, "GET", fill_url(session_id), admin)


@pytest.mark.parametrize("stale", [0, "1-0123", None])
async def test_a_stale_rev_applies_the_actions_and_answers_the_full_state(
    client: Client, admin: Headers, stale: Any
) -> None:
    await make_form(client, admin)
    session_id = await open_session(client, admin)
    answer = await call(client, "POST", fill_url(session_id), admin, {
        "rev": stale, "actions": [{"type": "ANSWER", "id": "question1", "answer": "Ann"}]})
    assert answer["actions"][0] == {"type": "RESET"}
    assert answer == await call(client, "GET", fill_url(session_id), admin)
    state = await call(client, "GET", q(session_id), admin)
    assert state["answers"] == [{"id": "question1", "value": "Ann"}]


async def test_a_completed_session_takes_no_actions(client: Client, admin: Headers) -> None:
    await make_form(client, admin)
    session_id = await open_session(client, admin)
    rev = (await call(client, "GET", fill_url(session_id), admin))["rev"]
    done = await call(client, "POST", fill_url(session_id), admin, {"rev": rev, "actions": [
        {"type": "ANSWER", "id": "question1", "answer": "Ann"}, {"type": "COMPLETE"}]})
    assert done["actions"][-1] == {"type": "COMPLETE"}
    full = await call(client, "GET", fill_url(session_id), admin)
    assert full["actions"][-1] == {"type": "COMPLETE"} and full["rev"] == done["rev"]
    after = await call(client, "POST", fill_url(session_id), admin, {
        "rev": done["rev"], "actions": [{"type": "ANSWER", "id": "question1", "answer": "Bob"}]})
    assert after == {"rev": done["rev"], "actions": []}


async def test_fill_protocol_errors_and_roles(client: Client, admin: Headers,
                                              make_user: Any) -> None:
    missing = await call(client, "GET", fill_url("0" * 32), admin, status=404)
    assert missing["error"] == "not_found"
    bad = await call(client, "POST", fill_url("0" * 32), admin, {"rev": 0}, status=400)
    assert bad["error"] == "bad_request"
    await make_form(client, admin)
    session_id = await open_session(client, admin)
    reader = await make_user("reader")
    assert (await call(client, "GET", fill_url(session_id), reader))["rev"].startswith("1-")
    refused = await call(client, "POST", fill_url(session_id), reader, {"rev": 0, "actions": []},
                         status=403)
    assert refused["error"] == "forbidden"
