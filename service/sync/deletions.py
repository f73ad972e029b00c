"""An admin's deletion of a record a device pushed reaches that device too: the tombstone, with
its revision history, is written into the device's database and replicates down to it (so the
device stops showing it, and an edit it makes later arrives as a conflict the ingest refuses).
The record may never have been in that database: the replication endpoint copies a device's
first revisions straight into `records`."""

from __future__ import annotations

from typing import Any

from ..directory.provisioning import database, provisioning, user_name
from ..store import RECORDS, Store


async def propagate(store: Store, doc: dict[str, Any], tombstone_rev: str) -> None:
    device = doc.get("firstDevice")
    # What the service recorded for another user is in no device's database: nothing to look
    # for (a device's records carry its user, or nobody, as `createdBy`).
    if not isinstance(device, int) or doc.get("createdBy") not in (None, user_name(device)):
        return
    if await provisioning(store, device) is None:
        return
    tombstone = await store.get(RECORDS, doc["_id"], rev=tombstone_rev, revs=True)
    await store.bulk_docs(database(device), [tombstone], new_edits=False)
