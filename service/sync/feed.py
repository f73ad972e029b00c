"""Following one database's `_changes` from a durable checkpoint.

The checkpoint is `checkpoint:<name>` in the internal database: the last sequence handled
(opaque: CouchDB 3's sequences are strings). A restart resumes from it; handling is
idempotent (records are copied with their own revisions, flags keyed by document), so a
batch handled twice after a crash costs time, never a duplicate.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from ..clock import now_iso
from ..store import INTERNAL, DocumentConflict, Store

JsonDict = dict[str, Any]
Handler = Callable[[list[JsonDict]], Awaitable[None]]
BATCH = 1000


def checkpoint_id(name: str) -> str:
    return f"checkpoint:{name}"


class Feed:
    def __init__(self, store: Store, db: str, name: str, handle: Handler,
                 *, include_docs: bool = True, attachments: bool = False) -> None:
        self.store = store
        self.db = db
        self.name = name
        self.handle = handle
        self.include_docs = include_docs
        self.attachments = attachments

    async def _checkpoint(self) -> JsonDict:
        found = await self.store.get_or_none(INTERNAL, checkpoint_id(self.name))
        return found or {"_id": checkpoint_id(self.name), "type": "checkpoint", "db": self.db,
                         "seq": None, "createdAt": now_iso()}

    async def poll(self) -> int:
        """Handle what is new since the checkpoint (a batch at a time); how many changes."""
        handled = 0
        while True:
            checkpoint = await self._checkpoint()
            # `style=all_docs` lists every leaf revision of a change: a conflict shows as
            # several, so no document needs its `_conflicts` worked out for the feed.
            params: JsonDict = {"style": "all_docs", "limit": BATCH,
                                "include_docs": self.include_docs}
            if self.attachments:
                params["attachments"] = True
            if checkpoint["seq"] is not None:
                params["since"] = checkpoint["seq"]
            answer = await self.store.changes(self.db, **params)
            results: list[JsonDict] = answer.get("results") or []
            if results:
                await self.handle(results)
            handled += len(results)
            last = answer.get("last_seq")
            if last is None or last == checkpoint["seq"]:
                return handled
            checkpoint.update(seq=last, updatedAt=now_iso())
            try:
                await self.store.put(INTERNAL, checkpoint)
            except DocumentConflict:
                return handled  # another process moved it: it holds the lease now
            if len(results) < BATCH:
                return handled
