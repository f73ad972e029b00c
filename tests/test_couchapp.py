"""Design documents: the loader's rules, deployment and its idempotency, views and
validate_doc_update, each through the real engine."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from service import couchapp
from service.engine import EngineAccess
from service.errors import Forbidden
from service.settings import Settings
from service.store import DEVICE_TEMPLATE, RECORDS, REGISTRY, Store

from .conftest import UserFactory


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_loader_turns_folders_into_design_documents(tmp_path: Path) -> None:
    write(tmp_path / "records" / "things" / "views" / "things_by_kind" / "map.js",
          "function (doc) { emit(doc.kind, null); }\n\n")
    write(tmp_path / "records" / "things" / "views" / "things_by_kind" / "reduce", "_count\n")
    write(tmp_path / "records" / "things" / "options.json", '{"partitioned": false}')
    write(tmp_path / "registry" / "named" / "_id", "_design/other-name")
    write(tmp_path / "registry" / "named" / "validate_doc_update.js", "function () {}")
    apps = couchapp.load_couchapp(tmp_path)
    assert apps == {
        "records": [{
            "_id": "_design/things",
            "language": "javascript",
            "options": {"partitioned": False},
            "views": {"things_by_kind": {
                "map": "function (doc) { emit(doc.kind, null); }", "reduce": "_count",
            }},
        }],
        "registry": [{
            "_id": "_design/other-name",
            "language": "javascript",
            "validate_doc_update": "function () {}",
        }],
        "internal": [],
        "catalog": [],
        "device": [],
    }


def test_a_code_macro_brings_in_shared_code(tmp_path: Path) -> None:
    write(tmp_path / "lib" / "row.js", "  var value = [doc.kind];\n")
    write(tmp_path / "records" / "things" / "views" / "by_kind" / "map.js",
          "function (doc) {\n  // !code lib/row.js\n  emit(doc.kind, value);\n}\n")
    (doc,) = couchapp.load_couchapp(tmp_path)["records"]
    assert doc["views"]["by_kind"]["map"] == (
        "function (doc) {\n  var value = [doc.kind];\n  emit(doc.kind, value);\n}")


def test_the_interaction_views_share_their_row_code() -> None:
    docs = {doc["_id"]: doc for doc in couchapp.load_couchapp()["records"]}
    maps = [view["map"] for ddoc in ("_design/interactions", "_design/owners")
            for view in docs[ddoc]["views"].values()]
    assert len(maps) == 5
    assert all("!code" not in m and "var value = [doc.interactionType" in m for m in maps)


def test_loader_refuses_a_folder_that_is_no_database(tmp_path: Path) -> None:
    write(tmp_path / "elsewhere" / "x" / "views" / "v" / "map.js", "function (doc) {}")
    with pytest.raises(ValueError, match="elsewhere"):
        couchapp.load_couchapp(tmp_path)


def test_the_project_couchapp_loads() -> None:
    apps = couchapp.load_couchapp()
    ids = {doc["_id"] for docs in apps.values() for doc in docs}
    assert {"_design/validate", "_design/types"} <= ids


async def test_start_up_deployed_everything_and_a_second_deploy_writes_nothing(
    store: Store,
) -> None:
    for db, docs in couchapp.load_couchapp().items():
        if db == DEVICE_TEMPLATE:
            continue  # deployed into each device's database (tests/test_devices.py)
        for doc in docs:
            stored = await store.get(db, doc["_id"])
            assert {k: v for k, v in stored.items() if k != "_rev"} == doc
    assert await couchapp.deploy(store) == []


async def test_a_changed_design_document_is_deployed_once(store: Store, tmp_path: Path) -> None:
    write(tmp_path / "records" / "probe" / "views" / "docs_by_id" / "map.js",
          "function (doc) { emit(doc._id, 1); }")
    assert await couchapp.deploy(store, tmp_path) == ["records/_design/probe"]
    assert await couchapp.deploy(store, tmp_path) == []
    write(tmp_path / "records" / "probe" / "views" / "docs_by_id" / "map.js",
          "function (doc) { emit(doc._id, 2); }")
    assert await couchapp.deploy(store, tmp_path) == ["records/_design/probe"]
    stored = await store.get(RECORDS, "_design/probe")
    assert stored["_rev"].startswith("2-")
    assert stored["views"]["docs_by_id"]["map"] == "function (doc) { emit(doc._id, 2); }"


async def test_several_processes_deploying_at_once_agree(
    settings: Settings, engine: EngineAccess, tmp_path: Path
) -> None:
    write(tmp_path / "records" / "race" / "views" / "docs_by_id" / "map.js",
          "function (doc) { emit(doc._id, null); }")
    stores = [Store(settings, engine.url, engine.user, engine.password) for _ in range(6)]
    try:
        await stores[0].ensure_databases()
        written = await asyncio.gather(*(couchapp.deploy(s, tmp_path) for s in stores))
        assert sum(len(w) for w in written) >= 1
        stored = await stores[0].get(RECORDS, "_design/race")
        assert stored["_rev"].startswith("1-")  # identical content is never written twice
    finally:
        for s in stores:
            await s.close()


async def test_docs_by_type_view_counts_and_orders(store: Store) -> None:
    docs = [
        {"_id": f"doc{i}", "type": kind, "createdAt": at, "updatedAt": at}
        for i, (kind, at) in enumerate([
            ("interaction", "2026-01-02T00:00:00+00:00"),
            ("questionnaire", "2026-01-01T00:00:00+00:00"),
            ("interaction", "2026-01-01T00:00:00+00:00"),
        ])
    ]
    results = await store.bulk_docs(RECORDS, docs)
    assert all("rev" in r for r in results)
    grouped = await store.view(RECORDS, "types", "docs_by_type", group_level=1)
    assert grouped["rows"] == [
        {"key": ["interaction"], "value": 2}, {"key": ["questionnaire"], "value": 1},
    ]
    rows = await store.view(
        RECORDS, "types", "docs_by_type", reduce=False,
        startkey=["interaction"], endkey=["interaction", {}],
    )
    assert [r["id"] for r in rows["rows"]] == ["doc2", "doc0"]


async def test_interactions_by_owner_keys_each_by_device_and_by_creator(store: Store) -> None:
    stamp = "2026-01-01T00:00:00+00:00"
    docs = [
        {"_id": "interaction:0000000002", "type": "interaction", "id": 2, "interactionType": "lead",
         "firstDelegate": 5, "firstDevice": 7, "createdBy": "device-7", "updatedAt": stamp},
        {"_id": "interaction:0000000001", "type": "interaction", "id": 1, "interactionType": "join",
         "firstDelegate": 5, "createdBy": "kiosk", "updatedAt": stamp},
        {"_id": "interaction:0000000003", "type": "interaction", "id": 3, "interactionType": "lead",
         "firstDelegate": 6, "firstDevice": 8, "recordedAt": stamp, "updatedAt": stamp},
        {"_id": "q", "type": "questionnaire", "owner": "kiosk", "updatedAt": stamp},
    ]
    assert all("rev" in r for r in await store.bulk_docs(RECORDS, docs))
    rows = (await store.view(RECORDS, "owners", "interactions_by_owner", reduce=False))["rows"]
    assert [(r["key"], r["value"]) for r in rows] == [
        (["device", 7, 2], ["lead", None, stamp, [5], [7]]),
        (["device", 8, 3], ["lead", stamp, stamp, [6], [8]]),
        (["user", "device-7", 2], ["lead", None, stamp, [5], [7]]),
        (["user", "kiosk", 1], ["join", None, stamp, [5], []]),
    ]
    counted = await store.view(RECORDS, "owners", "interactions_by_owner", group_level=2)
    assert [(r["key"], r["value"]) for r in counted["rows"]] == [
        (["device", 7], 1), (["device", 8], 1), (["user", "device-7"], 1), (["user", "kiosk"], 1)]


async def as_user(engine: EngineAccess, headers: dict[str, str], method: str, path: str,
                  doc: dict[str, object] | None) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as http:
        async with http.request(
            method, engine.url + path, data=json.dumps(doc) if doc is not None else None,
            headers={**headers, "Content-Type": "application/json", "Accept": "application/json"},
        ) as resp:
            return resp.status, json.loads(await resp.read())


RECORD = {"type": "interaction", "createdAt": "2026-01-01T00:00:00+00:00",
          "updatedAt": "2026-01-01T00:00:00+00:00"}


async def test_devices_and_readers_cannot_reach_records_directly(
    store: Store, engine: EngineAccess, make_user: UserFactory
) -> None:
    """The records database has no validate_doc_update: only admins are its members, everyone
    else reaches records through the service."""
    records = "/" + store.db(RECORDS)
    await store.put(RECORDS, {"_id": "r1", **RECORD})
    for role in ("device", "reader"):
        user = await make_user(role)
        for method, path, doc in [
            ("GET", f"{records}/r1", {}),
            ("GET", f"{records}/_all_docs", {}),
            ("GET", f"{records}/_changes", {}),
            ("PUT", f"{records}/r2", RECORD),
            ("POST", f"{records}/_bulk_docs", {"docs": [RECORD]}),
        ]:
            status, body = await as_user(engine, user, method, path, doc)
            # PouchDB Server answers a refused _bulk_docs 201 with an error per document.
            refused = status in (401, 403) or (
                isinstance(body, list) and all(r.get("error") == "unauthorized" for r in body))
            assert refused, (role, method, path, status, body)
    assert [row["id"] for row in (await store.all_docs(RECORDS))["rows"]
            if not row["id"].startswith("_design/")] == ["r1"]
    admin = await make_user("admin")
    status, body = await as_user(engine, admin, "PUT", f"{records}/r3", RECORD)
    assert status == 201, body
    status, body = await as_user(engine, admin, "GET", f"{records}/r1", {})
    assert status == 200 and body["type"] == "interaction"


async def test_the_records_validate_doc_update_is_retired(store: Store) -> None:
    assert await store.get_or_none(RECORDS, "_design/validate") is None
    # A database deployed by an earlier version loses the function at the next deployment.
    await store.put(RECORDS, {"_id": "_design/validate",
                              "validate_doc_update": "function (newDoc) { throw({forbidden: 'no'}); }"})
    assert await couchapp.deploy(store) == ["records/_design/validate (removed)"]
    assert await store.get_or_none(RECORDS, "_design/validate") is None
    await store.put(RECORDS, {"_id": "written-by-the-service", "no": "type needed"})
    assert await couchapp.deploy(store) == []


async def test_validate_doc_update_on_the_registry(
    store: Store, engine: EngineAccess, make_user: UserFactory
) -> None:
    registry = "/" + store.db(REGISTRY)
    for role in ("device", "reader"):  # not even members: devices pull the catalog instead
        status, _ = await as_user(engine, await make_user(role), "PUT", f"{registry}/d1",
                                  {**RECORD, "type": "delegate"})
        assert status in (401, 403)
        status, _ = await as_user(engine, await make_user(role), "GET",
                                  f"{registry}/_all_docs", None)
        assert status in (401, 403)
    status, _ = await as_user(engine, await make_user("admin"), "PUT", f"{registry}/d1",
                              {**RECORD, "type": "delegate"})
    assert status == 201
    with pytest.raises(Forbidden, match="type is required"):
        await store.put(REGISTRY, {"_id": "d2", "name": "no type"})


async def test_the_internal_database_is_closed_to_users(
    store: Store, engine: EngineAccess, make_user: UserFactory
) -> None:
    internal = "/" + store.db("internal")
    for role in ("admin", "device", "reader"):
        status, _ = await as_user(engine, await make_user(role), "PUT", f"{internal}/x", RECORD)
        assert status in (401, 403)


async def test_changed_views_on_a_big_database_are_built_before_going_live(
    settings: Settings, engine: EngineAccess, tmp_path: Path
) -> None:
    from dataclasses import replace

    big = Store(replace(settings, stage_views_at=2), engine.url, engine.user, engine.password)
    try:
        await big.ensure_databases()
        view = tmp_path / "records" / "probe" / "views" / "docs_by_id" / "map.js"
        write(view, "function (doc) { if (doc.type) { emit(doc._id, 1); } }")
        assert await couchapp.deploy(big, tmp_path) == ["records/_design/probe"]  # new: no staging
        await big.bulk_docs(RECORDS, [{"_id": f"r{i}", **RECORD} for i in range(3)])

        write(view, "function (doc) { if (doc.type) { emit(doc._id, 2); } }")
        assert await couchapp.deploy(big, tmp_path) == ["records/_design/probe"]
        rows = (await big.view(RECORDS, "probe", "docs_by_id"))["rows"]
        assert [r["value"] for r in rows] == [2, 2, 2]
        # It went through a staged copy, which is gone again.
        changes = await big.changes(RECORDS)
        staged = [c for c in changes["results"] if c["id"] == "_design/probe-staged"]
        assert len(staged) == 1 and staged[0].get("deleted") is True
        assert await couchapp.deploy(big, tmp_path) == []
    finally:
        await big.close()


async def test_small_databases_and_new_design_documents_are_not_staged(
    store: Store, tmp_path: Path
) -> None:
    view = tmp_path / "records" / "probe" / "views" / "docs_by_id" / "map.js"
    write(view, "function (doc) { emit(doc._id, 1); }")
    await couchapp.deploy(store, tmp_path)
    write(view, "function (doc) { emit(doc._id, 2); }")
    assert await couchapp.deploy(store, tmp_path) == ["records/_design/probe"]
    changes = await store.changes(RECORDS)
    assert not [c for c in changes["results"] if c["id"].endswith("-staged")]
