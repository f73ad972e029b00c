"""Interaction API, each against the engine doing the same work in the same run:

- `POST /interaction/new/check-out` at 16 concurrent clients vs single-document POSTs of the
  same documents to the engine (target >= 0.7x the throughput);
- `POST /interaction/batch` of 1,000 vs `_bulk_docs` of the same 1,000 documents (>= 0.6x);
- `GET /interaction/list?limit=5000` vs the view query returning the same rows, documents
  included (<= 1.5x the time);
- the last page of 100,000 interactions (1,000,000 with --large), reached through `next`
  links, vs the first page (<= 1.5x the time).

The engine's documents are exactly what the service writes, with ids from blocks reserved
the way the service reserves them (create-only `idblock:` documents), so both sides' records
live in the same database and views.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from service.clock import now_iso
from service.ids import BLOCK_SIZE, block_range, padded

from .harness import BenchEnv, Result, timed

CONCURRENCY = 16
SINGLE_REQUESTS = 2000
BATCH_SIZE = 1000
BATCHES = 8
LIST_LIMIT = 5000
PAGE_LIMIT = 1000
REPEATS = 7
# Far above what the service reserves for itself in a run.
FIRST_BENCH_BLOCK = 5_000_000


def _check(status: int, expected: int, what: str) -> None:
    if status != expected:
        raise RuntimeError(f"{what}: HTTP {status}")


class Ids:
    """Ids for the engine's documents, from blocks reserved as the service reserves them."""

    def __init__(self, env: BenchEnv) -> None:
        self.env = env
        self.block = FIRST_BENCH_BLOCK - 1
        self.free: list[int] = []

    async def take(self, count: int) -> list[int]:
        while len(self.free) < count:
            await self._reserve()
        taken, self.free = self.free[:count], self.free[count:]
        return taken

    async def _reserve(self) -> None:
        url = f"{self.env.engine_url}/{self.env.db_prefix}internal"
        while True:
            self.block += 1
            doc = {"_id": "idblock:" + padded(self.block), "type": "idblock",
                   "block": self.block, "owner": "bench", "createdAt": now_iso(),
                   "updatedAt": now_iso()}
            async with self.env.http.post(url, json=doc, headers=_engine(self.env)) as resp:
                if resp.status == 409:
                    continue
                _check(resp.status, 201, "reserving an id block")
            self.free.extend(block_range(self.block))
            return


def _engine(env: BenchEnv) -> dict[str, str]:
    return {**env.admin_headers, "Accept": "application/json"}  # PouchDB Server: else text/plain


def interaction_doc(number: int, delegate: int, device: int) -> dict[str, Any]:
    """A document exactly as the service writes a check-out."""
    stamp = now_iso()
    return {
        "_id": f"interaction:{number:010d}", "type": "interaction", "id": number,
        "interactionType": "check-out", "firstDelegate": delegate, "firstDevice": device,
        "recordedAt": stamp, "createdAt": stamp, "updatedAt": stamp, "createdBy": "settee-bench",
    }


async def _alternating(
    one: Callable[[], Awaitable[None]], other: Callable[[], Awaitable[None]]
) -> tuple[float, float]:
    """The median milliseconds of each, run in turns so that noise hits both alike."""
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(REPEATS):
        for call, into in ((one, times[0]), (other, times[1])):
            started = time.perf_counter()
            await call()
            into.append((time.perf_counter() - started) * 1000)
    return statistics.median(times[0]), statistics.median(times[1])


async def run(env: BenchEnv) -> list[Result]:
    http, admin = env.http, env.admin_headers
    engine = _engine(env)
    records = f"{env.engine_url}/{env.db_prefix}records"
    ids = Ids(env)

    async with http.post(f"{env.service_url}/delegate/new", json={"name": "Bench"},
                         headers=admin) as resp:
        _check(resp.status, 201, "creating a delegate")
        delegate = (await resp.json())["data"]["id"]
    async with http.post(f"{env.service_url}/device/new", json={"name": "Bench door"},
                         headers=admin) as resp:
        _check(resp.status, 201, "creating a device")
        device = (await resp.json())["data"]["id"]
    body = {"delegate": delegate, "device": device, "recordedAt": int(time.time())}

    async def service_new() -> None:
        async with http.post(f"{env.service_url}/interaction/new/check-out", json=body,
                             headers=admin) as resp:
            _check(resp.status, 201, "service new")
            await resp.read()

    engine_ids = await ids.take(SINGLE_REQUESTS + 100)
    pending = iter(engine_ids)

    async def engine_post() -> None:
        doc = interaction_doc(next(pending), delegate, device)
        async with http.post(records, json=doc, headers=engine) as resp:
            _check(resp.status, 201, "engine POST")
            await resp.read()

    # Warm up both sides (connections, the auth cache, the first id block).
    await timed(service_new, 100, CONCURRENCY)
    await timed(engine_post, 100, CONCURRENCY)
    half = SINGLE_REQUESTS // 2
    service_s = await timed(service_new, half, CONCURRENCY)
    engine_s = await timed(engine_post, half, CONCURRENCY)
    service_s += await timed(service_new, half, CONCURRENCY)
    engine_s += await timed(engine_post, half, CONCURRENCY)
    results = [Result(
        f"POST /interaction/new, {CONCURRENCY} clients", "req/s", SINGLE_REQUESTS / service_s,
        SINGLE_REQUESTS / engine_s, True, 0.7,
        "check-out, one delegate and device: participants known, one write",
    )]

    # The same with a delegate the service has not seen for each request: one more read.
    registry = f"{env.engine_url}/{env.db_prefix}registry"
    stamp = now_iso()
    strangers = [{"_id": f"delegate:{n:010d}", "type": "delegate", "id": n, "name": f"d{n}",
                  "createdAt": stamp, "updatedAt": stamp}
                 for n in await ids.take(SINGLE_REQUESTS)]
    async with http.post(f"{registry}/_bulk_docs", json={"docs": strangers},
                         headers=engine) as resp:
        _check(resp.status, 201, "loading delegates")
        await resp.read()
    unseen = iter(doc["id"] for doc in strangers)
    # As at an event, delegates are imported before the doors open: give the service's roster
    # (which polls the registry four times a second) a moment to see them.
    await asyncio.sleep(1.0)

    async def service_new_stranger() -> None:
        stranger = {**body, "delegate": next(unseen)}
        async with http.post(f"{env.service_url}/interaction/new/check-out", json=stranger,
                             headers=admin) as resp:
            _check(resp.status, 201, "service new")
            await resp.read()

    pending = iter(await ids.take(SINGLE_REQUESTS))
    service_s = await timed(service_new_stranger, half, CONCURRENCY)
    engine_s = await timed(engine_post, half, CONCURRENCY)
    service_s += await timed(service_new_stranger, half, CONCURRENCY)
    engine_s += await timed(engine_post, half, CONCURRENCY)
    results.append(Result(
        f"POST /interaction/new, {CONCURRENCY} clients, new delegate each", "req/s",
        SINGLE_REQUESTS / service_s, SINGLE_REQUESTS / engine_s, True, 0.7,
        "2,000 delegates loaded beforehand, another one in each request",
    ))

    entries = {str(i): {"delegate": delegate, "device": device, "interactionType": "check-out",
                        "recordedAt": int(time.time())} for i in range(BATCH_SIZE)}

    async def service_batch() -> None:
        async with http.post(f"{env.service_url}/interaction/batch",
                             json={"interactions": entries}, headers=admin) as resp:
            _check(resp.status, 200, "service batch")
            answer = await resp.json()
            if answer["meta"]["failed"]:
                raise RuntimeError(f"batch entries failed: {answer['meta']}")

    async def engine_bulk() -> None:
        docs = [interaction_doc(n, delegate, device) for n in await ids.take(BATCH_SIZE)]
        async with http.post(f"{records}/_bulk_docs", json={"docs": docs}, headers=engine) as resp:
            _check(resp.status, 201, "engine _bulk_docs")
            await resp.read()

    await service_batch()
    await engine_bulk()
    service_s = engine_s = 0.0
    for _ in range(BATCHES):
        service_s += await timed(service_batch, 1, 1)
        engine_s += await timed(engine_bulk, 1, 1)
    results.append(Result(
        f"POST /interaction/batch of {BATCH_SIZE}", "docs/s", BATCHES * BATCH_SIZE / service_s,
        BATCHES * BATCH_SIZE / engine_s, True, 0.6, "engine: _bulk_docs of the same documents",
    ))

    view = f"{records}/_design/interactions/_view/interactions_by_id"

    async def service_list() -> None:
        async with http.get(f"{env.service_url}/interaction/list?limit={LIST_LIMIT}",
                            headers=admin) as resp:
            _check(resp.status, 200, "service list")
            answer = await resp.json()
            if len(answer["data"]) != LIST_LIMIT:
                raise RuntimeError(f"service list: {len(answer['data'])} rows")

    async def engine_view() -> None:
        async with http.get(view, params={"limit": str(LIST_LIMIT), "include_docs": "true",
                                          "reduce": "false"}, headers=engine) as resp:
            _check(resp.status, 200, "engine view")
            answer = await resp.json()
            if len(answer["rows"]) != LIST_LIMIT:
                raise RuntimeError(f"engine view: {len(answer['rows'])} rows")

    await engine_view()  # builds the index
    await service_list()
    rss_before = env.service_rss_kib()
    service_ms, engine_ms = await _alternating(service_list, engine_view)
    results.append(Result(
        f"GET /interaction/list?limit={LIST_LIMIT}", "ms", service_ms, engine_ms, False, 1.5,
        f"engine: the view with include_docs; service RSS {rss_before} -> "
        f"{env.service_rss_kib()} KiB",
    ))

    results.append(await _paging(env, ids, delegate, device))
    return results


async def _paging(env: BenchEnv, ids: Ids, delegate: int, device: int) -> Result:
    """Load interactions with _bulk_docs, then time the first page and the last (via next)."""
    http, admin, engine = env.http, env.admin_headers, _engine(env)
    records = f"{env.engine_url}/{env.db_prefix}records"
    wanted = 1_000_000 if env.large else 100_000
    async with http.get(f"{env.service_url}/interaction/list?limit=1", headers=admin) as resp:
        have = (await resp.json())["meta"]["total"]
    chunk = 10 * BLOCK_SIZE
    left = max(wanted - have, 0)
    while left > 0:
        size = min(chunk, left)
        docs = [interaction_doc(n, delegate, device) for n in await ids.take(size)]
        async with http.post(f"{records}/_bulk_docs", json={"docs": docs}, headers=engine) as resp:
            _check(resp.status, 201, "loading interactions")
            await resp.read()
        left -= size

    # Build the view's index first (minutes for a million on PouchDB Server, longer than the
    # service waits for its engine), as an operator would after a bulk load.
    view = f"{records}/_design/interactions/_view/interactions_by_id"
    async with http.get(view, params={"limit": "1", "reduce": "false"}, headers=engine,
                        timeout=aiohttp.ClientTimeout(total=3600)) as resp:
        _check(resp.status, 200, "building the index")
        await resp.read()

    first_url = f"{env.service_url}/interaction/list?limit={PAGE_LIMIT}"

    async def page(url: str) -> str | None:
        async with http.get(url, headers=admin) as resp:
            _check(resp.status, 200, "service page")
            answer = await resp.json()
        link: str | None = answer["meta"]["next"]
        return link

    # Walk every page through `next` (this also builds the view's index).
    url: str | None = first_url
    last_url = first_url
    pages = 0
    while url is not None:
        last_url = url
        link = await page(url)
        pages += 1
        url = f"{env.service_url}{link}" if link else None

    async def first() -> None:
        await page(first_url)

    async def last() -> None:
        await page(last_url)

    last_ms, first_ms = await _alternating(last, first)
    count = max(wanted, have)
    return Result(
        f"list: last page via next vs first ({count:,}, limit {PAGE_LIMIT})", "ms",
        last_ms, first_ms, False, 1.5,
        f"'engine' column: the first page's time; {pages} pages walked",
    )
