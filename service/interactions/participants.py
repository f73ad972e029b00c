"""Who takes part in an interaction: the shorthands, the counts a type allows, and whether
the delegates and devices named exist (one engine request for any number of them).
"""

from __future__ import annotations

import time
import weakref
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

from ..errors import ApiError
from ..ids import doc_id
from ..store import REGISTRY, Store
from .types import DELEGATE_SLOTS, DEVICE_SLOTS, InteractionType

JsonDict = dict[str, Any]
SHORTHANDS = {"delegate": "firstDelegate", "device": "firstDevice"}


def expand_shorthands(body: JsonDict) -> JsonDict:
    """`delegate`/`device` become `firstDelegate`/`firstDevice` (giving both is an error)."""
    expanded = dict(body)
    for short, full in SHORTHANDS.items():
        if short in expanded:
            if full in expanded:
                raise ApiError(
                    1002, f"give either {short} or {full}, not both",
                    details=[{"pointer": f"/{short}", "message": f"{full} is given too"}],
                )
            expanded[full] = expanded.pop(short)
    return expanded


def check_counts(itype: InteractionType, body: JsonDict) -> None:
    """The participants fit the type: slots filled in order, counts within its range (1503)."""
    problems = []
    for slots, allowed, noun in (
        (DELEGATE_SLOTS, itype.delegates, "delegate"),
        (DEVICE_SLOTS, itype.devices, "device"),
    ):
        filled = [slot for slot in slots if slot in body]
        for position, slot in enumerate(filled):
            if slot != slots[position]:
                problems.append({"pointer": f"/{slot}",
                                 "message": f"{slot} given without {slots[position]}"})
                break
        if len(filled) < allowed.min:
            missing = slots[len(filled)]
            problems.append({"pointer": f"/{missing}",
                             "message": f"{itype.name} needs at least {allowed.min} {noun}(s)"})
        for slot in filled[allowed.max:]:
            problems.append({"pointer": f"/{slot}",
                             "message": f"{itype.name} allows at most {allowed.max} {noun}(s)"})
        for position, slot in enumerate(filled):
            if body[slot] in [body[earlier] for earlier in filled[:position]]:
                problems.append({"pointer": f"/{slot}",
                                 "message": f"{noun} {body[slot]} is named twice"})
    if problems:
        raise ApiError(1503, f"{problems[0]['pointer']}: {problems[0]['message']}",
                       details=problems)


def named(body: JsonDict) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """The (slot, id) pairs of delegates and of devices."""
    delegates = [(slot, int(body[slot])) for slot in DELEGATE_SLOTS if slot in body]
    devices = [(slot, int(body[slot])) for slot in DEVICE_SLOTS if slot in body]
    return delegates, devices


class SeenRecently:
    """Delegates and devices this process saw exist in the last `ttl` seconds.

    It spares the hot path its read of the registry when the same device (and often the same
    delegate) records again. Only existence is remembered, never absence, and a deletion
    through this process forgets at once; through another process, an interaction may still
    name the deleted entry for up to `ttl` seconds (as it may name one deleted a second after).
    """

    def __init__(self, ttl: float = 10.0, max_entries: int = 100_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._until: OrderedDict[str, float] = OrderedDict()

    def known(self, wanted: Iterable[str]) -> set[str]:
        now = time.monotonic()
        return {key for key in wanted if self._until.get(key, 0.0) > now}

    def remember(self, found: Iterable[str]) -> None:
        until = time.monotonic() + self.ttl
        for key in found:
            self._until[key] = until
            self._until.move_to_end(key)
        while len(self._until) > self.max_entries:
            self._until.popitem(last=False)

    def forget(self, key: str) -> None:
        self._until.pop(key, None)


_seen: weakref.WeakKeyDictionary[Store, SeenRecently] = weakref.WeakKeyDictionary()


def seen_recently(store: Store) -> SeenRecently:
    found = _seen.get(store)
    if found is None:
        found = _seen[store] = SeenRecently()
    return found


async def existing(store: Store, bodies: Iterable[JsonDict]) -> set[str]:
    """The `_id`s of the delegates and devices these bodies name that exist (one read of the
    registry for those not seen in the last seconds)."""
    wanted: set[str] = set()
    for body in bodies:
        delegates, devices = named(body)
        wanted.update(doc_id("delegate", n) for _, n in delegates)
        wanted.update(doc_id("device", n) for _, n in devices)
    seen = seen_recently(store)
    known = seen.known(wanted)
    if known == wanted:
        return known
    # The `_id` prefix says the kind (only delegates and devices are written under these).
    fresh = await store.existing_ids(REGISTRY, sorted(wanted - known))
    seen.remember(fresh)
    return known | fresh


def check_existence(body: JsonDict, found: set[str]) -> None:
    """1301 (a delegate) or 1401 (a device) with status 422: named but not there."""
    delegates, devices = named(body)
    problems = []
    code = 0
    for (slot, number), kind, kind_code in (
        *((pair, "delegate", 1301) for pair in delegates),
        *((pair, "device", 1401) for pair in devices),
    ):
        if doc_id(kind, number) not in found:
            problems.append({"pointer": f"/{slot}", "message": f"no {kind} with id {number}"})
            code = code or kind_code
    if problems:
        raise ApiError(code, f"{problems[0]['pointer']}: {problems[0]['message']}",
                       status=422, details=problems)
