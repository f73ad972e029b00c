"""A type's limit rules (`maxPerDelegate`, `maxPerDelegatePerDevice`), enforced exactly.

Each allowed occurrence is a slot: the create-only document
`limit:<type>:<rule>:<delegate>[:<device>]:<n>` in the internal database, holding the id
of the interaction that took it. Taking a slot is a create, so two racing requests cannot
both take the last one. A slot whose interaction no longer exists (deleted, or never
written because its process stopped) is free again once it is older than `GRACE_SECONDS`.
All slots taken: 412, internalCode 740.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..clock import now, now_iso, parse_timestamp
from ..errors import ApiError
from ..ids import doc_id
from ..store import INTERNAL, RECORDS, DocumentConflict, DocumentNotFound, Store
from .participants import named
from .types import InteractionType

JsonDict = dict[str, Any]
GRACE_SECONDS = 60.0
ATTEMPTS = 5


@dataclass(frozen=True)
class Scope:
    base: str
    limit: int
    pointer: str
    what: str

    def slot_ids(self) -> list[str]:
        return [f"{self.base}:{n}" for n in range(1, self.limit + 1)]


def scopes(itype: InteractionType, body: JsonDict) -> list[Scope]:
    delegates, devices = named(body)
    found = []
    per_delegate = itype.rules.get("maxPerDelegate")
    per_device = itype.rules.get("maxPerDelegatePerDevice")
    for slot, delegate in delegates:
        if per_delegate:
            found.append(Scope(f"limit:{itype.name}:maxPerDelegate:{delegate}", per_delegate,
                               f"/{slot}", f"delegate {delegate}"))
        if per_device and devices:
            device = devices[0][1]
            found.append(Scope(
                f"limit:{itype.name}:maxPerDelegatePerDevice:{delegate}:{device}", per_device,
                f"/{slot}", f"delegate {delegate} on device {device}",
            ))
    return found


def _too_many(itype: InteractionType, scope: Scope) -> ApiError:
    return ApiError(
        740, "Too many interactions",
        details=[{"pointer": scope.pointer,
                  "message": f"{scope.what} already has {scope.limit} {itype.name} "
                             f"interaction(s), the most its type allows"}],
    )


async def _free_slot(store: Store, scope: Scope) -> JsonDict | None:
    """A slot to take: a new claim, or a stale one (with its `_rev`) to take over."""
    ids = scope.slot_ids()
    claims = await store.fetch_docs(INTERNAL, ids)
    for slot_id in ids:
        if slot_id not in claims:
            return {"_id": slot_id}
    holders = {str(c.get("interaction")): c for c in claims.values()}
    alive = await store.fetch_docs(RECORDS, list(holders))
    for holder, claim in holders.items():
        if holder in alive:
            continue
        age = (now() - parse_timestamp(str(claim.get("updatedAt")))).total_seconds()
        if age > GRACE_SECONDS:
            return {"_id": claim["_id"], "_rev": claim["_rev"]}
    return None


async def check(store: Store, itype: InteractionType, body: JsonDict) -> None:
    """Would a new interaction fit the rules? (for `test`: nothing is written)."""
    for scope in scopes(itype, body):
        if await _free_slot(store, scope) is None:
            raise _too_many(itype, scope)


async def claim(store: Store, itype: InteractionType, body: JsonDict, number: int) -> list[JsonDict]:
    """Take a slot of every rule for interaction `number`; the claims, to release on failure."""
    taken: list[JsonDict] = []
    try:
        for scope in scopes(itype, body):
            taken.append(await _claim_one(store, itype, scope, number))
    except BaseException:
        await release(store, taken)
        raise
    return taken


async def _claim_one(store: Store, itype: InteractionType, scope: Scope, number: int) -> JsonDict:
    for _ in range(ATTEMPTS):
        slot = await _free_slot(store, scope)
        if slot is None:
            raise _too_many(itype, scope)
        stamp = now_iso()
        slot.update({"type": "limitSlot", "interaction": doc_id("interaction", number),
                     "createdAt": stamp, "updatedAt": stamp})
        try:
            slot["_rev"] = await store.put(INTERNAL, slot)
        except DocumentConflict:
            continue  # somebody took it first: look again
        return slot
    raise _too_many(itype, scope)


async def release(store: Store, claims: list[JsonDict]) -> None:
    for held in claims:
        try:
            await store.delete(INTERNAL, held["_id"], held["_rev"])
        except (DocumentConflict, DocumentNotFound):
            pass
