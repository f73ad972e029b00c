"""Records arriving from a device: checked, copied into `records`, flagged.

Two ways in: the sync worker's batches of a device database's changes (`ingest`: each leaf
revision read with its history and attachments, as a replicator does), and a push through the
replication endpoint (`take_pushed`: new interactions that pass every check, taken as they
come). Both check with the rules (rules/) and `judge`, apply the limit rules, write the flags,
then copy into `records` with `new_edits: false` (`copy_in`): the same revisions, so a device's
later edit arrives as a child of what `records` holds, and conflicts are CouchDB's own.
Sessions completed offline are queued for their `submitUrl` delivery.
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
MAX_ID = 9_999_999_999  # ten digits, as the device database's validation allows
# What a device may never change in its records (its database's validate_doc_update says the same).
FIXED_FIELDS = ("type", "id", "createdAt", "owner", "interactionType", "firstDevice")


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
    """The sync worker's part: a batch of a device database's changes."""
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
    judged = list(zip(docs, await judge(arrival, docs), strict=True))
    copy = [doc for doc, problems in judged if not any(p["quarantine"] for p in problems)]
    await copy_in(arrival, judged, copy)


async def judge(arrival: Arrival, docs: list[JsonDict]) -> list[list[Problem]]:
    """Each arriving revision's problems (in the order of `docs`). A later revision is also held
    against what `records` holds: a record an admin deleted stays deleted, and what a device may
    never change (the fields its database's validation fixes) has not changed."""
    later = [doc["_id"] for doc in docs if not str(doc.get("_rev", "")).startswith("1-")]
    deleted, stored = await _in_records(arrival.store, later)
    judged: list[list[Problem]] = []
    for doc in docs:
        problems = await check(arrival, doc)
        if doc["_id"] in deleted:
            # An admin deleted it: a device's later edit never brings it back.
            problems.append({"rule": "deleted", "pointer": "", "quarantine": True,
                             "message": "deleted by an admin; the device's edit is not restored"})
        elif doc["_id"] in stored:
            problems += _changed_fixed_fields(doc, stored[doc["_id"]])
        judged.append(problems)
    return judged


async def copy_in(arrival: Arrival, judged: list[tuple[JsonDict, list[Problem]]],
                  copy: list[JsonDict], *, first_arrival: bool = False) -> set[str]:
    """Copy what passed into `records` (its own revisions), apply the limit rules over it, write
    the flags of what arrived and queue offline-completed sessions for delivery.

    `first_arrival`: these revisions reach the service for the first time (the replication
    endpoint's fresh path): none has a flag yet, so no flag is read for those with no problem.

    The records are written last: a push is answered once they are, so one cut short (a crash)
    is sent again and judged again, and its guards and flags, already there, are found as its
    own (a guard naming a record never written frees itself after a grace period). Answers the
    ids `records` refused (the engine's answer is logged)."""
    store, device = arrival.store, arrival.device
    # One flag per record: of several revisions arriving together, one with problems speaks.
    flagged: dict[str, tuple[JsonDict, int, list[Problem]]] = {}
    for doc, problems in judged:
        held = flagged.get(doc["_id"])
        if held is None or problems or not held[2]:
            flagged[doc["_id"]] = (doc, device, problems)
    arrived = frozenset(flagged)
    copied_interactions = [d for d in copy if d.get("type") == "interaction"]
    by_limit = await limits.violations(store, arrival.types, copied_interactions)
    others = await store.fetch_docs(RECORDS, [i for i in by_limit if i not in flagged]) \
        if any(i not in flagged for i in by_limit) else {}
    for doc_id, problems in by_limit.items():
        if doc_id in flagged:
            doc, _, before = flagged[doc_id]
            flagged[doc_id] = (doc, device, [p for p in before if p["rule"] != "limit"] + problems)
        elif doc_id in others:  # a record that held a slot before, displaced now
            flagged[doc_id] = (others[doc_id], _device_of(others[doc_id]), problems)
    await flags.record(store, list(flagged.values()),
                       unflagged=arrived if first_arrival else frozenset())
    failed: list[JsonDict] = []
    if copy:
        failed = [w for w in await store.bulk_docs(RECORDS, copy, new_edits=False) if "error" in w]
        if failed:
            log.warning("copying from device %d: %d refused: %s", device, len(failed), failed[:3])
    for doc in copy:
        meta = doc.get("metadata") or {}
        if doc.get("type") == "questionnaire" and meta.get("status") == COMPLETED \
                and meta.get("submitUrl"):
            await delivery.enqueue(store, await store.get(RECORDS, doc["_id"]))
    return {str(w.get("id")) for w in failed}


def _changed_fixed_fields(doc: JsonDict, stored: JsonDict) -> list[Problem]:
    return [{"rule": "fixed", "pointer": f"/{name}", "quarantine": True,
             "message": f"{name} cannot change"}
            for name in FIXED_FIELDS if doc.get(name) != stored.get(name)]


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


async def _in_records(store: Store, ids: list[str]) -> tuple[set[str], dict[str, JsonDict]]:
    """Which of these records an admin deleted, and the current ones."""
    if not ids:
        return set(), {}
    answer = await store.all_docs_keys(RECORDS, ids, include_docs=True)
    deleted = {row["id"] for row in answer
               if isinstance(row.get("value"), dict) and row["value"].get("deleted")}
    return deleted, {row["id"]: row["doc"] for row in answer if row.get("doc")}


def takes_first(doc: Any) -> bool:
    """An interaction's first revision the device database's validation would certainly accept (the
    replication endpoint copies only such ones straight into `records`; the rest go to the
    device's database, to be refused there or judged by the worker as ever)."""
    if not isinstance(doc, dict) or not isinstance(doc.get("_id"), str) or doc.get("_deleted") \
            or not isinstance(doc.get("_rev"), str) or not doc["_rev"].startswith("1-") \
            or doc["_id"].startswith("_") or doc["_id"] == CONFIG_ID or "_type" in doc \
            or not isinstance(doc.get("createdAt"), str) or not isinstance(doc.get("updatedAt"), str):
        return False
    history = doc.get("_revisions")
    if history is not None and history != {"start": 1, "ids": [doc["_rev"][2:]]}:
        return False  # a history that says more than "first" is for the database to judge
    attachments = doc.get("_attachments") or {}
    if not isinstance(attachments, dict) or any(
            not isinstance(a, dict) or "data" not in a for a in attachments.values()):
        return False  # a stub names content the database would have to hold already
    # Only interactions: a device goes on with its sessions (and merges their answers), so they
    # stay in its database too, and reach `records` through the worker.
    number, itype = doc.get("id"), doc.get("interactionType")
    return doc.get("type") == "interaction" and isinstance(number, int) and number <= MAX_ID \
        and isinstance(itype, str) and itype != ""


async def take_pushed(arrival: Arrival, docs: list[Any]) -> tuple[list[JsonDict], list[Any]]:
    """What a device pushes through the replication endpoint: the first revisions that pass
    every check, copied into `records` now; and the rest, for its own database."""
    taken: list[JsonDict] = []
    rest: list[Any] = []
    for doc in docs:
        if takes_first(doc) and not await check(arrival, doc):
            taken.append(doc)
        else:
            rest.append(doc)
    if taken:
        refused = await copy_in(arrival, [(doc, []) for doc in taken], taken, first_arrival=True)
        # What `records` would not store goes where the rest goes: kept, and judged there.
        rest += [doc for doc in taken if doc["_id"] in refused]
        taken = [doc for doc in taken if doc["_id"] not in refused]
    return taken, rest
