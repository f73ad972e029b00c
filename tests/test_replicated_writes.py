"""Replicated writes (`_bulk_docs` with `new_edits: false`, what CouchDB replication sends) into
a database with a validate_doc_update: stored as given, validated as Apache CouchDB validates
them, on whichever engine the suite runs."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from service.engine import EngineAccess

JsonDict = dict[str, Any]

DEVICE_SCRIPT = Path(__file__).with_name("device_sync.js")

# Refuses on request, and checks each edit against the revision it was made from: a branch is
# judged against its own parent, never against another branch's revision.
VALIDATE = """function (newDoc, oldDoc) {
  if (newDoc.refuse) {
    throw({forbidden: "refused"});
  }
  if (oldDoc && !newDoc._deleted && newDoc.step !== oldDoc.step + 1) {
    throw({forbidden: "step must follow its parent's"});
  }
}"""


@dataclass
class Database:
    url: str
    http: aiohttp.ClientSession

    async def request(self, method: str, path: str, body: object = None) -> tuple[int, Any]:
        async with self.http.request(
            method, self.url + path, data=None if body is None else json.dumps(body),
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        ) as resp:
            return resp.status, json.loads(await resp.read())

    async def replicate(self, *docs: JsonDict) -> tuple[int, Any]:
        return await self.request("POST", "/_bulk_docs", {"new_edits": False, "docs": list(docs)})

    async def open_revs(self, doc_id: str) -> list[JsonDict]:
        status, body = await self.request("GET", f"/{doc_id}?open_revs=all&revs=true")
        assert status == 200, body
        return sorted((row["ok"] for row in body), key=lambda doc: str(doc["_rev"]))


@pytest.fixture
async def database(engine: EngineAccess) -> AsyncIterator[Database]:
    """A database of this test's own, with the validate_doc_update above."""
    assert engine.user and engine.password
    auth = aiohttp.BasicAuth(engine.user, engine.password)
    async with aiohttp.ClientSession(auth=auth) as http:
        db = Database(f"{engine.url}/t{uuid.uuid4().hex[:12]}_replica", http)
        status, body = await db.request("PUT", "")
        assert status in (201, 202), body
        status, body = await db.request("PUT", "/_design/rules", {"validate_doc_update": VALIDATE})
        assert status == 201, body
        yield db
        await db.request("DELETE", "")


def revision(*revs: str, doc_id: str = "doc", **fields: Any) -> JsonDict:
    """A revision as a replicator sends it: `revs[0]` on top of the history `revs[1:]`."""
    return {"_id": doc_id, "_rev": revs[0], "_revisions": revisions(*revs), **fields}


def revisions(*revs: str) -> JsonDict:
    """The `_revisions` of a document whose history is `revs`, newest first."""
    return {"start": int(revs[0].split("-")[0]), "ids": [r.split("-")[1] for r in revs]}


A1, B2, C2, D3 = "1-" + "a" * 32, "2-" + "b" * 32, "2-" + "c" * 32, "3-" + "d" * 32


async def test_a_new_document_is_stored_with_its_history(database: Database) -> None:
    assert await database.replicate(revision(B2, A1, doc_id="new", step=2)) == (201, [])
    status, body = await database.request("GET", "/new?revs_info=true")
    assert (status, body) == (200, {
        "_id": "new", "_rev": B2, "step": 2,
        "_revs_info": [{"rev": B2, "status": "available"}, {"rev": A1, "status": "missing"}],
    })


async def test_an_edit_of_a_stored_document_is_stored_and_validated_against_it(
    database: Database,
) -> None:
    assert await database.replicate({"_id": "doc", "_rev": A1, "step": 1}) == (201, [])
    assert await database.replicate(revision(B2, A1, step=2)) == (201, [])
    status, body = await database.request("GET", "/doc?revs_info=true")
    assert (status, body) == (200, {
        "_id": "doc", "_rev": B2, "step": 2,
        "_revs_info": [{"rev": B2, "status": "available"}, {"rev": A1, "status": "available"}],
    })
    # The validation saw the stored parent: a step that does not follow it is refused.
    assert await database.replicate(revision(D3, B2, A1, step=9)) == (201, [
        {"id": "doc", "rev": D3, "error": "forbidden", "reason": "step must follow its parent's"}])
    status, body = await database.request("GET", "/doc")
    assert (status, body) == (200, {"_id": "doc", "_rev": B2, "step": 2})


async def test_an_edit_put_with_new_edits_false_is_stored(database: Database) -> None:
    # How CouchDB's replicator pushes a document with attachments.
    assert await database.replicate({"_id": "doc", "_rev": A1, "step": 1}) == (201, [])
    status, body = await database.request(
        "PUT", "/doc?new_edits=false",
        revision(B2, A1, step=2),
    )
    assert status == 201, body  # the body differs: CouchDB {ok, id, rev}, PouchDB Server []
    status, body = await database.request("GET", "/doc")
    assert (status, body) == (200, {"_id": "doc", "_rev": B2, "step": 2})


async def test_a_conflicting_branch_is_stored_and_validated_against_its_own_parent(
    database: Database,
) -> None:
    assert await database.replicate({"_id": "doc", "_rev": A1, "step": 1}) == (201, [])
    assert await database.replicate(revision(C2, A1, step=2)) == (201, [])
    # Another device edited the same parent: its branch follows 1-a, not the server's 2-c.
    assert await database.replicate(revision(B2, A1, step=2)) == (201, [])
    assert await database.open_revs("doc") == [
        revision(B2, A1, step=2),
        revision(C2, A1, step=2),
    ]
    status, body = await database.request("GET", "/doc?conflicts=true")
    assert (status, body) == (200, {"_id": "doc", "_rev": C2, "step": 2, "_conflicts": [B2]})


async def test_new_documents_and_edits_in_one_request_are_each_judged(
    database: Database,
) -> None:
    # A device's push mixes records new to the database with edits of stored ones: a new one
    # has no parent to follow, an edit is judged against the revision it was made from.
    assert await database.replicate({"_id": "old", "_rev": A1, "step": 1}) == (201, [])
    status, body = await database.replicate(
        {"_id": "new", "_rev": A1, "step": 7},
        revision(B2, A1, doc_id="old", step=5),
        revision(C2, A1, doc_id="other", step=9),
    )
    assert (status, body) == (201, [{"id": "old", "rev": B2, "error": "forbidden",
                                     "reason": "step must follow its parent's"}])
    assert await database.open_revs("new") == [
        revision(A1, doc_id="new", step=7)]
    assert await database.open_revs("other") == [
        revision(C2, A1, doc_id="other", step=9)]


async def test_a_deletion_is_stored(database: Database) -> None:
    assert await database.replicate({"_id": "doc", "_rev": A1, "step": 1}) == (201, [])
    assert await database.replicate(revision(B2, A1, _deleted=True)) == (201, [])
    status, body = await database.request("GET", "/doc")
    # The reason is "deleted" on CouchDB, "missing" on PouchDB Server.
    assert (status, body["error"]) == (404, "not_found")
    assert await database.open_revs("doc") == [
        revision(B2, A1, _deleted=True),
    ]


async def test_a_revision_the_database_has_is_accepted_again_without_change(
    database: Database,
) -> None:
    assert await database.replicate({"_id": "doc", "_rev": A1, "step": 1}) == (201, [])
    assert await database.replicate(revision(B2, A1, step=2)) == (201, [])
    # A resumed push sends it again: stored already, so not judged again (1 does not follow 2).
    assert await database.replicate(revision(A1, step=1)) == (201, [])
    assert await database.open_revs("doc") == [
        revision(B2, A1, step=2),
    ]


async def test_a_refused_document_is_not_stored_and_answered_forbidden(
    database: Database,
) -> None:
    assert await database.replicate(
        {"_id": "kept", "_rev": A1, "step": 1},
        {"_id": "refused", "_rev": A1, "step": 1, "refuse": True},
    ) == (201, [{"id": "refused", "rev": A1, "error": "forbidden", "reason": "refused"}])
    status, body = await database.request("GET", "/refused")
    assert (status, body) == (404, {"error": "not_found", "reason": "missing"})
    status, body = await database.request("GET", "/kept")
    assert (status, body) == (200, {"_id": "kept", "_rev": A1, "step": 1})


async def run_device(engine: EngineAccess, database: Database, writes: list[JsonDict]) -> JsonDict:
    node = shutil.which("node")
    assert node, "node is needed for the device tests"
    assert engine.user and engine.password
    process = await asyncio.create_subprocess_exec(
        node, str(DEVICE_SCRIPT), database.url,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "ENGINE_USER": engine.user, "ENGINE_PASSWORD": engine.password},
    )
    out, err = await process.communicate(json.dumps(writes).encode())
    assert process.returncode == 0, err.decode()
    result: JsonDict = json.loads(out)
    return result


async def test_pouchdb_replication_delivers_a_device_edit(
    engine: EngineAccess, database: Database,
) -> None:
    status, body = await database.request("PUT", "/doc", {"step": 1})
    assert status == 201, body
    pushed = await run_device(engine, database, [
        {"_id": "doc", "step": 2},
        {"_id": "other", "step": 1},
        {"_id": "refused", "step": 1, "refuse": True},
    ])
    revs = pushed.pop("revs")
    assert pushed == {"status": "complete", "docs_written": 2, "doc_write_failures": 1}
    assert revs["doc"].startswith("2-")
    status, body = await database.request("GET", "/doc")
    assert (status, body) == (200, {"_id": "doc", "_rev": revs["doc"], "step": 2})
    status, body = await database.request("GET", "/other")
    assert (status, body) == (200, {"_id": "other", "_rev": revs["other"], "step": 1})
    status, body = await database.request("GET", "/refused")
    assert status == 404, body
