"""Interactions: checking a request against its type, creating (one, or a batch), testing,
reading, deleting, and their uploads (CouchDB attachments).

The hot path (`create`) costs one engine request, rules or not: the write itself, with its
limit guards and uploads (attachments) in the same `_bulk_docs` request (writer.py). The
participants are checked against the roster in memory (directory/roster.py), the id comes
from the process's block (ids.py).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from dataclasses import dataclass, field
from functools import cached_property, lru_cache, partial
from typing import Any

from ..auth import ADMIN, User
from ..clock import iso, now_iso, parse_timestamp
from ..errors import ApiError
from ..idempotency import Replay, Reservation, fingerprint_of, record_digest, run_once
from ..ids import allocator, doc_id, number_of, reserve_id
from ..schemas import problems
from ..scope import Owner
from ..settings import Settings
from ..store import RECORDS, EnginePath, Store
from ..sync import deletions
from . import limits, participants, writer
from .types import DELEGATE_SLOTS, DEVICE_SLOTS, ENVELOPE, InteractionType, InteractionTypes

JsonDict = dict[str, Any]
KIND = "interaction"
_SLOTS = (*DELEGATE_SLOTS, *DEVICE_SLOTS)
# Magic numbers of common uploads, for a content type when the client gives none.
_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF8", "image/gif"),
    (b"%PDF-", "application/pdf"),
)


@dataclass
class Draft:
    """A checked request: the document to write (without its id yet) and its uploads."""

    itype: InteractionType
    body: JsonDict
    doc: JsonDict
    uploads: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    idempotency_key: str | None = None

    def fingerprint(self) -> str:
        return fingerprint_of(self.itype.name, {k: v for k, v in self.body.items()
                                                if k != "idempotencyKey"})


@dataclass(frozen=True)
class Caller:
    """What the domain needs of a request: the engine, the types, and who asks."""

    store: Store
    types: InteractionTypes
    settings: Settings
    user: User

    @property
    def scope(self) -> str:
        return f"interaction.new:{self.user.name}"

    @cached_property
    def device(self) -> int | None:
        """The device this caller records as (a device user's, not an admin's)."""
        return None if ADMIN in self.user.roles else self.user.device_id


def public(doc: JsonDict, number: int | None = None) -> JsonDict:
    """An interaction as the API shows it (`_type`, participants as objects); `number`, when
    given, is its id."""
    shown: JsonDict = {"id": doc.get("id") if number is None else number, "_type": KIND}
    for slot in DELEGATE_SLOTS:
        if slot in doc:
            shown[slot] = {"id": doc[slot], "_type": "delegate"}
    for slot in DEVICE_SLOTS:
        if slot in doc:
            shown[slot] = {"id": doc[slot], "_type": "device"}
    shown["interactionType"] = doc.get("interactionType")
    if "data" in doc:
        shown["data"] = doc["data"]
    shown["recordedAt"] = doc.get("recordedAt")
    shown["createdAt"] = doc.get("createdAt")
    shown["updatedAt"] = doc.get("updatedAt")
    return shown


def attachments_meta(number: int | None, stubs: JsonDict) -> JsonDict:
    """`meta.attachments`: each upload's type, size and where to fetch it."""
    return {
        name: {
            "contentType": stub.get("content_type"),
            "length": stub.get("length"),
            "href": f"/interaction/id:{number}/{name}" if number is not None else None,
        }
        for name, stub in stubs.items()
    }


def _content_type(content: bytes, given: Any) -> str:
    if isinstance(given, str) and given:
        return given
    for signature, content_type in _SIGNATURES:
        if content.startswith(signature):
            return content_type
    return "application/octet-stream"


def prepare(caller: Caller, type_name: str, raw: JsonDict, *, key: str | None = None,
            stamp: str | None = None) -> Draft:
    """Every check that needs no engine: type (1501), participants' counts (1503), the type's
    schema (1502), uploads (1502), `recordedAt` (1002). `stamp`: its `createdAt` (now if not
    given; a batch gives every entry the same)."""
    itype = caller.types.get(type_name)
    body = participants.expand_shorthands(raw)
    body.pop("interactionType", None)
    if caller.device is not None:
        participants.bind_to_device(itype, body, caller.device)
    participants.check_counts(itype, body)
    found = problems(itype.validator, body)
    if not body.keys() - ENVELOPE <= itype.members:
        found += [
            {"pointer": f"/{member}", "message": f"{member} is not a member of {itype.name}"}
            for member in body if member not in ENVELOPE and not itype.declares(member)
        ]
    uploads: dict[str, tuple[bytes, str]] = {}
    for name in itype.attachments:
        if isinstance(body.get(name), str):
            try:
                content = base64.b64decode(body[name], validate=True)
            except (binascii.Error, ValueError):
                found.append({"pointer": f"/{name}", "message": "not base64-encoded content"})
                continue
            uploads[name] = (content, _content_type(content, (body.get("data") or {}).get(
                "contentType")))
    if found:
        raise ApiError(1502, f"{found[0]['pointer'] or '/'}: {found[0]['message']}",
                       details=found)
    recorded_at = None
    if body.get("recordedAt") is not None:
        try:
            recorded_at = _recorded_at(body["recordedAt"])
        except (ValueError, OverflowError, OSError) as exc:
            raise ApiError(1002, f"/recordedAt: {exc}",
                           details=[{"pointer": "/recordedAt", "message": str(exc)}]) from exc
    stamp = stamp or now_iso()
    doc: JsonDict = {"type": KIND, "id": None, "interactionType": itype.name}
    for slot in _SLOTS:
        if slot in body:
            doc[slot] = body[slot]
    if "data" in body:
        doc["data"] = body["data"]
    doc["recordedAt"] = recorded_at
    doc["createdAt"] = doc["updatedAt"] = stamp
    doc["createdBy"] = caller.user.name
    key = body.get("idempotencyKey") or key
    return Draft(itype, body, doc, uploads, key)


@lru_cache(maxsize=1024, typed=True)
def _recorded_at(value: int | float | str) -> str:
    """A `recordedAt` as stored; remembered, since a batch's entries often share one."""
    return iso(parse_timestamp(value))


def _with_id(draft: Draft, number: int) -> JsonDict:
    doc = {"_id": doc_id(KIND, number), **draft.doc, "id": number}
    if draft.uploads:
        doc["_attachments"] = {
            name: {"content_type": content_type, "data": base64.b64encode(content).decode()}
            for name, (content, content_type) in draft.uploads.items()
        }
    return doc


def _answer(draft: Draft, number: int | None, stored: JsonDict | None = None) -> JsonDict:
    """The entry's `{data, meta}` as the API answers it (and as idempotency remembers it)."""
    meta: JsonDict = {}
    if draft.uploads:
        meta["attachments"] = attachments_meta(number, {
            name: {"content_type": content_type, "length": len(content)}
            for name, (content, content_type) in draft.uploads.items()
        })
    return {"data": public(stored or draft.doc, number), "meta": meta}


def _entry(caller: Caller, draft: Draft, reservation: Reservation) -> writer.Entry:
    doc = _with_id(draft, int(reservation["id"]))
    digest = None
    if draft.idempotency_key is not None:
        digest = record_digest(caller.scope, draft.idempotency_key, draft.fingerprint())
        doc[writer.DIGEST] = digest
    return writer.Entry(doc, limits.scopes(draft.itype, draft.body), reservation, digest)


async def _write_one(caller: Caller, draft: Draft, reservation: Reservation) -> JsonDict:
    """The one write of a record with its guards; a record this key's earlier try wrote (it
    lost its answer, the engine went away) is the answer, nothing is written twice."""
    entry = _entry(caller, draft, reservation)
    await writer.write(caller.store, [entry])
    if entry.error is not None:
        raise entry.error
    return _answer(draft, entry.number, entry.stored)


async def create(caller: Caller, type_name: str, body: JsonDict, key: str | None) -> Replay[JsonDict]:
    """`POST /interaction/new/{type}`: the answer's `{data, meta}`, and whether it is a replay."""
    draft = prepare(caller, type_name, body, key=key)

    async def write(reservation: Reservation) -> JsonDict:
        # Inside run_once: a retry answers the first result even if a participant went since.
        found = await participants.existing(caller.store, [draft.body])
        participants.check_existence(draft.body, found)
        return await _write_one(caller, draft, reservation)

    fingerprint = draft.fingerprint() if draft.idempotency_key is not None else ""
    return await run_once(caller.store, caller.scope, draft.idempotency_key, fingerprint, write,
                          reserve=reserve_id(caller.store))


async def test(caller: Caller, type_name: str, body: JsonDict) -> JsonDict:
    """`POST /interaction/test/{type}`: the same checks and answer as `create`, `id: null`,
    nothing written."""
    draft = prepare(caller, type_name, body)
    found = await participants.existing(caller.store, [draft.body])
    participants.check_existence(draft.body, found)
    await limits.check(caller.store, draft.itype, draft.body)
    return _answer(draft, None)


async def batch(caller: Caller, body: JsonDict, header_key: str | None) -> JsonDict:
    """`POST /interaction/batch`: every entry checked and answered on its own, in order.

    Entries without an idempotency key are written together (one `_bulk_docs`); an entry
    with one is written on its own so that a retry finds its first answer.
    """
    entries: JsonDict = body["interactions"]
    if len(entries) > caller.settings.max_batch_size:
        raise ApiError(
            1003, f"a batch holds at most {caller.settings.max_batch_size} interactions, "
                  f"not {len(entries)}",
            details=[{"pointer": "/interactions",
                      "message": f"more than {caller.settings.max_batch_size} entries"}],
        )
    shared: JsonDict = body.get("sharedValues") or {}
    types = caller.types
    entry_validator = types.entry_validator
    results: dict[str, JsonDict] = {}
    drafts: dict[str, Draft] = {}
    stamp = now_iso()
    for name, entry in entries.items():
        try:
            found = problems(entry_validator, entry)
            if found:
                raise ApiError(1002, f"{found[0]['pointer']}: {found[0]['message']}",
                               details=found)
            itype = types.get(entry["interactionType"])
            merged = {**{k: v for k, v in shared.items() if itype.declares(k)}, **entry} \
                if shared else entry  # (prepare copies it)
            key = f"{header_key}/{name}" if header_key else None
            drafts[name] = prepare(caller, itype.name, merged, key=key, stamp=stamp)
        except ApiError as exc:
            results[name] = _entry_error(exc, name)

    named = {name: participants.named_ids(draft.body) for name, draft in drafts.items()}
    found_ids = await participants.existing_ids(
        caller.store, {i for ids in named.values() for i in ids})
    plain: list[tuple[str, Draft]] = []
    for name, draft in drafts.items():
        try:
            if not found_ids.issuperset(named[name]):
                participants.check_existence(draft.body, found_ids)
            if draft.idempotency_key is not None:
                replay = await run_once(
                    caller.store, caller.scope, draft.idempotency_key, draft.fingerprint(),
                    partial(_write_one, caller, draft), reserve=reserve_id(caller.store),
                )
                results[name] = replay.result
                continue
            plain.append((name, draft))
            results[name] = {}  # keeps the entry's place in the answer's order
        except ApiError as exc:
            results[name] = _entry_error(exc, name)

    if plain:
        numbers = await allocator(caller.store).take(len(plain))
        bulk = [(name, draft, _entry(caller, draft, Reservation({"id": number})))
                for (name, draft), number in zip(plain, numbers, strict=True)]
        async def answers() -> dict[str, tuple[int, JsonDict]]:
            await asyncio.sleep(0)  # after the write's request went out: built while it is written
            return {name: (entry.number, _answer(draft, entry.number)) for name, draft, entry in bulk}

        _, expected = await asyncio.gather(
            writer.write(caller.store, [entry for *_, entry in bulk]), answers())
        for name, draft, entry in bulk:
            number, prepared = expected[name]
            if entry.error is not None:
                results[name] = _entry_error(entry.error, name)
            elif entry.stored is not None or entry.number != number:  # an earlier try's, or moved
                results[name] = _answer(draft, entry.number, entry.stored)
            else:
                results[name] = prepared
    return {name: results[name] for name in entries}


def _entry_error(error: ApiError, name: str) -> JsonDict:
    """A failed entry's envelope; its pointers point into the whole batch request."""
    prefix = f"/interactions/{name.replace('~', '~0').replace('/', '~1')}"
    answer = error.envelope()
    for detail in answer["meta"]["error"].get("details", []):
        detail["pointer"] = prefix + detail.get("pointer", "")
    return answer


def _number(path_id: str) -> int:
    number = number_of(KIND, path_id)
    if number is None:
        raise ApiError(1504, f"no interaction with id {path_id}")
    return number


async def _visible(store: Store, number: int, owner: Owner | None) -> JsonDict | None:
    """The interaction, if there is one the caller may see (another device's: None)."""
    doc = await store.get_or_none(RECORDS, doc_id(KIND, number))
    if doc is None or doc.get("type") != KIND:
        return None
    return doc if owner is None or owner.owns_interaction(doc) else None


async def read(store: Store, path_id: str, owner: Owner | None = None) -> JsonDict:
    """`GET /interaction/id:{id}`: `{data, meta}` (meta lists its uploads)."""
    number = _number(path_id)
    doc = await _visible(store, number, owner)
    if doc is None:
        raise ApiError(1504, f"no interaction with id {number}")
    meta: JsonDict = {}
    if doc.get("_attachments"):
        meta["attachments"] = attachments_meta(number, doc["_attachments"])
    return {"data": public(doc), "meta": meta}


async def delete(store: Store, path_id: str) -> None:
    """`DELETE /interaction/id:{id}`: a CouchDB deletion (the tombstone replicates), with its
    limit guards in the same request, so their slots are free at once."""
    number = _number(path_id)
    for _ in range(3):
        doc = await store.get_or_none(RECORDS, doc_id(KIND, number))
        if doc is None or doc.get("type") != KIND:
            raise ApiError(1504, f"no interaction with id {number}")
        guards = await store.fetch_docs(RECORDS, doc["guards"]) if doc.get("guards") else {}
        gone = [{"_id": doc["_id"], "_rev": doc["_rev"], "_deleted": True}]
        gone += [{"_id": g["_id"], "_rev": g["_rev"], "_deleted": True}
                 for g in guards.values() if g.get("interaction") == doc["_id"]]
        results = await store.bulk_docs(RECORDS, gone)
        outcome = next((r for r in results if r.get("id") == doc["_id"]), {"error": "unknown"})
        if "error" not in outcome:
            await deletions.propagate(store, doc, outcome["rev"])
            return
        if outcome.get("error") != "conflict":
            raise writer.bulk_error(outcome)
        # changed meanwhile: delete the newer revision
    raise ApiError(1504, f"no interaction with id {number}")


async def attachment_path(store: Store, types: InteractionTypes, path_id: str, name: str,
                          owner: Owner | None = None) -> EnginePath:
    """The engine path of an interaction's upload (streamed by the handler): only a name some
    interaction type declares as an upload is ever asked for. Another device's upload answers
    as a missing one does."""
    number = _number(path_id)
    if name not in types.upload_names:
        raise ApiError(1504, f"interaction {number} has no upload named {name!r}; "
                             f"uploads are named {', '.join(sorted(types.upload_names)) or 'nothing'}")
    if owner is not None and await _visible(store, number, owner) is None:
        raise missing_upload(path_id, name)
    return store.attachment_path(RECORDS, doc_id(KIND, number), name)


def missing_upload(path_id: str, name: str) -> ApiError:
    return ApiError(1504, f"interaction {path_id} has no {name}")
