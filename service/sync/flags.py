"""Flags: what the arrival checks found about a replicated record, in a side document.

`flag:<record _id>` in the internal database, one per record, rewritten at each revision that
arrives: `state` is `quarantined` (a check the record must pass failed: it was not copied into
`records`, it stays in the device's database), `violation` (copied: it happened, but it breaks
a rule a device cannot check offline, such as a limit), or `resolved` (a later revision passes).
Listed by `GET /sync/flags` and by the view `flags/flags_by_state` (Fauxton).
"""

from __future__ import annotations

from typing import Any

from ..clock import now_iso
from ..store import INTERNAL, Store

JsonDict = dict[str, Any]
QUARANTINED = "quarantined"
VIOLATION = "violation"
RESOLVED = "resolved"
STATES = (QUARANTINED, VIOLATION, RESOLVED)


def flag_id(doc_id: str) -> str:
    return f"flag:{doc_id}"


def _flag(doc: JsonDict, device: int, problems: list[JsonDict], current: JsonDict | None
          ) -> JsonDict | None:
    """The flag to write for one arriving revision (None: nothing to write)."""
    if not problems and current is None:
        return None
    state = RESOLVED if not problems else (
        QUARANTINED if any(p["quarantine"] for p in problems) else VIOLATION)
    flag: JsonDict = {
        "_id": flag_id(doc["_id"]), "type": "flag", "docId": doc["_id"], "rev": doc["_rev"],
        "recordType": doc.get("type"), "device": device, "state": state,
        "problems": [{k: p[k] for k in ("rule", "pointer", "message")} for p in problems],
        "createdAt": (current or {}).get("createdAt", now_iso()), "updatedAt": now_iso(),
    }
    if current is not None:
        if {k: current.get(k) for k in ("rev", "state", "problems")} == {
                k: flag[k] for k in ("rev", "state", "problems")}:
            return None  # handled before (a restart resumed a batch)
        flag["_rev"] = current["_rev"]
    return flag


async def record(store: Store, found: list[tuple[JsonDict, int, list[JsonDict]]], *,
                 unflagged: frozenset[str] = frozenset()) -> None:
    """Write (or clear) the flags of arriving revisions: (record, device, problems) each.

    One read and one write for the lot: most arrivals have no flag and need none. The records
    in `unflagged` are known to have none: nothing is read for them, and a flag written for one
    that meanwhile got one conflicts and is done again with a read."""
    pending = [entry for entry in found if entry[2] or entry[0]["_id"] not in unflagged]
    for attempt in range(3):
        asked = [flag_id(doc["_id"]) for doc, _, _ in pending
                 if attempt or doc["_id"] not in unflagged]
        current = await store.fetch_docs(INTERNAL, asked) if asked else {}
        writes = {}
        for doc, device, problems in pending:
            flag = _flag(doc, device, problems, current.get(flag_id(doc["_id"])))
            if flag is not None:
                writes[flag["_id"]] = flag
        if not writes:
            return
        results = await store.bulk_docs(INTERNAL, list(writes.values()))
        conflicted = {r["id"] for r in results if r.get("error") == "conflict"}
        pending = [entry for entry in pending if flag_id(entry[0]["_id"]) in conflicted]
        if not pending:
            return


async def listing(store: Store, state: str | None, limit: int) -> tuple[list[JsonDict], int]:
    """Flags in one state (or all), oldest first, and how many there are."""
    params: JsonDict = {"include_docs": True, "reduce": False, "limit": limit}
    if state is not None:
        params.update(startkey=[state], endkey=[state, {}])
    answer = await store.view(INTERNAL, "flags", "flags_by_state", **params)
    shown = [{k: row["doc"][k] for k in ("docId", "rev", "recordType", "device", "state",
                                          "problems", "createdAt", "updatedAt")}
             for row in answer["rows"] if row.get("doc")]
    count_params: JsonDict = {"reduce": True}
    if state is not None:
        count_params.update(startkey=[state], endkey=[state, {}])
    counted = await store.view(INTERNAL, "flags", "flags_by_state", **count_params)
    total = int(counted["rows"][0]["value"]) if counted.get("rows") else 0
    return shown, total
