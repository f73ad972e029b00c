"""An admin's deletion of a record a device pushed reaches that device too: the record is
deleted in the device's database, and the tombstone replicates down to it (so the device
stops showing it, and an edit it makes later arrives as a conflict the ingest refuses)."""

from __future__ import annotations

import contextlib
from typing import Any

from ..directory.provisioning import database, provisioning
from ..store import DocumentConflict, DocumentNotFound, Store


async def propagate(store: Store, doc: dict[str, Any]) -> None:
    device = doc.get("firstDevice")
    if not isinstance(device, int) or await provisioning(store, device) is None:
        return
    copy = await store.get_or_none(database(device), doc["_id"])
    if copy is not None:
        with contextlib.suppress(DocumentConflict, DocumentNotFound):
            await store.delete(database(device), doc["_id"], copy["_rev"])
