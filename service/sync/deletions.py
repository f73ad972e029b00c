"""An admin's deletion of a record a device pushed reaches that device too: the record is
deleted in the device's database, and the tombstone replicates down to it (so the device
stops showing it, and an edit it makes later arrives as a conflict the ingest refuses)."""

from __future__ import annotations

import contextlib
from typing import Any

from ..directory.provisioning import database, provisioning, user_name
from ..store import DocumentConflict, DocumentNotFound, Store


async def propagate(store: Store, doc: dict[str, Any]) -> None:
    device = doc.get("firstDevice")
    # What the service recorded for another user is in no device's database: nothing to look
    # for (a device's records carry its user, or nobody, as `createdBy`).
    if not isinstance(device, int) or doc.get("createdBy") not in (None, user_name(device)):
        return
    if await provisioning(store, device) is None:
        return
    copy = await store.get_or_none(database(device), doc["_id"])
    if copy is not None:
        with contextlib.suppress(DocumentConflict, DocumentNotFound):
            await store.delete(database(device), doc["_id"], copy["_rev"])
