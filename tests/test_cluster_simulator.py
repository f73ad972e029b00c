"""The cluster simulator itself behaves as a CouchDB cluster does where Settee must hold."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest

from service.engine import EngineAccess

from .cluster_proxy import ClusterProxy


@pytest.fixture
async def cluster(engine: EngineAccess) -> AsyncIterator[tuple[ClusterProxy, str, aiohttp.ClientSession]]:
    assert engine.user and engine.password
    auth = aiohttp.BasicAuth(engine.user, engine.password)
    proxy = ClusterProxy(engine.url, admin=auth)
    url = await proxy.start()
    async with aiohttp.ClientSession(auth=auth, headers={"Accept": "application/json"}) as http:
        db = f"{url}/cluster_sim_{id(proxy)}"
        await http.put(db)
        yield proxy, db, http
        await http.delete(db)
    await proxy.close()


async def test_concurrent_creates_are_all_accepted_and_end_conflicted(
    cluster: tuple[ClusterProxy, str, aiohttp.ClientSession]
) -> None:
    _, db, http = cluster

    async def create(n: int) -> int:
        async with http.put(f"{db}/x", json={"n": n}) as resp:
            return resp.status

    statuses = await asyncio.gather(*(create(n) for n in range(6)))
    assert statuses.count(201) == 1 and statuses.count(202) >= 1
    async with http.get(f"{db}/x?conflicts=true") as resp:
        doc = await resp.json()
    assert len(doc["_conflicts"]) == statuses.count(202)


async def test_a_stale_write_is_accepted_as_a_conflict_and_a_lost_quorum_is_202(
    cluster: tuple[ClusterProxy, str, aiohttp.ClientSession]
) -> None:
    proxy, db, http = cluster
    proxy.contention_seconds = 0
    async with http.put(f"{db}/y", json={"v": 1}) as resp:
        first = (await resp.json())["rev"]
    async with http.put(f"{db}/y", json={"v": 2, "_rev": first}) as resp:
        assert resp.status == 201
    async with http.put(f"{db}/y", json={"v": 3, "_rev": first}) as resp:
        assert resp.status == 409  # one copy: no stale copy to land on
    proxy.stale_writes = True
    async with http.put(f"{db}/y", json={"v": 3, "_rev": first}) as resp:
        assert resp.status == 202
    proxy.quorum_missing = True
    async with http.put(f"{db}/z", json={"v": 1}) as resp:
        assert resp.status == 202


async def test_views_lag_behind_writes(
    cluster: tuple[ClusterProxy, str, aiohttp.ClientSession]
) -> None:
    proxy, db, http = cluster
    await http.put(f"{db}/_design/d", json={"views": {"all": {"map": "function (doc) { emit(doc._id); }"}}})
    proxy.view_lag_seconds = 60
    async with http.get(f"{db}/_design/d/_view/all") as resp:  # first read: the index catches up
        assert (await resp.json())["total_rows"] == 0
    await http.put(f"{db}/w", json={})
    async with http.get(f"{db}/_design/d/_view/all") as resp:
        assert (await resp.json())["total_rows"] == 0  # missed: served from the lagging index
