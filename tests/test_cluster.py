"""Settee on a CouchDB cluster, through the cluster simulator (tests/cluster_proxy.py), with two
service processes: never two winners for a rule, no lost answer, no 202 reported as done, no
stale write accepted."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from service.app import create_app
from service.engine import EngineAccess
from service.store import INTERNAL, RECORDS, REGISTRY, Store

from .cluster_proxy import ClusterProxy
from .conftest import Headers, settings_for
from .interaction_helpers import new_delegate, new_device
from .test_devices import provision
from .test_sync import interaction, push

Cluster = tuple[ClusterProxy, TestClient, TestClient, Store]


@pytest.fixture
async def cluster(
    engine: EngineAccess, tmp_path: Path, aiohttp_client: Callable[..., Awaitable[TestClient]]
) -> AsyncIterator[Cluster]:
    assert engine.user and engine.password
    proxy = ClusterProxy(engine.url, admin=aiohttp.BasicAuth(engine.user, engine.password))
    url = await proxy.start()
    settings = settings_for(engine, tmp_path, couchdb_url=url, sync_poll_seconds=0.05)
    one = await aiohttp_client(create_app(settings))
    two = await aiohttp_client(create_app(settings))
    store = Store(settings, engine.url, engine.user, engine.password)  # straight to the engine
    yield proxy, one, two, store
    await one.close()
    await two.close()
    await proxy.close()
    await store.delete_databases()
    await store.close()


async def spread(count: int, clients: tuple[TestClient, TestClient],
                 send: Callable[[TestClient, int], Awaitable[aiohttp.ClientResponse]]
                 ) -> list[tuple[int, Any]]:
    async def one(n: int) -> tuple[int, Any]:
        resp = await send(clients[n % 2], n)
        return resp.status, await resp.json()

    return list(await asyncio.gather(*(one(n) for n in range(count))))


async def test_one_badge_one_delegate(cluster: Cluster, admin: Headers) -> None:
    _, one, two, store = cluster
    answers = await spread(12, (one, two), lambda c, n: c.post(
        "/delegate/new", json={"name": f"D{n}", "badge": "B-77"}, headers=admin))
    won = [body for status, body in answers if status in (201, 202)]
    assert len(won) == 1, answers
    assert all(status == 409 for status, _ in answers if status not in (201, 202))
    holders = await store.view(REGISTRY, "directory", "delegates_by_badge", startkey=["B-77"],
                               endkey=["B-77", {}], reduce=False)
    assert [row["id"] for row in holders["rows"]] == [f"delegate:{won[0]['data']['id']:010d}"]


async def test_one_check_in_per_delegate_at_a_door(cluster: Cluster, admin: Headers) -> None:
    _, one, two, _ = cluster
    delegate = await new_delegate(one, admin)
    device = await new_device(one, admin)
    answers = await spread(12, (one, two), lambda c, n: c.post(
        "/interaction/new/check-in", json={"delegate": delegate, "device": device}, headers=admin))
    assert sum(status in (201, 202) for status, _ in answers) == 1, answers
    assert all(status == 412 for status, _ in answers if status not in (201, 202))
    listing = await (await one.get(f"/interaction/list?delegate={delegate}", headers=admin)).json()
    assert listing["meta"]["total"] == 1


async def test_one_idempotency_key_one_record(cluster: Cluster, admin: Headers) -> None:
    _, one, two, _ = cluster
    delegate = await new_delegate(one, admin)
    device = await new_device(one, admin)
    headers = {**admin, "Idempotency-Key": "k-1"}
    answers = await spread(8, (one, two), lambda c, n: c.post(
        "/interaction/new/lead", json={"delegate": delegate, "device": device}, headers=headers))
    ids = {body["data"]["id"] for status, body in answers if status in (201, 202)}
    assert len(ids) == 1, answers
    listing = await (await one.get(f"/interaction/list?delegate={delegate}", headers=admin)).json()
    assert listing["meta"]["total"] == 1


async def test_id_blocks_are_disjoint_between_processes(cluster: Cluster) -> None:
    from service.ids import reserve_block

    proxy, one, _, store = cluster
    assert proxy
    remote = one.app  # the first process's store goes through the simulator
    from service import keys

    blocks = await asyncio.gather(*(reserve_block(remote[keys.STORE], f"p{n}") for n in range(8)))
    assert len(set(blocks)) == 8, blocks
    owners = await store.all_docs(INTERNAL, include_docs=True, startkey="idblock:",
                                  endkey="idblock:\ufff0", conflicts=True)
    assert not [row for row in owners["rows"] if row["doc"].get("_conflicts")]


async def test_a_stale_write_is_409_and_a_lost_quorum_is_202(cluster: Cluster, admin: Headers) -> None:
    proxy, one, _, _ = cluster
    resp = await one.post("/delegate/new", json={"name": "Ann"}, headers=admin)
    created = await resp.json()
    first_rev = created["meta"]["rev"]
    number = created["data"]["id"]
    resp = await one.put(f"/delegate/id:{number}", json={"name": "Ann B", "_rev": first_rev},
                         headers=admin)
    assert resp.status == 200
    proxy.stale_writes = True
    resp = await one.put(f"/delegate/id:{number}", json={"name": "Ann C", "_rev": first_rev},
                         headers=admin)
    assert resp.status == 409, await resp.text()
    proxy.stale_writes = False
    proxy.quorum_missing = True
    resp = await one.post("/delegate/new", json={"name": "Bo"}, headers=admin)
    assert resp.status == 202, await resp.text()
    assert resp.headers["Settee-Write-Quorum"] == "not-met"
    assert (await resp.json())["data"]["name"] == "Bo"


async def test_a_badge_is_found_right_after_its_delegate_is_created_though_views_lag(
    cluster: Cluster, admin: Headers
) -> None:
    proxy, one, two, _ = cluster
    proxy.view_lag_seconds = 60
    assert (await one.get("/delegate/list?badge=WARM", headers=admin)).status == 200  # index built
    for n in range(5):
        created = await (await one.post("/delegate/new", json={"name": f"D{n}", "badge": f"L-{n}"},
                                        headers=admin)).json()
        found = await (await two.get(f"/delegate/list?badge=L-{n}", headers=admin)).json()
        assert found["data"] == [created["data"]], n


MANY = {
    "id": "many", "label": {"en": "Many"}, "languages": ["en"],
    "items": [{"id": "p1", "type": "page", "items": [
        {"id": f"q{n}", "type": "text"} for n in range(10)]}],
}


async def test_concurrent_answers_to_one_session_from_two_processes_are_all_kept(
    cluster: Cluster, admin: Headers
) -> None:
    _, one, two, _ = cluster
    assert (await one.post("/api/forms", json=MANY, headers=admin)).status == 201
    created = await one.post("/api/questionnaires", json={"metadata": {"formId": "many"}},
                             headers=admin)
    sid = (await created.json())["_id"]
    answers = await spread(10, (one, two), lambda c, n: c.put(
        f"/api/questionnaires/{sid}/answers/q{n}", json={"value": f"v{n}"}, headers=admin))
    assert all(status in (200, 202) for status, _ in answers), answers
    session = await (await one.get(f"/api/questionnaires/{sid}", headers=admin)).json()
    assert {a["id"]: a["value"] for a in session["answers"]} == {f"q{n}": f"v{n}" for n in range(10)}


async def test_two_updates_of_a_form_on_one_revision_one_wins(
    cluster: Cluster, admin: Headers
) -> None:
    _, one, two, _ = cluster
    created = await (await one.post("/api/forms", json=MANY, headers=admin)).json()
    rev = created["_rev"]
    answers = await spread(6, (one, two), lambda c, n: c.put(
        "/api/forms/many", json={**MANY, "label": {"en": f"Many {n}"}, "_rev": rev}, headers=admin))
    assert sum(status in (200, 201, 202) for status, _ in answers) == 1, answers
    assert all(status == 409 for status, _ in answers if status not in (200, 201, 202))


async def test_a_badge_claim_that_ends_conflicted_keeps_one_winner_and_flags_the_other(
    cluster: Cluster, admin: Headers
) -> None:
    # Both writers were told they won (a write quorum of 1, a partition): internal replication
    # then leaves the claim conflicted. The sync worker settles it and flags the other delegate.
    _, one, _, store = cluster
    first = await (await one.post("/delegate/new", json={"name": "A", "badge": "TWICE"},
                                  headers=admin)).json()
    second = await (await one.post("/delegate/new", json={"name": "B"}, headers=admin)).json()
    claim = await store.get(INTERNAL, "badge:TWICE")
    sibling = {**claim, "delegate": second["data"]["id"], "_rev": "1-" + "f" * 32,
               "_revisions": {"start": 1, "ids": ["f" * 32]}}
    await store.bulk_docs(INTERNAL, [sibling], new_edits=False)
    for _ in range(200):
        settled = await store.get(INTERNAL, "badge:TWICE", conflicts=True)
        if not settled.get("_conflicts"):
            break
        await asyncio.sleep(0.05)
    assert not settled.get("_conflicts")
    loser = second if settled["delegate"] == first["data"]["id"] else first
    for _ in range(100):
        found = (await (await one.get("/sync/flags", headers=admin)).json())["data"]
        if found:
            break
        await asyncio.sleep(0.05)
    assert [(f["docId"], f["state"], f["problems"][0]["rule"]) for f in found] == [
        (f"delegate:{loser['data']['id']:010d}", "violation", "guard")]


async def test_an_arrival_and_an_api_check_in_racing_for_a_slot_leave_one_holder(
    cluster: Cluster, admin: Headers
) -> None:
    # A door's check-in recorded offline at 08:00 lands while the API takes one for the same
    # delegate and door (10:00), through two processes and a cluster's contended writes: the
    # slot ends with one holder, the one that happened first, not conflicted, and the other
    # check-in is flagged, whichever write the cluster took first.
    _, one, two, store = cluster
    delegate = await new_delegate(one, admin)
    device = await new_device(one, admin)
    setup = await provision(one, admin, device)
    offline = setup["idBlocks"][0]["first"]
    online, _ = await asyncio.gather(
        two.post("/interaction/new/check-in", headers=admin, json={
            "delegate": delegate, "device": device, "recordedAt": "2026-11-25T10:00:00+00:00"}),
        push(setup, [interaction(offline, device, delegate,
                                 recordedAt="2026-11-25T08:00:00+00:00")]))
    # The API's check-in was either taken and is then flagged, or refused at once because the
    # arrival's guard (written before its record) held the slot already.
    assert online.status in (201, 202, 412), await online.text()
    taken = online.status != 412
    if not taken:
        assert (await online.json())["meta"]["error"]["internalCode"] == 740
    slot = f"guard:check-in:maxPerDelegatePerDevice:{delegate}:{device}:1"
    for _ in range(200):
        guard = await store.get_or_none(RECORDS, slot, conflicts=True)
        flagged = (await (await one.get("/sync/flags", headers=admin)).json())["data"]
        if guard and guard["interaction"] == f"interaction:{offline:010d}" and (
                flagged or not taken):
            break
        await asyncio.sleep(0.05)
    assert guard is not None and not guard.get("_conflicts"), guard
    assert guard["interaction"] == f"interaction:{offline:010d}"
    expected = [(f"interaction:{(await online.json())['data']['id']:010d}", "limit")] \
        if taken else []
    assert [(f["docId"], f["problems"][0]["rule"]) for f in flagged] == expected
