"""Design documents: one loader for `couchapp/` (used by deployment and by tests) and the deployment.

Layout: `couchapp/<database>/<ddoc>/...`, where `<database>` is one of the store's databases.
Inside a design document folder a folder becomes an object, a file's stem its key, `.json`
files are parsed, other files are trimmed text (`views/x/reduce` holding `_count` is the
builtin reducer), and an `_id` file, if present, overrides `_design/<folder name>`.

Functions share code as classic CouchApps did: a line `// !code lib/<file>.js` is replaced by
that file of `couchapp/lib/` when the design document is loaded (CouchDB's views could
`require()` a `views.lib`, PouchDB Server's cannot, and both engines run the same documents).
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

from .settings import PROJECT_ROOT
from .store import DATABASES, DEVICE_TEMPLATE, DocumentConflict, DocumentNotFound, Store

log = logging.getLogger(__name__)

COUCHAPP_DIR = PROJECT_ROOT / "couchapp"
JsonDict = dict[str, Any]
# Design documents that earlier versions deployed and this one must remove, per database.
# The records database's validate_doc_update: only the service writes there now, and Apache
# CouchDB would run the function in its JavaScript process on every one of those writes.
RETIRED = {"records": ("_design/validate",)}
LIB = "lib"  # shared code for `// !code`, not a database
_CODE_MACRO = re.compile(r"^[ \t]*// !code lib/([\w.-]+\.js)[ \t]*$", re.MULTILINE)


def _with_code(text: str, lib: Path) -> str:
    return _CODE_MACRO.sub(lambda m: (lib / m.group(1)).read_text("utf-8").rstrip("\n"), text)


def load_folder(folder: Path, lib: Path = COUCHAPP_DIR / LIB) -> JsonDict:
    result: JsonDict = {}
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            result[entry.name] = load_folder(entry, lib)
        elif entry.suffix == ".json":
            result[entry.stem] = json.loads(entry.read_text("utf-8"))
        else:
            result[entry.stem] = _with_code(entry.read_text("utf-8"), lib).strip()
    return result


def load_design_document(folder: Path, lib: Path = COUCHAPP_DIR / LIB) -> JsonDict:
    doc = load_folder(folder, lib)
    doc["_id"] = doc.pop("_id", None) or f"_design/{folder.name}"
    doc.setdefault("language", "javascript")
    return doc


def load_couchapp(root: Path = COUCHAPP_DIR) -> dict[str, list[JsonDict]]:
    """Each database's design documents, as they are on disk (`device`: those of every
    device's database)."""
    apps: dict[str, list[JsonDict]] = {name: [] for name in (*DATABASES, DEVICE_TEMPLATE)}
    for db_folder in sorted(p for p in root.iterdir() if p.is_dir() and p.name != LIB):
        if db_folder.name not in apps:
            raise ValueError(f"couchapp/{db_folder.name}: not a database of the store "
                             f"{(*DATABASES, DEVICE_TEMPLATE)}")
        apps[db_folder.name] = [
            load_design_document(d, root / LIB) for d in sorted(db_folder.iterdir()) if d.is_dir()
        ]
    return apps


def _content(doc: JsonDict) -> JsonDict:
    return {k: v for k, v in doc.items() if k not in ("_rev", "_revisions")}


STAGED_SUFFIX = "-staged"
# Building an index over many documents takes a while: wait for it, however long.
INDEX_BUILD_SECONDS = 24 * 3600.0


async def stage_views(store: Store, db: str, doc: JsonDict) -> None:
    """Build `doc`'s view indexes under another id before it replaces the live design document.

    CouchDB keys an index by the views' content, not by the design document's name, so the
    index built for `_design/x-staged` is the one `_design/x` uses once it holds the same views:
    processes still running the old views keep answering from the old index meanwhile, and
    nobody waits for the new one after the swap.
    """
    staged_id = doc["_id"] + STAGED_SUFFIX
    staged = {**_content(doc), "_id": staged_id}
    staged.pop("validate_doc_update", None)  # a second copy would guard writes twice
    current = await store.get_or_none(db, staged_id)
    if current is None or _content(current) != staged:
        if current is not None:
            staged["_rev"] = current["_rev"]
        try:
            await store.put(db, staged)
        except DocumentConflict:
            pass  # another process staged it at the same moment: its index serves as well
    name = staged_id.removeprefix("_design/")
    for view in doc.get("views", {}):
        log.info("building the index of %s/%s before deploying it", db, view)
        await store.view(db, name, view, limit=0, allow_seconds=INDEX_BUILD_SECONDS)


async def _drop_staged(store: Store, db: str, doc: JsonDict) -> None:
    staged = await store.get_or_none(db, doc["_id"] + STAGED_SUFFIX)
    if staged is not None:
        try:
            await store.delete(db, staged["_id"], staged["_rev"])
        except (DocumentConflict, DocumentNotFound):
            pass  # another process dropped it


async def deploy_design_document(
    store: Store, db: str, doc: JsonDict, *, stage_at: int | None = None
) -> bool:
    """Save `doc` unless the engine already has that content; True when it wrote.

    Changed views on a database of `stage_at` documents or more are staged first
    (`stage_views`), so the swap never leaves queries waiting for an index build.
    Safe with several processes at once: a conflict means somebody else wrote, so re-read
    and compare again (bounded: a loser sees the winner's identical content and stops).
    """
    staged = False
    for _ in range(5):
        current = await store.get_or_none(db, doc["_id"])
        if current is not None and _content(current) == _content(doc):
            if staged:
                await _drop_staged(store, db, doc)
            return False
        if (
            not staged and current is not None and stage_at is not None
            and current.get("views") != doc.get("views") and doc.get("views")
            and await store.doc_count(db) >= stage_at
        ):
            await stage_views(store, db, doc)
            staged = True
            continue  # the index is built: read again, another process may have swapped
        candidate = dict(doc)
        if current is not None:
            candidate["_rev"] = current["_rev"]
        try:
            await store.put(db, candidate)
        except DocumentConflict:
            continue
        if staged:
            await _drop_staged(store, db, doc)
        log.info("deployed design document", extra={"db": db, "ddoc": doc["_id"]})
        return True
    raise DocumentConflict(f"{doc['_id']} kept changing while being deployed")


async def deploy(store: Store, root: Path = COUCHAPP_DIR) -> list[str]:
    """Deploy every changed design document, into each device's database too; return the ids
    written, as `<db>/<ddoc id>`."""
    written = []
    stage_at = store.settings.stage_views_at or None
    apps = load_couchapp(root)
    targets = [(db, docs) for db, docs in apps.items() if db != DEVICE_TEMPLATE]
    targets += [(db, apps[DEVICE_TEMPLATE]) for db in await store.device_databases()]
    for db, docs in targets:
        for doc in docs:
            if await deploy_design_document(store, db, doc, stage_at=stage_at):
                written.append(f"{db}/{doc['_id']}")
    if root == COUCHAPP_DIR:
        written += [f"{db}/{ddoc} (removed)" for db, ddoc in await retire(store)]
    return written


async def deploy_device_database(store: Store, db: str, root: Path = COUCHAPP_DIR) -> None:
    """A new device database gets the device design documents."""
    for doc in load_couchapp(root)[DEVICE_TEMPLATE]:
        await deploy_design_document(store, db, doc)


async def retire(store: Store) -> list[tuple[str, str]]:
    """Delete the RETIRED design documents still present; the ones deleted."""
    removed = []
    for db, ddocs in RETIRED.items():
        for ddoc in ddocs:
            current = await store.get_or_none(db, ddoc)
            if current is None:
                continue
            try:
                await store.delete(db, ddoc, current["_rev"])
            except (DocumentConflict, DocumentNotFound):
                continue  # another process removed it
            log.info("removed a retired design document", extra={"db": db, "ddoc": ddoc})
            removed.append((db, ddoc))
    return removed
