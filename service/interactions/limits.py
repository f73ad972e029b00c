"""A type's limit rules (`maxPerDelegate`, `maxPerDelegatePerDevice`), enforced exactly by guards.

Each allowed occurrence is a slot: the guard document
`guard:<type>:<rule>:<delegate>[:<device>]:<n>` in the records database, holding the `_id` of
the interaction that took it. A guard is written in the same `_bulk_docs` request as its
interaction (service/interactions/writer.py), and CouchDB lets only one create of an `_id`
win, so two racing requests cannot both take the last slot. The interaction lists its
guards (`guards`); deleting it deletes them in one request, so the slots are free at once.
A guard whose interaction is deleted is taken over at once; one whose interaction never
appeared (its request failed half-way) once it is older than `GRACE_SECONDS`.
All slots taken: 412, internalCode 740. See docs/INTERACTIONS.md, "Limits are exact".
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from ..clock import now, now_iso, parse_timestamp
from ..errors import ApiError
from ..store import RECORDS, Store
from .participants import named
from .types import InteractionType

JsonDict = dict[str, Any]
GUARD = "guard"
# Long enough for any request in flight to have written its interaction.
GRACE_SECONDS = 60.0


@dataclass(frozen=True)
class Scope:
    """One rule applied to one delegate (and device): the slots it may fill."""

    base: str
    limit: int
    pointer: str
    what: str
    rule_of: str

    def slot_ids(self) -> list[str]:
        return [f"{self.base}:{n}" for n in range(1, self.limit + 1)]


def scopes(itype: InteractionType, body: JsonDict) -> list[Scope]:
    if not itype.rules:
        return []
    delegates, devices = named(body)
    found = []
    per_delegate = itype.rules.get("maxPerDelegate")
    per_device = itype.rules.get("maxPerDelegatePerDevice")
    for slot, delegate in delegates:
        if per_delegate:
            found.append(Scope(f"{GUARD}:{itype.name}:maxPerDelegate:{delegate}", per_delegate,
                               f"/{slot}", f"delegate {delegate}", itype.name))
        if per_device and devices:
            device = devices[0][1]
            found.append(Scope(
                f"{GUARD}:{itype.name}:maxPerDelegatePerDevice:{delegate}:{device}", per_device,
                f"/{slot}", f"delegate {delegate} on device {device}", itype.name,
            ))
    return found


def too_many(scope: Scope) -> ApiError:
    return ApiError(
        740, "Too many interactions",
        details=[{"pointer": scope.pointer,
                  "message": f"{scope.what} already has {scope.limit} {scope.rule_of} "
                             f"interaction(s), the most its type allows"}],
    )


def guard_doc(slot_id: str, interaction_id: str) -> JsonDict:
    stamp = now_iso()
    return {"_id": slot_id, "type": GUARD, "interaction": interaction_id,
            "createdAt": stamp, "updatedAt": stamp}


class Holder(Enum):
    """What became of the interaction a guard names."""

    PRESENT = "present"
    DELETED = "deleted"
    MISSING = "missing"


async def holders(store: Store, interaction_ids: list[str]) -> dict[str, Holder]:
    """Whether each interaction exists, was deleted, or never was (one `_all_docs` request)."""
    if not interaction_ids:
        return {}
    answer = await store.all_docs(RECORDS, keys=interaction_ids)
    found: dict[str, Holder] = {}
    for row in answer["rows"]:
        value = row.get("value")
        if not isinstance(value, dict):
            found[row["key"]] = Holder.MISSING
        else:
            found[row["key"]] = Holder.DELETED if value.get("deleted") else Holder.PRESENT
    return found


def is_free(guard: JsonDict, holder: Holder) -> bool:
    """May this guard be taken over (its interaction is gone)?"""
    if holder is Holder.DELETED:
        return True
    if holder is Holder.MISSING:
        age = (now() - parse_timestamp(str(guard.get("updatedAt")))).total_seconds()
        return age > GRACE_SECONDS
    return False


async def check(store: Store, itype: InteractionType, body: JsonDict) -> None:
    """Would a new interaction fit the rules? (for `test`: nothing is written)."""
    found = scopes(itype, body)
    if not found:
        return
    guards = await store.fetch_docs(RECORDS, [s for scope in found for s in scope.slot_ids()])
    states = await holders(store, sorted({str(g.get("interaction")) for g in guards.values()}))
    for scope in found:
        taken = [guards[s] for s in scope.slot_ids() if s in guards]
        if len(taken) == scope.limit and not any(
            is_free(g, states[str(g.get("interaction"))]) for g in taken
        ):
            raise too_many(scope)
