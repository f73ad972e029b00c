"""submitUrl delivery (docs/SESSIONS.md): a durable queue of documents in `store.INTERNAL`, and its worker.

A completed session with a `submitUrl` has a document `delivery:<session id>`, written before the
session's completion (so a crash in between leaves an orphan that is cancelled, never a completed
session nobody delivers). Every service process runs one worker: it asks the view
`deliveries_by_due` for what is due, claims a delivery by writing it with its `_rev` (so two
processes never send the same attempt), POSTs the session's GET shape with the header
`Idempotency-Key: <session id>:<session rev>`, and records the outcome: delivered, retried later
with exponential back-off until `delivery_retry_seconds` have passed, or failed (410 Gone, or out
of time). A crashed process's claim expires (`leaseUntil`) and another picks the delivery up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from .. import keys
from ..clock import iso, now, parse_timestamp
from ..errors import ApiError
from ..settings import Settings
from ..store import INTERNAL, RECORDS, DocumentConflict, Store
from .documents import COMPLETED, SESSION_TYPE, public
from .outbound import Outbound

log = logging.getLogger(__name__)

JsonDict = dict[str, Any]

DELIVERY_TYPE = "delivery"
PENDING = "pending"
DELIVERING = "delivering"
DELIVERED = "delivered"
FAILED = "failed"
CANCELLED = "cancelled"
DESIGN_DOC = "deliveries"
DUE_VIEW = "deliveries_by_due"
BATCH = 20
LOG_KEEP = 100  # the newest tries kept in the log
LEASE_MARGIN = timedelta(seconds=30)
# A delivery whose session is still not completed this long after: the completion never landed.
ORPHAN_GRACE = timedelta(minutes=2)
VISIBLE = ("sessionId", "submitUrl", "state", "attempts", "createdAt", "updatedAt",
           "nextAttemptAt", "giveUpAt", "deliveredAt", "lastStatus", "lastError", "log")


def delivery_id(session_id: str) -> str:
    return f"delivery:{session_id}"


def stamp(moment: datetime) -> str:
    """Fixed-width UTC time, so that the due view's keys sort as times."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


async def enqueue(store: Store, session: JsonDict, settings: Settings | None = None) -> None:
    """Queue the delivery of a session about to be completed (idempotent)."""
    settings = settings or store.settings
    existing = await store.get_or_none(INTERNAL, delivery_id(session["_id"]))
    if existing is not None and existing["state"] in (PENDING, DELIVERING):
        return
    moment = now()
    doc: JsonDict = {
        "_id": delivery_id(session["_id"]),
        "type": DELIVERY_TYPE,
        "createdAt": iso(moment),
        "updatedAt": iso(moment),
        "sessionId": session["_id"],
        "submitUrl": session["metadata"]["submitUrl"],
        "state": PENDING,
        "attempts": 0,
        "nextAttemptAt": stamp(moment),
        "giveUpAt": stamp(moment + timedelta(seconds=settings.delivery_retry_seconds)),
        "leaseUntil": None,
        "deliveredAt": None,
        "lastStatus": None,
        "lastError": None,
        "log": [],
    }
    if existing is not None:  # a cancelled orphan of an earlier try: queue it afresh
        doc["_rev"] = existing["_rev"]
        doc["log"] = existing.get("log", [])
    with contextlib.suppress(DocumentConflict):  # somebody queued it at the same moment
        await store.put(INTERNAL, doc)


async def state(store: Store, session_id: str) -> JsonDict:
    """The delivery as the API shows it."""
    doc = await store.get_or_none(INTERNAL, delivery_id(session_id))
    if doc is None:
        raise ApiError(2212, f"questionnaire session {session_id} has no delivery "
                             "(not completed, or no submitUrl)")
    return {name: doc.get(name) for name in VISIBLE}


def backoff(settings: Settings, attempts: int) -> timedelta:
    seconds = settings.delivery_backoff_seconds * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, settings.delivery_backoff_max_seconds))


def is_due(doc: JsonDict, at: datetime) -> bool:
    if doc.get("state") == PENDING:
        return bool(doc["nextAttemptAt"] <= stamp(at))
    if doc.get("state") == DELIVERING:
        return bool((doc.get("leaseUntil") or "") <= stamp(at))
    return False


class DeliveryWorker:
    """Sends due deliveries; woken at once by a completion in this process, else it polls."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        self._wake = asyncio.Event()
        self._stopping = False
        self.outbound = Outbound()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        """Finish the round under way, then return (a claimed attempt is never abandoned)."""
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        failing = False
        while not self._stopping:
            self._wake.clear()
            try:
                busy = await self.run_once()
                failing = False
            except Exception:
                if not failing:  # once per outage, not once per poll
                    log.warning("delivery worker: the queue could not be read", exc_info=True)
                failing = True
                busy = False
            if not busy and not self._stopping:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.settings.delivery_poll_seconds)

    async def run_once(self) -> bool:
        """One round over what is due; True when the round was full (more may be waiting)."""
        answer = await self.store.view(
            INTERNAL, DESIGN_DOC, DUE_VIEW, endkey=stamp(now()), include_docs=True, limit=BATCH,
        )
        docs = [row["doc"] for row in answer["rows"] if row.get("doc")]
        sent = await asyncio.gather(*(self.attempt(doc) for doc in docs))
        return len(docs) == BATCH and any(sent)

    async def attempt(self, doc: JsonDict) -> bool:
        """Try one delivery; True when a try was made (or the delivery was settled)."""
        if not is_due(doc, now()):
            # The view's row was due, but the document read with it is newer: another process
            # claimed or settled it in between. Claiming that revision would send it twice.
            return False
        session = await self.store.get_or_none(RECORDS, doc["sessionId"])
        if session is None or session.get("type") != SESSION_TYPE:
            return await self._settle(doc, CANCELLED, "the session was deleted")
        if session["metadata"]["status"] != COMPLETED:
            if parse_timestamp(doc["updatedAt"]) + ORPHAN_GRACE < now():
                return await self._settle(doc, CANCELLED, "the session was never completed")
            return False  # its completion is being written right now
        number = doc["attempts"] + 1
        started = now()
        claim = {**doc, "state": DELIVERING, "attempts": number, "updatedAt": iso(started),
                 "leaseUntil": stamp(started + timedelta(
                     seconds=self.settings.delivery_timeout_seconds) + LEASE_MARGIN)}
        try:
            claim["_rev"] = await self.store.put(INTERNAL, claim)
        except DocumentConflict:
            return False  # another process claimed this attempt
        status: int | None = None
        error: str | None = None
        try:
            status = await self.outbound.post_json(
                doc["submitUrl"], public(session),
                {"Idempotency-Key": f"{session['_id']}:{session['_rev']}",
                 "X-Settee-Delivery-Attempt": str(number)},
                self.settings.delivery_timeout_seconds,
            )
        except ConnectionError as exc:
            error = str(exc) or type(exc).__name__
        finished = now()
        if status is not None and not 200 <= status < 300:
            error = f"HTTP {status}"
        entry = {"at": iso(started), "attempt": number, "status": status, "error": error,
                 "ms": round((finished - started).total_seconds() * 1000, 1)}
        claim["log"] = [*claim.get("log", []), entry][-LOG_KEEP:]
        claim.update(lastStatus=status, lastError=error, leaseUntil=None, updatedAt=iso(finished))
        if error is None:
            claim.update(state=DELIVERED, deliveredAt=iso(finished))
        elif status == 410:
            claim.update(state=FAILED, lastError="HTTP 410 Gone: the receiver refuses it for good")
        else:
            due = finished + backoff(self.settings, number)
            if stamp(due) > claim["giveUpAt"]:
                claim.update(state=FAILED,
                             lastError=f"{error}; gave up after {number} attempt(s)")
            else:
                claim.update(state=PENDING, nextAttemptAt=stamp(due))
        try:
            await self.store.put(INTERNAL, claim)
        except DocumentConflict:
            log.warning("delivery %s: claim lost while sending (another process took over)",
                        doc["_id"])
        log.info("delivery %s attempt %d: %s", doc["_id"], number, claim["state"],
                 extra={"status": status, "error": error})
        return True

    async def _settle(self, doc: JsonDict, final: str, reason: str) -> bool:
        with contextlib.suppress(DocumentConflict):
            await self.store.put(INTERNAL, {**doc, "state": final, "lastError": reason,
                                            "leaseUntil": None, "updatedAt": iso(now())})
        return True


def wake(app: web.Application) -> None:
    """Tell this process's worker that a delivery was just queued."""
    worker = app.get(keys.DELIVERY)
    if worker is not None:
        worker.wake()


async def worker_context(app: web.Application) -> AsyncIterator[None]:
    """The application's delivery worker, from start-up to clean-up."""
    worker = DeliveryWorker(app[keys.STORE], app[keys.SETTINGS])
    app[keys.DELIVERY] = worker
    task = asyncio.create_task(worker.run(), name="submitUrl delivery")
    yield
    # Let a send under way finish and record its outcome: cancelled after its claim, it would
    # hold the delivery until the claim's lease expires.
    worker.stop()
    with contextlib.suppress(TimeoutError, asyncio.CancelledError):
        await asyncio.wait_for(task, app[keys.SETTINGS].delivery_timeout_seconds + 5)
    await worker.outbound.close()
