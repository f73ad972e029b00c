"""One process at a time does the sync work: it holds `lease:<name>` in the internal database
and renews it; when it stops renewing (it died), another takes the lease once it expires."""

from __future__ import annotations

from datetime import timedelta

from ..clock import iso, now, parse_timestamp
from ..store import INTERNAL, DocumentConflict, Store


async def hold(store: Store, name: str, owner: str, seconds: float) -> bool:
    """Take or renew the lease; False when another live process holds it."""
    doc_id = f"lease:{name}"
    current = await store.get_or_none(INTERNAL, doc_id)
    moment = now()
    if current is not None:
        left = (parse_timestamp(str(current.get("until"))) - moment).total_seconds()
        if current.get("owner") != owner:
            if left > 0:
                return False
        elif left > seconds * 2 / 3:
            return True  # renewed lately: a write every round would be the engine's busiest work
    lease = {"_id": doc_id, "type": "lease", "owner": owner,
             "until": iso(moment + timedelta(seconds=seconds)), "updatedAt": iso(moment)}
    if current is not None:
        lease["_rev"] = current["_rev"]
        lease["createdAt"] = current.get("createdAt", iso(moment))
    else:
        lease["createdAt"] = iso(moment)
    try:
        await store.put(INTERNAL, lease)
    except DocumentConflict:
        return False
    return True
