"""`GET /interaction/list`: the filters, which view serves them, and the rest applied to
each row's value (see listing.py for pages, cursors and totals).

The most selective filter picks the view (delegate, then device, then interactionType, else
all by id); any other filter is checked on the row's value
`[interactionType, recordedAt, updatedAt, delegates, devices]` without reading documents.
A device-only caller's listing is always the range of its own interactions
(`owners/interactions_by_owner`, service/scope.py), every filter checked on the value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..clock import iso, parse_timestamp
from ..listing import Filter, Index, bad_parameter, integer_parameter
from ..scope import Owner
from ..store import RECORDS

DDOC = "interactions"
OWNERS_DDOC = "owners"
FILTERS = ("interactionType", "delegate", "device", "recordedFrom", "recordedTo", "updatedSince")


@dataclass(frozen=True)
class Filters:
    interaction_type: str | None = None
    delegate: int | None = None
    device: int | None = None
    recorded_from: str | None = None
    recorded_to: str | None = None
    updated_since: str | None = None


def _time(query: Mapping[str, str], name: str) -> str | None:
    text = query.get(name)
    if not text:
        return None
    try:
        value: float | str = float(text) if text.isascii() and text.replace(".", "", 1).isdigit() else text
        return iso(parse_timestamp(value))
    except (ValueError, OverflowError, OSError) as exc:
        raise bad_parameter(name, "unix seconds or ISO 8601 with a zone") from exc


def filters(query: Mapping[str, str]) -> Filters:
    big = 10**10
    return Filters(
        interaction_type=query.get("interactionType") or None,
        delegate=integer_parameter(query, "delegate", 0, 1, big) or None,
        device=integer_parameter(query, "device", 0, 1, big) or None,
        recorded_from=_time(query, "recordedFrom"),
        recorded_to=_time(query, "recordedTo"),
        updated_since=_time(query, "updatedSince"),
    )


def plan(chosen: Filters, owner: Owner | None = None) -> tuple[Index, Filter | None]:
    """The view range that serves these filters (within `owner`'s interactions, when given),
    and the check for what it does not select."""
    by_type = chosen.interaction_type is not None
    if owner is not None:
        owner.device_filter(chosen.device)
        index = Index(RECORDS, OWNERS_DDOC, "interactions_by_owner", owner.interactions_key)
    elif chosen.delegate is not None:
        index = Index(RECORDS, DDOC, "interactions_by_delegate", (chosen.delegate,))
    elif chosen.device is not None:
        index = Index(RECORDS, DDOC, "interactions_by_device", (chosen.device,))
    elif by_type:
        index = Index(RECORDS, DDOC, "interactions_by_type", (chosen.interaction_type,))
    else:
        index = Index(RECORDS, DDOC, "interactions_by_id")
    check_type = by_type and index.view != "interactions_by_type"
    check_device = chosen.device is not None and index.view != "interactions_by_device"
    check_delegate = chosen.delegate is not None and index.view != "interactions_by_delegate"
    rest = (check_type, check_delegate, check_device, chosen.recorded_from, chosen.recorded_to,
            chosen.updated_since)
    if not any(rest):
        return index, None

    def matches(value: Any) -> bool:
        itype, recorded_at, updated_at, delegates, devices = value
        if check_type and itype != chosen.interaction_type:
            return False
        if check_delegate and chosen.delegate not in delegates:
            return False
        if check_device and chosen.device not in devices:
            return False
        if chosen.recorded_from and (recorded_at is None or recorded_at < chosen.recorded_from):
            return False
        if chosen.recorded_to and (recorded_at is None or recorded_at > chosen.recorded_to):
            return False
        return not (chosen.updated_since and updated_at < chosen.updated_since)

    return index, matches
