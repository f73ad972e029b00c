"""Who takes part in an interaction: the shorthands, the counts a type allows, and whether
the delegates and devices named exist (from the roster in memory; one engine request, for
any number of them, for ids it does not hold).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..directory.roster import roster
from ..errors import ApiError
from ..ids import doc_id
from ..store import REGISTRY, Store
from .types import DELEGATE_SLOTS, DEVICE_SLOTS, InteractionType, Range

JsonDict = dict[str, Any]
SHORTHANDS = {"delegate": "firstDelegate", "device": "firstDevice"}
_KINDS = ((DELEGATE_SLOTS, "delegate"), (DEVICE_SLOTS, "device"))


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


def bind_to_device(itype: InteractionType, body: JsonDict, device: int) -> None:
    """A provisioned device records as itself: its id fills `firstDevice` when the type takes a
    device and none is named, and naming another device is refused (403)."""
    for slot in DEVICE_SLOTS:
        if slot in body and body[slot] != device:
            raise ApiError(
                1102, f"this user records as device {device}, not as device {body[slot]}",
                details=[{"pointer": f"/{slot}", "message": f"must be {device}, this device"}],
            )
    if DEVICE_SLOTS[0] not in body and itype.devices.max >= 1:
        body[DEVICE_SLOTS[0]] = device


def check_counts(itype: InteractionType, body: JsonDict) -> None:
    """The participants fit the type: slots filled in order, counts within its range (1503)."""
    if _fits(body, DELEGATE_SLOTS, itype.delegates) and _fits(body, DEVICE_SLOTS, itype.devices):
        return  # the common case, told fast (a batch checks thousands)
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


def _fits(body: JsonDict, slots: tuple[str, ...], allowed: Range) -> bool:
    """Slots filled in order, as many as allowed, nobody twice (at most three slots)."""
    filled = [slot for slot in slots if slot in body]
    count = len(filled)
    # The filled slots come in the slots' order: they are the first ones if the last is.
    if not allowed.min <= count <= allowed.max or (count and filled[-1] != slots[count - 1]):
        return False
    if count < 2:
        return True
    given = [body[slot] for slot in filled]
    return given[0] != given[1] and (count < 3 or given[2] not in given[:2])


def named(body: JsonDict) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """The (slot, id) pairs of delegates and of devices."""
    delegates = [(slot, int(body[slot])) for slot in DELEGATE_SLOTS if slot in body]
    devices = [(slot, int(body[slot])) for slot in DEVICE_SLOTS if slot in body]
    return delegates, devices


def named_ids(body: JsonDict) -> list[str]:
    """The `_id`s of the delegates and devices a (checked) body names."""
    found = []
    for slots, kind in _KINDS:
        for slot in slots:
            if slot in body:
                found.append(doc_id(kind, int(body[slot])))
    return found


async def existing(store: Store, bodies: Iterable[JsonDict]) -> set[str]:
    """The `_id`s of the delegates and devices these bodies name that exist: from the roster
    when it is current, else (or for ids it does not hold) one read of the registry."""
    return await existing_ids(store, {i for body in bodies for i in named_ids(body)})


async def existing_ids(store: Store, wanted: set[str]) -> set[str]:
    """Those of these delegates' and devices' `_id`s that exist (`existing`)."""
    known = roster(store)
    found = wanted & known.ids if known.ready else set()
    if found == wanted:
        return found
    # The `_id` prefix says the kind (only delegates and devices are written under these).
    return found | await store.existing_ids(REGISTRY, sorted(wanted - found))


def check_existence(body: JsonDict, found: set[str]) -> None:
    """1301 (a delegate) or 1401 (a device) with status 422: named but not there."""
    if found.issuperset(named_ids(body)):
        return  # the common case, told fast
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
