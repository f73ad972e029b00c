"""Records arriving in a device's database: checked with the API's schemas and rules, copied
into `records` when they pass, flagged when they do not, limits applied after the fact,
conflicts resolved or listed. Devices here write as replication does (`_bulk_docs`
`new_edits: false` with the device's credentials); tests/test_device_replication.py uses
real PouchDB."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from service.app import create_app
from service.settings import Settings
from service.store import INTERNAL, RECORDS, Store

from .conftest import Headers
from .interaction_helpers import new_delegate, new_device
from .test_devices import provision

Json = dict[str, Any]


# Where the tests' devices push: the service's replication endpoint (their set-up's URL) or,
# as an operator's or an older set-up's replication may, the engine's device database itself,
# which the sync worker follows. Every test here runs both ways.
_ENGINE_DATABASES: list[str] = []


@pytest.fixture(autouse=True, params=["endpoint", "engine"])
def pushed_to(request: pytest.FixtureRequest, settings: Settings) -> Any:
    if request.param == "engine":
        _ENGINE_DATABASES.append(f"{settings.couchdb_url}/{settings.db_prefix}device_")
    yield request.param
    _ENGINE_DATABASES.clear()


def records_url(setup: Json) -> str:
    if _ENGINE_DATABASES:
        return f"{_ENGINE_DATABASES[0]}{setup['device']:010d}"
    return str(setup["sync"]["records"])


@pytest.fixture
async def client(aiohttp_client: Callable[..., Awaitable[TestClient]], settings: Settings
                 ) -> TestClient:
    return await aiohttp_client(create_app(replace(settings, sync_poll_seconds=0.05)))


async def push(setup: Json, docs: list[Json]) -> list[Json]:
    """Write docs into the device's database as replication does (new revisions of its own)."""
    stamped = []
    for doc in docs:
        rev = doc.pop("_rev", None) or f"1-{uuid.uuid4().hex}"
        number, _, digest = rev.partition("-")
        stamped.append({**doc, "_rev": rev,
                        "_revisions": {"start": int(number), "ids": [digest]}})
    async with aiohttp.ClientSession() as http, http.post(
        records_url(setup) + "/_bulk_docs", json={"docs": stamped, "new_edits": False},
        auth=aiohttp.BasicAuth(setup["user"], setup["password"]),
        headers={"Accept": "application/json"},
    ) as resp:
        # 202: through the endpoint on a cluster, a write of the push that missed the quorum.
        assert resp.status in (201, 202), await resp.text()
        return list(await resp.json())


def interaction(number: int, device: int, delegate: int, kind: str = "check-in",
                **extra: Any) -> Json:
    stamp = "2026-11-25T09:00:00+00:00"
    return {"_id": f"interaction:{number:010d}", "type": "interaction", "id": number,
            "interactionType": kind, "firstDelegate": delegate, "firstDevice": device,
            "recordedAt": extra.pop("recordedAt", stamp), "createdAt": stamp, "updatedAt": stamp,
            "createdBy": f"device-{device}", **extra}


async def a_provisioned_device(client: TestClient, admin: Headers) -> tuple[int, Json, int]:
    """A delegate, a provisioned device's set-up, and the first id of its blocks."""
    delegate = await new_delegate(client, admin)
    setup = await provision(client, admin, await new_device(client, admin))
    return delegate, setup, setup["idBlocks"][0]["first"]


async def eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    for _ in range(200):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never happened: {what}")


async def flags_of(client: TestClient, admin: Headers, state: str | None = None) -> list[Json]:
    query = f"?state={state}" if state else ""
    resp = await client.get(f"/sync/flags{query}", headers=admin)
    assert resp.status == 200
    return list((await resp.json())["data"])


async def test_what_passes_is_copied_and_listed_what_fails_is_flagged_not_dropped(
    client: TestClient, admin: Headers, store: Store
) -> None:
    delegate = await new_delegate(client, admin)
    device = await new_device(client, admin)
    other = await new_device(client, admin)
    setup = await provision(client, admin, device)
    first = setup["idBlocks"][0]["first"]
    pushed = await push(setup, [
        interaction(first, device, delegate),
        interaction(first + 1, device, 999_999),  # nobody
        interaction(first + 2, device, delegate, "teleport"),
        interaction(first + 3, device, delegate, "lead", data={"answers": "not an object"}),
        interaction(5, device, delegate),  # not in its blocks
        {**interaction(first + 4, device, delegate), "_id": f"interaction:{first + 5:010d}"},
    ])

    async def listed() -> bool:
        resp = await client.get(f"/interaction/id:{first}", headers=admin)
        return resp.status == 200

    await eventually(listed, "the good check-in listed")

    async def all_flagged() -> bool:
        return len(await flags_of(client, admin, "quarantined")) == 4

    await eventually(all_flagged, "four records quarantined")
    flagged = {f["docId"]: f for f in await flags_of(client, admin, "quarantined")}
    assert {f["device"] for f in flagged.values()} == {device}
    rules = {doc_id: [p["rule"] for p in f["problems"]] for doc_id, f in flagged.items()}
    assert rules[f"interaction:{first + 1:010d}"] == ["participants"]
    assert rules[f"interaction:{first + 2:010d}"] == ["schema"]
    assert rules[f"interaction:{first + 3:010d}"] == ["schema"]
    assert rules["interaction:0000000005"] == ["ownership"]
    # The engine itself refused the one whose _id and id disagree (the device's own guard).
    assert pushed[-1]["error"] == "forbidden"
    for number in (first + 1, first + 2, first + 3, 5):
        assert (await client.get(f"/interaction/id:{number}", headers=admin)).status == 404
    listing = await (await client.get("/interaction/list", headers=admin)).json()
    assert [row["id"] for row in listing["data"]] == [first]
    # The checkpoint is durable: a restart resumes from it.
    checkpoint = await store.get(INTERNAL, f"checkpoint:device:{device}")
    assert checkpoint["seq"] is not None
    assert other  # another device exists: it was never this device's to name


async def test_limits_apply_after_the_fact_and_the_later_record_is_flagged(
    client: TestClient, admin: Headers
) -> None:
    delegate = await new_delegate(client, admin)
    device = await new_device(client, admin)
    setup = await provision(client, admin, device)
    first = setup["idBlocks"][0]["first"]
    await push(setup, [
        interaction(first, device, delegate, recordedAt="2026-11-25T10:00:00+00:00"),
        interaction(first + 1, device, delegate, recordedAt="2026-11-25T09:00:00+00:00"),
    ])

    async def flagged() -> bool:
        return len(await flags_of(client, admin, "violation")) == 1

    await eventually(flagged, "one limit violation")
    (violation,) = await flags_of(client, admin, "violation")
    # Both happened and both are kept; the one recorded later is the one too many.
    assert violation["docId"] == f"interaction:{first:010d}"
    assert violation["problems"][0]["rule"] == "limit"
    for number in (first, first + 1):
        assert (await client.get(f"/interaction/id:{number}", headers=admin)).status == 200


@pytest.mark.parametrize("offline_first", [True, False])
async def test_arrivals_and_api_creates_share_the_limit_slots(
    client: TestClient, admin: Headers, store: Store, offline_first: bool
) -> None:
    # The API holds a delegate's check-in at a door, then the door's offline one arrives: the
    # one that happened first keeps the slot, the other is the violation; after that the API
    # refuses another at once (412/740), without a view.
    delegate = await new_delegate(client, admin)
    device = await new_device(client, admin)
    setup = await provision(client, admin, device)
    early, late = "2026-11-25T08:00:00+00:00", "2026-11-25T10:00:00+00:00"
    online = await client.post("/interaction/new/check-in", headers=admin, json={
        "delegate": delegate, "device": device, "recordedAt": late if offline_first else early})
    assert online.status == 201
    online_id = f"interaction:{(await online.json())['data']['id']:010d}"
    offline = setup["idBlocks"][0]["first"]
    offline_id = f"interaction:{offline:010d}"
    await push(setup, [interaction(offline, device, delegate,
                                   recordedAt=early if offline_first else late)])

    async def flagged() -> bool:
        return len(await flags_of(client, admin, "violation")) == 1

    await eventually(flagged, "the later check-in flagged")
    (violation,) = await flags_of(client, admin, "violation")
    winner, loser = (offline_id, online_id) if offline_first else (online_id, offline_id)
    assert violation["docId"] == loser and violation["problems"][0]["rule"] == "limit"
    slot = f"guard:check-in:maxPerDelegatePerDevice:{delegate}:{device}:1"
    assert (await store.get(RECORDS, slot))["interaction"] == winner
    for record in (online_id, offline_id):  # both happened: both listed
        number = int(record.partition(":")[2])
        assert (await client.get(f"/interaction/id:{number}", headers=admin)).status == 200
    again = await client.post("/interaction/new/check-in", headers=admin,
                              json={"delegate": delegate, "device": device})
    assert again.status == 412
    assert (await again.json())["meta"]["error"]["internalCode"] == 740


async def test_an_admins_deletion_wins_over_a_devices_later_edit(
    client: TestClient, admin: Headers, store: Store
) -> None:
    delegate, setup, number = await a_provisioned_device(client, admin)
    device = setup["device"]
    first_rev = f"1-{uuid.uuid4().hex}"
    doc = interaction(number, device, delegate, "lead", data={"notes": "first"}, _rev=first_rev)
    assert await push(setup, [doc]) == []  # with new_edits false, CouchDB lists only failures

    async def listed() -> bool:
        return (await client.get(f"/interaction/id:{number}", headers=admin)).status == 200

    await eventually(listed, "the lead listed")
    assert (await client.delete(f"/interaction/id:{number}", headers=admin)).status == 204
    edit = interaction(number, device, delegate, "lead", data={"notes": "edited offline"})
    edit["_rev"] = f"2-{uuid.uuid4().hex}"
    stamped = {**edit, "_revisions": {"start": 2, "ids": [edit["_rev"][2:],
                                                          first_rev.partition("-")[2]]}}
    async with aiohttp.ClientSession() as http, http.post(
        records_url(setup) + "/_bulk_docs", json={"docs": [stamped], "new_edits": False},
        auth=aiohttp.BasicAuth(setup["user"], setup["password"]),
    ) as resp:
        assert resp.status == 201

    async def refused() -> bool:
        found = [f for f in await flags_of(client, admin) if f["docId"] == edit["_id"]]
        return bool(found) and found[0]["problems"][0]["rule"] == "deleted"

    await eventually(refused, "the edit flagged")
    assert (await client.get(f"/interaction/id:{number}", headers=admin)).status == 404


async def test_conflicting_session_revisions_are_merged_answer_by_answer(
    client: TestClient, admin: Headers, store: Store
) -> None:
    base = {"_id": uuid.uuid4().hex, "type": "questionnaire", "owner": "x",
            "createdAt": "2026-11-25T09:00:00+00:00", "updatedAt": "2026-11-25T09:00:00+00:00",
            "tables": [], "context": [], "activeItem": "page1", "rowCounters": {},
            "metadata": {"formId": "f", "formRevision": "1", "status": "OPEN",
                         "lastAnswer": None}}
    one = {**base, "_rev": "2-" + "a" * 32, "_revisions": {"start": 2, "ids": ["a" * 32, "0" * 32]},
           "answers": [{"id": "q1", "value": "from one"}, {"id": "q2", "value": "old"}],
           "answeredAt": {"q1": "2026-11-25T09:01:00+00:00", "q2": "2026-11-25T09:00:30+00:00"}}
    two = {**base, "_rev": "2-" + "b" * 32, "_revisions": {"start": 2, "ids": ["b" * 32, "0" * 32]},
           "answers": [{"id": "q2", "value": "newer"}, {"id": "q3", "value": "only two"}],
           "answeredAt": {"q2": "2026-11-25T09:02:00+00:00", "q3": "2026-11-25T09:02:00+00:00"}}
    await store.bulk_docs(RECORDS, [one, two], new_edits=False)
    resp = await client.get("/sync/conflicts", headers=admin)
    assert resp.status == 200

    async def merged() -> bool:
        doc = await store.get(RECORDS, base["_id"], conflicts=True)
        return not doc.get("_conflicts")

    await eventually(merged, "the session merged")
    doc = await store.get(RECORDS, base["_id"])
    assert {a["id"]: a["value"] for a in doc["answers"]} == {
        "q1": "from one", "q2": "newer", "q3": "only two"}


async def test_interactions_in_conflict_with_different_content_are_listed(
    client: TestClient, admin: Headers, store: Store
) -> None:
    doc = interaction(77, 1, 1, "lead")
    one = {**doc, "data": {"notes": "a"}, "_rev": "1-" + "a" * 32,
           "_revisions": {"start": 1, "ids": ["a" * 32]}}
    two = {**doc, "data": {"notes": "b"}, "_rev": "1-" + "b" * 32,
           "_revisions": {"start": 1, "ids": ["b" * 32]}}
    await store.bulk_docs(RECORDS, [one, two], new_edits=False)
    await asyncio.sleep(0.3)  # a few sync rounds: nothing may resolve it
    resp = await client.get("/sync/conflicts", headers=admin)
    body = await resp.json()
    assert body["meta"]["total"] == 1
    assert body["data"] == [{"docId": doc["_id"], "type": "interaction", "conflicts": ["1-" + "a" * 32]}]


async def test_the_catalog_holds_what_devices_see_of_the_registry(
    client: TestClient, admin: Headers, store: Store
) -> None:
    from service.store import CATALOG

    delegate = await new_delegate(client, admin, email="ada@example.org", company="ACME",
                                  badge="B-1", data={"diet": "vegan"})
    device = await new_device(client, admin)

    async def projected() -> bool:
        return await store.get_or_none(CATALOG, f"delegate:{delegate:010d}") is not None

    await eventually(projected, "the delegate in the catalog")
    shown = await store.get(CATALOG, f"delegate:{delegate:010d}")
    assert {k: v for k, v in shown.items() if k not in ("_rev", "createdAt", "updatedAt")} == {
        "_id": f"delegate:{delegate:010d}", "type": "delegate", "id": delegate, "name": "Ada",
        "company": "ACME", "badge": "B-1"}
    assert (await store.get(CATALOG, f"device:{device:010d}"))["kind"] == "kiosk"
    assert (await store.get(CATALOG, "interactionType:check-in"))["rules"] == {
        "maxPerDelegatePerDevice": 1}
    assert (await client.delete(f"/delegate/id:{delegate}", headers=admin)).status == 204

    async def gone() -> bool:
        return await store.get_or_none(CATALOG, f"delegate:{delegate:010d}") is None

    await eventually(gone, "the deletion in the catalog")


async def test_an_admins_deletion_reaches_the_device(client: TestClient, admin: Headers) -> None:
    delegate, setup, number = await a_provisioned_device(client, admin)
    device = setup["device"]
    await push(setup, [interaction(number, device, delegate, "lead")])

    async def listed() -> bool:
        return (await client.get(f"/interaction/id:{number}", headers=admin)).status == 200

    await eventually(listed, "the lead listed")
    assert (await client.delete(f"/interaction/id:{number}", headers=admin)).status == 204
    # A tombstone, which replicates down to the device (not merely missing).
    async with aiohttp.ClientSession() as http, http.post(
        f"{records_url(setup)}/_all_docs", json={"keys": [f"interaction:{number:010d}"]},
        auth=aiohttp.BasicAuth(setup["user"], setup["password"]),
        headers={"Accept": "application/json"},
    ) as resp:
        (row,) = (await resp.json())["rows"]
        assert row["value"]["deleted"] is True


async def test_one_process_at_a_time_does_the_sync_work(store: Store, settings: Settings) -> None:
    from service.engine import Readiness
    from service.interactions.types import InteractionTypes
    from service.schemas import SchemaRegistry
    from service.sync.worker import SyncWorker

    types = InteractionTypes(SchemaRegistry(settings.schemas_dir))
    one = SyncWorker(store, types, settings, Readiness(store))
    two = SyncWorker(store, types, settings, Readiness(store))
    await one.round()
    assert one.rounds == 1
    assert await two.round() == 0 and two.rounds == 0  # the lease is one's
    await one.round()
    assert one.rounds == 2


async def test_a_lease_is_renewed_when_a_third_of_it_is_gone_not_every_round(store: Store) -> None:
    from service.clock import iso, now
    from service.sync import lease

    assert await lease.hold(store, "cadence", "one", 30.0)
    first = await store.get(INTERNAL, "lease:cadence")
    assert await lease.hold(store, "cadence", "one", 30.0)
    assert (await store.get(INTERNAL, "lease:cadence"))["_rev"] == first["_rev"]  # no write
    assert not await lease.hold(store, "cadence", "two", 30.0)
    # Near its end: renewed by its holder; once past it, anybody may take it.
    await store.put(INTERNAL, {**first, "until": iso(now() + timedelta(seconds=5))})
    assert await lease.hold(store, "cadence", "one", 30.0)
    renewed = await store.get(INTERNAL, "lease:cadence")
    assert renewed["owner"] == "one" and renewed["_rev"] != first["_rev"]
    await store.put(INTERNAL, {**renewed, "until": iso(now() - timedelta(seconds=1))})
    assert await lease.hold(store, "cadence", "two", 30.0)
    assert (await store.get(INTERNAL, "lease:cadence"))["owner"] == "two"
