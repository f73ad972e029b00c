"""Interaction API, each against the engine doing the same work in the same run:

- `POST /interaction/new/lead` at 16 concurrent clients vs single-document POSTs of the same
  documents to a plain database (no design documents) (target >= 0.8x the throughput);
- `POST /interaction/new/check-in` (a type with a limit rule: one per delegate and door), a
  delegate not seen before in each request, vs the same POSTs to the plain database (>= 0.7x);
- `POST /interaction/batch` of 1,000 leads vs `_bulk_docs` of the same 1,000 documents to the
  plain database (>= 0.7x);
- `GET /interaction/list?limit=5000` vs the view query returning the same rows, documents
  included (<= 1.2x the time);
- the last page of 100,000 interactions (1,000,000 with --large), reached through `next`
  links, vs the first page (<= 1.5x the time);
- the engine requests each operation makes (through the counting service), against a budget.

Service CPU per record is read from /proc for the measured service process during its
timed phases.
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

from .harness import PLAIN, BenchEnv, CpuMeter, Result, check, timed, within_budget

CONCURRENCY = 16
SINGLE_REQUESTS = 2000
SLICES = 8  # turns taken by the service and the engine (a shared machine's noise evens out)
WARM_UP = 100
BATCH_SIZE = 1000
BATCHES = 8
LIST_LIMIT = 5000
PAGE_LIMIT = 1000
REPEATS = 7
# Far above what the service reserves for itself in a run.
FIRST_BENCH_BLOCK = 5_000_000
LEAD_DATA = {"answers": {"interest": "pricing", "followUp": True, "budget": 3},
             "rating": 4, "notes": "Wants a demo at the next event."}


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
        while True:
            self.block += 1
            doc = {"_id": "idblock:" + padded(self.block), "type": "idblock",
                   "block": self.block, "owner": "bench", "createdAt": now_iso(),
                   "updatedAt": now_iso()}
            async with self.env.http.post(self.env.db("internal"), json=doc,
                                          headers=self.env.engine_headers) as resp:
                if resp.status == 409:
                    continue
                check(resp.status, 201, "reserving an id block")
            self.free.extend(block_range(self.block))
            return


def interaction_doc(number: int, itype: str, **members: Any) -> dict[str, Any]:
    """A document as the service writes one."""
    stamp = now_iso()
    return {"_id": f"interaction:{number:010d}", "type": "interaction", "id": number,
            "interactionType": itype, **members, "recordedAt": stamp, "createdAt": stamp,
            "updatedAt": stamp, "createdBy": "settee-bench"}


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


async def _interleaved(service: Callable[[], Awaitable[None]],
                       engine: Callable[[], Awaitable[None]], cpu: CpuMeter) -> tuple[float, float]:
    """Seconds for SINGLE_REQUESTS of each, in alternating slices so noise hits both alike."""
    part = SINGLE_REQUESTS // SLICES
    service_s = engine_s = 0.0
    for _ in range(SLICES):
        service_s += await cpu.timed(service, part, CONCURRENCY)
        engine_s += await timed(engine, part, CONCURRENCY)
    return service_s, engine_s


async def run(env: BenchEnv) -> list[Result]:
    http, admin, engine = env.http, env.admin_headers, env.engine_headers
    plain = env.db(PLAIN)
    ids = Ids(env)

    async def made(path: str, body: dict[str, Any]) -> int:
        async with http.post(f"{env.service_url}{path}", json=body, headers=admin) as resp:
            check(resp.status, 201, f"POST {path}")
            return int((await resp.json())["data"]["id"])

    visitor = await made("/delegate/new", {"name": "Visitor"})
    staff = await made("/delegate/new", {"name": "Staff"})
    device = await made("/device/new", {"name": "Stand 12", "kind": "tablet"})
    lead = {"firstDelegate": visitor, "secondDelegate": staff, "firstDevice": device,
            "recordedAt": int(time.time()), "data": LEAD_DATA}
    lead_doc = {k: v for k, v in lead.items() if k != "recordedAt"}

    # Delegates for the check-ins (each checks in once at the door), imported before the doors
    # open, as at an event; give the services' rosters (polling four times a second) a moment.
    registry = env.db("registry")
    stamp = now_iso()
    attendees = [{"_id": f"delegate:{n:010d}", "type": "delegate", "id": n, "name": f"d{n}",
                  "createdAt": stamp, "updatedAt": stamp}
                 for n in await ids.take(SINGLE_REQUESTS + WARM_UP + 10)]
    async with http.post(f"{registry}/_bulk_docs", json={"docs": attendees},
                         headers=engine) as resp:
        check(resp.status, 201, "loading delegates")
        await resp.read()
    unseen = iter(doc["id"] for doc in attendees)
    await asyncio.sleep(1.0)

    engine_ids = iter(await ids.take(2 * (SINGLE_REQUESTS + WARM_UP)))

    async def service_lead() -> None:
        async with http.post(f"{env.service_url}/interaction/new/lead", json=lead,
                             headers=admin) as resp:
            check(resp.status, 201, "service lead")
            await resp.read()

    async def engine_lead() -> None:
        doc = interaction_doc(next(engine_ids), "lead", **lead_doc)
        async with http.post(plain, json=doc, headers=engine) as resp:
            check(resp.status, 201, "engine POST")
            await resp.read()

    cpu_single = CpuMeter(env)
    await timed(service_lead, WARM_UP, CONCURRENCY)  # connections, the auth cache, an id block
    await timed(engine_lead, WARM_UP, CONCURRENCY)
    service_s, engine_s = await _interleaved(service_lead, engine_lead, cpu_single)
    results = [Result(
        f"POST /interaction/new/lead, {CONCURRENCY} clients", "req/s",
        SINGLE_REQUESTS / service_s, SINGLE_REQUESTS / engine_s, True, 0.8,
        "engine: POST of the same document to a plain database",
        cpu_us_per_record=cpu_single.micros_per_record,
    )]

    async def service_check_in() -> None:
        body = {"delegate": next(unseen), "device": device, "recordedAt": int(time.time())}
        async with http.post(f"{env.service_url}/interaction/new/check-in", json=body,
                             headers=admin) as resp:
            check(resp.status, 201, "service check-in")
            await resp.read()

    async def engine_check_in() -> None:
        doc = interaction_doc(next(engine_ids), "check-in", firstDelegate=visitor,
                              firstDevice=device)
        async with http.post(plain, json=doc, headers=engine) as resp:
            check(resp.status, 201, "engine POST")
            await resp.read()

    cpu_limited = CpuMeter(env)
    await timed(service_check_in, WARM_UP, CONCURRENCY)
    await timed(engine_check_in, WARM_UP, CONCURRENCY)
    service_s, engine_s = await _interleaved(service_check_in, engine_check_in, cpu_limited)
    results.append(Result(
        f"POST /interaction/new/check-in, {CONCURRENCY} clients", "req/s",
        SINGLE_REQUESTS / service_s, SINGLE_REQUESTS / engine_s, True, 0.7,
        "limit rule; another delegate each time; engine: POST to a plain database",
        cpu_us_per_record=cpu_limited.micros_per_record,
    ))

    entries = {str(i): {**lead, "interactionType": "lead"} for i in range(BATCH_SIZE)}

    async def service_batch() -> None:
        async with http.post(f"{env.service_url}/interaction/batch",
                             json={"interactions": entries}, headers=admin) as resp:
            check(resp.status, 200, "service batch")
            answer = await resp.json()
            if answer["meta"]["failed"]:
                raise RuntimeError(f"batch entries failed: {answer['meta']}")

    async def engine_bulk() -> None:
        docs = [interaction_doc(n, "lead", **lead_doc) for n in await ids.take(BATCH_SIZE)]
        async with http.post(f"{plain}/_bulk_docs", json={"docs": docs}, headers=engine) as resp:
            check(resp.status, 201, "engine _bulk_docs")
            refused = [r for r in await resp.json() if "error" in r]  # as the service's side does
            if refused:
                raise RuntimeError(f"engine _bulk_docs refused {len(refused)} documents")

    await service_batch()
    await engine_bulk()
    cpu_batch = CpuMeter(env)
    service_s = engine_s = 0.0
    for _ in range(BATCHES):
        service_s += await cpu_batch.timed(service_batch, 1, 1, BATCH_SIZE)
        engine_s += await timed(engine_bulk, 1, 1)
    results.append(Result(
        f"POST /interaction/batch of {BATCH_SIZE}", "docs/s", BATCHES * BATCH_SIZE / service_s,
        BATCHES * BATCH_SIZE / engine_s, True, 0.7,
        "engine: _bulk_docs of the same documents to a plain database",
        cpu_us_per_record=cpu_batch.micros_per_record,
    ))

    view = f"{env.db('records')}/_design/interactions/_view/interactions_by_id"

    async def service_list() -> None:
        async with http.get(f"{env.service_url}/interaction/list?limit={LIST_LIMIT}",
                            headers=admin) as resp:
            check(resp.status, 200, "service list")
            answer = await resp.json()
            if len(answer["data"]) != LIST_LIMIT:
                raise RuntimeError(f"service list: {len(answer['data'])} rows")

    async def engine_view() -> None:
        async with http.get(view, params={"limit": str(LIST_LIMIT), "include_docs": "true",
                                          "reduce": "false"}, headers=engine) as resp:
            check(resp.status, 200, "engine view")
            answer = await resp.json()
            if len(answer["rows"]) != LIST_LIMIT:
                raise RuntimeError(f"engine view: {len(answer['rows'])} rows")

    await engine_view()  # builds the index
    await service_list()
    rss_before = env.service_rss_kib()
    cpu_before = env.service_cpu_seconds()
    service_ms, engine_ms = await _alternating(service_list, engine_view)
    list_cpu = (env.service_cpu_seconds() - cpu_before) / (REPEATS * LIST_LIMIT) * 1e6
    results.append(Result(
        f"GET /interaction/list?limit={LIST_LIMIT}", "ms", service_ms, engine_ms, False, 1.2,
        f"engine: the view with include_docs; service RSS {rss_before} -> "
        f"{env.service_rss_kib()} KiB", cpu_us_per_record=list_cpu,
    ))

    results += await _requests(env, lead, entries, attendees[-10:], device)
    results.append(await _paging(env, ids, visitor, device))
    return results


async def _requests(env: BenchEnv, lead: dict[str, Any], entries: dict[str, Any],
                    attendees: list[dict[str, Any]], device: int) -> list[Result]:
    """What each operation costs in engine requests, through the counting service."""
    http, admin = env.http, env.admin_headers
    made: list[int] = []

    def post(path: str, body: Any, status: int) -> Callable[[str], Awaitable[None]]:
        async def call(url: str) -> None:
            async with http.post(f"{url}{path}", json=body, headers=admin) as resp:
                check(resp.status, status, f"POST {path}")
                answer = await resp.json()
                if status == 201:
                    made.append(int(answer["data"]["id"]))
        return call

    def get(path: str) -> Callable[[str], Awaitable[None]]:
        async def call(url: str) -> None:
            async with http.get(f"{url}{path}", headers=admin) as resp:
                check(resp.status, 200, f"GET {path}")
                await resp.read()
        return call

    async def delete_last(url: str) -> None:
        async with http.delete(f"{url}/interaction/id:{made[-1]}", headers=admin) as resp:
            check(resp.status, 204, "DELETE")

    await post("/interaction/new/lead", lead, 201)(env.counted_url)  # its id block, its roster
    await asyncio.sleep(0.5)
    check_in = {"delegate": attendees[0]["id"], "device": device}
    keyed = {**lead, "idempotencyKey": f"bench-{time.time()}"}
    cases: list[tuple[str, Callable[[str], Awaitable[None]], int, str]] = [
        ("POST /interaction/new/lead", post("/interaction/new/lead", lead, 201), 1,
         "the write"),
        ("POST /interaction/new/check-in", post("/interaction/new/check-in", check_in, 201), 1,
         "the write, its limit guard in the same request"),
        ("the same check-in again: 412/740", post("/interaction/new/check-in", check_in, 412), 4,
         "the write, the guard and its holder read, what was written deleted"),
        ("DELETE /interaction/id:{id} (a check-in)", delete_last, 3,
         "read it, read its guards, delete both in one request"),
        ("POST /interaction/new/lead, Idempotency-Key", post("/interaction/new/lead", keyed, 201),
         3, "claim the key, the write, store the result"),
        (f"POST /interaction/batch of {BATCH_SIZE}",
         post("/interaction/batch", {"interactions": entries}, 200), 2,
         "one _bulk_docs; an id block reserved per 1,000 ids"),
        (f"GET /interaction/list?limit={LIST_LIMIT}", get(f"/interaction/list?limit={LIST_LIMIT}"),
         LIST_LIMIT // 1000 + 1, "the view, 1,000 rows per request, and one to see the end"),
        ("GET /interaction/id:{id}", lambda url: get(f"/interaction/id:{made[0]}")(url), 1,
         "one read"),
    ]
    results = []
    for name, call, budget, why in cases:
        results.append(within_budget(name, await env.requests_made(call), budget, why))
    return results


async def _paging(env: BenchEnv, ids: Ids, delegate: int, device: int) -> Result:
    """Load interactions with _bulk_docs, then time the first page and the last (via next)."""
    http, admin, engine = env.http, env.admin_headers, env.engine_headers
    records = env.db("records")
    wanted = 1_000_000 if env.large else 100_000
    async with http.get(f"{env.service_url}/interaction/list?limit=1", headers=admin) as resp:
        have = (await resp.json())["meta"]["total"]
    chunk = 10 * BLOCK_SIZE
    left = max(wanted - have, 0)
    while left > 0:
        size = min(chunk, left)
        docs = [interaction_doc(n, "check-out", firstDelegate=delegate, firstDevice=device)
                for n in await ids.take(size)]
        async with http.post(f"{records}/_bulk_docs", json={"docs": docs}, headers=engine) as resp:
            check(resp.status, 201, "loading interactions")
            await resp.read()
        left -= size

    # Build the view's index first (minutes for a million on PouchDB Server, longer than the
    # service waits for its engine), as an operator would after a bulk load.
    view = f"{records}/_design/interactions/_view/interactions_by_id"
    async with http.get(view, params={"limit": "1", "reduce": "false"}, headers=engine,
                        timeout=aiohttp.ClientTimeout(total=3600)) as resp:
        check(resp.status, 200, "building the index")
        await resp.read()

    first_url = f"{env.service_url}/interaction/list?limit={PAGE_LIMIT}"

    async def page(url: str) -> str | None:
        async with http.get(url, headers=admin) as resp:
            check(resp.status, 200, "service page")
            answer = await resp.json()
        link: str | None = answer["meta"]["next"]
        return link

    # Walk every page through `next`.
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
