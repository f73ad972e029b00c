"""Conflicted records: listed by the view `conflicts/conflicted` of `records` (also in Fauxton),
resolved where a documented rule decides, the same way in every process:

- a questionnaire session: the revisions are merged answer by answer; each answer takes the
  value of the revision that set (or cleared) it last (`answeredAt`, else the revision's
  `metadata.lastAnswer`; a tie goes to the higher revision id). The merged state is written on
  the winning revision and the others are deleted, in one `_bulk_docs`.
- an interaction whose conflicting revisions hold the same content: the extra revisions are
  deleted. Different content stays conflicted and is listed (`GET /sync/conflicts`) for an
  operator: which one happened is not the service's to guess.
(An admin's deletion of a record wins over a device's later edit: see ingest.py.)

The worker finds conflicted records by following `records`' `_changes` (`style=all_docs`: a
change with several leaf revisions may be a conflict; `follow_records`), not by querying the
view: that made the engine index every arriving record while a device's push was still
landing. The view is for Fauxton and `GET /sync/conflicts`.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from ..clock import now_iso
from ..store import RECORDS, Store

log = logging.getLogger(__name__)

JsonDict = dict[str, Any]
DDOC, VIEW = "conflicts", "conflicted"
_IGNORED = ("_rev", "_conflicts", "_revisions", "updatedAt")


async def listing(store: Store, limit: int) -> tuple[list[JsonDict], int]:
    answer = await store.view(RECORDS, DDOC, VIEW, reduce=False, limit=limit)
    rows = [{"docId": row["id"], "type": row["key"][0], "conflicts": row["value"]}
            for row in answer["rows"]]
    counted = await store.view(RECORDS, DDOC, VIEW, reduce=True)
    total = int(counted["rows"][0]["value"]) if counted.get("rows") else 0
    return rows, total


def _answer_time(doc: JsonDict, answer_id: str) -> str:
    stamps = doc.get("answeredAt") or {}
    return str(stamps.get(answer_id) or (doc.get("metadata") or {}).get("lastAnswer") or "")


def merge_sessions(revisions: list[JsonDict]) -> JsonDict:
    """One session state from conflicting revisions (the first is the winner)."""
    winner = revisions[0]
    ids = {a["id"] for rev in revisions for a in rev.get("answers", [])}
    ids |= {k for rev in revisions for k in (rev.get("answeredAt") or {})}
    merged_answers: list[JsonDict] = []
    stamps: dict[str, str] = {}
    for answer_id in sorted(ids):
        latest = max(revisions, key=lambda rev: (_answer_time(rev, answer_id), rev["_rev"]))
        stamps[answer_id] = _answer_time(latest, answer_id)
        for entry in latest.get("answers", []):
            if entry["id"] == answer_id:
                merged_answers.append(entry)
    merged = dict(winner)
    merged["answers"] = sorted(merged_answers, key=lambda a: stamps[a["id"]], reverse=True)
    merged["answeredAt"] = stamps
    completed = [rev for rev in revisions if (rev.get("metadata") or {}).get("status") == "COMPLETED"]
    if completed:  # a completion is never undone by a merge
        merged["metadata"] = {**merged["metadata"], "status": "COMPLETED"}
    merged["metadata"] = {**merged["metadata"], "lastAnswer": max(stamps.values(), default=None)}
    merged["updatedAt"] = now_iso()
    return merged


# A write fewer copies than the quorum took settles its own conflict at once: it yields and
# deletes its branch (store.py). A conflict that young is left to its writer for this long;
# settled meanwhile, the branch the writer leaves standing could be the one deleted.
SETTLE_SECONDS = 3.0


async def follow_records(store: Store, changes: list[JsonDict]) -> None:
    """A batch of `records`' changes: resolve those with several leaves that are conflicted."""
    ids = sorted({change["id"] for change in changes if len(change["changes"]) > 1})
    if await conflicted(store, RECORDS, ids):
        await asyncio.sleep(SETTLE_SECONDS)
        await _resolve(store, await conflicted(store, RECORDS, ids))


async def conflicted(store: Store, db: str, ids: list[str]) -> list[tuple[str, list[str]]]:
    """Those of these documents that are conflicted now, with their losing revisions."""
    found = []
    for doc_id in ids:
        doc = await store.get_or_none(db, doc_id, conflicts=True)
        if doc is not None and doc.get("_conflicts"):
            found.append((doc_id, list(doc["_conflicts"])))
    return found


async def _resolve(store: Store, conflicted: list[tuple[str, list[str]]]) -> int:
    resolved = 0
    for doc_id, losing in conflicted:
        winner = await store.get(RECORDS, doc_id, conflicts=True)
        others = [await store.get(RECORDS, doc_id, rev=rev) for rev in losing]
        if winner.get("type") == "questionnaire":
            merged = merge_sessions([winner, *others])
            writes = [merged] + [{"_id": doc_id, "_rev": rev, "_deleted": True} for rev in losing]
        elif all(_same(winner, other) for other in others):
            writes = [{"_id": doc_id, "_rev": rev, "_deleted": True} for rev in losing]
        else:
            continue
        results = await store.bulk_docs(RECORDS, writes)
        if all("error" not in r for r in results):
            resolved += 1
            log.info("resolved the conflicts of %s (%d revisions)", doc_id, len(losing) + 1)
    return resolved


def _same(one: JsonDict, other: JsonDict) -> bool:
    return ({k: v for k, v in one.items() if k not in _IGNORED}
            == {k: v for k, v in other.items() if k not in _IGNORED})
