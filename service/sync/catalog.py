"""The catalog every device pulls: kept from the registry by following its `_changes`.

What a device sees of the registry (docs/DEVICES.md): delegates' `id`, `name`, `company` and
`badge` (what a kiosk shows and a scanner matches; never `email` or `data`), devices' `id`,
`name` and `kind`, every form with its revisions and tags; plus one `interactionType:<name>`
document per interaction type (its schema), written at start-up.
"""

from __future__ import annotations

from typing import Any

from ..clock import now_iso
from ..forms.storage import FORM, FORM_REVISION, FORM_TAG
from ..interactions.types import InteractionTypes
from ..store import CATALOG, Store

JsonDict = dict[str, Any]
SHOWN = {"delegate": ("id", "name", "company", "badge"), "device": ("id", "name", "kind")}
WHOLE = (FORM, FORM_REVISION, FORM_TAG)
_PRIVATE = ("_rev", "_revisions", "_conflicts", "_attachments")


def project(doc: JsonDict) -> JsonDict | None:
    """A registry document as the catalog holds it (None: devices do not see it)."""
    kind = doc.get("type")
    if kind in SHOWN:
        return {"_id": doc["_id"], "type": kind, **{k: doc.get(k) for k in SHOWN[str(kind)]},
                "createdAt": doc.get("createdAt"), "updatedAt": doc.get("updatedAt")}
    if kind in WHOLE:
        return {k: v for k, v in doc.items() if k not in _PRIVATE}
    return None


async def _write(store: Store, wanted: dict[str, JsonDict | None]) -> None:
    """Make the catalog hold `wanted` (None: not at all)."""
    current = await store.revisions(CATALOG, list(wanted))
    docs = []
    for doc_id, doc in wanted.items():
        rev = current.get(doc_id)
        if doc is None:
            if rev is not None:
                docs.append({"_id": doc_id, "_rev": rev, "_deleted": True})
        else:
            docs.append({**doc, "_rev": rev} if rev is not None else doc)
    if docs:
        await store.bulk_docs(CATALOG, docs)


async def follow_registry(store: Store, changes: list[JsonDict]) -> None:
    wanted: dict[str, JsonDict | None] = {}
    for change in changes:
        doc = change.get("doc")
        if change.get("deleted") or doc is None:
            wanted[change["id"]] = None
        elif (shown := project(doc)) is not None:
            wanted[change["id"]] = shown
    if wanted:
        await _write(store, wanted)


async def publish_types(store: Store, types: InteractionTypes) -> None:
    """One document per interaction type, rewritten when its schema changed."""
    docs = {f"interactionType:{t.name}": {
        "_id": f"interactionType:{t.name}", "type": "interactionType",
        **{k: v for k, v in t.public().items() if not k.startswith("_")},
    } for t in types}
    stored = await store.fetch_docs(CATALOG, list(docs))
    changed: dict[str, JsonDict | None] = {}
    for doc_id, doc in docs.items():
        old = stored.get(doc_id)
        if old is None or {k: v for k, v in old.items() if k not in ("_rev", "updatedAt")} != doc:
            changed[doc_id] = {**doc, "updatedAt": now_iso()}
    if changed:
        await _write(store, changed)
