"""The embedded engine's patch (patches/pouchdb-validation.js, applied by `npm ci`): design
documents read once per `_bulk_docs` request instead of once per document, and every document
still validated."""

from __future__ import annotations

import os

import pytest

from service.errors import Forbidden
from service.settings import PROJECT_ROOT
from service.store import REGISTRY, Store

PLUGIN = PROJECT_ROOT / "node_modules" / "pouchdb-validation" / "lib" / "index.js"


@pytest.mark.skipif(bool(os.environ.get("COUCHDB_URL")), reason="the embedded engine only")
def test_the_validation_plugin_is_patched() -> None:
    assert "// settee: design documents read once per request" in PLUGIN.read_text("utf-8")


async def test_each_document_of_a_bulk_request_is_still_validated(store: Store) -> None:
    stamp = "2026-01-01T00:00:00+00:00"
    good = {"type": "delegate", "createdAt": stamp, "updatedAt": stamp}
    results = await store.bulk_docs(REGISTRY, [
        {"_id": "d1", **good}, {"_id": "d2", "name": "no type"}, {"_id": "d3", **good},
    ])
    outcome = {r["id"]: r.get("error", "ok") for r in results}
    assert outcome == {"d1": "ok", "d2": "forbidden", "d3": "ok"}
    with pytest.raises(Forbidden, match="type is required"):
        await store.put(REGISTRY, {"_id": "d4", "name": "no type"})
