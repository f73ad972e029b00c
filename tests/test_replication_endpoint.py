"""The replication endpoint (`/sync/devices/{id}`, `/sync/catalog`): CouchDB's protocol relayed
with the caller's credentials, a device's first revisions of interactions checked and written
straight into `records`, everything else judged as a push into the device's database is.
tests/test_device_replication.py drives it with real PouchDB; here each rule alone."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from service.app import create_app
from service.settings import Settings
from service.store import RECORDS, Store

from .conftest import Headers, basic_auth
from .interaction_helpers import new_delegate, new_device
from .test_devices import device_database, engine_status, provision
from .test_sync import a_provisioned_device, eventually, flags_of, interaction

Json = dict[str, Any]


@pytest.fixture
async def client(aiohttp_client: Callable[..., Awaitable[TestClient]], settings: Settings
                 ) -> TestClient:
    return await aiohttp_client(create_app(replace(settings, sync_poll_seconds=0.05)))


def first_revision(doc: Json) -> Json:
    digest = uuid.uuid4().hex
    return {**doc, "_rev": f"1-{digest}", "_revisions": {"start": 1, "ids": [digest]}}


async def as_device(client: TestClient, setup: Json, method: str, tail: str, **kw: Any
                    ) -> tuple[int, Any]:
    headers = {**basic_auth(setup["user"], setup["password"]), "Accept": "application/json",
               **kw.pop("headers", {})}
    resp = await client.request(method, f"/sync/devices/{setup['device']}{tail}",
                                headers=headers, **kw)
    return resp.status, await resp.json(content_type=None)


async def test_first_revisions_that_pass_go_straight_into_records_the_rest_to_the_device(
    client: TestClient, admin: Headers, store: Store, engine: Any, settings: Settings
) -> None:
    delegate, setup, first = await a_provisioned_device(client, admin)
    device = setup["device"]
    good = first_revision(interaction(first, device, delegate, "lead"))
    nobody = first_revision(interaction(first + 1, device, 999_999, "lead"))
    status, answer = await as_device(client, setup, "POST", "/_bulk_docs",
                                     json={"docs": [good, nobody], "new_edits": False})
    assert (status, answer) == (201, [])
    # Listed when the answer comes, before any sync round: it was written into `records`...
    assert (await client.get(f"/interaction/id:{first}", headers=admin)).status == 200
    assert (await store.get(RECORDS, good["_id"]))["_rev"] == good["_rev"]
    # ... and only there; the one that names nobody went to the device's database, flagged.
    own = device_database(engine, settings, device)
    user, password = setup["user"], setup["password"]
    assert await engine_status("GET", f"{own}/{good['_id']}", user, password) == 404
    assert await engine_status("GET", f"{own}/{nobody['_id']}", user, password) == 200

    async def flagged() -> bool:
        return [f["docId"] for f in await flags_of(client, admin, "quarantined")] == [nobody["_id"]]

    await eventually(flagged, "the record naming nobody quarantined")
    assert (await client.get(f"/interaction/id:{first + 1}", headers=admin)).status == 404
    # A first revision whose history claims more (ancestors it cannot have) is not taken.
    claimed = first_revision(interaction(first + 3, device, delegate, "lead"))
    claimed["_revisions"] = {"start": 3, "ids": [claimed["_rev"][2:], "b" * 32, "c" * 32]}
    await as_device(client, setup, "POST", "/_bulk_docs",
                    json={"docs": [claimed], "new_edits": False})
    assert await store.get_or_none(RECORDS, claimed["_id"]) is None
    # `_revs_diff` names what `records` lacks; never the device's own design or configuration.
    new = first_revision(interaction(first + 2, device, delegate, "lead"))
    status, missing = await as_device(client, setup, "POST", "/_revs_diff", json={
        good["_id"]: [good["_rev"]], new["_id"]: [new["_rev"]],
        "deviceConfig": ["9-x"], "_design/validate": ["9-x"]})
    assert (status, missing) == (200, {new["_id"]: {"missing": [new["_rev"]]}})


async def test_an_edit_arrives_through_the_device_database_and_may_not_change_fixed_fields(
    client: TestClient, admin: Headers, store: Store
) -> None:
    delegate, setup, number = await a_provisioned_device(client, admin)
    device = setup["device"]
    original = first_revision(interaction(number, device, delegate, "lead",
                                          data={"notes": "first"}))
    assert await as_device(client, setup, "POST", "/_bulk_docs",
                           json={"docs": [original], "new_edits": False}) == (201, [])
    parent = original["_revisions"]["ids"][0]

    def edit(**changes: Any) -> Json:
        digest = uuid.uuid4().hex
        return {**original, **changes, "_rev": f"2-{digest}",
                "_revisions": {"start": 2, "ids": [digest, parent]}}

    # Its database never held the first revision (its validation has nothing to compare with):
    # the arrival checks hold the edit against `records`.
    moved = edit(createdAt="2020-01-01T00:00:00+00:00")
    kept = edit(data={"notes": "edited offline"})
    for doc in (moved, kept):
        assert await as_device(client, setup, "POST", "/_bulk_docs",
                               json={"docs": [doc], "new_edits": False}) == (201, [])

    async def judged() -> bool:
        stored = await store.get(RECORDS, original["_id"], conflicts=True)
        flags = await flags_of(client, admin, "quarantined")
        return stored["_rev"] == kept["_rev"] and [f["rev"] for f in flags] == [moved["_rev"]]

    await eventually(judged, "the edit copied, the one moving createdAt quarantined")
    (flag,) = await flags_of(client, admin, "quarantined")
    assert flag["problems"] == [{"rule": "fixed", "pointer": "/createdAt",
                                 "message": "createdAt cannot change"}]
    stored = await store.get(RECORDS, original["_id"], conflicts=True)
    assert stored["createdAt"] == original["createdAt"] and "_conflicts" not in stored


async def test_who_may_use_the_endpoint(client: TestClient, admin: Headers, make_user: Any
                                        ) -> None:
    one = await provision(client, admin, await new_device(client, admin))
    two = await provision(client, admin, await new_device(client, admin))
    resp = await client.get(f"/sync/devices/{one['device']}/_all_docs")
    assert resp.status == 401
    assert (await resp.json())["error"] == "unauthorized"
    # Another device: refused by the service before the engine is asked.
    status, answer = await as_device(client, {**two, "device": one["device"]}, "GET",
                                     "/_all_docs")
    assert (status, answer["error"]) == (403, "forbidden")
    reader = await make_user("reader")
    resp = await client.get("/sync/catalog/_all_docs", headers=reader)
    assert resp.status == 403 and (await resp.json())["error"] == "forbidden"
    status, _ = await as_device(client, one, "GET", "/_all_docs")
    assert status == 200
    resp = await client.get("/sync/catalog/_all_docs", headers=basic_auth(one["user"],
                                                                         one["password"]))
    assert resp.status == 200
    # A device never provisioned has no database.
    unprovisioned = await new_device(client, admin)
    resp = await client.get(f"/sync/devices/{unprovisioned}/_all_docs", headers=admin)
    assert resp.status == 404


async def test_only_what_replication_uses_is_relayed(client: TestClient, admin: Headers) -> None:
    setup = await provision(client, admin, await new_device(client, admin))
    for tail in ("/_security", "/_design/validate", "/_purge", "/_find", "/_local",
                 "/..%2F..%2Fsettee_records", "/x/..%2F..%2F..%2F_users", "/%2E%2E",
                 "/_local/a/b"):
        status, answer = await as_device(client, setup, "GET", tail)
        assert (status, answer["error"]) == (404, "not_found"), tail
    # The device's number spelt with escapes is the same device; the rest is read after it.
    resp = await client.get(f"/sync/devices/{''.join(f'%{ord(c):02X}' for c in str(setup['device']))}"
                            "/_security", headers=basic_auth(setup["user"], setup["password"]))
    assert resp.status == 404
    for device in ("abc", "-1", "12345678901", "1.5"):
        resp = await client.get(f"/sync/devices/{device}", headers=admin)
        assert resp.status == 404, device
    status, answer = await as_device(client, setup, "POST", "/_bulk_docs", data=b"{not json",
                                     headers={"Content-Type": "application/json"})
    assert (status, answer["error"]) == (400, "bad_request")
    status, answer = await as_device(client, setup, "POST", "/_bulk_docs",
                                     json={"docs": "none", "new_edits": False})
    assert (status, answer["error"]) == (400, "bad_request")
    status, answer = await as_device(client, setup, "POST", "/_revs_diff", json={"a": "1-x"})
    assert (status, answer["error"]) == (400, "bad_request")


async def test_a_plain_write_is_the_device_databases_to_judge(
    client: TestClient, admin: Headers
) -> None:
    """`_bulk_docs` without `new_edits: false` (a device writing to it as to a database) goes to
    the device's database as it is: its validation refuses a record made as another device."""
    delegate = await new_delegate(client, admin)
    device = await new_device(client, admin)
    other = await new_device(client, admin)
    setup = await provision(client, admin, device)
    first = setup["idBlocks"][0]["first"]
    status, answer = await as_device(client, setup, "POST", "/_bulk_docs", json={
        "docs": [interaction(first, other, delegate, "lead")]})
    assert status == 201 and answer[0]["error"] == "forbidden"


async def test_a_long_poll_of_the_changes_streams_through(client: TestClient, admin: Headers
                                                        ) -> None:
    setup = await provision(client, admin, await new_device(client, admin))
    status, changes = await as_device(client, setup, "GET", "/_changes")
    assert status == 200
    since = changes["last_seq"]
    waiting = asyncio.create_task(as_device(
        client, setup, "GET", f"/_changes?feed=longpoll&since={since}&heartbeat=500"))
    await asyncio.sleep(0.3)
    assert not waiting.done()
    # Another id block rewrites its configuration: the long poll answers with that change.
    resp = await client.post(f"/device/id:{setup['device']}/idblocks", headers=admin)
    assert resp.status == 201
    status, changes = await asyncio.wait_for(waiting, 10)
    assert status == 200 and [c["id"] for c in changes["results"]] == ["deviceConfig"]


async def test_attachment_content_that_is_not_base64_refuses_the_push(
    client: TestClient, admin: Headers, store: Store, engine: Any, settings: Settings
) -> None:
    delegate, setup, first = await a_provisioned_device(client, admin)
    broken = first_revision(interaction(first, setup["device"], delegate, "upload",
                                        data={"fileName": "a.png", "contentType": "image/png"}))
    broken["_attachments"] = {"upload": {"content_type": "image/png", "data": "not base64!"}}
    status, answer = await as_device(client, setup, "POST", "/_bulk_docs",
                                     json={"docs": [broken], "new_edits": False})
    # As CouchDB answers it (PouchDB Server would say 500): the device keeps it and says why.
    assert (status, answer["error"]) == (400, "bad_request")
    assert "Invalid attachment data" in answer["reason"]
    assert await store.get_or_none(RECORDS, broken["_id"]) is None
