"""How interactions are written: one engine request per create (limit rules included), one
per batch; limit guards exact under races; ids taken by others never fail a create; an
idempotency key answers only its own record. Engine requests are counted by a proxy in
front of the real engine."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bench.proxy import CountingProxy
from service import keys
from service.app import create_app
from service.clock import now_iso
from service.directory.roster import roster
from service.engine import EngineAccess
from service.ids import doc_id
from service.schemas import SCHEMAS_DIR
from service.settings import Settings
from service.store import INTERNAL, RECORDS, Store
from tests.interaction_helpers import Client, Headers, new_delegate, new_device

AppClient = Callable[..., Awaitable[TestClient]]


@pytest.fixture
async def proxy(engine: EngineAccess) -> AsyncIterator[CountingProxy]:
    counting = CountingProxy(engine.url)
    await counting.start()
    yield counting
    await counting.close()


@pytest.fixture
async def counted(aiohttp_client: AppClient, settings: Settings, proxy: CountingProxy) -> Client:
    """A service whose every engine request goes through the counting proxy."""
    return await aiohttp_client(create_app(replace(settings, couchdb_url=proxy.url)))


async def interactions(store: Store) -> list[dict[str, Any]]:
    rows = (await store.all_docs(RECORDS, startkey="interaction:", endkey="interaction:\ufff0",
                                 include_docs=True))["rows"]
    return [row["doc"] for row in rows]


async def guards(store: Store) -> list[dict[str, Any]]:
    rows = (await store.all_docs(RECORDS, startkey="guard:", endkey="guard:\ufff0",
                                 include_docs=True))["rows"]
    return [row["doc"] for row in rows]


async def roster_holds(client: Client, *numbers: int) -> None:
    """Wait until the service's roster has read these delegates and devices from the feed (as
    at an event, where the registry is loaded before the doors open)."""
    held = roster(client.app[keys.STORE])
    for _ in range(400):
        if held.ready and all(any(f"{kind}:{n:010d}" in held.ids for kind in ("delegate", "device"))
                              for n in numbers):
            return
        await asyncio.sleep(0.025)
    raise AssertionError("the roster never caught up")


def records_path(settings: Settings, what: str) -> str:
    return f"/{settings.db_prefix}{RECORDS}/{what}"


async def test_a_create_is_one_engine_request_limit_rules_included(
    counted: Client, proxy: CountingProxy, admin: Headers, settings: Settings, store: Store
) -> None:
    door = await new_device(counted, admin)
    people = [await new_delegate(counted, admin) for _ in range(4)]
    await roster_holds(counted, door, *people)
    warm = await counted.post("/interaction/new/check-out",
                              json={"delegate": people[0], "device": door}, headers=admin)
    assert warm.status == 201  # the process's id block is reserved now
    bulk = ("POST", records_path(settings, "_bulk_docs"))

    for itype in ("check-in", "check-out"):
        mark = proxy.mark()
        resp = await counted.post(f"/interaction/new/{itype}",
                                  json={"delegate": people[1], "device": door}, headers=admin)
        assert resp.status == 201
        assert proxy.since(mark) == [bulk]

    mark = proxy.mark()
    batch = {"interactions": {str(i): {"delegate": d, "device": door, "interactionType": "check-in"}
                              for i, d in enumerate(people[2:])}}
    resp = await counted.post("/interaction/batch", json=batch, headers=admin)
    assert (await resp.json())["meta"] == {"total": 2, "succeeded": 2, "failed": 0}
    assert proxy.since(mark) == [bulk]

    # The refusal path reads the guard and its interaction, then deletes what it wrote.
    mark = proxy.mark()
    resp = await counted.post("/interaction/new/check-in",
                              json={"delegate": people[1], "device": door}, headers=admin)
    assert resp.status == 412
    assert [m for m, _ in proxy.since(mark)] == ["POST", "POST", "GET", "POST"]
    checked_in = [d for d in await interactions(store) if d["interactionType"] == "check-in"]
    assert len(checked_in) == 3


async def test_racing_check_ins_leave_one_record_and_one_guard(
    client: Client, admin: Headers, store: Store
) -> None:
    delegate, door = await new_delegate(client, admin), await new_device(client, admin)
    body = {"delegate": delegate, "device": door}
    batch = {"interactions": {"a": {**body, "interactionType": "check-in"}}}
    answers = await asyncio.gather(
        *(client.post("/interaction/new/check-in", json=body, headers=admin) for _ in range(5)),
        *(client.post("/interaction/batch", json=batch, headers=admin) for _ in range(3)),
    )
    created = [a for a in answers[:5] if a.status == 201]
    succeeded = [(await a.json())["meta"]["succeeded"] for a in answers[5:]]
    assert len(created) + sum(succeeded) == 1
    [winner] = [d for d in await interactions(store) if d["interactionType"] == "check-in"]
    slot = f"guard:check-in:maxPerDelegatePerDevice:{delegate}:{door}:1"
    assert winner["guards"] == [slot]
    [guard] = await guards(store)
    assert (guard["_id"], guard["interaction"]) == (slot, winner["_id"])


async def test_a_guard_whose_interaction_went_is_taken_over(
    client: Client, admin: Headers, store: Store
) -> None:
    delegate, door = await new_delegate(client, admin), await new_device(client, admin)
    body = {"delegate": delegate, "device": door}
    first = await (await client.post("/interaction/new/check-in", json=body, headers=admin)).json()
    # Deleted straight on the engine (its guard stays): the slot is free at once.
    stored = await store.get(RECORDS, doc_id("interaction", first["data"]["id"]))
    await store.delete(RECORDS, stored["_id"], stored["_rev"])
    second = await client.post("/interaction/new/check-in", json=body, headers=admin)
    assert second.status == 201
    second_id = doc_id("interaction", (await second.json())["data"]["id"])
    [guard] = await guards(store)
    assert guard["interaction"] == second_id and guard["_rev"].startswith("2-")

    # A guard naming an interaction that never appeared: held for the grace time, then free.
    other = await new_device(client, admin)
    slot = f"guard:check-in:maxPerDelegatePerDevice:{delegate}:{other}:1"
    orphan = {"_id": slot, "type": "guard", "interaction": "interaction:0999999999",
              "createdAt": now_iso(), "updatedAt": now_iso()}
    orphan["_rev"] = await store.put(RECORDS, orphan)
    body = {"delegate": delegate, "device": other}
    assert (await client.post("/interaction/new/check-in", json=body, headers=admin)).status == 412
    await store.put(RECORDS, {**orphan, "updatedAt": "2000-01-01T00:00:00+00:00"})
    assert (await client.post("/interaction/new/check-in", json=body, headers=admin)).status == 201


async def test_a_limit_of_two_is_exact_under_a_race_and_freed_by_a_delete(
    aiohttp_client: AppClient, settings: Settings, admin: Headers, store: Store, tmp_path: Path
) -> None:
    schemas = tmp_path / "schemas"
    shutil.copytree(SCHEMAS_DIR, schemas)
    (schemas / "interaction-types" / "meal.json").write_text(json.dumps({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://settee.example/schemas/interaction-types/meal.json",
        "title": "Meal",
        "participants": {"delegates": {"min": 1, "max": 1}, "devices": {"min": 0, "max": 0}},
        "rules": {"maxPerDelegate": 2}, "type": "object", "properties": {},
    }))
    client = await aiohttp_client(create_app(replace(settings, schemas_dir=schemas)))
    delegate = await new_delegate(client, admin)
    body = {"delegate": delegate}
    answers = await asyncio.gather(*(
        client.post("/interaction/new/meal", json=body, headers=admin) for _ in range(5)))
    assert sorted(a.status for a in answers) == [201, 201, 412, 412, 412]
    meals = {d["_id"]: d for d in await interactions(store)}
    assert len(meals) == 2
    held = {g["_id"]: g["interaction"] for g in await guards(store)}
    base = f"guard:meal:maxPerDelegate:{delegate}"
    assert sorted(held) == [f"{base}:1", f"{base}:2"]
    assert {meals[i]["guards"][0]: i for i in held.values()} == held  # each lists its own

    first = next(iter(meals.values()))
    assert (await client.delete(f"/interaction/id:{first['id']}", headers=admin)).status == 204
    assert (await client.post("/interaction/new/meal", json=body, headers=admin)).status == 201
    assert (await client.post("/interaction/new/meal", json=body, headers=admin)).status == 412


async def test_ids_written_ahead_never_fail_creates(
    client: Client, admin: Headers, store: Store
) -> None:
    delegate, door = await new_delegate(client, admin), await new_device(client, admin)
    body = {"delegate": delegate, "device": door}
    last = (await (await client.post("/interaction/new/check-out", json=body,
                                     headers=admin)).json())["data"]["id"]
    # Somebody wrote the next 20 ids of the process's block straight to the engine.
    ahead = [{"_id": doc_id("interaction", n), "type": "interaction", "id": n,
              "interactionType": "join", "firstDelegate": delegate, "createdAt": now_iso(),
              "updatedAt": now_iso()} for n in range(last + 1, last + 21)]
    assert all("rev" in r for r in await store.bulk_docs(RECORDS, ahead))

    single = await client.post("/interaction/new/check-in", json=body, headers=admin)
    assert single.status == 201
    batch = {"interactions": {str(i): {**body, "interactionType": "check-out"} for i in range(3)}}
    answer = await (await client.post("/interaction/batch", json=batch, headers=admin)).json()
    assert answer["meta"] == {"total": 3, "succeeded": 3, "failed": 0}

    numbers = [(await single.json())["data"]["id"]]
    numbers += [answer["data"][str(i)]["data"]["id"] for i in range(3)]
    assert len(set(numbers)) == 4 and not set(numbers) & {d["id"] for d in ahead}
    for number in numbers:
        stored = await store.get(RECORDS, doc_id("interaction", number))
        assert stored["createdBy"] and stored["firstDevice"] == door
    for doc in ahead:  # untouched
        assert (await store.get(RECORDS, doc["_id"]))["interactionType"] == "join"


async def test_an_idempotency_key_answers_only_its_own_record(
    client: Client, admin: Headers, store: Store
) -> None:
    """A document written straight to the engine at the id a key reserved is not that key's
    earlier write: the client gets its own record, stored under another id."""
    delegate, stranger = await new_delegate(client, admin), await new_delegate(client, admin)
    last = (await (await client.post("/interaction/new/join", json={"delegate": delegate},
                                     headers=admin)).json())["data"]["id"]
    squat = {"_id": doc_id("interaction", last + 1), "type": "interaction", "id": last + 1,
             "interactionType": "join", "firstDelegate": stranger, "createdAt": now_iso(),
             "updatedAt": now_iso()}
    await store.put(RECORDS, squat)

    key = {"Idempotency-Key": "scan-7", **admin}
    body = {"delegate": delegate, "recordedAt": 1700000000}
    resp = await client.post("/interaction/new/join", json=body, headers=key)
    assert resp.status == 201
    answer = await resp.json()
    number = answer["data"]["id"]
    assert number != last + 1
    assert answer["data"]["firstDelegate"] == {"id": delegate, "_type": "delegate"}
    stored = await store.get(RECORDS, doc_id("interaction", number))
    assert stored["firstDelegate"] == delegate and stored["recordedAt"].startswith("2023-11-14")
    assert (await store.get(RECORDS, squat["_id"]))["firstDelegate"] == stranger
    # The key's claim names the id the record went to, so a later retry finds it there.
    claims = (await store.all_docs(INTERNAL, startkey="idem:", endkey="idem:\ufff0",
                                   include_docs=True))["rows"]
    assert [c["doc"]["reserved"] for c in claims] == [{"id": number}]

    retry = await client.post("/interaction/new/join", json=body, headers=key)
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert await retry.json() == answer


async def test_a_batch_entry_refused_by_an_earlier_check_in_leaves_nothing(
    client: Client, admin: Headers, store: Store
) -> None:
    delegate, door = await new_delegate(client, admin), await new_device(client, admin)
    other = await new_delegate(client, admin)
    body = {"delegate": delegate, "device": door}
    assert (await client.post("/interaction/new/check-in", json=body, headers=admin)).status == 201
    batch = {"interactions": {
        "again": {**body, "interactionType": "check-in"},
        "fresh": {"delegate": other, "device": door, "interactionType": "check-in"},
    }}
    answer = await (await client.post("/interaction/batch", json=batch, headers=admin)).json()
    assert answer["meta"] == {"total": 2, "succeeded": 1, "failed": 1}
    assert answer["data"]["again"]["meta"]["error"]["internalCode"] == 740
    assert answer["data"]["again"]["meta"]["error"]["details"][0]["pointer"] == (
        "/interactions/again/firstDelegate")
    checked_in = sorted(d["firstDelegate"] for d in await interactions(store))
    assert checked_in == sorted([delegate, other])
    assert len(await guards(store)) == 2
