"""Design documents: one loader for `couchapp/` (used by deployment and by tests) and the deployment.

Layout: `couchapp/<database>/<ddoc>/...`, where `<database>` is one of the store's databases.
Inside a design document folder a folder becomes an object, a file's stem its key, `.json`
files are parsed, other files are trimmed text (`views/x/reduce` holding `_count` is the
builtin reducer), and an `_id` file, if present, overrides `_design/<folder name>`.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from .settings import PROJECT_ROOT
from .store import DATABASES, DocumentConflict, DocumentNotFound, Store

log = logging.getLogger(__name__)

COUCHAPP_DIR = PROJECT_ROOT / "couchapp"
JsonDict = dict[str, Any]


def load_folder(folder: Path) -> JsonDict:
    result: JsonDict = {}
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            result[entry.name] = load_folder(entry)
        elif entry.suffix == ".json":
            result[entry.stem] = json.loads(entry.read_text("utf-8"))
        else:
            result[entry.stem] = entry.read_text("utf-8").strip()
    return result


def load_design_document(folder: Path) -> JsonDict:
    doc = load_folder(folder)
    doc["_id"] = doc.pop("_id", None) or f"_design/{folder.name}"
    doc.setdefault("language", "javascript")
    return doc


def load_couchapp(root: Path = COUCHAPP_DIR) -> dict[str, list[JsonDict]]:
    """Each database's design documents, as they are on disk."""
    apps: dict[str, list[JsonDict]] = {name: [] for name in DATABASES}
    for db_folder in sorted(p for p in root.iterdir() if p.is_dir()):
        if db_folder.name not in apps:
            raise ValueError(f"couchapp/{db_folder.name}: not a database of the store {DATABASES}")
        apps[db_folder.name] = [
            load_design_document(d) for d in sorted(db_folder.iterdir()) if d.is_dir()
        ]
    return apps


def _content(doc: JsonDict) -> JsonDict:
    return {k: v for k, v in doc.items() if k not in ("_rev", "_revisions")}


async def deploy_design_document(store: Store, db: str, doc: JsonDict) -> bool:
    """Save `doc` unless the engine already has that content; True when it wrote.

    Safe with several processes at once: a conflict means somebody else wrote, so re-read
    and compare again (bounded: a loser sees the winner's identical content and stops).
    """
    for _ in range(5):
        current = await store.get_or_none(db, doc["_id"])
        if current is not None and _content(current) == _content(doc):
            return False
        candidate = dict(doc)
        if current is not None:
            candidate["_rev"] = current["_rev"]
        try:
            await store.put(db, candidate)
        except DocumentConflict:
            continue
        log.info("deployed design document", extra={"db": db, "ddoc": doc["_id"]})
        return True
    raise DocumentConflict(f"{doc['_id']} kept changing while being deployed")


async def deploy(store: Store, root: Path = COUCHAPP_DIR) -> list[str]:
    """Deploy every changed design document; return the ids written, as `<db>/<ddoc id>`."""
    written = []
    for db, docs in load_couchapp(root).items():
        for doc in docs:
            if await deploy_design_document(store, db, doc):
                written.append(f"{db}/{doc['_id']}")
    return written


__all__ = ["DocumentNotFound", "deploy", "load_couchapp", "load_design_document"]
