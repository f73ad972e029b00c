"""The checks an arriving record must pass, one file per rule.

Each rule module has `applies(doc) -> bool` and `async check(arrival, doc) -> list[Problem]`.
A problem with `quarantine` keeps the record out of `records` (it stays in the device's
database, flagged); one without is a violation: the record is copied (it happened) and flagged.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from ...interactions.types import InteractionTypes
from ...store import Store

JsonDict = dict[str, Any]
Problem = JsonDict


def problem(rule: str, pointer: str, message: str, *, quarantine: bool = True) -> Problem:
    return {"rule": rule, "pointer": pointer, "message": message, "quarantine": quarantine}


@dataclass(frozen=True)
class Arrival:
    """Where a batch of records comes from: which device, its user and its id blocks."""

    store: Store
    types: InteractionTypes
    device: int
    user: str
    blocks: frozenset[int]


Check = Callable[[Arrival, JsonDict], Awaitable[list[Problem]]]
