"""Idempotent creates: a client's retry answers the first result and writes nothing new.

    async def run_once(
        store: Store, scope: str, key: str | None, fingerprint: str,
        create: Callable[[Reserved], Awaitable[T]],
        *, reserve: Callable[[], Awaitable[Reserved]] | None = None,
    ) -> Replay[T]

- `key` None: `create(reserved)` runs and its result is returned (`replayed` False).
- `reserve` makes the values a create must reuse if it runs again for the same key (the id
  of the record it writes): made once, kept on the key's claim, and handed to every
  `create` for that key as a `Reservation`. A create that finds its record already written
  (the first try wrote it, then lost its answer) answers that record; it recognises it by
  `record_digest(scope, key, fingerprint)`, stored on the record. A create that finds
  somebody else's document there calls `reservation.move(...)` (the claim then names the new
  values) before it writes elsewhere, so a later retry looks where the record went.
- `scope` separates key spaces (for example `"interaction.new:<user name>"` or
  `"questionnaire.create:<user name>"`): the same key in two scopes is two keys.
- `fingerprint` identifies the request (use `fingerprint_of(...)` on the parts that matter);
  the same scope and key with another fingerprint raises ApiError 1602 (409).
- The first call creates `idem:<sha256(scope, key)>` in the internal database (create-only,
  so of two racing calls exactly one wins), runs `create()`, then stores its result (which
  must be JSON-serialisable) on that document. A call that loses the race, or comes later,
  waits for the result (polling, bounded by `wait_seconds`) and returns it with
  `replayed=True`; `create()` is not called again. Still pending after that wait: ApiError
  1603 (409, with Retry-After) so the client retries later.
- When `create()` raises, the key is released (the document deleted) and the exception
  propagates: failures are not remembered, a retry runs again. Except when the engine went
  away (503): whether the write landed is unknown, so the claim stays until it is stale and
  the retry that takes it over writes the same reserved record (never a second one).
- A key left pending for `stale_seconds` (its process died between claim and result) is taken
  over by the next call, which runs `create()` again.
Keys are kept (no expiry yet); see docs/INTERACTIONS.md, "Idempotency".
Without `reserve`, a create whose engine went away mid-write can still run twice.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from .clock import iso, now, parse_timestamp
from .errors import ApiError, EngineUnavailable
from .store import INTERNAL, DocumentConflict, DocumentNotFound, Store

T = TypeVar("T")
Reserved = dict[str, Any]

HEADER = "Idempotency-Key"
PREFIX = "idem:"


@dataclass(frozen=True)
class Replay(Generic[T]):
    result: T
    replayed: bool


class Reservation(dict[str, Any]):
    """The reserved values handed to a create; `move` replaces them, on the key's claim too."""

    def __init__(
        self, values: Reserved, keep: Callable[[Reserved], Awaitable[None]] | None = None
    ) -> None:
        super().__init__(values)
        self._keep = keep

    async def move(self, **values: Any) -> None:
        self.update(values)
        if self._keep is not None:
            await self._keep(dict(self))


def record_digest(scope: str, key: str, fingerprint: str) -> str:
    """What a record written for this key and request carries, so a retry knows it as its own."""
    return hashlib.sha256(f"{scope}\0{key}\0{fingerprint}".encode()).hexdigest()


def fingerprint_of(*parts: Any) -> str:
    """A stable digest of a request's parts (JSON, keys sorted)."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def key_doc_id(scope: str, key: str) -> str:
    return PREFIX + hashlib.sha256(f"{scope}\0{key}".encode()).hexdigest()


def pending_record(scope: str, key: str, fingerprint: str, reserved: Reserved) -> dict[str, Any]:
    """A key's record while its create runs (written create-only: one claim wins)."""
    stamp = iso(now())
    return {
        "_id": key_doc_id(scope, key), "type": "idempotency", "scope": scope,
        "fingerprint": fingerprint, "state": "pending", "owner": uuid.uuid4().hex,
        "createdAt": stamp, "updatedAt": stamp, "reserved": reserved,
    }


def _age_seconds(stamp: str) -> float:
    return (now() - parse_timestamp(stamp)).total_seconds()


async def run_once(
    store: Store,
    scope: str,
    key: str | None,
    fingerprint: str,
    create: Callable[[Reservation], Awaitable[T]],
    *,
    reserve: Callable[[], Awaitable[Reserved]] | None = None,
    wait_seconds: float = 10.0,
    stale_seconds: float = 30.0,
) -> Replay[T]:
    reserved: Reserved = await reserve() if reserve is not None else {}
    if key is None:
        return Replay(await create(Reservation(reserved)), False)
    doc_id = key_doc_id(scope, key)
    claim = pending_record(scope, key, fingerprint, reserved)
    deadline = time.monotonic() + wait_seconds
    delay = 0.02
    while True:
        try:
            claim["_rev"] = await store.put(INTERNAL, claim)
            break
        except DocumentConflict:
            pass
        existing = await store.get_or_none(INTERNAL, doc_id)
        if existing is None:
            continue  # released between our put and get: claim again
        if existing.get("fingerprint") != fingerprint:
            raise ApiError(
                1602, f"{HEADER} {key!r} was used with a different request",
                details=[{"pointer": "", "message": f"header {HEADER}: already used"}],
            )
        if existing.get("state") == "done":
            return Replay(existing["result"], True)
        if _age_seconds(str(existing.get("updatedAt"))) > stale_seconds:
            claim["_rev"] = existing["_rev"]
            # The stale claim's create may have written its record: write the same one.
            claim["reserved"] = existing.get("reserved") or reserved
            try:
                claim["_rev"] = await store.put(INTERNAL, claim)
                break
            except DocumentConflict:
                continue
        if time.monotonic() > deadline:
            # The first request may still finish; if it never does, its claim can be taken over
            # once stale: that is the wait to announce, not a guess.
            wait = stale_seconds - _age_seconds(str(existing.get("updatedAt")))
            raise ApiError(
                1603, f"a request with {HEADER} {key!r} is still in progress; retry later",
                headers={"Retry-After": str(max(1, math.ceil(wait)))},
            )
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.5)

    async def keep(values: Reserved) -> None:
        claim.update(reserved=values, updatedAt=iso(now()))
        claim["_rev"] = await store.put(INTERNAL, claim)

    try:
        result = await create(Reservation(claim["reserved"], keep))
    except EngineUnavailable:
        raise  # the write may have landed: keep the claim (and its reservation) for the retry
    except BaseException:
        await _release(store, claim)
        raise
    done = {**claim, "state": "done", "result": result, "updatedAt": iso(now())}
    await store.put(INTERNAL, done)
    return Replay(result, False)


async def _release(store: Store, claim: dict[str, Any]) -> None:
    try:
        await store.delete(INTERNAL, claim["_id"], claim["_rev"])
    except (DocumentConflict, DocumentNotFound, ApiError):
        pass  # taken over or gone: nothing of ours to release


__all__ = [
    "HEADER", "Replay", "Reservation", "Reserved", "fingerprint_of", "key_doc_id", "pending_record",
    "record_digest", "run_once",
]
