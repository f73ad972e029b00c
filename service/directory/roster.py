"""The roster: the `_id` of every delegate and device, in each process's memory, kept current
from the registry's `_changes` feed, so that checking who an interaction names costs no engine
request.

The follower reads the feed from the start (a page at a time), then reads what is new four
times a second; a change adds the id, a deletion removes it. Until it has caught up, and
while the feed fails, the roster is not `ready` and callers read the registry instead. An id
the roster does not hold yet (a delegate created a moment ago by another process) is also
read, so only a deletion can be missed, for as long as the roster lags (a quarter of a second
while it runs). Memory: about 100 bytes per delegate or device. Others who keep something of
the registry in memory (the forms' newest revisions) hear every change through `listeners`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import suppress
from typing import Any

from aiohttp import web

from .. import keys
from ..errors import ApiError
from ..store import REGISTRY, Store

log = logging.getLogger(__name__)

PREFIXES = ("delegate:", "device:")
PAGE = 10_000
# A plain read of the feed this often once caught up: PouchDB Server ignores a long poll's
# `timeout`, so a long poll would outlast the service's engine timeout on a quiet registry.
POLL_SECONDS = 0.25


class Roster:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.ids: set[str] = set()
        self.ready = False
        self.since: Any = 0
        self.listeners: list[Callable[[list[dict[str, Any]]], None]] = []

    def apply(self, results: list[dict[str, Any]]) -> None:
        for listener in self.listeners:
            listener(results)
        for change in results:
            doc_id = str(change.get("id", ""))
            if not doc_id.startswith(PREFIXES):
                continue
            if change.get("deleted"):
                self.ids.discard(doc_id)
            else:
                self.ids.add(doc_id)

    def forget(self, doc_id: str) -> None:
        """A deletion made by this process: gone at once, before the feed says so."""
        self.ids.discard(doc_id)

    async def follow(self) -> None:
        """Catch up, then poll, for ever (cancelled at shutdown)."""
        delay = 0.5
        while True:
            try:
                answer = await self.store.changes(REGISTRY, since=self.since, limit=PAGE)
            except ApiError as exc:
                if self.ready:
                    log.warning("the roster stopped following the registry: %s", exc.message)
                self.ready = False
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
                continue
            delay = 0.5
            results = answer.get("results") or []
            self.apply(results)
            self.since = answer.get("last_seq", self.since)
            if len(results) < PAGE:
                self.ready = True
                await asyncio.sleep(POLL_SECONDS)


def roster(store: Store) -> Roster:
    return store.companion(Roster)


async def roster_context(app: web.Application) -> AsyncIterator[None]:
    """Follow the registry while the app runs (after the engine context made the store)."""
    task = asyncio.create_task(roster(app[keys.STORE]).follow())
    yield
    task.cancel()
    with suppress(asyncio.CancelledError):
        await task
