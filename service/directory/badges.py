"""A badge code belongs to one delegate: claimed by a create-only document `badge:<code>`
in the internal database before the delegate is written, so two racing creates (or updates)
with the same code cannot both win. A claim whose delegate does not hold the badge any more
(its process stopped between claim and write, or it was changed away) is taken over once
older than `GRACE_SECONDS`.
"""

from __future__ import annotations

from typing import Any

from ..clock import now, now_iso, parse_timestamp
from ..errors import ApiError
from ..ids import doc_id
from ..store import INTERNAL, REGISTRY, DocumentConflict, DocumentNotFound, Store

JsonDict = dict[str, Any]
GRACE_SECONDS = 60.0


def claim_id(badge: str) -> str:
    return f"badge:{badge}"


def _taken(badge: str, holder: Any) -> ApiError:
    return ApiError(
        1302, f"badge {badge} already belongs to delegate {holder}",
        details=[{"pointer": "/badge", "message": f"belongs to delegate {holder}"}],
    )


def claim_document(badge: str, delegate: int) -> JsonDict:
    stamp = now_iso()
    return {"_id": claim_id(badge), "type": "badgeClaim", "badge": badge,
            "delegate": delegate, "createdAt": stamp, "updatedAt": stamp}


async def claim(store: Store, badge: str, delegate: int, note: JsonDict | None = None) -> None:
    """`note`: more fields for the claim (the CSV row it was imported from)."""
    doc = {**claim_document(badge, delegate), **(note or {})}
    for _ in range(5):
        try:
            await store.put(INTERNAL, doc)
            return
        except DocumentConflict:
            pass
        current = await store.get_or_none(INTERNAL, doc["_id"])
        if current is None:
            continue
        holder = current.get("delegate")
        if holder == delegate:
            return
        held = await store.get_or_none(REGISTRY, doc_id("delegate", int(holder or 0)))
        age = (now() - parse_timestamp(str(current.get("updatedAt")))).total_seconds()
        if (held is not None and held.get("badge") == badge) or age <= GRACE_SECONDS:
            raise _taken(badge, holder)
        doc["_rev"] = current["_rev"]
    raise _taken(badge, "another delegate")


async def release(store: Store, badge: str, delegate: int) -> None:
    current = await store.get_or_none(INTERNAL, claim_id(badge))
    if current is None or current.get("delegate") != delegate:
        return
    try:
        await store.delete(INTERNAL, current["_id"], current["_rev"])
    except (DocumentConflict, DocumentNotFound):
        pass


async def holder(store: Store, badge: str) -> int | None:
    """The delegate id a badge's claim names (None: unclaimed)."""
    try:
        current = await store.get_or_none(INTERNAL, claim_id(badge))
    except DocumentNotFound:  # a code no document id can hold (a control character)
        return None
    holder = (current or {}).get("delegate")
    return holder if isinstance(holder, int) else None
