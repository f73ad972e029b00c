"""Records arriving in a device's database: checked, copied into `records`, flagged.

For each batch of changes: every leaf revision is read with its history and attachments
(`_bulk_get`, as a replicator does), checked by the rules (rules/), and what no quarantining
rule refused is copied into `records` with `new_edits: false`: the same revisions, so a
device's later edit of the record arrives as a child of what `records` holds, and conflicts
are CouchDB's own. Then limit rules are applied over what arrived, flags are written, and
sessions completed offline are queued for their `submitUrl` delivery.
"""

from __future__ import annotations

import logging
from typing import Any

from ..directory.provisioning import CONFIG_ID, database, provisioning
from ..errors import ApiError
from ..interactions.types import InteractionTypes
from ..questionnaires import delivery
from ..questionnaires.documents import COMPLETED
from ..store import RECORDS, Store
from . import flags
from .rules import Arrival, Problem, interaction_shape, limits, ownership, participants_exist, session_shape

log = logging.getLogger(__name__)

JsonDict = dict[str, Any]
RULES = (ownership, interaction_shape, participants_exist, session_shape)


async def arrival_of(store: Store, types: InteractionTypes, device: int) -> Arrival | None:
    record = await provisioning(store, device)
    if record is None:
        return None
    return Arrival(store, types, device, str(record["user"]), frozenset(record["blocks"]))


async def check(arrival: Arrival, doc: JsonDict) -> list[Problem]:
    if doc.get("type") not in ("interaction", "questionnaire"):
        return [{"rule": "type", "pointer": "/type", "quarantine": True,
                 "message": "devices record only interactions and questionnaire sessions"}]
    found: list[Problem] = []
    for rule in RULES:
        if rule.applies(doc):
            found += await rule.check(arrival, doc)
            if found and rule is ownership:
                break  # not this device's to write: nothing else about it matters
    return found


async def ingest(store: Store, types: InteractionTypes, device: int,
                 changes: list[JsonDict]) -> None:
    arrival = await arrival_of(store, types, device)
    if arrival is None:  # being provisioned right now: the next round reads it again
        raise ApiError(1401, f"device database {database(device)} has no provisioning record yet")
    changes = [change for change in changes
               if not change["id"].startswith("_design/") and change["id"] != CONFIG_ID]
    if not changes:
        return
    whole, refs = _read_already(changes)
    if refs:
        whole += await store.bulk_get(database(device), refs)
    docs = [doc for doc in whole if not doc.get("_deleted")]
    verdicts: dict[str, list[Problem]] = {}
    copy: list[JsonDict] = []
    deleted = await _deleted_in_records(store, [doc["_id"] for doc in docs])
    for doc in docs:
        problems = await check(arrival, doc)
        if doc["_id"] in deleted:
            # An admin deleted it: a device's later edit never brings it back.
            problems.append({"rule": "deleted", "pointer": "", "quarantine": True,
                             "message": "deleted by an admin; the device's edit is not restored"})
        verdicts[doc["_id"]] = problems
        if not any(p["quarantine"] for p in problems):
            copy.append(doc)
    if copy:
        written = await store.bulk_docs(RECORDS, copy, new_edits=False)
        failed = [w for w in written if "error" in w]
        if failed:
            log.warning("copying from %s: %d refused: %s", database(device), len(failed), failed[:3])
    copied_interactions = [d for d in copy if d.get("type") == "interaction"]
    by_limit = await limits.violations(store, types, copied_interactions)
    current = {doc["_id"]: doc for doc in docs}
    others = [doc_id for doc_id in by_limit if doc_id not in current]
    if others:
        current.update(await store.fetch_docs(RECORDS, others))
    for doc_id, problems in by_limit.items():
        verdicts[doc_id] = [p for p in verdicts.get(doc_id, []) if p["rule"] != "limit"] + problems
    arrived = {d["_id"] for d in docs}
    await flags.record(store, [
        (current[doc_id], device if doc_id in arrived else _device_of(current[doc_id]), problems)
        for doc_id, problems in verdicts.items() if doc_id in current])
    for doc in copy:
        meta = doc.get("metadata") or {}
        if doc.get("type") == "questionnaire" and meta.get("status") == COMPLETED \
                and meta.get("submitUrl"):
            await delivery.enqueue(store, await store.get(RECORDS, doc["_id"]))


def _read_already(changes: list[JsonDict]) -> tuple[list[JsonDict], list[tuple[str, str]]]:
    """The documents the feed brought whole (a first revision and the only one: no history to
    keep), and the revisions still to read with their history (`_bulk_get`)."""
    whole: list[JsonDict] = []
    refs: list[tuple[str, str]] = []
    for change in changes:
        doc = change.get("doc")
        leaves = change["changes"]
        if doc is not None and len(leaves) == 1 and doc.get("_rev") == leaves[0]["rev"] \
                and str(doc["_rev"]).startswith("1-"):
            whole.append(doc)
        else:
            refs += [(change["id"], leaf["rev"]) for leaf in leaves]
    return whole, refs


def _device_of(doc: JsonDict) -> int:
    device = doc.get("firstDevice")
    return device if isinstance(device, int) else 0


async def _deleted_in_records(store: Store, ids: list[str]) -> set[str]:
    if not ids:
        return set()
    answer = await store.all_docs_keys(RECORDS, ids)
    return {row["id"] for row in answer
            if isinstance(row.get("value"), dict) and row["value"].get("deleted")}
