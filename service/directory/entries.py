"""Delegates and devices: create, read, replace, delete and list (both kinds work alike; a
delegate's badge is also claimed, see badges.py).

Documents: `_id` `delegate:0000000789` / `device:0000000085` (ids from ids.py), `type`,
`id`, the kind's fields, `createdAt`, `updatedAt`. Answers show `_type` and every field
(null when unset); the revision is `meta.rev` and the `ETag` header.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..clock import now_iso
from ..errors import ApiError, EngineUnavailable
from ..ids import allocator, doc_id, number_of
from ..listing import Index, Page, PageQuery
from ..store import REGISTRY, DocumentConflict, DocumentNotFound, Store
from . import badges
from .roster import roster

JsonDict = dict[str, Any]
DDOC = "directory"
DIGEST = "idempotencyDigest"  # the key's digest on a record an idempotent create wrote


@dataclass(frozen=True)
class Kind:
    name: str  # "delegate" or "device": the document's type and its `_id` prefix
    fields: tuple[str, ...]
    not_found: int  # 1301 or 1401

    def missing(self, number: Any, status: int = 404) -> ApiError:
        return ApiError(self.not_found, f"no {self.name} with id {number}", status=status)


DELEGATES = Kind("delegate", ("name", "email", "company", "badge", "data"), 1301)
DEVICES = Kind("device", ("name", "kind", "data"), 1401)


def public(kind: Kind, doc: JsonDict) -> JsonDict:
    shown: JsonDict = {"id": doc["id"], "_type": kind.name}
    shown.update({name: doc.get(name) for name in kind.fields})
    shown["createdAt"] = doc.get("createdAt")
    shown["updatedAt"] = doc.get("updatedAt")
    return shown


def answer(kind: Kind, doc: JsonDict) -> tuple[JsonDict, JsonDict]:
    """The `data` and `meta` of an answer about one entry."""
    return public(kind, doc), {"rev": doc["_rev"]}


def _number(kind: Kind, path_id: str) -> int:
    number = number_of(kind.name, path_id)
    if number is None:
        raise kind.missing(path_id)
    return number


async def _current(store: Store, kind: Kind, number: int) -> JsonDict:
    doc = await store.get_or_none(REGISTRY, doc_id(kind.name, number))
    if doc is None or doc.get("type") != kind.name:
        raise kind.missing(number)
    return doc


def new_document(kind: Kind, body: JsonDict, number: int, stamp: str) -> JsonDict:
    doc: JsonDict = {"_id": doc_id(kind.name, number), "type": kind.name, "id": number}
    doc.update({name: body[name] for name in kind.fields if name in body})
    doc.update({"createdAt": stamp, "updatedAt": stamp})
    return doc


async def create(store: Store, kind: Kind, body: JsonDict, number: int | None = None,
                 digest: str | None = None) -> JsonDict:
    """A new entry; with `number` (reserved for an idempotency key) and the key's `digest`, an
    earlier try's record under that number is the answer if it carries the digest; anything else
    there is not ours (written ahead by someone else), and the entry gets another id."""
    if number is None:
        number = await allocator(store).next_id()
    else:
        stored = await store.get_or_none(REGISTRY, doc_id(kind.name, number))
        if stored is not None and digest is not None and stored.get(DIGEST) == digest:
            return stored
        if stored is not None:
            number = await allocator(store).next_id()
    doc = new_document(kind, body, number, now_iso())
    if digest is not None:
        doc[DIGEST] = digest
    badge = doc.get("badge")
    if badge is not None:
        await badges.claim(store, badge, number)
    try:
        doc["_rev"] = await store.put(REGISTRY, doc)
    except EngineUnavailable:
        raise  # it may have landed: the badge stays claimed for it
    except BaseException:
        if badge is not None:
            await badges.release(store, badge, number)
        raise
    return doc


async def by_badge(store: Store, badge: str) -> JsonDict | None:
    """The delegate holding a badge, read through the badge's claim by `_id` rather than a view:
    a view read on a cluster can miss a delegate created a moment ago; the claim is written
    before the delegate and read like any document (read your writes)."""
    claim = await badges.holder(store, badge)
    if claim is None:
        return None
    doc = await store.get_or_none(REGISTRY, doc_id(DELEGATES.name, claim))
    return doc if doc is not None and doc.get("badge") == badge else None


async def read(store: Store, kind: Kind, path_id: str) -> JsonDict:
    return await _current(store, kind, _number(kind, path_id))


def _stale(kind: Kind, number: int, expected: str, current: str) -> ApiError:
    return ApiError(
        1601, f"{kind.name} {number} has revision {current}, not {expected}",
        details=[{"pointer": "/_rev", "message": f"stale revision; the current one is {current}"}],
    )


async def update(store: Store, kind: Kind, path_id: str, body: JsonDict,
                 if_match: str | None) -> JsonDict:
    """Replace the entry's fields. With a revision (`_rev` or If-Match) a change made since
    is refused (1601); without one the change applies to the current revision."""
    number = _number(kind, path_id)
    expected = body.get("_rev") or if_match
    for _ in range(5):
        current = await _current(store, kind, number)
        if expected is not None and current["_rev"] != expected:
            raise _stale(kind, number, expected, current["_rev"])
        doc = {key: current[key] for key in ("_id", "_rev", "type", "id", "createdAt")}
        doc.update({name: body[name] for name in kind.fields if name in body})
        doc["updatedAt"] = now_iso()
        old_badge, new_badge = current.get("badge"), doc.get("badge")
        if new_badge is not None and new_badge != old_badge:
            await badges.claim(store, new_badge, number)
        try:
            doc["_rev"] = await store.put(REGISTRY, doc)
        except DocumentConflict:
            if new_badge is not None and new_badge != old_badge:
                await badges.release(store, new_badge, number)
            if expected is not None:
                raise _stale(kind, number, expected, "newer") from None
            continue
        if old_badge is not None and old_badge != new_badge:
            await badges.release(store, old_badge, number)
        return doc
    raise ApiError(1601, f"{kind.name} {number} kept changing; try again")


async def delete(store: Store, kind: Kind, path_id: str, if_match: str | None) -> None:
    """A CouchDB deletion (devices replicate the tombstone); the badge is free again."""
    number = _number(kind, path_id)
    current = await _current(store, kind, number)
    if if_match is not None and current["_rev"] != if_match:
        raise _stale(kind, number, if_match, current["_rev"])
    try:
        await store.delete(REGISTRY, current["_id"], current["_rev"])
    except DocumentConflict:
        raise _stale(kind, number, current["_rev"], "newer") from None
    except DocumentNotFound:
        raise kind.missing(number) from None
    roster(store).forget(current["_id"])
    if current.get("badge") is not None:
        await badges.release(store, current["badge"], number)


def index_for(kind: Kind, query: Mapping[str, str]) -> Index:
    """The view serving `GET /<kind>/list` (delegates: `?badge=` too)."""
    if kind is DELEGATES and query.get("badge"):
        return Index(REGISTRY, DDOC, "delegates_by_badge", (query["badge"],))
    return Index(REGISTRY, DDOC, f"{kind.name}s_by_id")


def page(store: Store, kind: Kind, query: Mapping[str, str], paging: PageQuery) -> Page:
    listing = Page(store, index_for(kind, query), paging)
    listing.start_total()
    return listing
