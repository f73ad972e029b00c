"""The patches to the embedded engine's packages: applied after every install, a second run
changes nothing, and a package that changed under a patch stops the install."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from service.errors import Forbidden
from service.settings import PROJECT_ROOT
from service.store import RECORDS, REGISTRY, Store

PATCHES = PROJECT_ROOT / "patches"

ORIGINAL = "function answer() {\n  return 41;\n}\n\nmodule.exports = answer;\n"
PATCHED = "function answer() {\n  return 42;\n}\n\nmodule.exports = answer;\n"
# The blank context line has lost its leading space, as editors trim it.
PATCH = """--- a/node_modules/thing/index.js
+++ b/node_modules/thing/index.js
@@ -1,5 +1,5 @@
 function answer() {
-  return 41;
+  return 42;
 }

 module.exports = answer;
"""


def project_with_thing(root: Path, source: str) -> Path:
    (root / "patches").mkdir()
    shutil.copy(PATCHES / "apply.js", root / "patches" / "apply.js")
    (root / "patches" / "thing.patch").write_text(PATCH)
    target = root / "node_modules" / "thing" / "index.js"
    target.parent.mkdir(parents=True)
    target.write_text(source)
    return target


def apply(root: Path) -> subprocess.CompletedProcess[str]:
    node = shutil.which("node")
    assert node
    return subprocess.run([node, str(root / "patches" / "apply.js")],
                          capture_output=True, text=True, check=False)


def test_a_patch_applies_once(tmp_path: Path) -> None:
    target = project_with_thing(tmp_path, ORIGINAL)
    first = apply(tmp_path)
    assert (first.returncode, first.stdout) == (
        0, "patched node_modules/thing/index.js (thing.patch)\n")
    assert target.read_text() == PATCHED
    second = apply(tmp_path)
    assert (second.returncode, second.stdout) == (
        0, "already patched node_modules/thing/index.js (thing.patch)\n")
    assert target.read_text() == PATCHED


def test_a_changed_package_stops_the_install(tmp_path: Path) -> None:
    changed = ORIGINAL.replace("41", "40")
    target = project_with_thing(tmp_path, changed)
    result = apply(tmp_path)
    assert result.returncode != 0
    assert "thing.patch: hunk 1 does not apply to node_modules/thing/index.js" in result.stderr
    assert target.read_text() == changed


def test_the_installed_engine_is_patched() -> None:
    result = apply(PROJECT_ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "already patched node_modules/express-pouchdb/lib/routes/bulk-docs.js"
        " (express-pouchdb.patch)",
        "already patched node_modules/pouchdb-mapreduce/lib/index.js (pouchdb-mapreduce.patch)",
        "already patched node_modules/pouchdb-validation/lib/index.js (pouchdb-validation.patch)",
    ]


PLUGIN = PROJECT_ROOT / "node_modules" / "pouchdb-validation" / "lib" / "index.js"


@pytest.mark.skipif(bool(os.environ.get("COUCHDB_URL")), reason="the embedded engine only")
def test_the_validation_plugin_reads_design_documents_once_per_request() -> None:
    # patches/validation-once-per-request.js: once per _bulk_docs request, not per document.
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


async def test_views_compiled_once_keep_couchdbs_semantics(store: Store) -> None:
    # patches/pouchdb-mapreduce.patch compiles each function once instead of once per document:
    # every document is still mapped on its own, a map that throws skips only its document,
    # what a map does to its argument stays with that call, and the built-ins are there.
    await store.put(RECORDS, {"_id": "_design/patched", "views": {"numbers": {
        "map": "function (doc) { if (doc.kind !== 'patch-check') { return; }"
               " if (doc.n === 2) { throw new Error('skip me'); }"
               " doc.seen = (doc.seen || 0) + 1;"
               " emit(doc.n, [isArray(doc.list), doc.seen, toJSON('[1]')]); }",
        "reduce": "function (keys, values, rereduce) {"
                  " return sum(values.map(function (v) { return rereduce ? v : v[1]; })); }",
    }}})
    await store.bulk_docs(RECORDS, [
        {"_id": f"patch-check:{n}", "kind": "patch-check", "n": n, "list": [n] if n % 2 else n}
        for n in range(1, 6)])
    rows = (await store.view(RECORDS, "patched", "numbers", reduce=False))["rows"]
    assert [(row["key"], row["value"]) for row in rows] == [
        (1, [True, 1, [1]]), (3, [True, 1, [1]]), (4, [False, 1, [1]]), (5, [True, 1, [1]])]
    total = (await store.view(RECORDS, "patched", "numbers"))["rows"]
    assert total[0]["value"] == 4
