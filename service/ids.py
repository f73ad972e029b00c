"""Integer ids for interactions, delegates and devices: hi/lo blocks, unique across processes.

One sequence of blocks serves every kind of record, so an id names one record system-wide.
Block `n` holds the ids `n * BLOCK_SIZE` to `n * BLOCK_SIZE + BLOCK_SIZE - 1` (block 0 starts
at 1: id 0 is never given). A process reserves a block by creating the document
`idblock:<n, 10 digits>` in the internal database; CouchDB lets exactly one create win, so a
conflict means another process (or a device's provisioning) owns it and the next is tried.
Ids inside a reserved block are then handed out in memory: no engine round-trip per record.
A process that stops leaves the rest of its block unused (gaps are expected; ids only need
to be unique and to grow roughly with time). See docs/INTERACTIONS.md, "Ids".
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Awaitable, Callable
from functools import lru_cache
from typing import Any

from .clock import now_iso
from .store import INTERNAL, DocumentConflict, Store

# Never change: the ranges of blocks already reserved depend on it.
BLOCK_SIZE = 1000
BLOCK_PREFIX = "idblock:"
ID_DIGITS = 10


def padded(number: int) -> str:
    return f"{number:0{ID_DIGITS}d}"


@lru_cache(maxsize=16384)
def doc_id(kind: str, number: int) -> str:
    """The readable, id-ordered `_id` of a record: `interaction:0000089027` (remembered: a batch
    names the same delegates and devices over and over)."""
    return kind + ":" + str(number).zfill(ID_DIGITS)


def number_of(kind: str, value: str) -> int | None:
    """The integer id in `id:{id}` path parts or `_id`s; None when it is not one."""
    text = value.removeprefix(f"{kind}:")
    if not (text.isascii() and text.isdigit()) or len(text) > ID_DIGITS:
        return None
    number = int(text)
    return number if number > 0 else None


def block_range(block: int) -> range:
    return range(max(block * BLOCK_SIZE, 1), (block + 1) * BLOCK_SIZE)


def owner_name() -> str:
    return f"service:{socket.gethostname()}:{os.getpid()}"


async def reserve_block(store: Store, owner: str, after: int | None = None) -> int:
    """Reserve the next free block (for this process, or for a device being provisioned)."""
    block = (after + 1) if after is not None else await _next_unreserved(store)
    while True:
        doc: dict[str, Any] = {
            "_id": BLOCK_PREFIX + padded(block), "type": "idblock", "block": block,
            "first": block_range(block).start, "last": block_range(block).stop - 1,
            "owner": owner, "createdAt": now_iso(), "updatedAt": now_iso(),
        }
        try:
            await store.put(INTERNAL, doc)
        except DocumentConflict:
            # Somebody else is ahead: jump past the highest block reserved so far.
            block = max(block + 1, await _next_unreserved(store))
            continue
        return block


async def _next_unreserved(store: Store) -> int:
    answer = await store.all_docs(
        INTERNAL, startkey=BLOCK_PREFIX + "\ufff0", endkey=BLOCK_PREFIX,
        descending=True, limit=1,
    )
    rows = answer.get("rows") or []
    if not rows:
        return 0
    return int(str(rows[0]["id"])[len(BLOCK_PREFIX):]) + 1


class IdAllocator:
    """Hands out ids from this process's current block. The next block is reserved in the
    background as soon as a block is taken into use, so that no request waits for one (a
    batch of 1,000 uses a whole block, and mostly spans two)."""

    def __init__(self, store: Store, owner: str | None = None) -> None:
        self.store = store
        self.owner = owner or owner_name()
        self._block: int | None = None
        self._next = 0
        self._stop = 0
        self._lock = asyncio.Lock()
        self._spare: asyncio.Task[int] | None = None

    async def next_id(self) -> int:
        if self._next >= self._stop:
            async with self._lock:
                if self._next >= self._stop:
                    await self._refill()
        number = self._next
        self._next += 1
        self._reserve_ahead()
        return number

    def _reserve_ahead(self) -> None:
        if self._spare is None and self._block is not None:
            self._spare = asyncio.create_task(
                reserve_block(self.store, self.owner, self._block))
            self._spare.add_done_callback(_quiet)

    def abandon(self) -> None:
        """Leave the rest of the current block (somebody wrote into it): the next id comes
        from a new block."""
        self._next = self._stop

    async def take(self, count: int) -> list[int]:
        taken: list[int] = []
        while len(taken) < count:
            taken.append(await self.next_id())  # reserves the next block when this one is used
            rest = range(self._next, min(self._stop, self._next + count - len(taken)))
            taken.extend(rest)
            self._next = rest.stop
            self._reserve_ahead()
        return taken

    async def _refill(self) -> None:
        spare, self._spare = self._spare, None
        block = None
        if spare is not None and not spare.cancelled():
            try:
                block = await spare
            except Exception:  # made again now, which raises what still fails
                block = None
        if block is None:
            block = await reserve_block(self.store, self.owner, self._block)
        self._block = block
        ids = block_range(self._block)
        self._next, self._stop = ids.start, ids.stop


def _quiet(task: asyncio.Task[int]) -> None:
    """A reservation ahead that failed is made again when its block is needed: its error is
    read here only so that nobody logs it as lost."""
    if not task.cancelled():
        task.exception()


def allocator(store: Store) -> IdAllocator:
    """The process's allocator for this store (one per engine connection)."""
    return store.companion(IdAllocator)


def reserve_id(store: Store) -> Callable[[], Awaitable[dict[str, Any]]]:
    """For an idempotent create: reserve the id its record will have, however often it runs."""

    async def reserve() -> dict[str, Any]:
        return {"id": await allocator(store).next_id()}

    return reserve
