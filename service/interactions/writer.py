"""Writing interactions: one `_bulk_docs` request for a create or for a whole batch, with the
guards of their types' limit rules (limits.py) in the same request.

That one request is the whole cost when nothing is in the way. What comes back conflicted
is settled, and written again in one more request per round (at most `ROUNDS`):

- the interaction's id is taken: by this idempotency key's earlier try (the record carries
  its digest) → that record is the answer; by anybody else (a document written ahead of the
  service) → the next id (an idempotency key's reservation moves with it);
- a guard is taken: its interaction deleted, or never written and older than the grace
  time → taken over with its `_rev`; otherwise another slot of the rule if one may be free,
  else 740, and what was written for the refused interaction is deleted (one more request,
  on the refusal path only).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import ApiError
from ..idempotency import Reservation
from ..ids import allocator, doc_id
from ..store import RECORDS, Store
from . import limits

JsonDict = dict[str, Any]
KIND = "interaction"
ROUNDS = 8
# Ids looked at at once when one was taken (a device wrote ahead into the process's block).
LOOKAHEAD = 16
DIGEST = "idempotencyDigest"


@dataclass(eq=False)
class Entry:
    """One interaction to write, and what this request holds of it so far."""

    doc: JsonDict  # as it is stored: `_id`, `id`, and `guards` when its type has rules
    scopes: list[limits.Scope]
    reservation: Reservation  # its id; moved (on an idempotency key's claim too) when taken
    digest: str | None = None  # an idempotency key's: a record carrying it is this one
    slots: dict[str, str] = field(default_factory=dict)  # scope base -> slot id
    rev: str | None = None  # of the interaction, once written
    guard_revs: dict[str, str] = field(default_factory=dict)  # slot id -> rev, guards written
    guard_of: dict[str, str] = field(default_factory=dict)  # slot id -> interaction it names
    takeover: dict[str, str] = field(default_factory=dict)  # slot id -> rev of a guard let go
    refused: set[str] = field(default_factory=set)  # slots held by living interactions
    sent_guards: list[str] = field(default_factory=list)  # `guards` as last written
    stored: JsonDict | None = None  # an earlier try's record, the answer
    error: ApiError | None = None

    @property
    def id(self) -> str:
        return str(self.doc["_id"])

    @property
    def number(self) -> int:
        return int((self.stored or self.doc)["id"])

    @property
    def settled(self) -> bool:
        if self.error is not None or self.stored is not None:
            return True
        return self.rev is not None and (not self.slots or all(
            self.guard_of.get(slot) == self.id for slot in self.slots.values()
        ))


async def write(store: Store, entries: list[Entry]) -> None:
    """Write every entry (each ends settled: written, an earlier try's record, or an error)."""
    claimed: dict[str, Entry] = {}
    await _plan(store, entries, claimed)
    for _ in range(ROUNDS):
        pending = [e for e in entries if not e.settled]
        if not pending:
            break
        conflicts = await _send(store, pending)
        if conflicts:
            await _settle(store, conflicts, claimed)
    for entry in entries:
        if not entry.settled:  # still contended after every round
            entry.error = _unwritten(entry)
    await _tidy(store, entries)


async def _plan(store: Store, entries: list[Entry], claimed: dict[str, Entry]) -> None:
    """Choose each guard's slot. A limit of 1 has one slot (no read); larger limits read which
    slots are held (one request for all). Two entries of one request never share a slot."""
    wide = [s for e in entries for scope in e.scopes if scope.limit > 1 for s in scope.slot_ids()]
    held = await store.existing_ids(RECORDS, wide) if wide else set()
    for entry in entries:
        if entry.error is not None:
            continue
        for scope in entry.scopes:
            options = [s for s in scope.slot_ids() if s not in claimed]
            if not options:
                entry.error = limits.too_many(scope)
                break
            # All held: try one anyway; its conflict tells whether its holder is gone.
            slot = next((s for s in options if s not in held), options[0])
            entry.slots[scope.base] = slot
            claimed[slot] = entry
        if entry.error is not None:
            for slot in entry.slots.values():
                claimed.pop(slot, None)
            continue
        if entry.scopes:
            entry.doc["guards"] = sorted(entry.slots.values())


async def _send(store: Store, pending: list[Entry]) -> list[tuple[Entry, str]]:
    """One `_bulk_docs` of what each entry still lacks; the conflicts, as (entry, `_id`)."""
    docs: list[JsonDict] = []
    sent: list[tuple[Entry, str]] = []
    for entry in pending:
        if entry.rev is None:
            docs.append(entry.doc)
            sent.append((entry, entry.id))
            entry.sent_guards = list(entry.doc.get("guards", []))
        for slot in entry.slots.values():
            if entry.guard_of.get(slot) == entry.id:
                continue
            guard = limits.guard_doc(slot, entry.id)
            rev = entry.takeover.get(slot) or entry.guard_revs.get(slot)
            if rev:
                guard["_rev"] = rev
            docs.append(guard)
            sent.append((entry, slot))
    # By `_id`, not position: PouchDB Server answers refused documents first.
    results = {str(r.get("id")): r for r in await store.bulk_docs(RECORDS, docs)}
    conflicts = []
    for entry, sent_id in sent:
        result = results.get(sent_id, {"error": "unknown", "reason": "no answer for " + sent_id})
        if "error" in result:
            if result.get("error") == "conflict":
                conflicts.append((entry, sent_id))
            elif entry.error is None:
                entry.error = bulk_error(result)
        elif sent_id == entry.id:
            entry.rev = str(result["rev"])
        else:
            entry.guard_revs[sent_id] = str(result["rev"])
            entry.guard_of[sent_id] = entry.id
            entry.takeover.pop(sent_id, None)
    return conflicts


async def _settle(
    store: Store, conflicts: list[tuple[Entry, str]], claimed: dict[str, Entry]
) -> None:
    """Decide each conflict from what is there now (one read, two with guards to judge)."""
    current = await store.fetch_docs(RECORDS, [doc for _, doc in conflicts])
    judged: list[tuple[Entry, str, JsonDict]] = []
    for entry, taken in conflicts:
        found = current.get(taken)
        if entry.error is not None:
            continue
        if taken == entry.id:
            if found is not None and entry.digest and found.get(DIGEST) == entry.digest:
                entry.stored = found  # this key's earlier try wrote it: that is the answer
            elif found is not None:
                number = await _free_number(store)  # written ahead of us: skip past it
                await entry.reservation.move(id=number)
                entry.doc.update(_id=doc_id(KIND, number), id=number)
            continue  # (deleted meanwhile: the next round creates it again)
        if found is None:
            continue  # the guard was deleted meanwhile: the next round creates it again
        holder = str(found.get("interaction"))
        if holder == entry.id:  # an earlier try of this record wrote it
            entry.guard_revs[taken], entry.guard_of[taken] = found["_rev"], holder
        else:
            judged.append((entry, taken, found))
    states = await limits.holders(store, sorted({str(g.get("interaction")) for *_, g in judged}))
    for entry, slot, guard in judged:
        if limits.is_free(guard, states[str(guard.get("interaction"))]):
            entry.takeover[slot] = guard["_rev"]
        else:
            entry.refused.add(slot)
            _another_slot(entry, slot, claimed)


async def _free_number(store: Store) -> int:
    """The next id of the process's block that nobody wrote yet; a block found written ahead
    LOOKAHEAD ids in a row is left for the next one."""
    ids = allocator(store)
    while True:
        numbers = await ids.take(LOOKAHEAD)
        taken = await store.all_docs(RECORDS, keys=[doc_id(KIND, n) for n in numbers])
        used = {row["key"] for row in taken["rows"] if isinstance(row.get("value"), dict)}
        free = [n for n in numbers if doc_id(KIND, n) not in used]
        if free:
            return free[0]
        ids.abandon()


def _another_slot(entry: Entry, slot: str, claimed: dict[str, Entry]) -> None:
    scope = next(s for s in entry.scopes if entry.slots.get(s.base) == slot)
    options = [s for s in scope.slot_ids()
               if s not in entry.refused and claimed.get(s, entry) is entry]
    if not options:
        entry.error = limits.too_many(scope)
        return
    claimed.pop(slot, None)
    claimed[options[0]] = entry
    entry.slots[scope.base] = options[0]
    entry.doc["guards"] = sorted(entry.slots.values())


def _unwritten(entry: Entry) -> ApiError:
    for scope in entry.scopes:
        if entry.guard_of.get(entry.slots.get(scope.base, "")) != entry.id:
            return limits.too_many(scope)
    return ApiError(1999, f"could not write interaction {entry.number}: its id kept being taken")


async def _tidy(store: Store, entries: list[Entry]) -> None:
    """Delete what refused entries wrote; give moved guards' interactions their new list."""
    docs: list[JsonDict] = []
    for entry in entries:
        if entry.stored is not None:
            continue
        if entry.error is not None:
            if entry.rev is not None:
                docs.append({"_id": entry.id, "_rev": entry.rev, "_deleted": True})
            docs += [{"_id": slot, "_rev": rev, "_deleted": True}
                     for slot, rev in entry.guard_revs.items()]
        elif entry.rev is not None and entry.sent_guards != entry.doc.get("guards", []):
            docs.append({**entry.doc, "_rev": entry.rev})
    if docs:
        # A conflict here means somebody else changed that document since: it is theirs now.
        await store.bulk_docs(RECORDS, docs)


def bulk_error(outcome: JsonDict) -> ApiError:
    reason = str(outcome.get("reason") or outcome.get("error"))
    if outcome.get("error") == "conflict":
        return ApiError(1601, reason)
    if outcome.get("error") == "forbidden":
        return ApiError(1102, reason)
    return ApiError(1999, reason)
