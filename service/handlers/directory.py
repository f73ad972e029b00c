"""The delegate and device routes: both kinds are handled alike (`DELEGATE`, `DEVICE`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from aiohttp import web

from .. import keys, scope
from ..directory import entries
from ..directory.entries import DELEGATES, DEVICES, Kind
from ..idempotency import HEADER as IDEMPOTENCY_HEADER
from ..idempotency import Reserved, fingerprint_of, record_digest, run_once
from ..ids import reserve_id
from ..interactions.envelope import answer, stream_list
from ..listing import page_query


def _etag(meta: dict[str, object]) -> dict[str, str]:
    return {"ETag": f'"{meta["rev"]}"'}


def _shown(request: web.Request, kind: Kind, doc: dict[str, Any]) -> dict[str, Any]:
    """An entry as the caller sees it: a device-only caller sees delegates as the catalog shows
    them (service/scope.py)."""
    public = entries.public(kind, doc)
    return scope.delegate_shown(request[keys.USER], doc, public) if kind is DELEGATES else public


def _if_match(request: web.Request) -> str | None:
    value = request.headers.get("If-Match")
    return value.strip().strip('"') if value else None


async def list_(request: web.Request, kind: Kind) -> web.StreamResponse:
    store = request.app[keys.STORE]
    paging = page_query(request.query, request.app[keys.SETTINGS].max_page_size)
    if kind is DELEGATES and "badge" in request.query:
        found = await entries.by_badge(store, request.query["badge"])
        shown = [_shown(request, kind, found)] if found is not None else []
        return answer(shown, {"total": len(shown), "offset": 0, "limit": paging.limit,
                              "next": None, "previous": None})
    listing = entries.page(store, kind, request.query, paging)

    async def rows() -> AsyncIterator[dict[str, Any]]:
        async for row in listing.rows():
            yield _shown(request, kind, row["doc"])

    async def meta() -> dict[str, object]:
        next_link, previous_link = listing.links(request.path, request.query)
        return {"total": await listing.total(), "offset": listing.offset,
                "limit": paging.limit, "next": next_link, "previous": previous_link}

    try:
        return await stream_list(request, rows(), meta)
    finally:
        listing.cancel()


async def new(request: web.Request, kind: Kind) -> web.Response:
    store = request.app[keys.STORE]
    body = request[keys.BODY]

    key = request.headers.get(IDEMPOTENCY_HEADER)
    scope = f"{kind.name}.new:{request[keys.USER].name}"
    digest = record_digest(scope, key, fingerprint_of(body)) if key else None

    async def create(reserved: Reserved) -> dict[str, object]:
        doc = await entries.create(store, kind, body, reserved.get("id"), digest)
        data, meta = entries.answer(kind, doc)
        return {"data": data, "meta": meta}

    replay = await run_once(store, scope, key, fingerprint_of(body), create,
                            reserve=reserve_id(store) if key else None)
    result = replay.result
    headers = _etag(result["meta"])  # type: ignore[arg-type]
    if replay.replayed:
        headers["Idempotent-Replayed"] = "true"
    return answer(result["data"], result["meta"], status=201, headers=headers)  # type: ignore[arg-type]


async def get(request: web.Request, kind: Kind) -> web.Response:
    doc = await entries.read(request.app[keys.STORE], kind, request.match_info["id"])
    _, meta = entries.answer(kind, doc)
    return answer(_shown(request, kind, doc), meta, headers=_etag(meta))


async def update(request: web.Request, kind: Kind) -> web.Response:
    doc = await entries.update(request.app[keys.STORE], kind, request.match_info["id"],
                               request[keys.BODY], _if_match(request))
    data, meta = entries.answer(kind, doc)
    return answer(data, meta, headers=_etag(meta))


async def delete(request: web.Request, kind: Kind) -> web.Response:
    await entries.delete(request.app[keys.STORE], kind, request.match_info["id"], _if_match(request))
    return web.Response(status=204)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class KindRoutes:
    """The five handlers of one kind (`/delegate/...` or `/device/...`), bound to it."""

    list_: Handler
    new: Handler
    get: Handler
    update: Handler
    delete: Handler

    @classmethod
    def of(cls, kind: Kind) -> KindRoutes:
        return cls(*(partial(handler, kind=kind) for handler in (list_, new, get, update, delete)))


DELEGATE = KindRoutes.of(DELEGATES)
DEVICE = KindRoutes.of(DEVICES)
