"""`import-delegates` in bulk: badges stay unique within the file and against existing
delegates, chunk boundaries change nothing, and an import stopped half-way writes no copies."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from service.directory.importing import SCOPE, import_delegates, read_delegates
from service.idempotency import fingerprint_of, key_doc_id
from service.schemas import SchemaRegistry
from service.settings import Settings
from service.store import INTERNAL, REGISTRY, Store
from tests.interaction_helpers import Client, Headers


async def delegates_in(store: Store) -> list[dict[str, Any]]:
    answer = await store.all_docs(REGISTRY, startkey="delegate:", endkey="delegate:\ufff0",
                                  include_docs=True)
    return [row["doc"] for row in answer["rows"]]


async def badge_holders(store: Store) -> dict[str, int]:
    answer = await store.all_docs(INTERNAL, startkey="badge:", endkey="badge:\ufff0",
                                  include_docs=True)
    return {row["doc"]["badge"]: row["doc"]["delegate"] for row in answer["rows"]}


async def test_bulk_import_keeps_badges_unique(
    client: Client, admin: Headers, store: Store, settings: Settings, tmp_path: Path
) -> None:
    resp = await client.post("/delegate/new", json={"name": "Existing", "badge": "B-0"},
                             headers=admin)
    existing = (await resp.json())["data"]["id"]
    path = tmp_path / "delegates.csv"
    path.write_text(
        "name,email,company,badge,diet\n"
        "Ada,ada@example.org,Engines,B-1,vegan\n"   # line 2
        "Bob,,,B-2,\n"                              # 3
        "Carol,,,B-1,\n"                            # 4: B-1 is Ada's (same file)
        "Dan,,,B-0,\n"                              # 5: B-0 is an existing delegate's
        "Ada,ada@example.org,Engines,B-1,vegan\n"   # 6: line 2 again: the same delegate
        "Eve,not-an-email,,B-3,\n"                  # 7: refused by the schema
        "Fay,,,,\n"                                 # 8
        "Gus,,,B-1,\n"                              # 9: B-1 again
        "Hal,,,B-3,\n"                              # 10: B-3 is free (line 7 was refused)
        "Ivy,,,B-4,\n"                              # 11
        "Jo,,,B-5,,surplus,cells\n",                # 12: more cells than columns
        encoding="utf-8",
    )
    schemas = SchemaRegistry(settings.schemas_dir)
    report = await import_delegates(store, schemas, read_delegates(path), progress=False,
                                    chunk_size=3)
    by_name = {doc["name"]: doc for doc in await delegates_in(store)}
    ada = by_name["Ada"]["id"]
    assert report.summary().splitlines() == [
        "created 5 delegate(s), 1 already imported, 5 row(s) refused",
        f"  line 4: badge B-1 already belongs to delegate {ada}",
        f"  line 5: badge B-0 already belongs to delegate {existing}",
        "  line 7: /email: 'not-an-email' does not match '^[^@\\\\s]+@[^@\\\\s]+$'",
        f"  line 9: badge B-1 already belongs to delegate {ada}",
        "  line 12: 2 cell(s) more than the header has columns",
    ]
    assert sorted(by_name) == ["Ada", "Bob", "Existing", "Fay", "Hal", "Ivy"]
    assert by_name["Ada"]["data"] == {"diet": "vegan"}
    assert by_name["Ada"]["email"] == "ada@example.org"
    assert "badge" not in by_name["Fay"]
    holders = await badge_holders(store)
    assert holders == {doc["badge"]: doc["id"] for doc in by_name.values() if "badge" in doc}
    assert len({doc["id"] for doc in by_name.values()}) == 6
    found = await (await client.get("/delegate/list?badge=B-3", headers=admin)).json()
    assert [d["name"] for d in found["data"]] == ["Hal"]

    again = await import_delegates(store, schemas, read_delegates(path), progress=False,
                                   chunk_size=4)
    assert again.summary().splitlines()[0] == \
        "created 0 delegate(s), 6 already imported, 5 row(s) refused"
    assert len(await delegates_in(store)) == 6


async def test_an_import_stopped_before_it_finished_writes_no_copies(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "delegates.csv"
    path.write_text("name,badge\nAda,B-1\nBob,\nCarol,B-3\n", encoding="utf-8")
    schemas = SchemaRegistry(settings.schemas_dir)
    first = await import_delegates(store, schemas, read_delegates(path), progress=False)
    assert first.created == 3
    before = {doc["name"]: doc["id"] for doc in await delegates_in(store)}
    # As if the import had stopped after its records (badge claims, and an idempotency record
    # for the row without a badge), before writing the delegates.
    for doc in await delegates_in(store):
        await store.delete(REGISTRY, doc["_id"], doc["_rev"])
    keys = await store.all_docs(INTERNAL, startkey="idem:", endkey="idem:\ufff0",
                                include_docs=True)
    assert [(row["id"], row["doc"]["result"]) for row in keys["rows"]] == [
        (key_doc_id(SCOPE, fingerprint_of({"name": "Bob"})), before["Bob"])]
    assert await badge_holders(store) == {"B-1": before["Ada"], "B-3": before["Carol"]}

    again = await import_delegates(store, schemas, read_delegates(path), progress=False)
    assert (again.created, again.already, again.failed) == (3, 0, [])
    assert {doc["name"]: doc["id"] for doc in await delegates_in(store)} == before
    assert await badge_holders(store) == {"B-1": before["Ada"], "B-3": before["Carol"]}
    last = await import_delegates(store, schemas, read_delegates(path), progress=False)
    assert (last.created, last.already, last.failed) == (0, 3, [])
