"""A session on a form's LATEST revision reads no form once the service knows the form: the
newest revision of each form is kept in memory while the registry's feed is followed, and
forgotten when the form changes (at once for a save through this service, when the feed
tells for a save made elsewhere)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from service import keys
from service.app import create_app
from service.directory.roster import roster
from service.engine import EngineAccess
from service.store import REGISTRY, Store

from .conftest import Headers, settings_for
from .engine_proxy import EngineProxy
from .test_sessions import FORM, FORM_ID, make_form, seed_request

Client = TestClient[web.Request, web.Application]
WAIT_SECONDS = 20.0


@pytest.fixture
async def watched(
    engine: EngineAccess, tmp_path: Path, aiohttp_client: Callable[..., Awaitable[Client]]
) -> AsyncIterator[tuple[Client, EngineProxy, Store]]:
    """The service, talking to the engine through a proxy that records its requests, once
    its roster follows the registry."""
    proxy = EngineProxy(engine.url)
    settings = settings_for(engine, tmp_path, couchdb_url=await proxy.start())
    client = await aiohttp_client(create_app(settings))
    store = Store(settings, engine.url, engine.user, engine.password)  # straight to the engine
    await until(lambda: roster(client.app[keys.STORE]).ready)
    yield client, proxy, store
    await client.close()
    await proxy.close()
    await store.delete_databases()
    await store.close()


async def until(condition: Callable[[], Any]) -> None:
    for _ in range(int(WAIT_SECONDS / 0.05)):
        if await condition() if asyncio.iscoroutinefunction(condition) else condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the condition never held")


async def create(client: Client, admin: Headers) -> dict[str, Any]:
    resp = await client.post("/api/questionnaires", json=seed_request(), headers=admin)
    assert resp.status == 201, await resp.text()
    resp = await client.get(f"/api/questionnaires/{(await resp.json())['_id']}", headers=admin)
    return dict(await resp.json())


def form_reads(proxy: EngineProxy) -> list[str]:
    return [seen.raw_path for seen in proxy.seen
            if seen.method == "GET" and f"form%3A{FORM_ID}" in seen.raw_path]


async def test_a_session_on_latest_reads_no_form_once_known(
    watched: tuple[Client, EngineProxy, Store], admin: Headers
) -> None:
    client, proxy, _ = watched
    rev = await make_form(client, admin)
    assert (await create(client, admin))["metadata"]["formRevision"] == rev
    proxy.seen.clear()
    for _ in range(3):
        assert (await create(client, admin))["metadata"]["formRevision"] == rev
    assert form_reads(proxy) == []


async def test_a_save_through_the_service_is_used_at_once(
    watched: tuple[Client, EngineProxy, Store], admin: Headers
) -> None:
    client, _, _ = watched
    rev = await make_form(client, admin)
    assert (await create(client, admin))["metadata"]["formRevision"] == rev
    resp = await client.put(f"/api/forms/{FORM_ID}?rev={rev}",
                            json={**FORM, "label": {"en": "Renamed"}}, headers=admin)
    assert resp.status == 200, await resp.text()
    newer = (await resp.json())["_rev"]
    assert (await create(client, admin))["metadata"]["formRevision"] == newer
    resp = await client.delete(f"/api/forms/{FORM_ID}?rev={newer}", headers=admin)
    assert resp.status == 200
    resp = await client.post("/api/questionnaires", json=seed_request(), headers=admin)
    assert resp.status == 404


async def test_a_save_made_elsewhere_is_used_once_the_feed_tells(
    watched: tuple[Client, EngineProxy, Store], admin: Headers
) -> None:
    client, proxy, elsewhere = watched
    rev = await make_form(client, admin)
    assert (await create(client, admin))["metadata"]["formRevision"] == rev
    # Another process saves a new revision (as storage does: the document, then its snapshot).
    current = await elsewhere.get(REGISTRY, f"form:{FORM_ID}")
    current["form"] = {**FORM, "label": {"en": "Saved elsewhere"}}
    newer = await elsewhere.put(REGISTRY, current)
    await elsewhere.put(REGISTRY, {"_id": f"formrev:{FORM_ID}:{newer}", "type": "form-revision",
                                   "formId": FORM_ID, "formRev": newer, "form": current["form"],
                                   "savedAt": current["updatedAt"]})

    async def runs_on_newer() -> bool:
        return bool((await create(client, admin))["metadata"]["formRevision"] == newer)

    await until(runs_on_newer)
    proxy.seen.clear()
    assert (await create(client, admin))["metadata"]["label"] == "Saved elsewhere"
    assert form_reads(proxy) == []
