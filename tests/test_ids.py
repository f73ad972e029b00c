"""Ids by blocks (service/ids.py) and idempotent creates (service/idempotency.py)."""

from __future__ import annotations

import asyncio

import pytest

from service import ids
from service.errors import ApiError
from service.idempotency import Reserved, fingerprint_of, run_once
from service.store import INTERNAL, Store


async def test_processes_take_disjoint_blocks(store: Store) -> None:
    first, second = ids.IdAllocator(store, "service:a"), ids.IdAllocator(store, "service:b")
    taken = await asyncio.gather(first.take(5), second.take(5), first.take(3))
    flat = [n for group in taken for n in group]
    assert len(set(flat)) == 13 and min(flat) >= 1
    assert first._block != second._block
    block = await store.get(INTERNAL, "idblock:" + ids.padded(first._block or 0))
    assert block["owner"] == "service:a" and block["type"] == "idblock"
    # A third process starting later goes past every block reserved so far.
    third = ids.IdAllocator(store, "service:c")
    assert await third.next_id() > max(flat)


async def test_a_block_runs_out_into_the_next(store: Store) -> None:
    allocator = ids.IdAllocator(store)
    allocator._next = allocator._stop = 0
    await allocator.next_id()
    allocator._next = allocator._stop - 1
    last = await allocator.next_id()
    after = await allocator.next_id()
    assert after > last and after % ids.BLOCK_SIZE == 0


async def test_take_runs_out_into_the_next_block_in_one_call(store: Store) -> None:
    allocator = ids.IdAllocator(store)
    await allocator.next_id()
    allocator._next = allocator._stop - 2
    first_block_end = allocator._stop
    taken = await allocator.take(5)
    assert taken[:2] == [first_block_end - 2, first_block_end - 1]
    assert taken[2:] == list(range(taken[2], taken[2] + 3)) and taken[2] % ids.BLOCK_SIZE == 0
    assert taken[2] > first_block_end - 1 and await allocator.next_id() == taken[-1] + 1


async def test_the_next_block_is_reserved_ahead(store: Store) -> None:
    """As soon as a block is in use the next is reserved in the background, so a request
    (a batch of 1,000 spans two blocks) does not wait for it."""
    allocator = ids.IdAllocator(store, "service:ahead")
    assert allocator._spare is None
    await allocator.take(10)
    assert allocator._spare is not None
    ahead = await allocator._spare
    claim = await store.get(INTERNAL, "idblock:" + ids.padded(ahead))
    assert claim["owner"] == "service:ahead" and ahead != allocator._block
    rest = await allocator.take(ids.BLOCK_SIZE)
    assert rest[-1] in ids.block_range(ahead) and len(set(rest)) == ids.BLOCK_SIZE
    assert allocator._block == ahead


def test_readable_ids() -> None:
    assert ids.doc_id("interaction", 89027) == "interaction:0000089027"
    assert ids.number_of("interaction", "89027") == 89027
    assert ids.number_of("interaction", "0") is None
    assert ids.number_of("interaction", "x1") is None
    assert sorted([ids.doc_id("d", 10), ids.doc_id("d", 9)]) == [ids.doc_id("d", 9),
                                                                  ids.doc_id("d", 10)]


async def test_run_once_races_write_once(store: Store) -> None:
    calls = 0

    async def create(_reserved: Reserved) -> dict[str, int]:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.05)
        return {"n": calls}

    answers = await asyncio.gather(*(
        run_once(store, "test", "k1", fingerprint_of("a"), create) for _ in range(4)
    ))
    assert calls == 1
    assert {a.result["n"] for a in answers} == {1}
    assert sorted(a.replayed for a in answers) == [False, True, True, True]
    with pytest.raises(ApiError) as caught:
        await run_once(store, "test", "k1", fingerprint_of("b"), create)
    assert caught.value.internal_code == 1602
    # Another scope is another key space; no key: no memory.
    assert (await run_once(store, "other", "k1", fingerprint_of("b"), create)).result == {"n": 2}
    assert (await run_once(store, "test", None, "", create)).result == {"n": 3}


async def test_run_once_forgets_failures(store: Store) -> None:
    attempts = 0

    async def flaky(_reserved: Reserved) -> str:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise ApiError(1999, "boom")
        return "ok"

    with pytest.raises(ApiError):
        await run_once(store, "test", "k2", "f", flaky)
    assert (await run_once(store, "test", "k2", "f", flaky)).result == "ok"
    assert attempts == 2


async def test_run_once_in_progress_1603(store: Store) -> None:
    started = asyncio.Event()

    async def slow(_reserved: Reserved) -> str:
        started.set()
        await asyncio.sleep(0.5)
        return "done"

    first = asyncio.ensure_future(run_once(store, "test", "k3", "f", slow))
    await started.wait()
    with pytest.raises(ApiError) as caught:
        await run_once(store, "test", "k3", "f", slow, wait_seconds=0.05)
    assert caught.value.internal_code == 1603 and caught.value.status == 409
    assert (await first).result == "done"


async def test_run_once_after_an_engine_failure_mid_write_writes_the_same_record(
    store: Store,
) -> None:
    """The engine took the write but went away before answering: the retry must not write a
    second record, but answer the first."""
    from service.errors import EngineUnavailable
    from service.store import RECORDS

    written: list[str] = []

    async def reserve() -> Reserved:
        return {"_id": f"rec-{len(written)}-{asyncio.get_running_loop().time()}"}

    async def lost_answer(reserved: Reserved) -> str:
        await store.put(RECORDS, {"_id": reserved["_id"], "type": "interaction",
                                  "createdAt": "x", "updatedAt": "x"})
        written.append(reserved["_id"])
        raise EngineUnavailable(5)

    async def careful(reserved: Reserved) -> str:
        if await store.get_or_none(RECORDS, reserved["_id"]) is None:
            await store.put(RECORDS, {"_id": reserved["_id"], "type": "interaction",
                                      "createdAt": "x", "updatedAt": "x"})
            written.append(reserved["_id"])
        return str(reserved["_id"])

    with pytest.raises(EngineUnavailable):
        await run_once(store, "test", "k4", "f", lost_answer, reserve=reserve)
    # The claim is kept: a retry at once is told to wait, not run again.
    with pytest.raises(ApiError) as caught:
        await run_once(store, "test", "k4", "f", careful, reserve=reserve, wait_seconds=0.05)
    assert caught.value.internal_code == 1603
    # Once the claim is stale, the retry takes it over with the same reservation.
    replay = await run_once(store, "test", "k4", "f", careful, reserve=reserve, stale_seconds=0)
    assert written == [replay.result]


async def test_a_key_still_in_progress_says_how_long_until_it_can_be_taken_over(
    store: Store,
) -> None:
    from service.idempotency import key_doc_id, pending_record

    claim = pending_record("scope", "k-busy", fingerprint_of("same"), {})
    await store.put(INTERNAL, claim)  # a first request that has not finished (its engine went away)

    async def create(reserved: Reserved) -> str:
        raise AssertionError("the key is held: nothing may be created")

    with pytest.raises(ApiError) as caught:
        await run_once(store, "scope", "k-busy", fingerprint_of("same"), create,
                       wait_seconds=0.05, stale_seconds=30.0)
    assert caught.value.internal_code == 1603
    assert 25 <= int(caught.value.headers["Retry-After"]) <= 30  # not "1": the claim's real wait
    assert await store.get(INTERNAL, key_doc_id("scope", "k-busy"))
