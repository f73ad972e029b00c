"""Guards that end conflicted after both writers were told they won.

A guard is a document whose create decides one winner: a badge's claim (`badge:<code>`), an
idempotency key's claim (`idem:...`), an id block (`idblock:...`). A write that only a minority
of a cluster's copies took yields at once (store.py); but with a write quorum of 1, or across a
partition, two writers can each be answered as the winner, and internal replication then makes
the guard conflicted. The worker follows the internal database's `_changes`; a conflicted guard
is left to its writers for `conflicts.SETTLE_SECONDS` (a yielding writer deletes its own branch:
settled sooner, the branch it leaves standing could be the one deleted, leaving no winner), then
the same rule runs in every process: CouchDB's winning revision keeps the guard, the other
branches are deleted, and the record each losing branch stood for is flagged (it happened; an
operator decides), never dropped.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from ..ids import doc_id
from ..store import INTERNAL, RECORDS, REGISTRY, Store
from . import conflicts, flags

log = logging.getLogger(__name__)

JsonDict = dict[str, Any]
GUARD_TYPES = ("badgeClaim", "idempotency", "idblock")


def _record_of(guard: JsonDict) -> tuple[str, str] | None:
    """(database, `_id`) of the record a losing guard stood for."""
    if guard.get("type") == "badgeClaim" and isinstance(guard.get("delegate"), int):
        return REGISTRY, doc_id("delegate", guard["delegate"])
    result = guard.get("result")
    if guard.get("type") == "idempotency" and isinstance(result, dict):
        scope = str(guard.get("scope", ""))
        if isinstance(result.get("_id"), str):
            return RECORDS, result["_id"]
        number = (result.get("data") or {}).get("id")
        kind = scope.split(".")[0]
        if isinstance(number, int) and kind in ("interaction", "delegate", "device"):
            return (RECORDS if kind == "interaction" else REGISTRY), doc_id(kind, number)
    return None


def _problem(guard: JsonDict, winner: JsonDict) -> JsonDict:
    what = {"badgeClaim": f"badge {guard.get('badge')} was claimed for another delegate too",
            "idempotency": "the same Idempotency-Key created another record too",
            "idblock": f"id block {guard.get('block')} was reserved twice"}[str(guard["type"])]
    return {"rule": "guard", "pointer": "", "quarantine": False,
            "message": f"{what}; the guard {guard['_id']} kept revision {winner['_rev']}"}


async def follow_internal(store: Store, changes: list[JsonDict]) -> None:
    ids = sorted({change["id"] for change in changes if len(change["changes"]) > 1})
    if await conflicts.conflicted(store, INTERNAL, ids):
        # Left to its writers a moment first: a write that yields deletes its own branch.
        await asyncio.sleep(conflicts.SETTLE_SECONDS)
        for guard_id in ids:
            await resolve(store, guard_id)


async def resolve(store: Store, guard_id: str) -> bool:
    """Settle one conflicted guard; False when it is not one (or not conflicted)."""
    winner = await store.get_or_none(INTERNAL, guard_id, conflicts=True)
    if winner is None or winner.get("type") not in GUARD_TYPES or not winner.get("_conflicts"):
        return False
    losers = [await store.get(INTERNAL, guard_id, rev=rev) for rev in winner["_conflicts"]]
    await store.bulk_docs(INTERNAL, [{"_id": guard_id, "_rev": loser["_rev"], "_deleted": True}
                                     for loser in losers])
    for loser in losers:
        target = _record_of(loser)
        record = await store.get_or_none(*target) if target else None
        if record is not None and target != _record_of(winner):
            await flags.record(store, [(record, 0, [_problem(loser, winner)])])
        elif loser.get("type") == "idblock":
            log.warning("id block %s was reserved by %s and %s; %s keeps it", loser.get("block"),
                        winner.get("owner"), loser.get("owner"), winner.get("owner"))
    return True
