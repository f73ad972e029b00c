"""A type's limit rules (`maxPerDelegate`, `maxPerDelegatePerDevice`) over what has arrived.

A device cannot see other devices' records offline, so two of them can each record the one
check-in a delegate is allowed. Both happened: both are kept, and the rule is applied after
the fact, the same way by every process: in each scope (type, delegate, and device for the
per-device rule) the interactions are ordered by when they happened (`recordedAt`, else
`createdAt`, then id); the first `limit` fit, each one after is a violation.

The scope's members are read from the guards the API writes for the same rule
(interactions/limits.py), not from a view: the slots always hold the first `limit` members,
so an arrival either fits into a free slot, takes the slot of a member that came after it
(which is then the violation), or is itself the one too many. Reading guards costs no index,
and an API create racing an arrival meets the same `_id`s: CouchDB lets one of them win.
"""

from __future__ import annotations

from ...errors import ApiError
from ...interactions import limits as api_limits
from ...interactions.limits import Holder, Scope
from ...interactions.types import InteractionTypes
from ...store import RECORDS, Store
from . import JsonDict, Problem, problem

RULE = "limit"
ROUNDS = 4  # a guard written meanwhile by an API create: the scope is judged again


def _when(doc: JsonDict) -> tuple[str, int]:
    happened = doc.get("recordedAt") or doc.get("createdAt") or ""
    number = doc.get("id")
    return (happened if isinstance(happened, str) else "",
            number if isinstance(number, int) else 0)


def _scopes(types: InteractionTypes, doc: JsonDict) -> list[Scope]:
    try:
        itype = types.get(str(doc.get("interactionType")))
    except ApiError:  # an unknown type (quarantined before it gets here)
        return []
    return api_limits.scopes(itype, doc)


def _too_many(scope: Scope, members: int) -> Problem:
    return problem(RULE, scope.pointer,
                   f"{scope.what} has {members} {scope.rule_of} interaction(s); its type allows "
                   f"{scope.limit}, and this one came after", quarantine=False)


async def violations(store: Store, types: InteractionTypes, arrived: list[JsonDict]
                     ) -> dict[str, list[Problem]]:
    """The limit problems of the arrived interactions and of the members they pushed out of
    their slots (an empty list: it fits)."""
    pending: dict[str, tuple[Scope, dict[str, JsonDict]]] = {}
    for doc in arrived:
        for scope in _scopes(types, doc):
            pending.setdefault(scope.base, (scope, {}))[1][doc["_id"]] = doc
    verdicts: dict[str, list[Problem]] = {}
    for round_ in range(ROUNDS):
        if not pending:
            break
        judged, contended = await _judge(store, list(pending.values()))
        for base, found in judged.items():
            if base in contended and round_ < ROUNDS - 1:
                continue  # judged again from what is there now
            for doc_id, problems in found.items():
                verdicts.setdefault(doc_id, []).extend(problems)
        pending = {base: pending[base] for base in contended}
    return verdicts


async def _judge(store: Store, scopes: list[tuple[Scope, dict[str, JsonDict]]]
                 ) -> tuple[dict[str, dict[str, list[Problem]]], set[str]]:
    """One round over these scopes: guards read, slots given to the first members; each
    scope's problems by member, and the scopes whose guards somebody else wrote meanwhile."""
    slots = [slot for scope, _ in scopes for slot in scope.slot_ids()]
    guards = await store.fetch_docs(RECORDS, slots)
    arrivals = {doc_id: doc for _, docs in scopes for doc_id, doc in docs.items()}
    named = sorted({str(g.get("interaction")) for g in guards.values()})
    elsewhere = [i for i in named if i not in arrivals]  # held by records that arrived earlier
    holders = await store.fetch_docs(RECORDS, elsewhere) if elsewhere else {}
    states = await api_limits.holders(store, [i for i in named if i not in holders
                                             and i not in arrivals])
    writes: list[tuple[str, JsonDict]] = []
    judged: dict[str, dict[str, list[Problem]]] = {}
    for scope, docs in scopes:
        verdicts = judged[scope.base] = {}
        members = dict(docs)
        held: dict[str, str] = {}  # slot -> member holding it
        open_slots: list[str] = []
        for slot in scope.slot_ids():
            guard = guards.get(slot)
            holder = str((guard or {}).get("interaction"))
            if guard is None:
                open_slots.append(slot)
            elif holder in arrivals or holder in holders:
                members.setdefault(holder, arrivals.get(holder) or holders[holder])
                held[slot] = holder
            elif api_limits.is_free(guard, states.get(holder, Holder.MISSING)):
                open_slots.append(slot)
            # else: an API create still writing its interaction: the slot stays its own
        capacity = len(held) + len(open_slots)
        ordered = sorted(members, key=lambda doc_id: _when(members[doc_id]))
        fitting, after = set(ordered[:capacity]), ordered[capacity:]
        for slot, holder in held.items():
            if holder not in fitting:
                open_slots.append(slot)  # pushed out by an earlier arrival
        keeping = set(held.values()) & fitting
        for doc_id in ordered[:capacity]:
            verdicts.setdefault(doc_id, [])
            if doc_id not in keeping:
                slot = open_slots.pop(0)
                guard = api_limits.guard_doc(slot, doc_id)
                if slot in guards:
                    guard["_rev"] = guards[slot]["_rev"]
                writes.append((scope.base, guard))
        for doc_id in after:
            verdicts.setdefault(doc_id, []).append(_too_many(scope, len(ordered)))
    if not writes:
        return judged, set()
    results = {str(r.get("id")): r for r in await store.bulk_docs(RECORDS, [g for _, g in writes])}
    return judged, {base for base, guard in writes
                    if results.get(guard["_id"], {}).get("error") == "conflict"}

