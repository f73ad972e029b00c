"""The sync worker: one per service process; the one holding the lease does a round every
`sync_poll_seconds`: the catalog from the registry, each device database's arrivals, then
the conflicts among what changed in `records`. An engine that is away only delays the next round."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from functools import partial

from aiohttp import web

from .. import keys
from ..directory.provisioning import device_of_database
from ..engine import Readiness
from ..errors import ApiError
from ..interactions.types import InteractionTypes
from ..settings import Settings
from ..store import INTERNAL, RECORDS, REGISTRY, Store
from . import catalog, conflicts, guards, lease
from .feed import Feed
from .ingest import ingest

log = logging.getLogger(__name__)
LEASE = "sync"
# The views the listings read, kept built while records arrive: PouchDB Server builds an index
# only inside the query that needs it, so the first listing after a sync would pay for every
# arrival at once (CouchDB also builds in the background; asking it is cheap there).
LISTED_VIEWS = {"interaction": ("interactions", "interactions_by_id"),
                "questionnaire": ("questionnaires", "questionnaires_by_filter")}


class SyncWorker:
    def __init__(self, store: Store, types: InteractionTypes, settings: Settings,
                 readiness: Readiness) -> None:
        self.store = store
        self.readiness = readiness
        self.types = types
        self.settings = settings
        self.owner = uuid.uuid4().hex
        self.rounds = 0
        self._wake = asyncio.Event()
        self._stopping = False
        self._types_published = False
        self._warming: asyncio.Task[None] | None = None
        self._to_warm: set[str] = set()  # record types whose listing's index is behind
        self.arrived = 0  # device records the last round handled
        self._followed_at = float("-inf")  # when the conflicts and guards were last followed

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def round(self) -> int:
        """One pass over everything; how many changes were handled (0 when another process
        holds the lease)."""
        if not await lease.hold(self.store, LEASE, self.owner, self.settings.sync_lease_seconds):
            return 0
        if not self._types_published:
            await catalog.publish_types(self.store, self.types)
            self._types_published = True
        handled = await Feed(self.store, REGISTRY, "catalog",
                             partial(catalog.follow_registry, self.store)).poll()
        arrived = 0
        for db in await self.store.device_databases():
            device = device_of_database(db)
            if device is not None:
                arrived += await Feed(self.store, db, f"device:{device}",
                                      partial(ingest, self.store, self.types, device),
                                      attachments=True).poll()
        if arrived:
            self.keep_listed(set(LISTED_VIEWS))
        handled += arrived
        self.arrived = arrived
        # While a push lands, rounds follow each other at once: the conflicts and guards are
        # looked at once a poll interval, not in every round (they read all of `records`'
        # changes, the copies of the arrivals included).
        now = asyncio.get_running_loop().time()
        if not arrived or now - self._followed_at >= self.settings.sync_poll_seconds:
            self._followed_at = now
            handled += await Feed(self.store, RECORDS, "conflicts",
                                  partial(conflicts.follow_records, self.store),
                                  include_docs=False).poll()
            handled += await Feed(self.store, INTERNAL, "guards",
                                  partial(guards.follow_internal, self.store),
                                  include_docs=False).poll()
        self.rounds += 1
        return handled

    def keep_listed(self, record_types: set[str]) -> None:
        """Records of these types reached `records` (here, or through the replication endpoint):
        bring their listings' indexes up to them, off the round and the request."""
        self._to_warm |= record_types & LISTED_VIEWS.keys()
        if self._to_warm and (self._warming is None or self._warming.done()):
            self._warming = asyncio.create_task(self._warm(), name="sync-warm")

    async def _warm(self) -> None:
        while self._to_warm:
            record_types, self._to_warm = self._to_warm, set()
            for record_type in sorted(record_types):
                ddoc, view = LISTED_VIEWS[record_type]
                try:
                    await self.store.view(RECORDS, ddoc, view, limit=0)
                except ApiError as exc:
                    log.info("warming %s/%s: %s", ddoc, view, exc.message)

    async def stop_warming(self) -> None:
        if self._warming is not None:
            self._warming.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._warming

    async def run(self) -> None:
        while not self._stopping:
            self.arrived = 0
            try:
                await self.readiness.ensure()
                await self.round()
            except ApiError as exc:
                log.warning("sync round failed: %s", exc.message)
            except Exception:
                log.exception("sync round failed")
            if self.arrived:
                continue  # a push may still be landing: look again at once
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.settings.sync_poll_seconds)
            self._wake.clear()


async def sync_context(app: web.Application) -> AsyncIterator[None]:
    worker = SyncWorker(app[keys.STORE], app[keys.INTERACTION_TYPES], app[keys.SETTINGS],
                        app[keys.READINESS])
    app[keys.SYNC] = worker
    task = asyncio.create_task(worker.run(), name="sync")
    yield
    worker.stop()
    with contextlib.suppress(TimeoutError, asyncio.CancelledError):
        await asyncio.wait_for(task, 30)
    await worker.stop_warming()
