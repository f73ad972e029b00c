"""A type's limit rules (`maxPerDelegate`, `maxPerDelegatePerDevice`) over what has arrived.

A device cannot see other devices' records offline, so two of them can each record the one
check-in a delegate is allowed. Both happened: both are kept, and the rule is applied after
the fact, the same way by every process: in each scope (type, delegate, and device for the
per-device rule) the interactions are ordered by when they happened (`recordedAt`, else
`createdAt`, then id); the first `limit` fit, each one after is a violation.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ...interactions.types import InteractionTypes
from ...store import RECORDS, Store
from . import JsonDict, Problem, problem

RULE = "limit"
CONCURRENT_QUERIES = 8


def _scopes(types: InteractionTypes, doc: JsonDict) -> list[tuple[str, int, int | None, int]]:
    """(type, delegate, device or None, limit) of each rule the interaction falls under."""
    try:
        itype = types.get(str(doc.get("interactionType")))
    except Exception:
        return []
    found: list[tuple[str, int, int | None, int]] = []
    delegate, device = doc.get("firstDelegate"), doc.get("firstDevice")
    if not isinstance(delegate, int):
        return []
    if itype.rules.get("maxPerDelegate"):
        found.append((itype.name, delegate, None, int(itype.rules["maxPerDelegate"])))
    if itype.rules.get("maxPerDelegatePerDevice") and isinstance(device, int):
        found.append((itype.name, delegate, device, int(itype.rules["maxPerDelegatePerDevice"])))
    return found


async def violations(store: Store, types: InteractionTypes, arrived: list[JsonDict]
                     ) -> dict[str, list[Problem]]:
    """Every interaction in the scopes of those that arrived, with its limit problems (an empty
    list: it fits)."""
    scopes = sorted({scope for doc in arrived for scope in _scopes(types, doc)},
                    key=lambda scope: (scope[0], scope[1], scope[2] or 0))
    rows = await _rows_by_delegate(store, sorted({delegate for _, delegate, _, _ in scopes}))
    verdicts: dict[str, list[Problem]] = {}
    for name, delegate, device, limit in scopes:
        members: list[tuple[Any, int, str]] = []
        for row in rows[delegate]:
            itype, recorded, updated, _, devices = row["value"]
            if itype != name or (device is not None and device not in devices):
                continue
            members.append((recorded or updated or "", int(row["key"][1]), row["id"]))
        members.sort()
        what = f"delegate {delegate}" + (f" on device {device}" if device is not None else "")
        for position, (_, _, member) in enumerate(members):
            verdicts.setdefault(member, [])
            if position >= limit:
                verdicts[member].append(problem(
                    RULE, "/firstDelegate",
                    f"{what} has {len(members)} {name} interaction(s); its type allows "
                    f"{limit}, and this one came after", quarantine=False))
    return verdicts


async def _rows_by_delegate(store: Store, delegates: list[int]) -> dict[int, list[JsonDict]]:
    """Each delegate's interactions (view rows), a few queries at a time: a batch of arrivals
    at a door names hundreds of delegates, and one query each, in turn, took seconds."""
    gate = asyncio.Semaphore(CONCURRENT_QUERIES)

    async def one(delegate: int) -> list[JsonDict]:
        async with gate:
            answer = await store.view(RECORDS, "interactions", "interactions_by_delegate",
                                      startkey=[delegate], endkey=[delegate, {}], reduce=False)
            return list(answer["rows"])

    found = await asyncio.gather(*(one(delegate) for delegate in delegates))
    return dict(zip(delegates, found, strict=True))
